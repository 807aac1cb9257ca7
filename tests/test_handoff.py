"""Hand-off to a person: the responsible department's contact from the data (never invented), after a
request or two failed turns in a row, and the masked transcript posted to a staff Slack channel (local fake)."""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import yaml
from fakes import RecordingApi
from servers import running_stack

from bot.dialogue import handoff
from bot.kb import contacts
from bot.kb.db import open_session
from bot.kb.loader import load
from bot.outbound import handoff_slack

pytestmark = pytest.mark.e2e

SECRETARIAT_DEPARTMENT = "足立区政策経営部政策経営課"
SLACK_TOKEN, SLACK_CHANNEL = "xoxb-test-handoff", "C0STAFF"
FAIL_1, FAIL_2 = "おすすめのラーメン屋さんを教えて", "明日の天気はどうなりますか"  # nothing in the data answers these


class FakeSlackApi(RecordingApi):
    """Answers chat.postMessage like Slack (or refuses it) and records the requests."""

    def __init__(self, ok: bool = True) -> None:
        reply = {"ok": True, "channel": SLACK_CHANNEL, "ts": "1.2"} if ok else {"ok": False, "error": "x"}
        super().__init__(lambda path, body: reply)
        self.start()

    @property
    def base(self) -> str:
        return f"{self.url}/api"

    def wait(self, count: int = 1, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.requests) < count:
            time.sleep(0.1)
        return self.requests


# --- contacts from the data ---------------------------------------------------------------------------


def test_the_secretariat_contact_says_plainly_what_is_not_registered(kb_session):
    found = handoff.choose(kb_session, "assembly", None)
    assert [c.department for c in found] == [SECRETARIAT_DEPARTMENT]
    text = handoff.render(found)
    assert SECRETARIAT_DEPARTMENT in text and "電話番号・受付時間・URLは、データに記載がありません" in text
    assert "出典：第7回総会報告" in text


def test_registered_secretariat_contact_fields_are_given(kb_copy, tmp_path):
    society = kb_copy / "society.yml"
    data = yaml.safe_load(society.read_text(encoding="utf-8"))
    data.update({"連絡先電話番号": "03-9999-0000", "受付時間": "平日 9時〜17時"})
    society.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    load(kb_copy, url=url)
    with open_session(url) as session:
        text = handoff.render(handoff.choose(session, None, None))
    assert "電話番号：03-9999-0000" in text and "受付時間：平日 9時〜17時" in text
    assert "URLは、データに記載がありません" in text


def test_a_municipality_in_context_gives_its_faq_departments(kb_session):
    found = contacts.municipality(kb_session, "131211")
    assert found and all(c.department and c.organization == "東京都足立区" for c in found)
    chosen = handoff.choose(kb_session, "municipality", "131211")
    assert chosen == found
    text = handoff.render(chosen)
    assert found[0].department in text and "受付時間は、データに記載がありません" in text
    # a society question keeps the secretariat even with a municipality in context
    assert handoff.choose(kb_session, "presentation", "131211")[0].department == SECRETARIAT_DEPARTMENT


def test_slack_post_is_masked_and_failures_are_reported():
    fake = FakeSlackApi()
    try:
        env = {"MADOGUCHI_HANDOFF_SLACK_TOKEN": SLACK_TOKEN, "MADOGUCHI_HANDOFF_SLACK_CHANNEL": SLACK_CHANNEL,
               "SLACK_API_BASE": fake.base}
        assert asyncio.run(handoff_slack.post_transcript("利用者: 電話は090-1234-5678", env))
        (call,) = fake.requests
        assert call["path"] == "/api/chat.postMessage" and call["headers"]["Authorization"] == f"Bearer {SLACK_TOKEN}"
        assert call["body"] == {"channel": SLACK_CHANNEL, "text": "利用者: 電話は［電話番号］"}
        assert not asyncio.run(handoff_slack.post_transcript("x", {}))  # not configured: nothing sent
        assert len(fake.requests) == 1
    finally:
        fake.stop()
    refused = FakeSlackApi(ok=False)
    try:
        env = {"MADOGUCHI_HANDOFF_SLACK_TOKEN": "t", "MADOGUCHI_HANDOFF_SLACK_CHANNEL": "c",
               "SLACK_API_BASE": refused.base}
        assert not asyncio.run(handoff_slack.post_transcript("x", env))
    finally:
        refused.stop()


# --- end to end over REST -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slack_api():
    fake = FakeSlackApi()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, slack_api):
    env = {"MADOGUCHI_HANDOFF_SLACK_TOKEN": SLACK_TOKEN, "MADOGUCHI_HANDOFF_SLACK_CHANNEL": SLACK_CHANNEL,
           "SLACK_API_BASE": slack_api.base}
    with running_stack(tmp_path_factory.mktemp("handoff"), env) as servers:
        yield servers


@pytest.mark.parametrize("request_text", ["職員と話したい", "電話で問い合わせたい"])
def test_asking_for_a_person_gives_the_secretariat_and_posts_the_transcript(stack, slack_api, request_text):
    sender = f"ho-{uuid.uuid4().hex[:8]}"
    before = len(slack_api.requests)
    stack.ask("総会の会場はどこですか。私の電話は090-1234-5678です", sender)
    reply = stack.reply_text(request_text, sender)
    assert SECRETARIAT_DEPARTMENT in reply
    assert "データに記載がありません" in reply and handoff.POSTED in reply
    calls = slack_api.wait(before + 1)
    text = calls[before]["body"]["text"]
    assert sender in text and "総会の会場はどこですか" in text and request_text in text
    assert "090-1234-5678" not in text and "［電話番号］" in text


def test_a_municipality_question_hands_off_to_its_faq_department(stack):
    sender = f"ho-{uuid.uuid4().hex[:8]}"
    assert "131211" in stack.reply_text("足立区の団体コードを教えて", sender)
    reply = stack.reply_text("職員と話したい", sender)
    with open_session(stack.db_url) as session:
        expected = contacts.municipality(session, "131211")
    assert expected and expected[0].department in reply
    assert SECRETARIAT_DEPARTMENT not in reply


def test_two_failed_turns_in_a_row_offer_the_hand_off(stack):
    sender = f"ho-{uuid.uuid4().hex[:8]}"
    first = stack.reply_text(FAIL_1, sender)
    assert SECRETARIAT_DEPARTMENT not in first
    second = stack.reply_text(FAIL_2, sender)
    assert handoff.OFFER_AFTER_FAILURES in second and SECRETARIAT_DEPARTMENT in second
    # an answer in between resets the count
    sender = f"ho-{uuid.uuid4().hex[:8]}"
    stack.reply_text(FAIL_1, sender)
    assert "天空劇場" in stack.reply_text("総会の会場はどこですか", sender)
    assert handoff.OFFER_AFTER_FAILURES not in stack.reply_text(FAIL_2, sender)
