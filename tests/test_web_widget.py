"""The web chat widget in a real headless Chromium, against the real Rasa server and its actions.

The demo page is served by ``python -m devtools.web_server`` (the command ``make run`` uses); the widget
talks to Rasa's socket.io channel cross-origin, so Rasa runs with ``--cors <page origin>``. The test
also starts Rasa with ``--enable-api`` (test only) to push a reply into the widget's conversation
with ``trigger_intent`` — the one way to make the real bot answer with text it did not write itself
(「<img …>」は…見つかりません), to check that bot replies with markup show as text.

The page's origin is the one Rasa's socket.io accepts (``MADOGUCHI_CORS``, bot.channels.socketio): the widget
keeps the session id and token the server confirmed, resumes the conversation with them after a reload,
and 「会話を消去」 starts a new session (new id and token).

Chromium is Debian's package (``.ci/run`` installs it). A missing Chromium fails the test; it is never skipped.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from chromium import MISSING, Chromium, find_chromium
from servers import REPO, RasaStack, post_json

from bot.channels.conversations import conversation_key
from bot.kb.loader import load

pytestmark = pytest.mark.e2e

WIDGET = REPO / "web" / "madoguchi-widget.js"
RESULT_SCREENSHOT = REPO / "results" / "web_widget.png"
XSS_USER = '<img src=x onerror="window.__xss=1"> と <script>window.__xss=2</script> の団体コードは？'
XSS_BOT_NAME = '<img src=x onerror="window.__xss=3"><script>window.__xss=4</script>'

# JavaScript helpers evaluated in the page: the widget lives in an open shadow root.
JS_HELPERS = r"""
window.__mg = {
  root: () => document.getElementById('madoguchi-chat').shadowRoot,
  q: (sel) => __mg.root().querySelector(sel),
  active: () => { const a = __mg.root().activeElement; return a ? (a.id || a.className || a.tagName) : null; },
  messages: () => [...__mg.q('#mg-log').children].map(n => ({
    who: n.classList.contains('mg-user') ? 'user' : 'bot',
    text: [...n.childNodes].filter(c => !(c.classList && c.classList.contains('mg-sr')))
      .map(c => c.textContent).join(''),
  })),
  quick: () => [...__mg.q('.mg-quick').querySelectorAll('button')].map(b => b.textContent),
  center: (el) => { const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; },
  watchLog: () => {
    window.__mut = {added: [], removed: 0, other: 0};
    new MutationObserver(records => records.forEach(r => {
      if (r.type === 'childList' && r.target === __mg.q('#mg-log')) {
        r.addedNodes.forEach(n => __mut.added.push(n.textContent));
        __mut.removed += r.removedNodes.length;
      } else { __mut.other += 1; }
    })).observe(__mg.q('#mg-log'), {childList: true, subtree: true, characterData: true, attributes: true});
  },
};
true
"""


class WidgetStack(RasaStack):
    """The real servers, with the flags the widget needs: ``--cors`` for the demo page's origin (and
    ``MADOGUCHI_CORS``, which the socket.io handshake checks) and, for this test only, ``--enable-api``
    (trigger_intent)."""

    cors: str = "*"

    def _spawn(self, name, args):
        if name == "rasa":
            args = [*args, "--cors", self.cors, "--enable-api"]
        return super()._spawn(name, args)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("web")
    db_url = f"sqlite:///{workdir / 'kb.sqlite3'}"
    load(url=db_url)
    stack = WidgetStack(workdir, db_url)
    web = subprocess.Popen(
        [sys.executable, "-m", "devtools.web_server", "--port", "0", "--rasa", stack.url, "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = web.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        assert match, f"web server printed no URL: {line!r}"
        page_url = match.group(1)
        parts = urllib.parse.urlsplit(page_url)
        stack.cors = f"{parts.scheme}://{parts.netloc}"
        stack.extra_env.update({"MADOGUCHI_CORS": stack.cors,
                                "MADOGUCHI_SESSION_SECRET_FILE": str(workdir / "session_secret")})
        stack.start()
        yield stack, page_url
    finally:
        stack.stop()
        web.terminate()
        web.wait(timeout=10)


def test_widget_source_never_renders_html():
    source = WIDGET.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source, sink


def test_widget_in_real_chromium(request, tmp_path_factory):
    executable = find_chromium()
    if executable is None:
        pytest.fail(MISSING)
    stack, page_url = request.getfixturevalue("servers")
    assert f"?rasa={stack.url}" in page_url
    out_dir = tmp_path_factory.getbasetemp() / "web_widget"
    browser = Chromium(executable, out_dir / "profile")
    try:
        _drive(browser, stack, page_url, out_dir)
    finally:
        browser.close()


def _drive(b: Chromium, stack: RasaStack, page_url: str, out_dir) -> None:
    def ask(text: str, expect: str) -> None:
        b.type_text(text)
        b.press("Enter")
        b.wait_for(f"__mg.messages().some(m => m.who === 'bot' && m.text.includes({json.dumps(expect)}))",
                   timeout=60, what=f"a reply containing {expect} to {text}")

    def click(selector_js: str) -> None:
        x, y = b.evaluate(f"__mg.center({selector_js})")
        b.click_at(x, y)

    b.goto(page_url)
    b.wait_for("!!document.getElementById('madoguchi-chat')", what="the widget")
    b.evaluate(JS_HELPERS)
    assert b.evaluate("__mg.q('#mg-dialog').hidden") is True
    assert b.evaluate("__mg.q('.mg-launcher').getAttribute('aria-expanded')") == "false"

    # Open with a real click: focus lands in the labelled input.
    click("__mg.q('.mg-launcher')")
    b.wait_for("!__mg.q('#mg-dialog').hidden", what="the dialog to open")
    assert b.evaluate("__mg.active()") == "mg-input"
    assert b.evaluate("__mg.q('.mg-launcher').getAttribute('aria-expanded')") == "true"
    b.evaluate("__mg.watchLog()")

    # 1. A typed question and its answer; the input is emptied and keeps the focus.
    ask("第7回総会の会場は？", "天空劇場")
    messages = b.evaluate("__mg.messages()")
    assert {"who": "user", "text": "第7回総会の会場は？"} in messages
    assert b.evaluate("__mg.q('#mg-input').value") == ""
    assert b.evaluate("__mg.active()") == "mg-input"

    # 2. An ambiguous name: the bot's buttons show as quick replies; clicking one sends its payload and
    #    shows its title as the user's message.
    ask("府中市の団体コードは？", "複数")
    b.wait_for("__mg.quick().includes('東京都府中市')", what="the quick reply 東京都府中市")
    assert b.evaluate("__mg.quick()") == ["東京都府中市", "広島県府中市"]
    click("[...__mg.q('.mg-quick').querySelectorAll('button')].find(x => x.textContent === '東京都府中市')")
    b.wait_for("__mg.messages().some(m => m.who === 'bot' && m.text.includes('132063'))", timeout=60, what="132063")
    assert b.evaluate("__mg.messages().filter(m => m.who === 'user').map(m => m.text)") == [
        "第7回総会の会場は？", "府中市の団体コードは？", "東京都府中市"]
    assert b.evaluate("__mg.quick()") == ["👍 役に立った", "👎 違っていた"]  # feedback on the factual answer
    assert b.evaluate("__mg.active()") == "mg-input"

    # 3. User text with markup is shown literally and never runs.
    count = b.evaluate("__mg.messages().length")
    b.type_text(XSS_USER)
    b.press("Enter")
    b.wait_for(f"__mg.messages().length >= {count + 2}", timeout=60, what="the reply to the markup message")
    assert {"who": "user", "text": XSS_USER} in b.evaluate("__mg.messages()")

    # 4. A bot reply with markup (the real bot echoing a name it did not find), pushed into this
    #    conversation through Rasa's socket.io output channel, is shown literally and never runs.
    session_id, token = stored_session(b)
    assert session_id and re.fullmatch(r"[0-9a-f]{64}", token or ""), (session_id, token)
    status, body = post_json(
        f"{stack.url}/conversations/{conversation_key('socketio', session_id)}/trigger_intent?output_channel=socketio",
        {"name": "ask_municipality", "entities": {"municipality": XSS_BOT_NAME}},
    )
    assert status == 200, body[:300]
    expected_bot = f"「{XSS_BOT_NAME}」は全国地方公共団体コードの一覧に見つかりません。"
    b.wait_for(f"__mg.messages().some(m => m.text === {json.dumps(expected_bot)})", timeout=60, what="the markup reply")
    time.sleep(0.5)  # an <img onerror> would have fired by now
    assert b.evaluate("typeof window.__xss") == "undefined"
    assert b.evaluate("__mg.root().querySelectorAll('#mg-log img, #mg-log script').length") == 0

    # The log only ever grew: one added node per message, nothing removed or rewritten (what a screen
    # reader announces from a polite log with aria-relevant="additions" is exactly the new message).
    mut = b.evaluate("window.__mut")
    assert mut["removed"] == 0 and mut["other"] == 0, mut
    assert len(mut["added"]) == len(b.evaluate("__mg.messages()")) - 1  # all but the greeting
    log_attrs = b.evaluate("({role: __mg.q('#mg-log').getAttribute('role'), live: __mg.q('#mg-log')"
                           ".getAttribute('aria-live'),"
                           " relevant: __mg.q('#mg-log').getAttribute('aria-relevant')})")
    assert log_attrs == {"role": "log", "live": "polite", "relevant": "additions"}

    # 5. What assistive technology sees: Chromium's computed accessibility tree.
    nodes = b.accessibility_nodes()

    def ax(role: str, name: str | None = None) -> list[dict]:
        return [n for n in nodes if not n.get("ignored") and n.get("role", {}).get("value") == role
                and (name is None or n.get("name", {}).get("value") == name)]

    def prop(node: dict, key: str):
        return next((p["value"].get("value") for p in node.get("properties", []) if p["name"] == key), None)

    assert ax("textbox", "質問を入力"), "the input has no accessible name from its <label>"
    assert ax("button", "送信") and ax("button", "チャットを閉じる") and ax("button", "会話を消去")
    launcher = ax("button", "AI案内に質問")
    assert launcher and prop(launcher[0], "expanded") is True
    logs = ax("log", "会話の履歴")
    assert logs and prop(logs[0], "live") == "polite" and prop(logs[0], "relevant") == "additions"
    assert ax("dialog", "窓口 AI案内")

    # 6. Keyboard: the focus order through the dialog, then Escape closes it and returns to the launcher.
    b.evaluate("__mg.q('.mg-clear').focus()")
    # The last answer was factual, so its 👍/👎 quick replies sit between the log and the input.
    quick = len(b.evaluate("__mg.quick()"))
    order = []
    for _ in range(5 + quick):
        b.press("Tab")
        order.append(b.evaluate("__mg.active()"))
    assert order == ["mg-close", "mg-log", *["BUTTON"] * quick, "mg-input", "mg-send", "mg-launcher"], order
    b.evaluate("__mg.q('#mg-input').focus()")
    b.press("Escape")
    assert b.evaluate("__mg.q('#mg-dialog').hidden") is True
    assert b.evaluate("__mg.active()") == "mg-launcher"
    assert b.evaluate("__mg.q('.mg-launcher').getAttribute('aria-expanded')") == "false"
    before_reload = b.evaluate("__mg.messages()")

    # 7. Reload: the conversation is still there (and still inert), and it goes on in the same session.
    b.reload()
    b.wait_for("!!document.getElementById('madoguchi-chat')", what="the widget after reload")
    b.evaluate(JS_HELPERS)
    b.press("Tab")  # the launcher is the first focusable element after the page's own links
    for _ in range(10):
        if b.evaluate("__mg.active()") == "mg-launcher":
            break
        b.press("Tab")
    assert b.evaluate("__mg.active()") == "mg-launcher"
    b.press("Enter")  # open with the keyboard
    b.wait_for("!__mg.q('#mg-dialog').hidden", what="the dialog to reopen")
    assert b.evaluate("__mg.active()") == "mg-input"
    assert b.evaluate("__mg.messages()") == before_reload
    assert b.evaluate("typeof window.__xss") == "undefined"
    assert b.evaluate("__mg.root().querySelectorAll('#mg-log img, #mg-log script').length") == 0
    assert stored_session(b) == (session_id, token)  # resumed with the token: same session
    b.evaluate("__mg.watchLog()")
    b.type_text("第7回総会の参加者数は？")
    b.press("Enter")
    b.wait_for(f"__mg.messages().length > {len(before_reload) + 1}", timeout=60, what="an answer after the reload")
    assert b.evaluate("window.__mut.removed") == 0
    tracker = get_json(f"{stack.url}/conversations/{conversation_key('socketio', session_id)}/tracker")
    said = [e.get("text") for e in tracker["events"] if e.get("event") == "user"]
    assert "第7回総会の会場は？" in said and "第7回総会の参加者数は？" in said

    screenshot = b.screenshot(out_dir / "web_widget.png")
    RESULT_SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, RESULT_SCREENSHOT)
    print(f"\nscreenshot: {screenshot}\nscreenshot: {RESULT_SCREENSHOT}")

    # 8. 「会話を消去」: the log is empty again, and the next question opens a new session (new id and
    #    token) on the same connection; the old conversation is left as it was.
    click("__mg.q('.mg-clear')")
    assert b.evaluate("__mg.messages().length") == 1  # the greeting
    b.wait_for("(() => { const k = Object.keys(localStorage).find(k => k.endsWith(':session'));"
               f" return !!k && localStorage[k] !== {json.dumps(session_id)}; }})()", timeout=30,
               what="a new session after 会話を消去")
    new_id, new_token = stored_session(b)
    assert new_id != session_id and new_token and new_token != token
    ask("第7回総会の会場は？", "天空劇場")
    fresh = get_json(f"{stack.url}/conversations/{conversation_key('socketio', new_id)}/tracker")
    assert [e.get("text") for e in fresh["events"] if e.get("event") == "user"] == ["第7回総会の会場は？"]
    old = get_json(f"{stack.url}/conversations/{conversation_key('socketio', session_id)}/tracker")
    assert [e.get("text") for e in old["events"] if e.get("event") == "user"] == said


def stored_session(b: Chromium) -> tuple[str | None, str | None]:
    """The session id and token the widget keeps in localStorage."""
    return tuple(b.evaluate(
        "['session', 'token'].map(s => { const k = Object.keys(localStorage).find(k => k.endsWith(':' + s));"
        " return k ? localStorage[k] : null; })"))


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)
