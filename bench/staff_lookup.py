"""Staff desk look-up benchmark: the look-up page (GET /?q=…&lg=…) over 10,000 FAQ entries, timed server-side.

Generates the FAQ of bench/search.py (N entries, default 10,000, 60 municipalities) into a temporary
SQLite database that also holds the shipped data/kb, creates an account with `madoguchi staff add`,
starts the real desk (`python -m bot.staff`) on it, logs in over HTTP and requests the look-up page for
Q queries (default 500: paraphrased questions and keywords, half of them filtered by a municipality,
typed as its name or its 団体コード). Each page is the whole thing a clerk gets: session check, ranking,
highlighting, rendering.

    .venv/bin/python bench/staff_lookup.py [--entries 10000] [--queries 500] [--seed 7]

Prints p50/p95/p99 of the server's own time for the page (its ``Server-Timing: app;dur=…`` header, from
the request's arrival to the response) and of the time the client saw over one keep-alive connection.
Target: server p95 < 100 ms.
"""
from __future__ import annotations

import argparse
import http.client
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import search as search_bench  # noqa: E402  (bench/search.py: the generated FAQ and queries)

from bot.kb import models as m  # noqa: E402
from bot.kb.db import dispose_all, open_session  # noqa: E402
from bot.kb.faq import upsert_faq  # noqa: E402
from bot.kb.loader import DEFAULT_DATA_DIR, load  # noqa: E402

BIN = Path(sys.executable).parent
PASSWORD = "benchmark passphrase 1"


class Session:
    """One keep-alive connection with the desk's cookies."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode("utf-8")
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.headers, text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--target-ms", type=float, default=100.0)
    args = parser.parse_args(argv)
    rng = search_bench.random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="madoguchi-staff-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        t0 = time.perf_counter()
        load(DEFAULT_DATA_DIR, url=url)
        with open_session(url) as session:
            municipalities = search_bench.municipality_codes(session, 60, rng)
            upsert_faq(session, search_bench.generate_entries(args.entries, municipalities, rng))
            session.commit()
            faq_count = session.query(m.FaqEntry).count()
        dispose_all()
        print(f"database: {faq_count:,} FAQ entries + shipped data/kb, prepared in {time.perf_counter() - t0:.1f} s")

        added = subprocess.run([str(BIN / "madoguchi"), "--db", url, "staff", "add", "bench", "--role", "viewer"],
                               input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO)
        if added.returncode:
            print(added.stderr, file=sys.stderr)
            return 2
        log = open(Path(tmp) / "staff.log", "w+b")  # noqa: SIM115
        env = {**__import__("os").environ, "MADOGUCHI_DB_URL": url, "PYTHONUNBUFFERED": "1",
               "MADOGUCHI_STAFF_SECRET_FILE": str(Path(tmp) / "secret")}
        server = subprocess.Popen([str(BIN / "python"), "-m", "bot.staff", "--port", "0"], cwd=REPO, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                found = re.search(r"staff desk: http://localhost:(\d+)/", (Path(tmp) / "staff.log").read_text())
                if found:
                    break
                if server.poll() is not None:
                    print((Path(tmp) / "staff.log").read_text(), file=sys.stderr)
                    return 2
                time.sleep(0.1)
            client = Session(int(found.group(1)))
            _, _, page = client.request("GET", "/login")
            token = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
            status, _, _ = client.request("POST", "/login", {"csrf_token": token, "username": "bench",
                                                             "password": PASSWORD})
            assert status == 303, status

            names = dict(municipalities)
            queries = []
            for text, code in search_bench.generate_queries(args.queries, municipalities, rng):
                place = "" if code is None else (code if rng.random() < 0.5 else names[code])
                queries.append((text, place))
            warm_up = time.perf_counter()
            for text, place in queries[:20]:  # the first page builds the index (and loads the dictionary)
                client.request("GET", "/?" + urllib.parse.urlencode({"q": text, "lg": place}))
            print(f"warm-up (index build on first look-up): {time.perf_counter() - warm_up:.1f} s")

            server_ms, client_ms, results, ambiguous = [], [], 0, 0
            for text, place in queries:
                path = "/?" + urllib.parse.urlencode({"q": text, "lg": place})
                t0 = time.perf_counter()
                status, headers, body = client.request("GET", path)
                client_ms.append((time.perf_counter() - t0) * 1000)
                assert status == 200, (status, path)
                server_ms.append(float(re.search(r"app;dur=([\d.]+)", headers["Server-Timing"]).group(1)))
                results += body.count('<li class="result"')
                ambiguous += "に当たる団体が" in body
            print(f"pages: {len(queries)} ({sum(1 for _, p in queries if p)} filtered by a municipality, "
                  f"{ambiguous} of them by a name several share), {results / len(queries):.1f} results a page")
            p95 = _report("server time (Server-Timing)", server_ms)
            _report("client time (keep-alive, loopback)", client_ms)
        finally:
            server.terminate()
            server.wait(timeout=20)
            log.close()
    verdict = "OK" if p95 < args.target_ms else "NOT MET"
    print(f"target server p95 < {args.target_ms:g} ms: {verdict}")
    return 0 if p95 < args.target_ms else 1


def _report(label: str, ms: list[float]) -> float:
    p50, p95, p99 = (search_bench.percentile(ms, p) for p in (50, 95, 99))
    print(f"{label}: p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms  max {max(ms):.1f} ms  (n={len(ms)})")
    return p95


if __name__ == "__main__":
    sys.exit(main())
