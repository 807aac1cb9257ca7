"""Masking through the LINE and Slack channels: the real servers with both channels on (local fakes of
the LINE and Slack APIs from their channel tests); the tracker store file never holds the personal data
the resident typed, and the logs do not either. REST and the web widget (socket.io) go through the same
tracker store; REST is covered in test_masking.py."""
from __future__ import annotations

import json
import sqlite3

import pytest
import test_channel_line as line
import test_channel_slack as slack
from servers import RasaStack, running_stack

from bot.privacy.masking import mask

pytestmark = pytest.mark.e2e

PII = "総会の会場はどこですか。電話は090-1234-5678、メールはhanako@example.jpです"
RAW = ("090-1234-5678", "hanako@example.jp")


@pytest.fixture(scope="module")
def fakes():
    fake_line = line.FakeLine().start()
    fake_slack = slack.FakeSlack().start()
    yield fake_line, fake_slack
    fake_line.stop()
    fake_slack.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, fakes):
    fake_line, fake_slack = fakes
    env = {
        "LINE_CHANNEL_SECRET": line.CHANNEL_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": line.ACCESS_TOKEN,
        "LINE_API_BASE": fake_line.url,
        "SLACK_TOKEN": slack.TOKEN, "SLACK_SIGNING_SECRET": slack.SECRET, "SLACK_API_BASE": fake_slack.api_base,
    }
    with running_stack(tmp_path_factory.mktemp("masking_channels"), env) as servers:
        yield servers


def user_texts(stack: RasaStack, channel: str) -> list[str]:
    with sqlite3.connect(stack.tracker_db) as conn:
        rows = conn.execute("SELECT data FROM events WHERE type_name = 'user'").fetchall()
    return [json.loads(d)["text"] for (d,) in rows if json.loads(d).get("input_channel") == channel]


def assert_nothing_raw(stack: RasaStack) -> None:
    data = stack.tracker_db.read_bytes()
    for value in RAW:
        assert value.encode() not in data
    logs = stack.log_texts()
    assert "rasa.log" in logs
    for name, text in logs.items():
        assert not [r for r in RAW if r in text], name


def test_line_messages_are_stored_masked(stack, fakes):
    fake_line, _ = fakes
    event = line.text_event(PII, line.user_id())
    assert line.deliver(stack, line.body_of(event))[0] == 200
    assert line.texts_of(fake_line.wait_reply(event["replyToken"]))  # answered
    assert mask(PII) in user_texts(stack, "line")
    assert_nothing_raw(stack)


def test_slack_messages_are_stored_masked(stack, fakes):
    _, fake_slack = fakes
    channel, user = slack.ids()
    status, _ = slack.send(stack, slack.envelope(slack.im(channel, user, PII)))
    assert status == 200
    fake_slack.wait_for_post(channel, "")  # answered
    assert mask(PII) in user_texts(stack, "slack")
    assert_nothing_raw(stack)


def test_line_factual_answers_carry_the_feedback_quick_replies(stack, fakes):
    fake_line, _ = fakes
    event = line.text_event("第7回総会の会場はどこですか", line.user_id())
    assert line.deliver(stack, line.body_of(event))[0] == 200
    call = fake_line.wait_reply(event["replyToken"])
    assert "天空劇場" in line.texts_of(call)
    items = call["body"]["messages"][-1]["quickReply"]["items"]
    assert [i["action"]["text"] for i in items] == ["/feedback_good", "/feedback_bad"]
