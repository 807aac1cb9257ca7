"""The staff desk in a real headless Chromium (Debian's package, driven over the DevTools protocol by
tests/chromium.py): log in, search, move through the results by keyboard, take a municipality suggestion,
copy an answer, read the audit log (issue 18). Screenshots of the login, look-up and audit pages are written
under the test's tmp dir and their paths printed.

Chromium is required: a missing Chromium fails the test; it is never skipped.
"""
from __future__ import annotations

import pytest
from chromium import MISSING, Chromium, find_chromium
from staff_desk import PASSWORD, add_account, staff_server

from bot.kb.db import dispose_all
from bot.kb.loader import load
from bot.search import index as search_index

ACTIVE = ("(() => { const a = document.activeElement; "
          "return a ? (a.id || (a.dataset && a.dataset.rank ? 'result-' + a.dataset.rank : a.tagName)) : null; })()")


def test_log_in_search_and_copy_an_answer_in_chromium(tmp_path):
    executable = find_chromium()
    if executable is None:
        pytest.fail(MISSING)
    db_url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    load(url=db_url)
    assert add_account(db_url, "counter", "viewer").returncode == 0
    dispose_all()
    expected = search_index.search("住民票の写し", limit=10, url=db_url)
    with staff_server(db_url, tmp_path / "desk") as server:
        browser = Chromium(executable, tmp_path / "profile")
        try:
            _drive(browser, server.url, expected, tmp_path)
        finally:
            browser.close()


def _drive(b: Chromium, base: str, expected, tmp_path) -> None:
    b.send("Browser.grantPermissions", origin=base.rstrip("/"),
           permissions=["clipboardReadWrite", "clipboardSanitizedWrite"])
    b.goto(base + "login")
    assert b.evaluate(ACTIVE) == "username"  # the form starts where a person types
    print(f"\nstaff desk login page screenshot: {b.screenshot(tmp_path / 'staff_login.png')}")

    # Log in with the keyboard, as a person (or a password manager) fills the two fields.
    b.type_text("counter")
    b.press("Tab")
    assert b.evaluate(ACTIVE) == "password"
    b.type_text(PASSWORD)
    b.press("Enter")
    b.wait_for("location.pathname === '/' && !!document.getElementById('q')", what="the look-up page")
    assert b.evaluate(ACTIVE) == "q"
    assert "counter（閲覧者）" in b.evaluate("document.querySelector('.who').textContent")

    # A municipality suggestion from the national master, typed in romaji.
    b.evaluate("document.getElementById('lg').focus()")
    b.type_text("sumida")
    b.wait_for("[...document.querySelectorAll('#lg-options option')].some(o => o.value === '131075 東京都墨田区')",
               what="the suggestion 131075 東京都墨田区")
    b.evaluate("document.getElementById('lg').value = ''")

    # Search: the results are those of the faq_search ranking, matched words marked.
    b.evaluate("document.getElementById('q').focus()")
    b.type_text("住民票の写し")
    b.press("Enter")
    b.wait_for("document.querySelectorAll('#results > li.result').length > 0", what="results")
    titles = b.evaluate("[...document.querySelectorAll('#results h2')].map(h => h.textContent.trim())")
    assert titles == [("FAQ " if h.kind == "faq" else "発表 ") + h.title for h in expected]
    assert b.evaluate("document.querySelector('#answer-1 mark').textContent") in ("住民票", "写し")

    # Keyboard: "/" goes to the search box, the arrows move between the results and back.
    b.evaluate("document.activeElement.blur()")
    b.press("/")
    assert b.evaluate(ACTIVE) == "q"
    assert b.evaluate("document.getElementById('q').value") == "住民票の写し"  # the "/" was not typed
    b.press("ArrowDown")
    assert b.evaluate(ACTIVE) == "result-1"
    b.press("ArrowDown")
    assert b.evaluate(ACTIVE) == "result-2"
    b.press("ArrowUp")
    b.press("ArrowUp")
    assert b.evaluate(ACTIVE) == "q"

    # Copy an answer with a real click; the clipboard then holds the answer's text.
    b.click("#results > li.result:nth-child(1) button.copy")
    b.wait_for("document.getElementById('copy-status').textContent === '回答をコピーしました。'",
               what="the copy notice")
    assert b.evaluate("navigator.clipboard.readText()") == expected[0].text
    # and with the keyboard: from the button, ↓ selects the next result; "c" copies the selected one's answer
    b.press("ArrowDown")
    assert b.evaluate(ACTIVE) == "result-2"
    b.evaluate("document.getElementById('copy-status').textContent = ''")
    b.press("c")
    b.wait_for("document.getElementById('copy-status').textContent === '回答をコピーしました。'",
               what="the copy notice")
    assert b.evaluate("navigator.clipboard.readText()") == expected[1].text

    console = b.console()
    assert "Refused to" not in console, console  # the CSP blocked nothing: everything is the desk's own
    b.evaluate("window.scrollTo(0, 0)")
    shot = b.screenshot(tmp_path / "staff_lookup.png")
    print(f"staff desk look-up page screenshot: {shot}")

    # The audit log shows this login, by the account that made it.
    b.goto(base + "audit")
    b.wait_for("document.querySelectorAll('table tbody tr').length > 0", what="the audit log's rows")
    rows = b.evaluate("[...document.querySelectorAll('table tbody tr')].map(r => r.textContent)")
    assert any("counter" in r and "ログイン" in r for r in rows), rows
    print(f"staff desk audit log screenshot: {b.screenshot(tmp_path / 'staff_audit.png')}")
