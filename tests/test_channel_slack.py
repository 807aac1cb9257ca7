"""Slack end to end: signed Events API requests to the real Rasa server, replies caught by a fake Slack Web API.

The Rasa server runs with SLACK_API_BASE pointing at a local HTTP server that records every request
(path, headers, body) and answers like Slack ({"ok": true, ...}). Nothing is mocked inside Rasa.

"Nothing was posted" is checked without sleeping: after the request under test, the same user sends
「こんにちは」 in the same channel. Rasa handles one conversation's messages in order, so once the
greeting has reached the fake, a reply to the earlier request would have reached it first.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
import uuid

import pytest
from fakes import RecordingApi
from rasa.shared.exceptions import InvalidConfigException
from servers import post_head_only, post_json, running_stack

from bot.channels.credentials import credentials
from bot.channels.slack import DEFAULT_API_BASE, SlackInput

pytestmark = pytest.mark.e2e

TOKEN = "xoxb-test-" + uuid.uuid4().hex
SECRET = "signing-" + uuid.uuid4().hex
VENUE_Q = "第7回総会の会場は？"
FUCHU_Q = "府中市の団体コードは？"
GREETING = "ご質問をどうぞ"  # utter_greet, the reply to こんにちは
DEADLINE = 120.0


# -- the fake Slack Web API ---------------------------------------------------------------------------


def _slack_answer(path: str, body) -> dict:
    answer = {"ok": True}
    if path.endswith("/chat.postMessage"):
        answer.update(channel=body.get("channel"), ts=f"{time.time():.6f}", message={"text": body.get("text")})
    return answer


class FakeSlack(RecordingApi):
    """Records every request; answers every Web API method with ok: true."""

    def __init__(self) -> None:
        super().__init__(_slack_answer)

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/"

    def posts(self, channel: str) -> list[dict]:
        return [
            r for r in self.requests if r["path"] == "/api/chat.postMessage" and r["body"].get("channel") == channel]

    def wait_for_post(self, channel: str, contains: str, count: int = 1) -> dict:
        """The first chat.postMessage to ``channel`` containing ``contains``, once ``count`` of them arrived."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            found = [p for p in self.posts(channel) if contains in json.dumps(p["body"], ensure_ascii=False)]
            if len(found) >= count:
                return found[0]
            time.sleep(0.2)
        got = self.posts(channel)
        raise AssertionError(f"not {count} chat.postMessage to {channel} containing {contains!r}: {got}")


@pytest.fixture(scope="module")
def fake_slack():
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, fake_slack):
    env = {
        "SLACK_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_BASE": fake_slack.api_base,
        "LINE_CHANNEL_SECRET": "",  # only Slack is under test here
        "LINE_CHANNEL_ACCESS_TOKEN": "",
    }
    with running_stack(tmp_path_factory.mktemp("slack"), env) as servers:
        yield servers


# -- signed requests ----------------------------------------------------------------------------------


def ids() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10].upper()
    return "D" + tag, "U" + tag


def sign(body: bytes, timestamp: int | None = None, secret: str = SECRET) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def envelope(event: dict, event_id: str | None = None) -> dict:
    return {
        "token": "verification-token-unused",
        "team_id": "T0TEST",
        "api_app_id": "A0TEST",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEST", "user_id": "UBOT0TEST", "is_bot": True}],
    }


def im(channel: str, user: str, text: str, **extra) -> dict:
    ts = f"{time.time():.6f}"
    return {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text,
            "ts": ts, "event_ts": ts, **extra}


def send_raw(stack, body: bytes, headers: dict | None = None, content_type: str = "application/json"):
    hdrs = {"Content-Type": content_type, **(headers if headers is not None else sign(body))}
    return post_json(f"{stack.url}/webhooks/slack/webhook", None, raw=body, headers=hdrs)


def send(stack, payload: dict, headers: dict | None = None, **kwargs):
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return send_raw(stack, body, {**sign(body, **kwargs), **(headers or {})})


