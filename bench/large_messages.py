"""One user's latency while five others send the largest messages the guide accepts (issue 16).

Starts its own guide (the real Rasa server with the actions inside it, as `make run`, on a knowledge base
built from data/kb in a temporary folder) unless --url points at a running one:

    .venv/bin/python bench/large_messages.py [--url http://127.0.0.1:5005] [--seconds 30] [--heavy-users 5]

Phase 1 (quiet): one user asks the questions of ../shared/eval/public_qa.yml one after another.
Phase 2 (load): the same user asks again while --heavy-users others each send, back to back, a message of
the largest size the REST channel accepts (bot.channels.guard.MAX_MESSAGE_CHARS characters of
Japanese text with digits, e-mail-like runs and no question), and one more sends bodies just over the
body limit, which must be refused with 413. Each client has its own address on the loopback network
(the quiet user 127.0.0.1, the others 127.0.0.2 and up), as different people do: the guide's per-client
rate limit (bot.channels.guard.RateLimiter) is part of what is measured.

Prints p50/p95 of the quiet user in both phases, their ratio (the target is at most 1.5), how many large
messages were answered and refused, and any error. Not a test: its figures depend on the machine.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.channels.guard import MAX_BODY_BYTES, MAX_MESSAGE_CHARS  # noqa: E402

QA_FILE = REPO.parent / "shared" / "eval" / "public_qa.yml"
FILLER = ("いつもお世話になっております。総会の資料を拝見しました。連絡先は taro.yamada.example.co.jp ０３１２３４５ "
          "です。")


def questions() -> list[str]:
    data = yaml.safe_load(QA_FILE.read_text(encoding="utf-8"))
    cases = data.get("cases", data) if isinstance(data, dict) else data
    out = []
    for case in cases:
        q = case.get("question") or case.get("q") or (case.get("turns") or [None])[-1]
        if isinstance(q, str):
            out.append(q)
    return out or ["第7回総会の会場は？"]


def large_message(chars: int) -> str:
    return (FILLER * (chars // len(FILLER) + 1))[:chars]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def post(session: aiohttp.ClientSession, url: str, payload: dict | bytes) -> tuple[int, float]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    start = time.perf_counter()
    async with session.post(url, data=data, headers={"Content-Type": "application/json"}) as resp:
        await resp.read()
        return resp.status, time.perf_counter() - start


async def quiet_user(session, url, seconds: float, stop: asyncio.Event) -> tuple[list[float], int]:
    qs, times, errors, i = questions(), [], 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # a new conversation each question, as eval.py asks its cases
        sender = f"quiet{uuid.uuid4().hex[:12]}"
        status, took = await post(session, url, {"sender": sender, "message": qs[i % len(qs)]})
        i += 1
        if status == 200:
            times.append(took * 1000)
        else:
            errors += 1
    stop.set()
    return times, errors


async def heavy_user(session, url, stop: asyncio.Event, oversize: bool) -> dict:
    counts = {"answered": 0, "refused": 0, "limited": 0, "other": 0}
    sender = f"heavy{uuid.uuid4().hex[:12]}"
    while not stop.is_set():
        try:
            if oversize:
                body = json.dumps({"sender": sender, "message": "あ" * (MAX_BODY_BYTES // 3 + 10)},
                                  ensure_ascii=False).encode()
                status, _ = await post(session, url, body)
            else:
                status, _ = await post(session, url, {"sender": sender, "message": large_message(MAX_MESSAGE_CHARS)})
        except aiohttp.ClientError:  # the server answered 413 from the head and closed before the body
            status = 413 if oversize else -1
        key = {200: "answered", 413: "refused", 429: "limited"}.get(status, "other")
        counts[key] += 1
        if status == 429:
            await asyncio.sleep(0.05)  # a flood: try again at once, as an attacker would
    return counts


def client(address: str) -> aiohttp.ClientSession:
    """An HTTP client whose requests come from ``address`` (one of the loopback network's)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))


async def heavy_client(address: str, webhook: str, stop: asyncio.Event, oversize: bool) -> dict:
    async with client(address) as session:
        return await heavy_user(session, webhook, stop, oversize)


async def measure(url: str, seconds: float, heavy: int) -> None:
    webhook = url.rstrip("/") + "/webhooks/rest/webhook"
    async with client("127.0.0.1") as session:
        for q in questions()[:5]:  # warm-up
            await post(session, webhook, {"sender": "warmup", "message": q})
        quiet, errors = await quiet_user(session, webhook, seconds, asyncio.Event())
        stop = asyncio.Event()
        tasks = [asyncio.create_task(heavy_client(f"127.0.0.{2 + i}", webhook, stop, False)) for i in range(heavy)]
        tasks.append(asyncio.create_task(heavy_client(f"127.0.0.{2 + heavy}", webhook, stop, True)))
        await asyncio.sleep(1.0)
        loaded, errors_loaded = await quiet_user(session, webhook, seconds, stop)
        counts = await asyncio.gather(*tasks)
    q50, q95, l50, l95 = pct(quiet, 50), pct(quiet, 95), pct(loaded, 50), pct(loaded, 95)
    print(f"largest message accepted: {MAX_MESSAGE_CHARS} characters; body limit {MAX_BODY_BYTES} bytes")
    print(f"quiet:  n={len(quiet):4d}  p50={q50:7.1f} ms  p95={q95:7.1f} ms  errors={errors}")
    print(f"loaded: n={len(loaded):4d}  p50={l50:7.1f} ms  p95={l95:7.1f} ms  errors={errors_loaded}  "
          f"({heavy} users sending {MAX_MESSAGE_CHARS}-character messages, 1 sending oversize bodies)")
    big = counts[:-1]
    print("large messages: answered={} held back (429)={} other={}; oversize bodies: refused(413)={} other={}".format(
        sum(c["answered"] for c in big), sum(c["limited"] for c in big), sum(c["other"] for c in big),
        counts[-1]["refused"], counts[-1]["answered"] + counts[-1]["limited"] + counts[-1]["other"]))
    print(f"p95 ratio loaded/quiet: {l95 / q95:.2f} (target <= 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running guide (default: start one)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--heavy-users", type=int, default=5)
    args = parser.parse_args()
    if args.url:
        asyncio.run(measure(args.url, args.seconds, args.heavy_users))
        return
    from tests.servers import running_stack

    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp)) as stack:
        asyncio.run(measure(stack.url, args.seconds, args.heavy_users))


if __name__ == "__main__":
    main()
