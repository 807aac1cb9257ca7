"""End to end over REST: the real Rasa server, the real action server, a freshly built database."""
from __future__ import annotations

import json
import uuid

import pytest

from bot.kb.loader import load
from bot.qa import check, load_cases
from servers import REPO, RasaStack, post_json

PUBLIC_QA = REPO.parent / "shared" / "eval" / "public_qa.yml"
CASES = load_cases(PUBLIC_QA)
POLITE = ("ください", "ません", "です", "ます", "ました", "でした")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("e2e")
    db_url = f"sqlite:///{workdir / 'kb.sqlite3'}"
    load(url=db_url)
    servers = RasaStack(workdir, db_url)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


@pytest.mark.parametrize("case", CASES, ids=[str(c.get("id")) for c in CASES])
def test_public_sample_case(stack, case):
    sender = f"qa-{uuid.uuid4().hex[:8]}"
    reply = ""
    for turn in case["turns"]:
        reply = stack.reply_text(turn, sender)
    assert check(case, reply) == [], reply


def test_venue_answer_names_the_hall_and_its_source(stack):
    reply = stack.reply_text("第7回総会の会場は？", f"s-{uuid.uuid4().hex[:6]}")
    assert "天空劇場" in reply and "出典" in reply


@pytest.mark.parametrize(
    "message",
    ["", "   \t  ", "あ" * 10_000, "😀🎉🙏", "\x00\x01\x1b[31m\x7f", "総会" + "\u200b" * 50],
    ids=["empty", "whitespace", "10k-chars", "emoji-only", "control-chars", "zero-width"],
)
def test_bad_messages_get_a_polite_reply_and_the_server_keeps_serving(stack, message):
    sender = f"bad-{uuid.uuid4().hex[:6]}"
    status, body = post_json(stack.webhook, {"sender": sender, "message": message})
    assert status == 200
    replies = json.loads(body)
    text = "\n".join(m.get("text", "") for m in replies)
    assert text and any(p in text for p in POLITE), text
    # the same conversation still works afterwards
    assert "天空劇場" in stack.reply_text("総会の会場はどこですか", sender)


def test_emoji_only_message_is_not_taken_for_a_greeting(stack):
    text = stack.reply_text("😀😀😀", f"e-{uuid.uuid4().hex[:6]}")
    assert "こんにちは" not in text
    assert "読み取れません" in text


def test_context_switches_when_a_new_subject_is_named(stack):
    sender = f"ctx-{uuid.uuid4().hex[:6]}"
    stack.reply_text("富士通の発表について", sender)
    assert "さいたま市" in stack.reply_text("どこで実証したの？", sender)
    stack.reply_text("京都府の発表について教えて", sender)
    reply = stack.reply_text("発表者は誰？", sender)
    assert "原田" in reply and "富士通" not in reply


def test_a_message_far_longer_than_a_question_is_refused_politely(stack):
    text = stack.reply_text("総会の会場は" * 2000, f"long-{uuid.uuid4().hex[:6]}")
    assert "長すぎる" in text and "天空劇場" not in text
