"""A local stand-in for an external HTTP API (LINE, Slack): records every request, answers JSON.

Each recorded request is ``{"path", "headers", "body"}``; the body is the parsed JSON (None when it
is not JSON) or, for a form post, a dict of its fields.
"""
from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


def _parse(raw: bytes, content_type: str) -> Any:
    if "application/x-www-form-urlencoded" in content_type:
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8")).items()}
    try:
        return json.loads(raw.decode("utf-8") or "{}")
    except ValueError:
        return None


class RecordingApi:
    """``answer(path, body)`` gives the JSON each request is answered with (default ``{}``)."""

    def __init__(self, answer: Callable[[str, Any], dict] = lambda path, body: {}) -> None:
        self._requests: list[dict] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = _parse(raw, self.headers.get("Content-Type", ""))
                with fake._lock:
                    fake._requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                out = json.dumps(answer(self.path, body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def requests(self) -> list[dict]:
        """The requests received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
