"""A small static file server for the web chat widget and its demo page (files under web/ only).

    python -m devtools.web_server --port 8080 --rasa http://localhost:5005

serves ``web/`` as it is (nothing is rewritten or injected) and prints the demo page's address. The
demo page embeds the widget with ``data-server="http://localhost:5005"``; when ``--rasa`` names
another server, the printed address carries it as ``?rasa=...``, which only the demo page's script
tag (``data-server-param="rasa"``) lets override its server.

Only regular files inside ``web/`` are served: no directory listings, no dotfiles, nothing under
``node_modules``, no ``..``; symlinks that lead outside ``web/`` are refused. GET and HEAD only.
"""
from __future__ import annotations

import argparse
import mimetypes
import posixpath
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

WEB_ROOT = Path(__file__).resolve().parents[1] / "web"
DEFAULT_RASA = "http://localhost:5005"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
}
HIDDEN_PARTS = {"node_modules"}


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    if path.name.upper().endswith("LICENSE"):
        return "text/plain; charset=utf-8"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


MAX_URL_CHARS = 2048  # the demo's paths are short; a longer one is refused before the file system sees it


def resolve(root: Path, url_path: str) -> Path | None:
    """The file under ``root`` that ``url_path`` names, or None when it names nothing servable."""
    path = unquote(urlsplit(url_path).path, errors="strict")
    if not path.startswith("/") or "\\" in path or "\x00" in path:
        return None
    parts = [p for p in path.split("/") if p]
    if any(p in {".", ".."} or p.startswith(".") or p in HIDDEN_PARTS for p in parts):
        return None
    if posixpath.normpath("/" + "/".join(parts)) != "/" + "/".join(parts):
        return None
    root = root.resolve()
    candidate = root.joinpath(*parts) if parts else root
    try:  # a name too long for the file system is an OSError here (ENAMETOOLONG), not False
        if candidate.is_dir():
            candidate = candidate / "index.html"
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(root) or not real.is_file():
        return None
    return real


def make_handler(root: Path, quiet: bool = False) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "madoguchi-web"
        sys_version = ""

        def do_GET(self) -> None:
            self._serve(body=True)

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def _serve(self, body: bool) -> None:
            if len(self.path) > MAX_URL_CHARS:
                self._error(HTTPStatus.REQUEST_URI_TOO_LONG, "URL が長すぎます")
                return
            try:
                path = resolve(root, self.path)
            except UnicodeDecodeError:
                path = None
            if path is None:
                self._error(HTTPStatus.NOT_FOUND, "見つかりません")
                return
            data = path.read_bytes()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type(path))
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "same-origin")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def _error(self, status: HTTPStatus, message: str) -> None:
            data = f"{status.value} {message}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _method_not_allowed(self) -> None:
            self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
            self.send_header("Allow", "GET, HEAD")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed

        def log_message(self, format: str, *args) -> None:
            if not quiet:
                super().log_message(format, *args)

    return Handler


def demo_url(host: str, port: int, rasa: str) -> str:
    shown = "localhost" if host in {"127.0.0.1", "0.0.0.0", "::", "localhost"} else host
    url = f"http://{shown}:{port}/"
    return url if rasa.rstrip("/") == DEFAULT_RASA else f"{url}?rasa={rasa.rstrip('/')}"


def serve(host: str = "127.0.0.1", port: int = 8080, root: Path = WEB_ROOT, quiet: bool = False) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(root, quiet))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.web_server",
                                     description="web/ のチャット部品とデモページを配信します")
    parser.add_argument("--host", default="127.0.0.1", help="待ち受けるアドレス (既定 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rasa", default=DEFAULT_RASA, help="デモページのチャットがつなぐ Rasa サーバー")
    parser.add_argument("--quiet", action="store_true", help="アクセスログを出さない")
    args = parser.parse_args(argv)
    if not args.rasa.startswith(("http://", "https://")):
        parser.error("--rasa は http:// か https:// で始まる URL にしてください")
    server = serve(args.host, args.port, WEB_ROOT, args.quiet)
    print(f"Madoguchi: web chat demo on {demo_url(args.host, server.server_address[1], args.rasa)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
