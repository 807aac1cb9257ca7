"""Privacy: masking of personal data (pure functions), the masking tracker store, log records, and end to
end over REST: what the tracker store file holds after a conversation that contained personal data."""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import uuid

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import logging as privacy_logging
from bot.privacy.masking import EMAIL, MY_NUMBER, PHONE, fold, mask, mask_data
from bot.privacy.tracker_store import MaskingTrackerStore
from servers import REPO, RasaStack, running_stack

RAW = ("03-1234-5678", "090-1234-5678", "taro.yamada@example.jp", "1234 5678 9012")
PII_MESSAGE = "総会の会場はどこですか。連絡は03-1234-5678か090-1234-5678、taro.yamada@example.jpへ。番号は1234 5678 9012です"


@pytest.mark.parametrize("text, expected", [
    ("03-1234-5678に電話", f"{PHONE}に電話"),
    ("携帯は090-1234-5678です", f"携帯は{PHONE}です"),
    ("0120-000-000", PHONE),
    ("０３－１２３４－５６７８", PHONE),
    ("０９０ー１２３４ー５６７８です", f"{PHONE}です"),
    ("(03)1234-5678", PHONE),
    ("+81-3-1234-5678", PHONE),
    ("09012345678", PHONE),
    ("03 1234 5678", PHONE),
    ("taro.yamada@example.co.jp まで", f"{EMAIL} まで"),
    ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", EMAIL),
    ("1234 5678 9012", MY_NUMBER),
    ("123456789012", MY_NUMBER),
    ("1234-5678-9012", MY_NUMBER),
    ("個人番号は１２３４５６７８９０１２", f"個人番号は{MY_NUMBER}"),
    ("電話は0312345678、メールはa@b.jp、番号は123412341234", f"電話は{PHONE}、メールは{EMAIL}、番号は{MY_NUMBER}"),
])
def test_personal_data_is_masked(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "団体コード131211の自治体は？", "2018-02-07に開催", "平成30年2月7日 13:00-17:00", "参加者は120名、82団体",
    "2018/02/07", "第7回総会", "1234567890123",  # 13 digits (法人番号) is not a マイナンバー
    "", "住民票の写しはどこで取れますか",
])
def test_codes_dates_and_plain_text_are_kept(text):
    assert mask(text) == text


def test_folding_keeps_the_length_and_the_rest_of_the_text():
    text = "ＡＢＣの電話は０３－１２３４－５６７８（代表）です"
    assert len(fold(text)) == len(text)
    assert mask(text) == f"ＡＢＣの電話は{PHONE}（代表）です"


def test_mask_data_masks_every_string():
    assert mask_data({"a": ["03-1234-5678", 3], "b": {"c": "x@y.jp"}}) == {"a": [PHONE, 3], "b": {"c": EMAIL}}


def test_log_records_are_masked_from_any_logger(caplog):
    privacy_logging.install()
    with caplog.at_level(logging.INFO):
        logging.getLogger("rasa.some.module").info("user said %s", "電話は090-1234-5678です")
        logging.getLogger("sanic.access").warning("mail taro@example.jp")
    text = caplog.text
    assert "090-1234-5678" not in text and "taro@example.jp" not in text
    assert PHONE in text and EMAIL in text


def _tracker(sender: str) -> DialogueStateTracker:
    domain = Domain.load(str(REPO / "domain.yml"))
    events = [
        ActionExecuted("action_listen"),
        UserUttered(PII_MESSAGE, {"name": "ask_assembly", "confidence": 0.9},
                    entities=[{"entity": "lg_code", "value": "1234 5678 9012", "start": 0, "end": 1}],
                    parse_data={"text": PII_MESSAGE, "intent": {"name": "ask_assembly", "confidence": 0.9},
                                "entities": [{"entity": "lg_code", "value": "1234 5678 9012", "start": 0, "end": 1}]},
                    input_channel="rest"),
        ActionExecuted("action_answer"),
        BotUttered("ご連絡先03-1234-5678は伏せて保存されます"),
        ActionExecuted("action_listen"),
    ]
    return DialogueStateTracker.from_events(sender, events, domain.slots)


def test_memory_store_keeps_only_masked_texts_and_the_live_tracker_is_unchanged():
    store = MaskingTrackerStore(domain=Domain.load(str(REPO / "domain.yml")), inner_store="memory")
    tracker = _tracker("m1")
    asyncio.run(store.save(tracker))
    assert tracker.latest_message.text == PII_MESSAGE  # the running conversation is not altered
    stored = asyncio.run(store.retrieve("m1"))
    dump = json.dumps(stored.current_state(), ensure_ascii=False)
    assert not [r for r in RAW if r in dump]
    assert stored.latest_message.text.startswith("総会の会場はどこですか。連絡は［電話番号］")
    assert stored.latest_message.entities[0]["value"] == MY_NUMBER


