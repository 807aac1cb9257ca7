"""Starts the real Rasa server for end-to-end tests (no mocks): the custom actions run inside it, as in
`make run` (bot/action_runner.py), or in a real action server with ``actions="server"``."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODEL = REPO / "models" / "madoguchi.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_json(url: str, payload, timeout: float = 30.0, raw: bytes | None = None, headers: dict | None = None):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post_head_only(port: int, path: str, length: int, headers: dict | None = None) -> int:
    """Sends only the head of a POST announcing ``length`` bytes and returns the status: a server that
    refuses the body from its head answers without waiting for it (a client sending the whole body may
    see the connection closed under it instead of the answer)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("POST", path)
        for name, value in {"Content-Type": "application/json; charset=utf-8", **(headers or {})}.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


@dataclass
class RasaStack:
    """Rasa server (REST channel) on a free port, with its actions in the process (``actions="inprocess"``,
    as `make run`) or in an action server on another port (``actions="server"``), on one database URL."""

    workdir: Path
    db_url: str
    extra_env: dict = field(default_factory=dict)
    actions: str = "inprocess"
    rasa_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    procs: list = field(default_factory=list)
    logs: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def tracker_db(self) -> Path:
        """The SQLite tracker store (masked conversations, Rasa's ``events`` table), as in `make run`."""
        return self.workdir / "tracker.sqlite3"

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhooks/rest/webhook"

    def _env(self) -> dict:
        env = dict(os.environ)
        env.update({"MADOGUCHI_DB_URL": self.db_url, "PYTHONUNBUFFERED": "1", **self.extra_env})
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")
        self.logs.append(log)
        proc = subprocess.Popen(args, cwd=REPO, env=self._env(), stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def start_actions(self) -> subprocess.Popen:
        return self._spawn("actions", [str(BIN / "python"), "-m", "bot.serve", "run", "actions", "--actions", "actions",
                                       "--port", str(self.action_port)])

    def start_rasa(self, credentials: Path | None = None) -> subprocess.Popen:
        """Rasa with the channels this stack's environment enables (see bot.channels.credentials)."""
        from bot.channels.credentials import write

        endpoints = self.workdir / "endpoints.yml"
        action_url = "inprocess:actions" if self.actions == "inprocess" else f"http://127.0.0.1:{self.action_port}/webhook"
        endpoints.write_text(
            f'action_endpoint:\n  url: "{action_url}"\n'
            "tracker_store:\n  type: bot.privacy.tracker_store.MaskingTrackerStore\n  inner_store: sql\n"
            f'  url: "sqlite:///{self.tracker_db}"\n'
        )
        if credentials is None:
            credentials = self.workdir / "credentials.yml"
            write(credentials, self._env())
        args = [str(BIN / "python"), "-m", "bot.serve", "run", "--port", str(self.rasa_port), "--model", str(MODEL),
                "--endpoints", str(endpoints)]
        args += ["--credentials", str(credentials)]
        return self._spawn("rasa", args)

    def start(self, timeout: float = 240.0, credentials: Path | None = None) -> "RasaStack":
        if not MODEL.exists():
            raise RuntimeError(f"{MODEL} がありません。`make train` で学習してください")
        if self.actions == "server":
            self.start_actions()
        self.start_rasa(credentials)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited early ({proc.args[:3]}); see {self.workdir}")
            try:
                status, body = post_json(self.webhook, {"sender": "readiness", "message": "こんにちは"}, timeout=5)
                actions_up = self.actions != "server" or urllib.request.urlopen(
                    f"http://127.0.0.1:{self.action_port}/health", timeout=5).status == 200
                if status == 200 and json.loads(body) and actions_up:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(1.0)
        raise RuntimeError(f"servers not ready after {timeout:.0f}s; logs in {self.workdir}")

    def log_texts(self) -> dict[str, str]:
        """What each server wrote to its log so far (``rasa.log``, and ``actions.log`` with an action server)."""
        for log in self.logs:
            log.flush()
        return {Path(log.name).name: Path(log.name).read_text(encoding="utf-8", errors="replace") for log in self.logs}

    def ask(self, text: str, sender: str = "tester") -> list[dict]:
        status, body = post_json(self.webhook, {"sender": sender, "message": text})
        assert status == 200, (status, body[:300])
        return json.loads(body)

    def reply_text(self, text: str, sender: str = "tester") -> str:
        return "\n".join(m.get("text", "") for m in self.ask(text, sender))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in self.logs:
            log.close()
        self.procs.clear()


@contextmanager
def running_stack(workdir: Path, extra_env: dict | None = None, actions: str = "inprocess"):
    """A knowledge base freshly built from data/kb (SQLite in ``workdir``) and the real servers on it."""
    from bot.kb.loader import load

    db_url = f"sqlite:///{workdir / 'kb.sqlite3'}"
    load(url=db_url)
    servers = RasaStack(workdir, db_url, extra_env=dict(extra_env or {}), actions=actions)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()
