"""The data page in a real headless Chromium, with the real guide running on the same knowledge base
(issue 18, "Done when"): upload a file with errors and see the error table; upload a good FAQ file and
publish it, after which the guide answers the new entry over REST; roll back, after which the answer is
gone; open the single-entry form prefilled as the report's 「FAQに追加」 does.

The guide is the real Rasa server with its actions in the process (tests/servers.py, as ``make run``),
on the same SQLite file as the desk; nothing is restarted between the steps. A screenshot of each data
page is written under the test's tmp dir and its path printed. Chromium is required (never skipped).
"""
from __future__ import annotations

import base64
import time
import urllib.parse
import uuid

import pytest
from chromium import MISSING, Chromium, find_chromium
from servers import RasaStack
from staff_desk import add_account, log_in_in_browser, staff_server
from test_staff_data import BAD_FAQ, GOOD_FAQ, NEW_ANSWER, NEW_QUESTION

from bot.kb.db import dispose_all
from bot.kb.loader import load

ASKED = "犬の登録はどこでできますか？"


def full_screenshot(b: Chromium, path):
    """The whole page, not only the window (the data pages are long)."""
    metrics = b.send("Page.getLayoutMetrics")["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": metrics["width"], "height": min(metrics["height"], 6000), "scale": 1}
    data = b.send("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)["data"]
    path.write_bytes(base64.b64decode(data))
    print(f"\nstaff desk data page screenshot: {path}")
    return path


def choose_file(b: Chromium, path) -> None:
    """Puts a file into the page's file input, as a person does in the file dialog."""
    root = b.send("DOM.getDocument")["root"]["nodeId"]
    node = b.send("DOM.querySelector", nodeId=root, selector="#file")["nodeId"]
    b.send("DOM.setFileInputFiles", nodeId=node, files=[str(path)])


def guide_answer(stack: RasaStack, must_contain: str | None, must_not_contain: str | None = None) -> str:
    """The guide's REST reply to the new entry's question, asked until it reflects the publish (the guide's
    search checks the data every 2 s); returns the reply and how long it took is printed."""
    start = time.monotonic()
    while True:
        reply = stack.reply_text(ASKED, f"data-{uuid.uuid4().hex[:8]}")
        if ((must_contain is None or must_contain in reply)
                and (must_not_contain is None or must_not_contain not in reply)):
            print(f"\nthe guide answered from the published data {time.monotonic() - start:.1f}s after the publish")
            return reply
        if time.monotonic() - start > 60:
            raise AssertionError(f"the guide still answers {reply!r}")
        time.sleep(0.5)


def test_upload_publish_and_roll_back_in_chromium_while_the_guide_answers(tmp_path):
    executable = find_chromium()
    if executable is None:
        pytest.fail(MISSING)
    db_url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    load(url=db_url)
    assert add_account(db_url, "keeper", "editor").returncode == 0
    dispose_all()
    (tmp_path / "bad.csv").write_bytes(BAD_FAQ.encode("cp932"))
    (tmp_path / "pets.csv").write_bytes(("\ufeff" + GOOD_FAQ).encode("utf-8"))
    stack = RasaStack(tmp_path / "guide", db_url)
    stack.workdir.mkdir()
    stack.start()
    try:
        before = stack.reply_text(ASKED, "before")
        assert NEW_ANSWER not in before
        with staff_server(db_url, tmp_path / "desk") as server:
            browser = Chromium(executable, tmp_path / "profile")
            try:
                _drive(browser, server.url, stack, tmp_path)
            finally:
                browser.close()
    finally:
        stack.stop()


def _drive(b: Chromium, base: str, stack: RasaStack, tmp_path) -> None:
    log_in_in_browser(b, base, "keeper", "/data")
    b.wait_for("location.pathname === '/data' && !!document.getElementById('file')", what="the data page")
    first = int(b.evaluate("document.getElementById('current-version').textContent.replace('版 ', '')"))
    full_screenshot(b, tmp_path / "staff_data.png")

    # A file with errors: the table names file, row, column and reason; nothing is published.
    choose_file(b, tmp_path / "bad.csv")
    b.click("form.upload button[type=submit]")
    b.wait_for("!!document.getElementById('problems')", what="the problems table")
    rows = b.evaluate("[...document.querySelectorAll('#problems tbody tr')]"
                      ".map(r => [...r.cells].map(c => c.textContent))")
    assert ["bad.csv", "2", "回答", "値が空です（必須の項目です）"] in rows
    assert len(rows) == 5 and all(r[0] == "bad.csv" for r in rows)
    full_screenshot(b, tmp_path / "staff_data_problems.png")

    # A good FAQ file: the preview shows what is added and what changes (old → new); publish.
    b.goto(base + "data")
    choose_file(b, tmp_path / "pets.csv")
    b.click("form.upload button[type=submit]")
    b.wait_for("location.pathname.startsWith('/data/preview/') && !!document.getElementById('publish')",
               what="the preview")
    summary = b.evaluate("document.getElementById('diff-summary').textContent.replace(/\\s+/g, '')")
    assert summary == "追加1件・変更1件・削除0件"
    assert NEW_QUESTION in b.evaluate("document.getElementById('diff-added').textContent")
    assert "テストで変更" in b.evaluate("[...document.querySelectorAll('#diff-changed td.new')]"
                                        ".map(t => t.textContent).join('|')")
    full_screenshot(b, tmp_path / "staff_data_preview.png")
    b.click("#publish")
    b.wait_for("location.pathname === '/data' && !!document.querySelector('p.notice')", what="the published notice")
    assert f"版 {first + 1} として公開しました" in b.evaluate("document.querySelector('p.notice').textContent")
    full_screenshot(b, tmp_path / "staff_data_published.png")

    # The running guide answers the new entry over REST, without a restart.
    reply = guide_answer(stack, NEW_ANSWER)
    assert "犬の登録" in reply and "pets.csv" in reply  # the entry and its source

    # Roll back to the version before: the preview says the entry goes; publish; the answer is gone.
    b.click(f"#rollback-{first}")
    b.wait_for("location.pathname.startsWith('/data/preview/') && !!document.getElementById('publish')",
               what="the rollback preview")
    assert NEW_QUESTION in b.evaluate("document.getElementById('diff-removed').textContent")
    full_screenshot(b, tmp_path / "staff_data_rollback.png")
    b.click("#publish")
    b.wait_for("location.pathname === '/data' && !!document.querySelector('p.notice')", what="the rollback notice")
    assert b.evaluate("document.getElementById('current-version').textContent") == f"版 {first + 2}"
    reply = guide_answer(stack, None, must_not_contain=NEW_ANSWER)
    assert "pets.csv" not in reply

    # The report's 「FAQに追加」 opens the single-entry form prefilled from the query string.
    query = urllib.parse.urlencode({"question": "ペットの<b>登録</b>は？", "category": "ペット", "lg_code": "131075"})
    b.goto(base + "data/faq/new?" + query)
    assert b.evaluate("document.getElementById('question').value") == "ペットの<b>登録</b>は？"
    assert b.evaluate("document.getElementById('lg_code').value") == "131075"
    assert b.evaluate("document.querySelectorAll('main b').length") == 0  # shown as text
    full_screenshot(b, tmp_path / "staff_data_faq_form.png")
    console = b.console()
    assert "Refused to" not in console, console  # the CSP blocked nothing