def assert_nothing_posted(fake_slack, stack, channel: str, user: str, forbidden: str = "天空劇場") -> None:
    """Nothing but the greeting reaches ``channel`` (see the module docstring)."""
    status, _ = send(stack, envelope(im(channel, user, "こんにちは")))
    assert status == 200
    fake_slack.wait_for_post(channel, GREETING)
    texts = [json.dumps(p["body"], ensure_ascii=False) for p in fake_slack.posts(channel)]
    assert not [t for t in texts if forbidden in t], texts
    assert all(GREETING in t for t in texts), texts


# -- handshake and the happy paths --------------------------------------------------------------------


def test_url_verification_challenge_is_answered(stack):
    status, body = send(stack, {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                                "type": "url_verification"})
    assert status == 200
    assert json.loads(body) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_unsigned_url_verification_is_refused(stack):
    body = json.dumps({"token": "x", "challenge": "abc", "type": "url_verification"}).encode()
    status, answer = send_raw(stack, body, headers={})
    assert status == 401 and b"abc" not in answer


def test_direct_message_is_answered_through_the_web_api(stack, fake_slack):
    channel, user = ids()
    status, _ = send(stack, envelope(im(channel, user, VENUE_Q)))
    assert status == 200
    post = fake_slack.wait_for_post(channel, "天空劇場")
    assert post["headers"].get("Authorization") == f"Bearer {TOKEN}"
    assert "天空劇場" in post["body"]["text"]
    assert "as_user" not in post["body"]  # classic-app only; a new app's bot token would get invalid_arguments


def test_app_mention_in_a_channel_is_answered_there(stack, fake_slack):
    channel, user = "C" + ids()[0][1:], ids()[1]
    ts = f"{time.time():.6f}"
    event = {"type": "app_mention", "channel": channel, "user": user, "text": f"<@UBOT0TEST> {VENUE_Q}",
             "ts": ts, "event_ts": ts}
    status, _ = send(stack, envelope(event))
    assert status == 200
    assert "天空劇場" in fake_slack.wait_for_post(channel, "天空劇場")["body"]["text"]


def test_buttons_become_a_block_with_two_buttons_and_a_click_is_answered(stack, fake_slack):
    channel, user = ids()
    assert send(stack, envelope(im(channel, user, FUCHU_Q)))[0] == 200
    post = fake_slack.wait_for_post(channel, "複数あります")
    blocks = post["body"]["blocks"]
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["type"] for b in buttons] == ["button", "button"]
    titles = [b["text"]["text"] for b in buttons]
    assert any("東京都" in t for t in titles) and any("広島県" in t for t in titles), titles

    tokyo = next(b for b in buttons if "東京都" in b["text"]["text"])
    click = {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": channel},
        "message": {"ts": post["body"].get("ts", f"{time.time():.6f}")},
        "actions": [{"type": "button", "action_id": "a1", "block_id": "b1", "value": tokyo["value"],
                     "text": tokyo["text"]}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(click, ensure_ascii=False)}).encode()
    status, _ = send_raw(stack, body, sign(body), content_type="application/x-www-form-urlencoded")
    assert status == 200
    assert "132063" in fake_slack.wait_for_post(channel, "132063")["body"]["text"]  # 東京都府中市


# -- signatures, replays, retries ---------------------------------------------------------------------


def test_wrong_signature_is_refused_and_nothing_is_posted(stack, fake_slack):
    channel, user = ids()
    status, _ = send(stack, envelope(im(channel, user, VENUE_Q)), secret="not-the-secret")
    assert status == 401
    assert_nothing_posted(fake_slack, stack, channel, user)


def test_missing_signature_headers_are_refused(stack, fake_slack):
    channel, user = ids()
    body = json.dumps(envelope(im(channel, user, VENUE_Q))).encode()
    assert send_raw(stack, body, headers={})[0] == 401
    assert send_raw(stack, body, headers={"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"})[0] == 401
    assert_nothing_posted(fake_slack, stack, channel, user)


def test_a_validly_signed_but_stale_request_is_refused(stack, fake_slack):
    channel, user = ids()
    status, _ = send(stack, envelope(im(channel, user, VENUE_Q)), timestamp=int(time.time()) - 5 * 60 - 30)
    assert status == 401
    assert_nothing_posted(fake_slack, stack, channel, user)


