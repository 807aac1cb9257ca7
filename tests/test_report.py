"""The staff report on a generated tracker store of 1,000+ conversations (Rasa's real ``events`` schema,
written through the masking tracker store), SQLite and PostgreSQL: every figure equals the generator's."""
from __future__ import annotations

import datetime as dt
import json
import re
import sys

import pytest
from servers import REPO
from sqlalchemy import create_engine, text

from bot import cli, report

sys.path.insert(0, str(REPO / "bench"))
import gen_tracker  # noqa: E402

CONVERSATIONS = 1000


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def generated(request, databases):
    """(tracker URL, feedback URL, expected figures): the tracker store and the feedback share one database."""
    url = databases.new(request.param)
    expected = gen_tracker.generate(url, url, CONVERSATIONS, seed=11)
    yield url, expected
    databases.drop(url)


def test_the_store_has_rasas_schema_and_no_personal_data(generated):
    url, expected = generated
    engine = create_engine(url, future=True)
    with engine.connect() as conn:
        senders = conn.execute(text("SELECT COUNT(DISTINCT sender_id) FROM events")).scalar()
        rows = conn.execute(text("SELECT data FROM events WHERE type_name = 'user'")).scalars().all()
    engine.dispose()
    assert senders == expected.conversations == CONVERSATIONS
    texts = [json.loads(d)["text"] for d in rows]
    assert not [t for t in texts if "090-1234-5678" in t or "taro@example.jp" in t or "1234 5678 9012" in t]
    assert (sum("［電話番号］" in t and "［個人番号］" in t and "［メールアドレス］" in t for t in texts)
            == len(expected.pii_senders) > 0)


def test_figures_equal_the_generators_counts(generated):
    url, e = generated
    r = report.build(url, url)
    assert (r.conversations, r.messages, r.questions, r.answered, r.fallbacks, r.handoffs) == (
        e.conversations, e.messages, e.questions, e.answered, e.fallbacks, e.handoffs)
    assert (r.ratings_good, r.ratings_bad) == (e.good, e.bad)
    assert r.answered_share == pytest.approx(e.answered / e.questions)
    assert r.fallback_rate == pytest.approx(e.fallbacks / e.messages)
    assert r.bad_share == pytest.approx(e.bad / (e.good + e.bad))
    assert dict(r.intents) == dict(e.intents)
    assert dict(r.channels) == dict(e.channels)
    # grouping by similarity: one group per generated wording family, sizes as generated
    by_example = {g.example: (g.count, g.bad) for g in r.groups}
    families = {key: [w for w in gen_tracker.UNANSWERED_GROUPS[key]] for key in gen_tracker.UNANSWERED_GROUPS}
    for key, wordings in families.items():
        matching = [g for g in r.groups if g.example in wordings]
        assert len(matching) == 1, (key, by_example)
        assert (matching[0].count, matching[0].bad) == (e.groups[key], 0)
    bad = [g for g in r.groups if g.example == gen_tracker.BAD_QUESTION[1]]
    assert [(g.count, g.bad) for g in bad] == [(e.groups["bad"], e.groups["bad"])]
    assert len(r.groups) == len(e.groups)
    assert [g.count for g in r.groups] == sorted((g.count for g in r.groups), reverse=True)


@pytest.mark.parametrize("channel, stored", [("line", "line"), ("web", "socketio"), ("slack", "slack")])
def test_channel_filter(generated, channel, stored):
    url, e = generated
    r = report.build(url, url, channel=channel)
    per = e.by_channel[stored]
    assert (r.conversations, r.messages, r.answered, r.fallbacks, r.ratings_bad) == (
        per.conversations, per.messages, per.answered, per.fallbacks, per.bad)
    assert dict(r.channels) == {stored: per.conversations}


