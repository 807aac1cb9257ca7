"""Drives a real headless Chromium (Debian's package) over the Chrome DevTools Protocol, from Python only.

No npm, no WebDriver: Chromium is started with ``--remote-debugging-port=0``, the port is read from
``DevToolsActivePort`` in its fresh profile, and one page target is driven over its websocket with
the ``websockets`` package that Rasa already installs. Keys and clicks are real input events
(``Input.dispatchKeyEvent`` / ``Input.dispatchMouseEvent``), as a person's would be.
"""
from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import websockets
from websockets.exceptions import WebSocketException

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
]
MISSING = (
    "Chromium がありません（/usr/bin/chromium）。ブラウザのテストには Debian の chromium パッケージが要ります。"
    "`make test` が root で実行されたときは自動で入れます（scripts/system-packages.sh）。手元では "
    "`apt-get update && apt-get install -y chromium fonts-ipafont-gothic` を実行してください。"
)
KEYS = {
    "Enter": {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"},
    "Escape": {"key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27},
    "Tab": {"key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9},
    "ArrowDown": {"key": "ArrowDown", "code": "ArrowDown", "windowsVirtualKeyCode": 40},
    "ArrowUp": {"key": "ArrowUp", "code": "ArrowUp", "windowsVirtualKeyCode": 38},
    "/": {"key": "/", "code": "Slash", "windowsVirtualKeyCode": 191, "text": "/"},
    "c": {"key": "c", "code": "KeyC", "windowsVirtualKeyCode": 67, "text": "c"},
}


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class CDPError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium with one page; every method is synchronous."""

    def __init__(self, executable: str, profile: Path, width: int = 1280, height: int = 860) -> None:
        profile.mkdir(parents=True, exist_ok=True)
        self.log_path = profile.parent / f"{profile.name}.chromium.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, "--remote-debugging-port=0", f"--user-data-dir={profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        self.loop = asyncio.new_event_loop()
        self.events: list[dict] = []
        self._next_id = 0
        self.ws = None
        try:
            port = self._devtools_port(profile / "DevToolsActivePort")
            target = self._page_target(port)
            self.ws = self.loop.run_until_complete(self._connect(target))
            self.send("Page.enable")
            self.send("Runtime.enable")
            self.send("Log.enable")
            self.send("Emulation.setFocusEmulationEnabled", enabled=True)
            self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except Exception:
            self.close()
            raise

    def _devtools_port(self, path: Path, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Chromium exited with {self.proc.returncode}; see {self.log_path}")
            if path.exists():
                lines = path.read_text().split()
                if lines:
                    return int(lines[0])
            time.sleep(0.1)
        raise RuntimeError(f"Chromium wrote no DevToolsActivePort in {timeout:.0f}s; see {self.log_path}")

    @staticmethod
    async def _connect(url: str):
        # created inside the loop: websockets binds a connection to the loop that is running
        return await websockets.connect(url, max_size=None, ping_interval=None, open_timeout=30)

    @staticmethod
    def _page_target(port: int, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
                pages = [t for t in json.load(response) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.2)
        raise RuntimeError("Chromium has no page target")

    # ---- protocol ----
    def send(self, method: str, timeout: float = 30.0, **params):
        return self.loop.run_until_complete(self._send(method, params, timeout))

    async def _send(self, method: str, params: dict, timeout: float):
        self._next_id += 1
        call_id = self._next_id
        await self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message.get("id") == call_id:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CDPError(f"{details.get('exception', {}).get('description') or details.get('text')}\n  in:"
                           f" {expression}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0, what: str = ""):
        deadline = time.monotonic() + timeout
        error = None
        while True:
            try:
                value = self.evaluate(expression)
            except CDPError as exc:  # e.g. the page is between two documents during a navigation
                value, error = None, exc
            if value:
                return value
            if time.monotonic() > deadline:
                last = f"\nlast error: {error}" if error else ""
                raise AssertionError(f"timed out after {timeout:.0f}s waiting "
                                     f"for {what or expression}{last}\n{self.console()}")
            time.sleep(0.2)

    def console(self, last: int = 15) -> str:
        """The page's recent console output, uncaught exceptions and browser log entries (for failure messages)."""
        self.evaluate("0")  # collect events that arrived since the last call
        lines = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                lines.append(f"console.{params.get('type')}: {args}")
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                lines.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                lines.append(f"log {entry.get('level')}: {entry.get('text')} {entry.get('url', '')}")
        return "browser console:\n  " + "\n  ".join(lines[-last:]) if lines else "browser console: (empty)"

    # ---- a person's actions ----
    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'",
                      what=f"load of {url}")

    def reload(self) -> None:
        self.evaluate("window.__beforeReload = true")
        self.send("Page.reload", ignoreCache=True)
        self.wait_for("!window.__beforeReload && document.readyState === 'complete'", what="reload")

    def press(self, name: str) -> None:
        key = KEYS[name]
        down = {"type": "keyDown" if "text" in key else "rawKeyDown", **key}
        self.send("Input.dispatchKeyEvent", **down)
        self.send("Input.dispatchKeyEvent", type="keyUp", **{k: v for k, v in key.items() if k != "text"})

    def type_text(self, text: str) -> None:
        """Text into the focused element, as an input method commits it (works for Japanese)."""
        self.send("Input.insertText", text=text)

    def click_at(self, x: float, y: float) -> None:
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        self.send("Input.dispatchMouseEvent", type="mousePressed", x=x, y=y, button="left", clickCount=1)
        self.send("Input.dispatchMouseEvent", type="mouseReleased", x=x, y=y, button="left", clickCount=1)

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the first element matching ``selector``, scrolled into view."""
        found = f"document.querySelector({json.dumps(selector)})"
        self.evaluate(f"{found}.scrollIntoView({{block: 'center'}})")
        x, y = self.evaluate(f"(() => {{ const r = {found}.getBoundingClientRect();"
                             " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        self.click_at(x, y)

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def accessibility_nodes(self) -> list[dict]:
        """The page's computed accessibility tree (roles, names, live-region properties)."""
        self.send("Accessibility.enable")
        return self.send("Accessibility.getFullAXTree")["nodes"]

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.loop.run_until_complete(asyncio.wait_for(self.ws.close(), 5))
            except (OSError, asyncio.TimeoutError, WebSocketException):
                pass  # Chromium is stopped next anyway
            self.ws = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.loop.close()
        self._log.close()
