"""End to end over REST: the real Rasa server running the real actions, a freshly built database."""
from __future__ import annotations

import json
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from servers import REPO, post_json, running_stack

from bot.dialogue.reply import APOLOGY
from devtools.qa import check, load_cases

PUBLIC_QA = REPO.parent / "shared" / "eval" / "public_qa.yml"
CASES = load_cases(PUBLIC_QA)
POLITE = ("ください", "ません", "です", "ます", "ました", "でした")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("e2e")) as servers:
        yield servers


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


def test_a_question_worded_like_a_rating_is_answered_not_rated(stack):
    # 「合ってる？」 about a named municipality asks for its data; it does not rate the last answer.
    reply = stack.reply_text("吉川市って埼玉県で合ってる？", f"q-{uuid.uuid4().hex[:6]}")
    assert "埼玉県" in reply and "評価" not in reply


def test_a_message_far_longer_than_a_question_is_refused_politely(stack):
    text = stack.reply_text("総会の会場は" * 2000, f"long-{uuid.uuid4().hex[:6]}")
    assert "長すぎる" in text and "天空劇場" not in text


def test_a_question_no_intent_fits_is_answered_from_the_faq_with_its_source(stack):
    reply = stack.reply_text("粗大ごみを出したいのですが、どうすればいいですか", f"faq-{uuid.uuid4().hex[:6]}")
    assert "粗大ごみ" in reply and "出典" in reply and "サンプル" in reply


def test_choosing_among_ambiguous_municipalities_in_words(stack):
    sender = f"amb-{uuid.uuid4().hex[:6]}"
    first = stack.ask("府中市の団体コードは？", sender)
    assert [b["title"] for m in first for b in m.get("buttons", [])] == ["東京都府中市", "広島県府中市"]
    reply = stack.reply_text("広島県の方です", sender)
    assert "342084" in reply and "132063" not in reply


def test_staff_search_endpoint_returns_ranked_json(stack):
    import urllib.parse
    import urllib.request

    query = urllib.parse.urlencode({"q": "保育所の入所選考をAIで", "limit": 3})
    with urllib.request.urlopen(f"{stack.url}/webhooks/faq_search/search?{query}", timeout=30) as response:
        data = json.loads(response.read())
    assert data["hits"] and data["hits"][0]["kind"] == "presentation"
    assert "富士通" in data["hits"][0]["title"] and data["hits"][0]["source"]
    query = urllib.parse.urlencode({"q": "住民票", "lg_code": "131211"})
    with urllib.request.urlopen(f"{stack.url}/webhooks/faq_search/search?{query}", timeout=30) as response:
        hits = json.loads(response.read())["hits"]
    assert hits and all(h["lg_code"] in ("131211", None) for h in hits)


@pytest.mark.parametrize(
    "path, body, expected",
    [
        ("/webhooks/faq_search/search?q=x&limit=abc", None, "limit"),
        ("/webhooks/faq_search/search?q=x&lg_code=131212", None, "検査数字"),
        ("/webhooks/faq_search/search", b"{not json", "JSON"),
    ],
    ids=["bad-limit", "bad-code", "malformed-json"],
)
def test_staff_search_endpoint_refuses_bad_input_with_a_reason(stack, path, body, expected):
    status, payload = post_json(stack.url + path, None, raw=body) if body is not None else _get(stack.url + path)
    assert status == 400
    assert expected in json.loads(payload)["error"]
    assert "天空劇場" in stack.reply_text("総会の会場は？", f"after-{uuid.uuid4().hex[:6]}")


def _get(url):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_rest_webhook_survives_malformed_json(stack):
    status, _ = post_json(stack.webhook, None, raw=b'{"sender": "x", "message": ')
    assert 400 <= status < 500
    assert "天空劇場" in stack.reply_text("総会の会場は？", f"mal-{uuid.uuid4().hex[:6]}")


# -- the actions run inside the Rasa server (bot/action_runner.py): a stalled one stalls no one else ----


@contextmanager
def knowledge_base_locked(stack):
    """Another process holds the knowledge base's write lock (as a long `madoguchi kb build` would)."""
    conn = sqlite3.connect(stack.workdir / "kb.sqlite3", isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def test_a_question_waiting_on_the_knowledge_base_does_not_stall_the_server_for_other_users(stack):
    # a municipality's code is looked up in the master table on every question (no snapshot)
    with knowledge_base_locked(stack) as lock, ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(stack.reply_text, "吉川市の団体コードは？", f"wait-{uuid.uuid4().hex[:6]}")
        time.sleep(1.0)  # the question reaches its action, which waits for the lock (up to 5 s)
        greeting = stack.reply_text("こんにちは", f"other-{uuid.uuid4().hex[:6]}")
        assert greeting and not waiting.done()  # answered while the first question still waits
        lock.execute("ROLLBACK")
        assert "112437" in waiting.result(timeout=60)  # and that one is answered once the lock goes


def test_a_knowledge_base_locked_too_long_gets_the_apology_and_the_conversation_goes_on(stack):
    sender = f"locked-{uuid.uuid4().hex[:6]}"
    assert "吉川市" in stack.reply_text("吉川市の発表について教えて", sender)
    with knowledge_base_locked(stack):
        assert stack.reply_text("墨田区の団体コードは？", sender) == APOLOGY  # the action gave up after 5 s
    assert "131075" in stack.reply_text("墨田区の団体コードは？", sender)
    after = stack.reply_text("吉川市の発表者は？", sender)
    assert "を発表したのは吉川市です" in after


def test_answers_served_from_snapshots_do_not_wait_for_a_knowledge_base_rebuild(stack):
    """While a rebuild holds the database (and commits nothing yet), the committed knowledge is still
    the current one: answers that come from it are given at once (bot/kb/queries.py)."""
    assert "天空劇場" in stack.reply_text("第7回総会の会場は？", f"warm-{uuid.uuid4().hex[:6]}")
    with knowledge_base_locked(stack), ThreadPoolExecutor(1) as pool:
        answer = pool.submit(stack.reply_text, "第7回総会の会場はどこですか", f"snap-{uuid.uuid4().hex[:6]}")
        assert "天空劇場" in answer.result(timeout=60)  # not the apology of an action that gave up waiting


def test_the_server_loaded_its_actions_when_it_started(stack):
    # before any user's question (no first-user wait for the import; a broken package would show here)
    assert "custom actions run in this process:" in stack.log_texts()["rasa.log"]