def test_since_filter(generated):
    url, e = generated
    day = sorted(e.conversations_since)[len(e.conversations_since) // 2]
    r = report.build(url, url, since=dt.date.fromisoformat(day))
    assert r.conversations == e.conversations_since[day]
    assert 0 < r.conversations < e.conversations


def test_similar_questions_are_grouped_whatever_their_order():
    groups = report.group_questions(["粗大ごみの出し方は？", "図書館は何時まで", "粗大ごみの出し方を教えてください",
                                     "粗大ごみの出し方を教えて"], ["図書館は何時まで開いていますか"])
    assert [(g.count, g.bad) for g in groups] == [(3, 0), (2, 1)]


def test_cli_writes_text_csv_and_a_self_contained_html_page(generated, tmp_path, capsys):
    url, e = generated
    assert cli.main(["--db", url, "report", "--tracker-db", url]) == 0
    out = capsys.readouterr().out
    assert f"会話数: {e.conversations}" in out and f"メッセージ数（利用者）: {e.messages}" in out
    assert cli.main(["--db", url, "report", "--tracker-db", url, "--format", "csv", "--channel", "line"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert f"概要,会話数,{e.by_channel['line'].conversations}," in rows
    page = tmp_path / "report.html"
    assert cli.main(["--db", url, "report", "--tracker-db", url, "--format", "html", "--out", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") >= 3 and "<style>" in html
    assert str(e.conversations) in html
    # self-contained: nothing is fetched (the only URL is the SVG namespace)
    assert not re.search(r"""(src|href)\s*=|@import|url\(|<script|<link""", html)
    assert set(re.findall(r"https?://[^\s\"'<]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert cli.main(["report", "--since", "2026-13-01", "--tracker-db", url]) == 2


def test_a_missing_tracker_store_is_reported_plainly(tmp_path, capsys):
    assert cli.main(["report", "--tracker-db", f"sqlite:///{tmp_path / 'none.sqlite3'}"]) == 1
    assert "トラッカーストアのファイルがありません" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite3").exists()


def test_a_report_that_cannot_be_written_is_a_message_not_a_traceback(generated, tmp_path, capsys):
    url, _ = generated
    assert cli.main(["--db", url, "report", "--tracker-db", url, "--format", "csv", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "書き出せません" in err


# -- why a question went unanswered (issue 18) ----------------------------------------------------
from bot.report import CLARIFY, MISSING, NOT_UNDERSTOOD, Turn, classify  # noqa: E402


def _results(turns):
    return [(t.text, result) for t, result in classify(turns)]


def test_a_clarification_the_user_answers_is_no_failure():
    turns = [Turn("府中市の団体コードは？", "ask_municipality", outcome=CLARIFY),
             Turn("東京都府中市の団体コードは？", "ask_municipality", outcome="answered", answer_source=True)]
    assert _results(turns) == [("府中市の団体コードは？", "clarified"), ("東京都府中市の団体コードは？", "answered")]


def test_a_clarification_left_unanswered_is_its_own_cause():
    left = [Turn("府中市の団体コードは？", "ask_municipality", outcome=CLARIFY)]
    other = left + [Turn("ぬるぽ", "nlu_fallback", outcome=NOT_UNDERSTOOD)]
    greeted = left + [Turn("ありがとう", "thanks", outcome="neutral")]
    assert _results(left) == [("府中市の団体コードは？", CLARIFY)]
    assert _results(other) == [("府中市の団体コードは？", CLARIFY), ("ぬるぽ", NOT_UNDERSTOOD)]
    assert _results(greeted) == [("府中市の団体コードは？", CLARIFY)]


def test_the_marker_decides_over_what_else_the_turn_holds():
    gap = Turn("懇親会は？", "ask_assembly", outcome=MISSING, answer_source=True, bot_text="懇親会は18時からです。")
    answered = Turn("会場は？", "ask_assembly", outcome="answered", answer_source=True,
                    bot_text="…の記載がありません、という題の発表です。")
    small_talk = Turn("使い方は？", "help", outcome="neutral")
    assert _results([gap, answered, small_talk]) == [("懇親会は？", MISSING), ("会場は？", "answered")]


def test_turns_stored_before_the_marker_are_read_from_their_slots():
    assert Turn("会場は？", "ask_assembly", answer_source=True, bot_text="会場は天空劇場です。").result == "answered"
    assert Turn("懇親会は？", "ask_assembly", answer_source=True,
                bot_text="第7回総会報告には、第7回総会の懇親会の記載がありません。").result == MISSING
    assert Turn("府中市の団体コードは？", "ask_municipality", pending=True).result == CLARIFY
    assert Turn("粗大ごみの出し方", "out_of_scope").result == NOT_UNDERSTOOD


@pytest.fixture(scope="module")
def kb_url(tmp_path_factory):
    from bot.kb.db import dispose_all
    from bot.kb.loader import load

    url = f"sqlite:///{tmp_path_factory.mktemp('report_kb') / 'kb.sqlite3'}"
    load(url=url)
    yield url
    dispose_all()


def test_the_guides_replies_carry_their_outcome(kb_url):
    """Reply.outcome, from the real resolvers on the shipped data."""
    from bot.dialogue import answer, details, reply
    from bot.dialogue.query import Context, Query
    from bot.kb.db import open_session

    def asked(text, intent, entities=()):
        found = [{"entity": e, "start": text.index(s), "end": text.index(s) + len(s), "value": v}
                 for e, s, v in entities]
        with open_session(kb_url) as session:
            return answer.answer(session, Query.build(intent=intent, text=text, entities=found, context=Context(),
                                                      ranking=[{"name": intent, "confidence": 0.9}]))

    fuchu = asked("府中市の団体コードは？", "ask_municipality",
                  [("municipality", "府中市", "府中市"), ("attribute", "団体コード", "code")])
    assert fuchu.buttons and fuchu.outcome == CLARIFY
    social = asked("第7回総会の懇親会はありましたか", "ask_assembly",
                   [("assembly_number", "第7回", "7"), ("attribute", "懇親会", "social")])
    assert social.answered and social.outcome == MISSING
    venue = asked("第7回総会の会場はどこですか", "ask_assembly",
                  [("assembly_number", "第7回", "7"), ("attribute", "会場", "where")])
    assert venue.outcome == "answered"
    assert asked("ぬるぽがっとほげほげ", "nlu_fallback").outcome == NOT_UNDERSTOOD
    assert asked("こんにちは", "greet").outcome == "neutral"
    # the markers Reply.outcome relies on are those of details.not_recorded and of bot.dialogue.answer
    assert (reply.NOT_RECORDED in details.not_recorded("報告", "総会", "social")
            and reply.NOT_RECORDED == report.NOT_RECORDED)
    assert reply.NOT_UNDERSTOOD_RESOLVER in dict(answer.RESOLVERS)


@pytest.fixture(scope="module")
def written(tmp_path_factory, kb_url):
    """The staff report tests' conversations, the bot's messages made by the real actions."""
    from test_staff_report import write_conversations

    tracker = f"sqlite:///{tmp_path_factory.mktemp('report_tracker') / 'tracker.sqlite3'}"
    write_conversations(tracker, kb_url)
    return tracker, kb_url


def test_madoguchi_report_no_longer_counts_a_clarification_as_unanswered(written, capsys):
    tracker, url = written
    from test_staff_report import DAY

    only_the_pick = report.build(tracker, url, since=DAY, until=DAY)  # 府中市 → buttons → 東京都府中市
    assert (only_the_pick.questions, only_the_pick.answered, only_the_pick.clarified,
            only_the_pick.unanswered) == (1, 1, 1, 0)
    assert only_the_pick.groups == []
    r = report.build(tracker, url)
    assert dict(r.causes) == {NOT_UNDERSTOOD: 5, MISSING: 2, CLARIFY: 2}
    assert cli.main(["--db", url, "report", "--tracker-db", tracker]) == 0
    out = capsys.readouterr().out
    assert "確認の質問（候補の選択）に返事がなかった: 2" in out and "確認の質問に答えていただき回答できた件数: 1" in out
    assert "府中市の団体コードは？ … 2件（確認に返事なし 2）" in out
    assert "第7回総会の懇親会はありましたか … 2件（データに記載なし 2）" in out
    assert cli.main(["--db", url, "report", "--tracker-db", tracker, "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert "回答できなかった理由,確認の質問（候補の選択）に返事がなかった,2,clarify" in rows
    assert "回答できなかった理由,質問は読み取れたが、データに記載がなかった（データの追加が必要）,2,missing" in rows
    assert "概要,確認の質問で回答できた,1," in rows
    assert cli.main(["--db", url, "report", "--tracker-db", tracker, "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert "<li>確認の質問（候補の選択）に返事がなかった: 2件</li>" in page
    assert "&lt;script&gt;window.__x=1&lt;/script&gt;" in page and "<script>" not in page
