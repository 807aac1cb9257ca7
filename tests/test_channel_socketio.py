"""bot.channels.socketio: the session id a client may choose, and the channel Rasa is configured with."""
from __future__ import annotations

import pytest

from bot.channels.credentials import credentials
from bot.channels.socketio import SocketIOInput, session_id_from


@pytest.mark.parametrize("data", [{"session_id": "0123456789abcdef0123456789abcdef"}, {"session_id": "web-user_01"}])
def test_a_plausible_session_id_is_kept(data):
    assert session_id_from(data) == data["session_id"]


@pytest.mark.parametrize(
    "data",
    [None, {}, {"session_id": None}, {"session_id": ""}, {"session_id": "short"}, {"session_id": 12345678901},
     {"session_id": "x" * 65}, {"session_id": "../../etc"}, {"session_id": "<script>alert(1)</script>"}, "a string"],
)
def test_anything_else_gets_a_new_random_id(data):
    new = session_id_from(data)
    assert len(new) == 32 and int(new, 16) >= 0
    assert new != session_id_from(data)


def test_the_web_chat_channel_is_this_one_and_keeps_rasas_name():
    entry = credentials({})["bot.channels.resilient.SocketIOInput"]
    assert entry["session_persistence"] is True and entry["bot_message_evt"] == "bot_uttered"
    assert "socketio" not in credentials({})
    assert SocketIOInput.name() == "socketio"