@pytest.mark.parametrize("reason", ["http_error", "http_timeout"])
def test_a_retry_is_acknowledged_and_not_processed_twice(stack, fake_slack, reason):
    channel, user = ids()
    payload = envelope(im(channel, user, VENUE_Q))
    assert send(stack, payload)[0] == 200
    assert send(stack, envelope(im(channel, user, "こんにちは")))[0] == 200
    fake_slack.wait_for_post(channel, GREETING)  # so the whole answer to the question has arrived
    answered = len(fake_slack.posts(channel))
    assert any("天空劇場" in p["body"]["text"] for p in fake_slack.posts(channel))

    status, _ = send(stack, payload, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": reason})
    assert status == 200
    assert send(stack, envelope(im(channel, user, "こんにちは")))[0] == 200
    fake_slack.wait_for_post(channel, GREETING, count=2)
    later = fake_slack.posts(channel)[answered:]
    assert later and all(GREETING in p["body"]["text"] for p in later), later


def test_a_retry_of_an_event_never_seen_is_processed_once(stack, fake_slack):
    channel, user = ids()
    payload = envelope(im(channel, user, VENUE_Q))
    status, _ = send(stack, payload, headers={"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_error"})
    assert status == 200
    fake_slack.wait_for_post(channel, "天空劇場")


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"type": "event_callback", "event": ', "\udcff".encode("utf-8", "surrogatepass"), b"",
     b"[1, 2, 3]", b'"event_callback"', b"null"],
    ids=["broken", "truncated", "not-utf8", "empty", "array", "string", "null"],
)
def test_malformed_json_is_400(stack, body):
    status, answer = send_raw(stack, body)
    assert status == 400, answer


@pytest.mark.parametrize(
    "payload",
    [{}, {"type": "event_callback"}, {"type": "event_callback", "event": "message"}, {"type": "url_verification"},
     {"token": "x", "event": {"type": "message"}}],
    ids=["empty-object", "no-event", "event-not-object", "no-challenge", "no-type"],
)
def test_envelopes_missing_fields_are_400(stack, payload):
    assert send(stack, payload)[0] == 400


def test_interaction_payloads_that_slack_would_not_send_are_400(stack):
    no_user = urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
    for body in [b"payload=%7Bbroken", b"nothing=here", no_user]:
        assert send_raw(stack, body, sign(body), content_type="application/x-www-form-urlencoded")[0] == 400, body


def test_other_content_types_are_415(stack):
    body = "第7回総会の会場は？".encode()
    assert send_raw(stack, body, sign(body), content_type="text/plain")[0] == 415


def test_a_body_of_several_megabytes_is_413_and_the_server_keeps_serving(stack, fake_slack):
    channel, user = ids()
    payload = envelope(im(channel, user, VENUE_Q + "あ" * 1_000_000))  # about 3 MB of UTF-8
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    assert len(body) > 3_000_000
    # refused from its head, before any body byte (sending the whole body, the client may instead see the
    # connection closed under it: the server does not read 3 MB it will refuse)
    assert post_head_only(stack.rasa_port, "/webhooks/slack/webhook", len(body), sign(body)) == 413
    assert_nothing_posted(fake_slack, stack, channel, user)
    assert "天空劇場" in stack.reply_text(VENUE_Q, f"rest-{uuid.uuid4().hex[:6]}")


def test_an_event_without_text_or_user_is_acknowledged_and_ignored(stack, fake_slack):
    channel, user = ids()
    no_text = im(channel, user, "")
    no_user = im(channel, user, VENUE_Q)
    del no_user["user"]
    for event in (no_text, no_user, {"type": "message"}):
        assert send(stack, envelope(event))[0] == 200
    assert_nothing_posted(fake_slack, stack, channel, user)


