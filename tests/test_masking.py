"""Privacy: masking of personal data (pure functions), the masking tracker store, log records, and end to
end over REST: what the tracker store file holds after a conversation that contained personal data."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import uuid

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from servers import REPO, RasaStack, running_stack

from bot.channels.conversations import conversation_key
from bot.privacy import logging as privacy_logging
from bot.privacy import masking
from bot.privacy.masking import EMAIL, MY_NUMBER, PHONE, fold, mask, mask_data, spans
from bot.privacy.tracker_store import MaskingTrackerStore

RAW = ("03-1234-5678", "090-1234-5678", "taro.yamada@example.jp", "1234 5678 9012")
PII_MESSAGE = ("総会の会場はどこですか。連絡は03-1234-5678か090-1234-5678、taro.yamada@example.jpへ。番号は1234 5678 "
               "9012です")


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


@pytest.mark.parametrize("text, expected", [
    # digits grouped by spaces or dots
    ("03.1234.5678", PHONE), ("090.1234.5678", PHONE), ("090 1234 5678", PHONE), ("０３．１２３４．５６７８", PHONE),
    ("03・1234・5678", PHONE), ("Tel.03-1234-5678", f"Tel.{PHONE}"),
    # a phone number followed by another number (the pattern read them as one of 15 digits: left raw)
    ("連絡先 090-1234-5678 2024年4月から", f"連絡先 {PHONE} 2024年4月から"),
    ("電話 0312345678 1234", f"電話 {PHONE} 1234"),
    ("０９０－１２３４－５６７８　２０２４年", f"{PHONE}　２０２４年"),
    # 漢数字
    ("〇三－一二三四－五六七八", PHONE), ("〇九〇一二三四五六七八", PHONE),
    ("電話は零三ー一二三四ー五六七八まで", f"電話は{PHONE}まで"),
    ("一二三四 五六七八 九〇一二", MY_NUMBER),
    # a 漢数字 next to an Arabic number is not read as a digit of it (健一 + 090…)
    ("担当 山田健一090-1234-5678", f"担当 山田健一{PHONE}"), ("〇三一二三四五六七八0312345678", PHONE + PHONE),
    # invisible characters inside the number: the whole of it goes, invisible characters included
    ("0\u200b3-1234-5678", PHONE), ("090\u200b1234\u200b5678", PHONE),
    ("電話0\u00ad3-1234-5678です", f"電話{PHONE}です"),
    ("0\u200c3\u200d-\u20601234-\ufeff5678", PHONE), ("1234\u200b5678\u200b9012", MY_NUMBER),
    ("0\ufe0f\u20e33\ufe0f\u20e3-1234-5678", PHONE), ("taro\u200b@example\u200b.jp", EMAIL),
    # other scripts' digits; a hyphen before the number
    ("٠٣-١٢٣٤-٥٦٧٨", PHONE), ("TEL-03-1234-5678", f"TEL-{PHONE}"),
    # e-mail: the local part is at most 64 characters; overlapping finds are masked as one
    ("x" * 70 + "@example.jp", "x" * 6 + EMAIL), ("a@b.jpa@b.jp", EMAIL), ("0312345678@x.jp", EMAIL),
])
def test_more_forms_are_masked(text, expected):
    assert mask(text) == expected


def test_spans_refer_to_the_original_text_invisible_characters_included():
    text = "電話は0\u200b3-1234-5678\u200bです"
    assert spans(text) == [(3, 16, PHONE)]
    assert mask(text) == f"電話は{PHONE}\u200bです"  # an invisible character outside the number is kept


@pytest.mark.parametrize("text", [
    "団体コード131211の自治体は？", "2018-02-07に開催", "平成30年2月7日 13:00-17:00", "参加者は120名、82団体",
    "2018/02/07", "第7回総会", "1234567890123",  # 13 digits (法人番号) is not a マイナンバー
    "", "住民票の写しはどこで取れますか",
    "第七回総会", "二〇一八年二月七日", "三十人", "一二〇〇名", "一三一二一一", "〇〇さん", "2018.02.07", "13.00-17.00",
    "confidence 0.9876543210", "score=10.0123456789", "id 123e4567-e89b-12d3-a456-426614174000",
    # lists of years and counts joined by dots are no My Number
    "2022・2023・2024年度の予算", "参加者は1200・1300・1400名", "一二〇〇・一三〇〇・一四〇〇名",
    "人口は2020.2021.2022年",
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


class _Recording:
    """A compiled pattern, or the re module, that records the length of every string it is run on."""

    def __init__(self, target, lengths: list[int]) -> None:
        self._target, self._lengths = target, lengths

    def __getattr__(self, name):
        attribute = getattr(self._target, name)
        if name not in ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split"):
            return attribute

        def run(*args, **kwargs):
            string = args[0] if isinstance(self._target, re.Pattern) else args[1]
            self._lengths.append(len(string))
            return attribute(*args, **kwargs)
        return run


ADVERSARIAL = ["a" * 200_000, "a." * 100_000, "0" * 200_000, "0 " * 100_000, "0-" * 100_000, "a@" * 100_000,
               "a" * 100_000 + "@" + "b." * 50_000, "〇" * 200_000, "0\u200b" * 100_000, "+81(0)" * 30_000]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: f"{t[:4]!r}...{t[-4:]!r}")
def test_no_regular_expression_runs_on_more_than_a_bounded_window(monkeypatch, text):
    """Linear time without a clock: each pattern is run on a few hundred characters at most, at most
    once per character of the text (the original ran the e-mail pattern over the whole text: over 30 s for
    160,000 characters). ``python -m bot.privacy.masking`` prints the times."""
    lengths: list[int] = []
    for name, value in list(vars(masking).items()):
        if isinstance(value, re.Pattern):
            monkeypatch.setattr(masking, name, _Recording(value, lengths))
    monkeypatch.setattr(masking, "re", _Recording(re, lengths))
    assert mask(text + " 電話は03-1234-5678、メールはtaro@example.jp") == text + f" 電話は{PHONE}、メールは{EMAIL}"
    assert lengths and max(lengths) <= 300
    assert len(lengths) <= len(text)


def test_full_width_digits_written_as_escapes_are_masked_in_log_records(caplog):
    privacy_logging.install()
    # ０３-１２３４-５６７８ as json.dumps writes it
    raw = "\\uff10\\uff13-\\uff11\\uff12\\uff13\\uff14-\\uff15\\uff16\\uff17\\uff18"
    with caplog.at_level(logging.INFO):
        logging.getLogger("rasa.core.processor").info("payload %s",
                                                      json.dumps({"text": "電話は０３-１２３４-５６７８です"}))
        logging.getLogger("bot").info("ascii \\u0030\\u0039\\u0030-1234-5678 and \\u0074aro\\u0040example.jp")
    text = caplog.text
    assert raw not in text and "\\u0030\\u0039\\u0030" not in text and "example.jp" not in text
    assert text.count(PHONE) == 2 and EMAIL in text
    assert '"\\u96fb\\u8a71\\u306f' + PHONE + '\\u3067\\u3059"' in text  # the rest is kept as written


def test_log_records_without_personal_data_are_kept_as_written():
    escaped = "code %s \\ud83d\\ude00 \\u0031\\u0033\\u0031\\u0032\\u0031\\u0031 at 13\\uff1a00"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, escaped, ("131211",), None)
    message = record.getMessage()
    privacy_logging.mask_record(record)
    assert record.getMessage() == message


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
    store = MaskingTrackerStore(domain=Domain.load(str(REPO / "domain.yml")), host=f"sqlite:///{path}",
                                inner_store="sql")
    asyncio.run(store.save(_tracker("s1")))
    asyncio.run(store.save(_tracker("s1")))  # saving again adds nothing (same number of events)
    rows = sqlite3.connect(path).execute("SELECT sender_id, type_name, intent_name, data FROM events").fetchall()
    assert len(rows) == 5
    texts = [json.loads(d).get("text") for _, t, _, d in rows if t in ("user", "bot")]
    assert texts[0] == ("総会の会場はどこですか。連絡は［電話番号］か［電話番号］、［メールアドレス］へ。"
                        "番号は［個人番号］です")
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
    store = TrackerStore.create(read_endpoint_config(str(endpoints), "tracker_store"),
                                Domain.load(str(REPO / "domain.yml")))
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


def stored_events(stack: RasaStack, sender: str, channel: str = "rest") -> list[tuple[str, dict]]:
    with sqlite3.connect(stack.tracker_db) as conn:
        rows = conn.execute("SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id",
                            (conversation_key(channel, sender),)).fetchall()
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

    replies: list[dict] = []
    answered, confirmed = threading.Event(), threading.Event()
    session: dict = {}
    client = socketio.Client(reconnection=False)

    @client.on("bot_uttered")
    def on_bot(data):  # noqa: ANN001
        replies.append(data)
        answered.set()

    @client.on("session_confirm")
    def on_confirm(data):  # noqa: ANN001
        session.update(data)
        confirmed.set()

    client.connect(stack.url, socketio_path="/socket.io", transports=["polling"])
    try:
        client.emit("session_request", {})  # the server gives the session id (and its token)
        assert confirmed.wait(timeout=60), "no session_confirm"
        session_id = session["session_id"]
        client.emit("user_uttered", {"message": PII_MESSAGE, "session_id": session_id})
        assert answered.wait(timeout=120), "no reply over socket.io"
    finally:
        client.disconnect()
    assert replies and replies[0].get("text")
    users = [d for t, d in stored_events(stack, session_id, "socketio") if t == "user"]
    assert users and users[-1]["text"] == mask(PII_MESSAGE)
    raw_file = stack.tracker_db.read_bytes()
    assert not [value for value in RAW if value.encode() in raw_file]
