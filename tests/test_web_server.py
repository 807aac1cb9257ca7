"""devtools.web_server: serves web/ only, with the right content types, and nothing outside it."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from devtools.web_server import WEB_ROOT, demo_url, resolve, serve

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base_url():
    server = serve("127.0.0.1", 0, WEB_ROOT, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str, method: str = "GET"):
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.mark.parametrize(
    "path, content_type, starts",
    [
        ("/", "text/html; charset=utf-8", b"<!DOCTYPE html>"),
        ("/index.html", "text/html; charset=utf-8", b"<!DOCTYPE html>"),
        ("/madoguchi-widget.js", "text/javascript; charset=utf-8", b"/*!"),
        ("/vendor/socket.io.min.js", "text/javascript; charset=utf-8", b"/*!\n * Socket.IO v4."),
        ("/vendor/socket.io-client.LICENSE", "text/plain; charset=utf-8", b"The MIT License"),
    ],
)
def test_serves_the_files_of_web(base_url, path, content_type, starts):
    status, headers, body = fetch(base_url + path)
    assert status == 200
    assert headers["Content-Type"] == content_type
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert body.lstrip(b"\xef\xbb\xbf").startswith(starts)


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/%2E%2E%2Fpyproject.toml",
        "/vendor/../../pyproject.toml",
        "/..%5cpyproject.toml",
        "/%00index.html",
        "/vendor/",  # no directory listings
        "/node_modules/socket.io-client/package.json",
        "/.gitignore",
        "/nothing-here.js",
        "//etc/passwd",
        "/%ff",
    ],
)
def test_nothing_outside_web_nor_listings(base_url, path):
    status, _, body = fetch(base_url + path)
    assert status == 404, path
    assert b"[tool" not in body and b"root:" not in body


def test_only_get_and_head(base_url):
    status, headers, body = fetch(base_url + "/index.html", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    status, headers, _ = fetch(base_url + "/index.html", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"


def test_a_symlink_out_of_the_root_is_refused(tmp_path):
    root = tmp_path / "web"
    root.mkdir()
    (root / "ok.txt").write_text("ok")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    assert resolve(root, "/ok.txt") == (root / "ok.txt").resolve()
    assert resolve(root, "/leak.txt") is None


def test_demo_url_names_the_rasa_server_only_when_it_is_not_the_default():
    assert demo_url("127.0.0.1", 8080, "http://localhost:5005") == "http://localhost:8080/"
    assert demo_url("127.0.0.1", 8080, "http://localhost:5005/") == "http://localhost:8080/"
    assert demo_url("0.0.0.0", 8081, "http://10.0.0.5:5005") == "http://localhost:8081/?rasa=http://10.0.0.5:5005"


def test_the_command_prints_the_demo_url_and_serves(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.web_server", "--port", "0", "--rasa", "http://127.0.0.1:5999", "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.match(r"Madoguchi: web chat demo on (http://localhost:(\d+)/\?rasa=http://127\.0\.0\.1:5999)$",
                         line.strip())
        assert match, line
        status, _, body = fetch(f"http://127.0.0.1:{match.group(2)}/")
        assert status == 200 and b"madoguchi-widget.js" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_vendored_socket_io_is_the_pinned_version():
    pinned = json.loads((WEB_ROOT / "package.json").read_text())["dependencies"]["socket.io-client"]
    locked = json.loads((WEB_ROOT / "package-lock.json").read_text())["packages"]["node_modules/socket.io-client"]
    locked = locked["version"]
    header = (WEB_ROOT / "vendor" / "socket.io.min.js").read_text(encoding="utf-8")[:200]
    assert pinned == locked
    assert f"Socket.IO v{locked}" in header and "MIT License" in header
    assert (WEB_ROOT / "vendor" / "socket.io-client.LICENSE").exists()


def test_the_demo_page_embeds_the_widget_with_one_script_tag():
    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags: list[tuple[str, dict]] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    parser = Tags()
    parser.feed((WEB_ROOT / "index.html").read_text(encoding="utf-8"))
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert len(scripts) == 1 and scripts[0]["src"] == "madoguchi-widget.js" and scripts[0]["data-server"]
    links = [a.get("src") or a.get("href") or "" for _, a in parser.tags]
    assert not [u for u in links if "//" in u and not u.startswith("#")], ("the demo page must fetch nothing from "
                                                                           "elsewhere")


@pytest.mark.parametrize("length", [300, 4000, 60_000])
def test_a_very_long_path_gets_an_answer_not_a_dropped_connection(base_url, length):
    """A 60,000-character path made the server drop the connection without a response (issue 16)."""
    status, _, body = fetch(f"{base_url}/{'a' * length}")
    assert status in (404, 414), status
    assert "長すぎます" in body.decode() or status == 404
    status, _, _ = fetch(f"{base_url}/")  # and the server still serves
    assert status == 200


def test_a_name_too_long_for_the_file_system_is_not_servable():
    assert resolve(WEB_ROOT, "/" + "b" * 5000) is None
