"""The report page in a real headless Chromium (Debian's package, driven by tests/chromium.py): log in as
an editor, open the report, open a group, click 「FAQに追加」 and see the data page's FAQ form prefilled
(issue 18, section 4). The report page's screenshot is written under the test's tmp dir and its path
printed. The page must run under the desk's Content-Security-Policy without a single violation.

Chromium is required: a missing Chromium fails the test; it is never skipped.
"""
from __future__ import annotations

import pytest
from chromium import MISSING, Chromium, find_chromium
from staff_desk import add_account, log_in_in_browser, staff_server
from test_staff_report import FUCHU, SOCIAL, write_conversations

from bot import report
from bot.kb.db import dispose_all
from bot.kb.loader import load
from bot.staff import report_page


def test_open_a_report_group_and_add_an_faq_entry_from_it(tmp_path):
    executable = find_chromium()
    if executable is None:
        pytest.fail(MISSING)
    db_url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    tracker_url = f"sqlite:///{tmp_path / 'tracker.sqlite3'}"
    load(url=db_url)
    write_conversations(tracker_url, db_url)
    assert add_account(db_url, "keeper", "editor").returncode == 0
    dispose_all()
    built = report.build(tracker_url, db_url, top=report_page.TOP_GROUPS)
    with staff_server(db_url, tmp_path / "desk", {"MADOGUCHI_TRACKER_DB_URL": tracker_url}) as server:
        browser = Chromium(executable, tmp_path / "profile")
        try:
            _drive(browser, server.url, built, db_url, tmp_path)
        finally:
            browser.close()


def _drive(b: Chromium, base: str, built, db_url: str, tmp_path) -> None:
    log_in_in_browser(b, base, "keeper", "/report")
    b.wait_for("location.pathname === '/report' && !!document.querySelector('.report-figures')", what="the report page")

    # the figures and the causes, as `madoguchi report` counts them
    figures = b.evaluate("[...document.querySelectorAll('.report-figures tr')]"
                         ".map(r => [r.cells[0] ? r.querySelector('th').textContent : '',"
                         " r.querySelector('td').textContent])")
    assert [tuple(row) for row in figures] == report.summary_rows(built)
    assert b.evaluate("document.querySelectorAll('.report-charts svg').length") == len(report.charts(built))
    # charts are drawn (they have a size) and use the desk's stylesheet only
    assert b.evaluate("[...document.querySelectorAll('.report-charts svg')]"
                      ".every(s => s.getBoundingClientRect().width > 200)")
    assert b.evaluate("getComputedStyle(document.querySelector('.report-filter')).display") == "flex"
    shot = b.screenshot(tmp_path / "staff_report.png")
    print(f"\nstaff desk report page screenshot: {shot}")

    # open the group of the 府中市 clarification left unanswered
    index = next(i for i, g in enumerate(built.groups, 1) if g.example == FUCHU.text)
    group = f"#group-{index} details"
    assert b.evaluate(f"document.querySelector('{group}').open") is False
    b.click(f"{group} summary")
    b.wait_for(f"document.querySelector('{group}').open"
               f" && document.querySelector('{group} a.faq-add').offsetParent !== null",
               what="the opened group")
    text = b.evaluate(f"document.querySelector('{group}').textContent")
    assert report.CAUSES[report.CLARIFY] in text and FUCHU.text in text
    shot = b.screenshot(tmp_path / "staff_report_group.png")
    print(f"staff desk report group screenshot: {shot}")

    # 「FAQに追加」 opens the data page's FAQ form, prefilled
    href = b.evaluate(f"document.querySelector('{group} a.faq-add').getAttribute('href')")
    assert href == report_page.faq_link(FUCHU.text, report_page._category(FUCHU.text, db_url), "")
    assert b.evaluate(f"document.querySelector('{group} a.faq-add').textContent") == "FAQに追加"
    b.click(f"{group} a.faq-add")
    b.wait_for("location.pathname === '/data/faq/new' && !!document.getElementById('question')", what="the FAQ form")
    assert b.evaluate("document.getElementById('question').value") == FUCHU.text
    assert b.evaluate("document.getElementById('category').value") == report_page._category(FUCHU.text, db_url)
    assert b.evaluate("document.getElementById('lg_code').value") == ""
    shot = b.screenshot(tmp_path / "staff_report_faq_form.png")
    print(f"staff desk FAQ form from the report screenshot: {shot}")

    # a data gap: the second group kind, prefilled the same way
    b.goto(base + "report")
    index = next(i for i, g in enumerate(built.groups, 1) if g.example == SOCIAL.text)
    b.click(f"#group-{index} details summary")
    b.wait_for(f"document.querySelector('#group-{index} details').open", what="the data-gap group")
    assert report.CAUSES[report.MISSING] in b.evaluate(f"document.querySelector('#group-{index}').textContent")
    b.click(f"#group-{index} a.faq-add")
    b.wait_for("location.pathname === '/data/faq/new' && !!document.getElementById('question')", what="the FAQ form")
    assert b.evaluate("document.getElementById('question').value") == SOCIAL.text

    # nothing was blocked by the Content-Security-Policy, nothing failed to load
    console = b.console(100)
    assert "Content Security Policy" not in console and "Refused to" not in console, console
    assert "exception:" not in console, console
