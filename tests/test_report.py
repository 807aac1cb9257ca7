"""The staff report on a generated tracker store of 1,000+ conversations (Rasa's real ``events`` schema,
written through the masking tracker store), SQLite and PostgreSQL: every figure equals the generator's."""
from __future__ import annotations

import datetime as dt
import json
import re
import sys

import pytest
from sqlalchemy import create_engine, text

from bot import cli, report
from servers import REPO

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
    assert sum("［電話番号］" in t and "［個人番号］" in t and "［メールアドレス］" in t for t in texts) == len(expected.pii_senders) > 0


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