def test_unknown_event_and_envelope_types_are_acknowledged_and_ignored(stack, fake_slack):
    channel, user = ids()
    for event_type in ("reaction_added", "team_join", "brand_new_event_type"):
        event = {**im(channel, user, VENUE_Q), "type": event_type}
        assert send(stack, envelope(event))[0] == 200
    rate_limited = {"token": "x", "team_id": "T0TEST", "minute_rate_limited": 1, "type": "app_rate_limited"}
    assert send(stack, rate_limited)[0] == 200
    assert_nothing_posted(fake_slack, stack, channel, user)


@pytest.mark.parametrize(
    "extra",
    [{"bot_id": "B0TEST"}, {"subtype": "bot_message"}, {"subtype": "message_changed"}],
    ids=["bot_id", "bot_message", "message_changed"],
)
def test_messages_from_bots_and_edits_are_ignored(stack, fake_slack, extra):
    channel, user = ids()
    assert send(stack, envelope(im(channel, user, VENUE_Q, **extra)))[0] == 200
    assert_nothing_posted(fake_slack, stack, channel, user)


def test_a_plain_channel_message_not_addressed_to_the_bot_is_ignored(stack, fake_slack):
    channel, user = ids()
    event = {**im("C" + channel[1:], user, VENUE_Q), "channel_type": "channel"}
    assert send(stack, envelope(event))[0] == 200
    assert not fake_slack.posts("C" + channel[1:])
    assert_nothing_posted(fake_slack, stack, channel, user)


# -- configuration ------------------------------------------------------------------------------------


def test_slack_is_off_unless_both_secrets_are_set():
    assert "bot.channels.slack.SlackInput" not in credentials({})
    assert "bot.channels.slack.SlackInput" not in credentials({"SLACK_TOKEN": "xoxb-1"})
    assert "bot.channels.slack.SlackInput" not in credentials({"SLACK_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": " "})
    entry = credentials({"SLACK_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})["bot.channels.slack.SlackInput"]
    assert entry == {"slack_token": "${SLACK_TOKEN}", "slack_signing_secret": "${SLACK_SIGNING_SECRET}"}


def test_the_signing_secret_is_required():
    with pytest.raises(InvalidConfigException, match="slack_signing_secret"):
        SlackInput.from_credentials({"slack_token": "xoxb-1"})
    with pytest.raises(InvalidConfigException, match="slack_signing_secret"):
        SlackInput.from_credentials({"slack_token": "xoxb-1", "slack_signing_secret": ""})


def test_the_api_base_defaults_to_slack_and_always_ends_with_a_slash():
    channel = SlackInput.from_credentials({"slack_token": "xoxb-1", "slack_signing_secret": "s"})
    assert channel.api_base == DEFAULT_API_BASE
    assert channel.get_output_channel("D1").client.base_url == DEFAULT_API_BASE
    local = SlackInput.from_credentials({"slack_token": "xoxb-1", "slack_signing_secret": "s",
                                         "api_base": "http://127.0.0.1:9/api"})
    assert local.get_output_channel("D1").client.base_url == "http://127.0.0.1:9/api/"
    with pytest.raises(InvalidConfigException, match="api_base"):
        SlackInput.from_credentials({"slack_token": "xoxb-1", "slack_signing_secret": "s", "api_base": "slack.com"})
    assert "xoxb-1" not in repr(channel)


# -- last: what the run left on disk ------------------------------------------------------------------


def test_logs_and_generated_files_hold_no_secret_and_no_message_text(stack):
    stack.reply_text("こんにちは", "log-check")  # flush
    logs = stack.log_texts()
    rasa_log = logs["rasa.log"]
    assert "bot.channels.slack" in rasa_log  # the channel did log (event ids, reasons)
    files = {name: (stack.workdir / name).read_text(encoding="utf-8") for name in ("credentials.yml", "endpoints.yml")}
    for name, text in {**logs, **files}.items():
        assert TOKEN not in text and SECRET not in text, name
    for user_text in (VENUE_Q, FUCHU_Q, "天空劇場"):
        assert user_text not in rasa_log
    assert "${SLACK_TOKEN}" in (stack.workdir / "credentials.yml").read_text(encoding="utf-8")
