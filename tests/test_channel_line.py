"""The LINE channel end to end: the real Rasa server and its actions, a local fake of LINE's reply API.

Webhook bodies are shaped and signed as the LINE Messaging API documents them
(https://developers.line.biz/en/reference/messaging-api/#webhook-event-objects). The fake LINE API
records every request it receives (path, headers, JSON body); replies are awaited by polling it with a
deadline. A negative ("no reply was sent") is checked after a later event of the same conversation has
been answered: Rasa handles one conversation's messages in arrival order, so anything the earlier
request had started would have been sent by then.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.request

import pytest
import yaml
from fakes import RecordingApi
from servers import REPO, RasaStack, post_head_only, post_json, running_stack

from bot.channels.line import (
    MAX_MESSAGES,
    MAX_QUICK_REPLIES,
    MAX_TEXT_CHARS,
    SeenEvents,
    line_messages,
    parse_events,
    signature_is_valid,
    utf16_len,
)

pytestmark = pytest.mark.e2e

CHANNEL_SECRET = secrets.token_hex(16)  # LINE channel secrets are 32 hex digits
ACCESS_TOKEN = secrets.token_urlsafe(128)
REPLY_PATH = "/v2/bot/message/reply"
WAIT_SECONDS = 90.0  # a deadline for the polls, not a speed requirement
SENT_TEXTS: list[str] = []  # every user text sent, to check that none reaches the log


# --- the fake LINE API ------------------------------------------------------------------------------


class FakeLine(RecordingApi):
    """A local stand-in for api.line.me: answers 200 {} and records every request."""

    def replies_to(self, reply_token: str) -> list[dict]:
        return [c for c in self.requests if isinstance(c["body"], dict) and c["body"].get("replyToken") == reply_token]

    def wait_reply(self, reply_token: str) -> dict:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            calls = self.replies_to(reply_token)
            if calls:
                return calls[0]
            time.sleep(0.05)
        raise AssertionError(f"no reply call for token {reply_token} within {WAIT_SECONDS:.0f}s")


@pytest.fixture(scope="module")
def fake_line():
    fake = FakeLine().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, fake_line):
    env = {
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_API_BASE": fake_line.url,
    }
    with running_stack(tmp_path_factory.mktemp("line"), env) as servers:
        yield servers


# --- webhook bodies as LINE sends them ------------------------------------------------------------------


def user_id() -> str:
    return "U" + secrets.token_hex(16)


def event_id() -> str:
    return "01H" + "".join(secrets.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(23))  # a ULID


def base_event(kind: str, user: str, redelivery: bool = False, webhook_event_id: str | None = None) -> dict:
    return {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": webhook_event_id or event_id(),
        "deliveryContext": {"isRedelivery": redelivery},
    }


def message_event(message: dict, user: str, **kwargs) -> dict:
    message = {"id": str(secrets.randbelow(10**18)), "quoteToken": secrets.token_urlsafe(24), **message}
    return {**base_event("message", user, **kwargs), "replyToken": secrets.token_hex(16), "message": message}


def text_event(text: str, user: str, **kwargs) -> dict:
    SENT_TEXTS.append(text)
    return message_event({"type": "text", "text": text}, user, **kwargs)


def follow_event(user: str) -> dict:
    return {**base_event("follow", user), "replyToken": secrets.token_hex(16), "follow": {"isUnblocked": False}}


def body_of(*events: dict) -> bytes:
    return json.dumps({"destination": user_id(), "events": list(events)}, ensure_ascii=False).encode("utf-8")


def sign(body: bytes, secret: str = CHANNEL_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def deliver(stack: RasaStack, body: bytes, signature: str | None = "sign") -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if signature is not None:
        headers["X-Line-Signature"] = sign(body) if signature == "sign" else signature
    return post_json(f"{stack.url}/webhooks/line/webhook", None, raw=body, headers=headers)


def texts_of(call: dict) -> str:
    return "\n".join(m.get("text", "") for m in call["body"]["messages"])


def answered_after(stack: RasaStack, fake: FakeLine, user: str) -> None:
    """Sends one more question for ``user`` and waits for its answer (see the module docstring)."""
    event = text_event("総会の会場はどこですか", user)
    assert deliver(stack, body_of(event))[0] == 200
    assert "天空劇場" in texts_of(fake.wait_reply(event["replyToken"]))


# --- against the real server ---------------------------------------------------------------------------


def test_health(stack):
    with urllib.request.urlopen(f"{stack.url}/webhooks/line/", timeout=10) as resp:
        assert resp.status == 200 and json.loads(resp.read()) == {"status": "ok"}


def test_a_signed_text_message_gets_one_reply_with_the_answer(stack, fake_line):
    event = text_event("第7回総会の会場は？", user_id())
    status, _ = deliver(stack, body_of(event))
    assert status == 200
    call = fake_line.wait_reply(event["replyToken"])
    assert call["path"] == REPLY_PATH
    assert call["headers"]["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert call["headers"]["Content-Type"].startswith("application/json")
    messages = call["body"]["messages"]
    assert 1 <= len(messages) <= MAX_MESSAGES
    assert all(m["type"] == "text" and 0 < utf16_len(m["text"]) <= MAX_TEXT_CHARS for m in messages)
    assert "天空劇場" in texts_of(call)
    answered_after(stack, fake_line, event["source"]["userId"])
    assert len(fake_line.replies_to(event["replyToken"])) == 1


def test_buttons_become_quick_replies_with_message_actions(stack, fake_line):
    event = text_event("府中市の団体コードは？", user_id())
    assert deliver(stack, body_of(event))[0] == 200
    messages = fake_line.wait_reply(event["replyToken"])["body"]["messages"]
    items = messages[-1]["quickReply"]["items"]
    assert len(items) == 2
    for item in items:
        action = item["action"]
        assert item["type"] == "action" and action["type"] == "message"
        assert 0 < len(action["label"]) <= 20 and action["text"]
    assert {"東京都", "広島県"} <= {pref for item in items for pref in ("東京都", "広島県")
                                    if pref in item["action"]["label"]}
    assert all("quickReply" not in m for m in messages[:-1])


def test_a_quick_reply_tap_is_answered(stack, fake_line):
    user = user_id()
    first = text_event("府中市の団体コードは？", user)
    deliver(stack, body_of(first))
    action = fake_line.wait_reply(first["replyToken"])["body"]["messages"][-1]["quickReply"]["items"][0]["action"]
    tap = text_event(action["text"], user)  # LINE sends the action's text as the user's message
    assert deliver(stack, body_of(tap))[0] == 200
    assert any(ch.isdigit() for ch in texts_of(fake_line.wait_reply(tap["replyToken"])))


@pytest.mark.parametrize("signature", [None, "", "not-base64!"], ids=["missing", "empty", "garbage"])
def test_a_missing_or_unreadable_signature_is_refused(stack, fake_line, signature):
    event = text_event("第7回総会の会場は？", user_id())
    status, _ = deliver(stack, body_of(event), signature=signature)
    assert status in (400, 401)
    answered_after(stack, fake_line, event["source"]["userId"])
    assert fake_line.replies_to(event["replyToken"]) == []


def test_a_wrong_signature_is_refused(stack, fake_line):
    event = text_event("第7回総会の会場は？", user_id())
    body = body_of(event)
    for wrong in (sign(body, secrets.token_hex(16)), sign(body + b" "), sign(body)[:-4] + "AAA="):
        assert deliver(stack, body, signature=wrong)[0] == 401
    answered_after(stack, fake_line, event["source"]["userId"])
    assert fake_line.replies_to(event["replyToken"]) == []


def test_a_redelivered_event_is_answered_once(stack, fake_line):
    user = user_id()
    event = text_event("第7回総会の会場は？", user)
    status, body = deliver(stack, body_of(event))
    assert status == 200 and json.loads(body)["accepted"] == 1
    again = {**event, "deliveryContext": {"isRedelivery": True}}
    status, body = deliver(stack, body_of(again))
    assert status == 200 and json.loads(body) == {"status": "ok", "accepted": 0, "duplicates": 1}
    fake_line.wait_reply(event["replyToken"])
    answered_after(stack, fake_line, user)
    assert len(fake_line.replies_to(event["replyToken"])) == 1


STICKER = {
    "type": "sticker", "packageId": "446", "stickerId": "1988", "stickerResourceType": "STATIC", "keywords": ["Happy"]
}
IMAGE = {"type": "image", "contentProvider": {"type": "line"}}
LOCATION = {"type": "location", "title": "my location", "address": "東京都", "latitude": 35.6, "longitude": 139.7}


@pytest.mark.parametrize("message", [STICKER, IMAGE, LOCATION], ids=["sticker", "image", "location"])
def test_non_text_messages_get_one_polite_reply(stack, fake_line, message):
    event = message_event(message, user_id())
    assert deliver(stack, body_of(event))[0] == 200
    call = fake_line.wait_reply(event["replyToken"])
    text = texts_of(call)
    assert "申し訳ありません" in text and "文字" in text
    assert len(call["body"]["messages"]) == 1
    answered_after(stack, fake_line, event["source"]["userId"])
    assert len(fake_line.replies_to(event["replyToken"])) == 1


def test_a_follow_event_gets_a_greeting(stack, fake_line):
    event = follow_event(user_id())
    assert deliver(stack, body_of(event))[0] == 200
    text = texts_of(fake_line.wait_reply(event["replyToken"]))
    assert "友だち追加ありがとうございます" in text
    greeting = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))["responses"]["utter_greet"][0]["text"]
    assert greeting in text  # the bot's own greeting, which says what it can answer


def test_several_events_in_one_body_get_one_reply_each(stack, fake_line):
    user = user_id()
    events = [text_event("第7回総会の会場は？", user), message_event(STICKER, user), follow_event(user_id())]
    status, body = deliver(stack, body_of(*events))
    assert status == 200 and json.loads(body)["accepted"] == 3
    for event in events:
        fake_line.wait_reply(event["replyToken"])
    answered_after(stack, fake_line, user)
    assert all(len(fake_line.replies_to(e["replyToken"])) == 1 for e in events)


def test_the_console_verify_request_is_acknowledged(stack):
    body = json.dumps({"destination": user_id(), "events": []}).encode()
    assert deliver(stack, body)[0] == 200


@pytest.mark.parametrize(
    "kind,extra",
    [
        ("unfollow", {}),
        ("postback", {"replyToken": "t" * 32, "postback": {"data": "x"}}),
        ("somethingNew", {"replyToken": "t" * 32}),
    ],
    ids=["unfollow", "postback", "unknown"],
)
def test_unknown_and_unhandled_event_types_are_acknowledged_without_a_reply(stack, fake_line, kind, extra):
    user = user_id()
    event = {**base_event(kind, user), **extra}
    assert deliver(stack, body_of(event))[0] == 200
    answered_after(stack, fake_line, user)
    assert fake_line.replies_to("t" * 32) == []


def test_a_standby_event_is_ignored(stack, fake_line):
    user = user_id()
    event = {**text_event("第7回総会の会場は？", user), "mode": "standby"}
    assert deliver(stack, body_of(event))[0] == 200
    answered_after(stack, fake_line, user)
    assert fake_line.replies_to(event["replyToken"]) == []


def _missing(field: str, where: str | None = None):
    event = text_event("第7回総会の会場は？", user_id())
    (event[where] if where else event).pop(field)
    return body_of(event)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"destination": "U1", "events": [', id="truncated-json"),
        pytest.param(b"\xff\xfe not utf-8", id="not-utf8"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[" * 50_000 + b"]" * 50_000, id="deeply-nested"),
        pytest.param(b'{"destination": "U1"}', id="no-events"),
        pytest.param(b'{"events": {"type": "message"}}', id="events-not-a-list"),
        pytest.param(b'{"events": ["message"]}', id="event-not-an-object"),
        pytest.param(b'{"events": [{"mode": "active"}]}', id="event-without-type"),
        pytest.param(_missing("replyToken"), id="no-replyToken"),
        pytest.param(_missing("source"), id="no-source"),
        pytest.param(_missing("text", "message"), id="no-text"),
    ],
)
def test_bad_signed_bodies_get_400_and_the_server_keeps_serving(stack, fake_line, body):
    status, _ = deliver(stack, body)
    assert status == 400
    answered_after(stack, fake_line, user_id())


def head_only(stack: RasaStack, length: int, signature: str | None) -> int:
    """Only the head of a request announcing ``length`` bytes: the answer must not wait for them."""
    return post_head_only(stack.rasa_port, "/webhooks/line/webhook", length,
                          {"X-Line-Signature": signature} if signature else None)


def test_a_body_of_several_megabytes_is_refused_and_the_server_keeps_serving(stack, fake_line):
    filler = {**base_event("somethingNew", user_id()), "padding": "x" * (3 * 1024 * 1024)}
    body = body_of(filler)
    assert head_only(stack, len(body), sign(body)) == 413  # refused from its head, before any body byte
    assert head_only(stack, len(body), None) == 413  # on size, before the signature is looked at
    answered_after(stack, fake_line, user_id())


def test_no_secret_and_no_message_text_reaches_the_logs(stack):
    logs = stack.log_texts()
    assert "LINE webhook" in logs["rasa.log"]  # the channel did log (event types and ids)
    for name, log in logs.items():
        assert CHANNEL_SECRET not in log, name
        assert ACCESS_TOKEN not in log, name
    for text in set(SENT_TEXTS):
        assert text not in logs["rasa.log"], text
    assert CHANNEL_SECRET not in (stack.workdir / "credentials.yml").read_text(encoding="utf-8")


# --- the pure helpers -------------------------------------------------------------------------------------


def test_signature_check():
    body = body_of(text_event("こんにちは", user_id()))
    assert signature_is_valid(CHANNEL_SECRET, body, sign(body))
    assert not signature_is_valid(CHANNEL_SECRET, body, None)
    assert not signature_is_valid(CHANNEL_SECRET, body, "")
    assert not signature_is_valid(CHANNEL_SECRET, body, "署名")
    assert not signature_is_valid(CHANNEL_SECRET, body + b"x", sign(body))


def test_parse_events_accepts_every_documented_shape_and_unknown_types():
    user = user_id()
    in_group = {**text_event("b", user), "source": {"type": "group", "groupId": "C" + "0" * 32, "userId": user}}
    events = [
        text_event("a", user), message_event(STICKER, user), follow_event(user), base_event("unfollow", user),
        {"type": "brandNew"}, in_group,
    ]
    assert parse_events(body_of(*events)) == events


def test_reply_messages_respect_lines_limits():
    seven = [{"text": f"回答{i}"} for i in range(7)]
    messages = line_messages(seven)
    assert len(messages) == MAX_MESSAGES
    assert messages[-1]["text"] == "回答4\n\n回答5\n\n回答6"

    long = line_messages([{"text": "😀" * 3000}])  # 6,000 UTF-16 code units
    assert utf16_len(long[0]["text"]) <= MAX_TEXT_CHARS and long[0]["text"].endswith("…")

    buttons = [{"title": f"とても長いボタンの題名です番号{i:02d}", "payload": f"質問{i}"} for i in range(20)]
    items = line_messages([{"text": "どれですか", "buttons": buttons}])[-1]["quickReply"]["items"]
    assert len(items) == MAX_QUICK_REPLIES
    assert all(len(i["action"]["label"]) <= 20 for i in items)
    assert items[0]["action"]["text"] == "質問0"

    assert line_messages([])[0]["text"]  # never an empty reply


def test_seen_events_forget_the_oldest():
    seen = SeenEvents(capacity=3)
    assert all(seen.add(i) for i in "abc")
    assert not seen.add("a")  # refreshed: now the newest
    assert seen.add("d")  # forgets b
    assert "b" not in seen and "a" in seen
    assert seen.add("b")
