"""Starts the real staff desk (``python -m bot.staff``) for tests and talks to it over plain HTTP.

No mocks: the server is its own process on a free port and a real database; accounts are created with
the real command (``madoguchi staff add``, password on standard input); the client keeps cookies as a
browser would (it sends back what the server set, forgets what it clears) and never follows redirects
by itself, so tests see each 303.
"""
from __future__ import annotations

import html
import http.client
import os
import re
import subprocess
import sys
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def log_in_in_browser(b, base: str, name: str, page: str) -> None:
    """Opens the login form asking for ``page`` (``/report``) in a Chromium (tests/chromium.py) and logs in with
    the keyboard, as a person or a password manager fills the two fields; the caller waits for the page."""
    b.goto(base + "login?next=" + urllib.parse.quote(page, safe=""))
    b.type_text(name)
    b.press("Tab")
    b.type_text(PASSWORD)
    b.press("Enter")


def add_account(db_url: str, name: str, role: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
    """``madoguchi staff add NAME --role ROLE`` with the password on standard input."""
    return subprocess.run([str(BIN / "madoguchi"), "--db", db_url, "staff", "add", name, "--role", role],
                          input=password + "\n", capture_output=True, text=True, cwd=REPO)


@dataclass
class StaffServer:
    process: subprocess.Popen
    url: str
    log: Path

    @property
    def port(self) -> int:
        return urllib.parse.urlsplit(self.url).port

    def client(self) -> "Client":
        return Client(self.port)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def staff_server(db_url: str, workdir: Path, extra_env: dict | None = None):
    """The desk on a free port, on ``db_url``; yields once it has printed its address."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "staff.log"
    env = {**os.environ, "MADOGUCHI_DB_URL": db_url, "PYTHONUNBUFFERED": "1",
           "MADOGUCHI_STAFF_SECRET_FILE": str(workdir / "staff_secret"), **(extra_env or {})}
    with open(log, "wb") as out:
        process = subprocess.Popen([str(BIN / "python"), "-m", "bot.staff", "--port", "0"], cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        while True:  # until it says where it listens, or ends
            match = re.search(r"Madoguchi staff desk: (http://\S+)", log.read_text(encoding="utf-8", errors="replace"))
            if match:
                break
            if process.poll() is not None:
                raise RuntimeError(f"the staff desk exited with {process.returncode}:\n"
                                   f"{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield StaffServer(process, match.group(1).replace("localhost", "127.0.0.1"), log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def set_cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []

    def csrf_token(self) -> str:
        match = CSRF.search(self.text)
        assert match, f"no csrf_token in the page:\n{self.text[:500]}"
        return html.unescape(match.group(1))


@dataclass
class Client:
    port: int
    cookies: dict = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port)
        try:
            body = urllib.parse.urlencode(form).encode("utf-8") if form is not None else None
            sent = dict(headers or {})
            if body is not None:
                sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            reply = Reply(response.status, response.headers, response.read().decode("utf-8", errors="replace"))
        finally:
            conn.close()
        for header in reply.set_cookies():
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return reply

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict, **kwargs) -> Reply:
        return self.request("POST", path, form=form, **kwargs)

    def login(self, name: str, password: str = PASSWORD, next_path: str = "/") -> Reply:
        token = self.get("/login").csrf_token()
        return self.post("/login", {"csrf_token": token, "username": name, "password": password, "next": next_path})

    def search(self, query: str, place: str = "") -> Reply:
        return self.get("/?" + urllib.parse.urlencode({"q": query, "lg": place}))
