"""bot.channels.resilient: a turn that produces no reply (action server down) gets the polite apology."""
from __future__ import annotations

import asyncio

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.resilient import APOLOGY, always_answers


def run(handler) -> list[dict]:
    collector = CollectingOutputChannel()
    asyncio.run(always_answers(handler)(UserMessage("質問", collector, "s1", input_channel="rest")))
    return collector.messages


def test_a_turn_with_replies_is_passed_through_unchanged():
    async def handler(message):
        await message.output_channel.send_response(message.sender_id, {"text": "天空劇場です"})

    assert [m["text"] for m in run(handler)] == ["天空劇場です"]


def test_a_silent_turn_gets_the_apology():
    async def handler(message):
        return None  # what Rasa does when the action server cannot be reached

    assert [m["text"] for m in run(handler)] == [APOLOGY]


def test_a_failing_turn_gets_the_apology_and_the_text_is_not_logged(caplog):
    async def handler(message):
        raise RuntimeError("tracker store down")

    assert [m["text"] for m in run(handler)] == [APOLOGY]
    assert "質問" not in caplog.text


def test_the_apology_is_polite_japanese():
    assert APOLOGY.startswith("申し訳ありません") and APOLOGY.endswith("。")
