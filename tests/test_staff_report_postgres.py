"""The report page and the downloads on PostgreSQL (127.0.0.1:5432), as deployed: the knowledge base, the
staff tables and the tracker store each a database of this test session, the real desk over plain HTTP
(issue 18, sections 4 and 5)."""
from __future__ import annotations

import re
import urllib.parse

import pytest
from staff_desk import add_account, staff_server
from test_staff_downloads import exported, raw_get
from test_staff_report import DAY, FUCHU, faq_links, page_rows, write_conversations

from bot import report
from bot.kb import staff as store
from bot.kb.db import dispose_all

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_desk(databases, tmp_path_factory):
    url = databases.new_loaded("postgresql")
    tracker = databases.new("postgresql")
    try:
        write_conversations(tracker, url)
        for name, role in (("pg-editor", "editor"), ("pg-viewer", "viewer")):
            assert add_account(url, name, role).returncode == 0
        dispose_all()
        with staff_server(url, tmp_path_factory.mktemp("staff_report_pg"),
                          {"MADOGUCHI_TRACKER_DB_URL": tracker}) as server:
            yield server, url, tracker
    finally:
        databases.drop(tracker)
        databases.drop(url)


def logged_in(server, name):
    client = server.client()
    assert client.login(name).status == 303
    return client


def test_the_report_on_postgresql(pg_desk):
    server, url, tracker = pg_desk
    editor = logged_in(server, "pg-editor")
    page = editor.get("/report")
    assert page.status == 200
    built = report.build(tracker, url, top=20)
    assert page_rows(page.text) == report.summary_rows(built)
    assert (dict(built.causes) == {report.NOT_UNDERSTOOD: 5, report.MISSING: 2, report.CLARIFY: 2}
            and built.clarified == 1)
    links = {link["question"][0]: link for link in faq_links(page.text)}
    assert links[FUCHU.text]["path"] == ["/data/faq/new"] and links["ぴよぴよぱよぱよ"]["lg_code"] == ["131075"]
    filtered = editor.get("/report?" + urllib.parse.urlencode({"since": DAY.isoformat(), "until": DAY.isoformat(),
                                                                "channel": "rest"}))
    assert page_rows(filtered.text) == report.summary_rows(
        report.build(tracker, url, since=DAY, until=DAY, channel="rest"))
    assert "回答できなかった質問</th><td>0</td>" in filtered.text
    bad = editor.get("/report?since=2026-03-10&until=2026-03-01")
    assert bad.status == 400 and "開始日（2026-03-10）が終了日（2026-03-01）より後になっています。" in bad.text


def test_downloads_on_postgresql(pg_desk):
    server, url, _ = pg_desk
    viewer = logged_in(server, "pg-viewer")
    status, headers, body = raw_get(server, viewer, "/download/faq.csv")
    assert status == 200 and body == exported(url, "faq-csv")
    status, headers, body = raw_get(server, viewer, "/download/events.csv?encoding=cp932")
    assert status == 200 and body.decode("cp932") == exported(url, "event-csv").decode("utf-8").lstrip("\ufeff")
    details = [e.detail for e in store.audit_entries(50, url) if e.action == "download" and e.account == "pg-viewer"]
    assert (details[:2] == [d for d in details[:2] if re.match(r"(イベント一覧|FAQ)（(events|faq)\.csv、", d)]
            and len(details) == 2)
    assert (details[0].startswith("イベント一覧（events.csv、CP932、")
            and details[1].startswith("FAQ（faq.csv、UTF-8（BOM付き）、"))