def test_sql_store_writes_masked_events_in_rasas_schema(tmp_path):
    path = tmp_path / "sub" / "tracker.sqlite3"
    store = MaskingTrackerStore(domain=Domain.load(str(REPO / "domain.yml")), host=f"sqlite:///{path}", inner_store="sql")
    asyncio.run(store.save(_tracker("s1")))
    asyncio.run(store.save(_tracker("s1")))  # saving again adds nothing (same number of events)
    rows = sqlite3.connect(path).execute("SELECT sender_id, type_name, intent_name, data FROM events").fetchall()
    assert len(rows) == 5
    texts = [json.loads(d).get("text") for _, t, _, d in rows if t in ("user", "bot")]
    assert texts[0] == "総会の会場はどこですか。連絡は［電話番号］か［電話番号］、［メールアドレス］へ。番号は［個人番号］です"
    assert "［電話番号］" in texts[1]
    assert not [r for r in RAW for _, _, _, d in rows if r in json.loads(d).__repr__()]
    assert asyncio.run(store.keys()) == ["s1"] or list(asyncio.run(store.keys())) == ["s1"]


def test_unknown_store_type_is_refused():
    with pytest.raises(ValueError):
        MaskingTrackerStore(domain=Domain.empty(), inner_store="mongo")


def test_the_endpoints_file_written_by_run_sh_and_the_tests_creates_the_masking_store(tmp_path):
    """Through Rasa's own factory: ``store_type`` must not appear (Rasa would take it for ``type``)."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    run_sh = (REPO / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert "inner_store: sql" in run_sh and "store_type" not in run_sh
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: bot.privacy.tracker_store.MaskingTrackerStore\n  inner_store: sql\n"
                         f'  url: "sqlite:///{tmp_path / "t.sqlite3"}"\n')
    store = TrackerStore.create(read_endpoint_config(str(endpoints), "tracker_store"), Domain.load(str(REPO / "domain.yml")))
    assert isinstance(store, MaskingTrackerStore)
    asyncio.run(store.save(_tracker("via-rasa")))
    data = (tmp_path / "t.sqlite3").read_bytes()
    assert b"03-1234-5678" not in data


# --- end to end over REST -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # With a separate action server, as deployed (docker-compose.yml): its log is checked too.
    with running_stack(tmp_path_factory.mktemp("masking"), actions="server") as servers:
        yield servers


def stored_events(stack: RasaStack, sender: str) -> list[tuple[str, dict]]:
    with sqlite3.connect(stack.tracker_db) as conn:
        rows = conn.execute("SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
    return [(t, json.loads(d)) for t, d in rows]


def test_rest_conversation_is_stored_masked_and_still_answered(stack):
    sender = f"mask-{uuid.uuid4().hex[:8]}"
    reply = stack.reply_text(PII_MESSAGE, sender)
    assert reply  # answered (whatever the numbers made of the question)
    events = stored_events(stack, sender)
    users = [d for t, d in events if t == "user"]
    assert users and users[-1]["text"] == mask(PII_MESSAGE)
    assert users[-1]["parse_data"]["text"] == mask(PII_MESSAGE)
    raw_file = stack.tracker_db.read_bytes()
    for value in RAW:
        assert value.encode() not in raw_file
        assert json.dumps(value)[1:-1].encode() not in raw_file
    # the next turn reads the masked history back and keeps working
    assert "天空劇場" in stack.reply_text("総会の会場はどこですか", sender)


def test_full_width_and_municipality_codes_over_rest(stack):
    sender = f"mask-{uuid.uuid4().hex[:8]}"
    stack.reply_text("１３１２１１はどこの団体コードですか。電話は０３－１２３４－５６７８です", sender)
    users = [d for t, d in stored_events(stack, sender) if t == "user"]
    assert users[-1]["text"] == "１３１２１１はどこの団体コードですか。電話は［電話番号］です"


def test_server_logs_hold_no_personal_data(stack):
    sender = f"mask-{uuid.uuid4().hex[:8]}"
    stack.reply_text(PII_MESSAGE, sender)
    logs = stack.log_texts()
    assert {"rasa.log", "actions.log"} <= set(logs)
    for name, text in logs.items():
        assert not [r for r in RAW if r in text], name


def test_web_chat_socketio_conversation_is_stored_masked(stack):
    """The web widget's channel (socket.io): a real socket.io client, the real server, the stored file.

    The synchronous client over long-polling: python-engineio's asyncio client needs a newer aiohttp
    than Rasa 3.6 allows.
    """
    import threading

    import socketio

    session_id = f"mask-sio-{uuid.uuid4().hex[:8]}"
    replies: list[dict] = []
    answered = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("bot_uttered")
    def on_bot(data):  # noqa: ANN001
        replies.append(data)
        answered.set()

    client.connect(stack.url, socketio_path="/socket.io", transports=["polling"])
    try:
        client.emit("session_request", {"session_id": session_id})
        client.sleep(0.5)
        client.emit("user_uttered", {"message": PII_MESSAGE, "session_id": session_id})
        assert answered.wait(timeout=120), "no reply over socket.io"
    finally:
        client.disconnect()
    assert replies and replies[0].get("text")
    users = [d for t, d in stored_events(stack, session_id) if t == "user"]
    assert users and users[-1]["text"] == mask(PII_MESSAGE)
    raw_file = stack.tracker_db.read_bytes()
    assert not [value for value in RAW if value.encode() in raw_file]
