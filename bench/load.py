"""Load test: N concurrent simulated users, each running multi-turn conversations over REST.

Against servers that are running (``make cluster`` or ``make run``):

    .venv/bin/python bench/load.py --url http://127.0.0.1:5005 --url http://127.0.0.1:5006 \\
        --users 10 --duration 30 [--conversations 500] [--pids 123,456 | discovers `rasa run` processes]

Or start the cluster itself (PostgreSQL + Redis + action server + 1 or 2 Rasa servers, devtools.cluster)
and print the whole table for 1 and 2 Rasa processes at 1, 10 and 50 users:

    .venv/bin/python bench/load.py --start 1,2 --users 1,10,50 --duration 30

Each user takes the next conversation from the QA files (../shared/eval/public_qa.yml and
eval/madoguchi_qa.yml; multi-turn cases included), sends its turns one after the other with a new
sender id, and checks the reply to the last turn with devtools.qa.check. Senders are routed to one server
each (crc32 of the sender modulo the number of URLs), as nginx's consistent hash does in deployment.
The run stops at --duration seconds or --conversations conversations, whichever comes first.

Prints throughput (messages/s), p50/p95/p99 latency per message, errors (transport errors, non-200,
empty replies), the share of conversations answered correctly, and the resident memory (VmRSS, peak
VmHWM) of each server process.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devtools.qa import check, load_cases  # noqa: E402

DEFAULT_CASES = [REPO.parent / "shared" / "eval" / "public_qa.yml", REPO / "eval" / "madoguchi_qa.yml"]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    conversations: int = 0
    correct: int = 0
    messages: int = 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, (0, 0) if it is gone."""
    values = {"VmRSS": 0, "VmHWM": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return values["VmRSS"], values["VmHWM"]


def discover_pids() -> dict[int, str]:
    """`rasa run` processes (Rasa and action servers) on this machine: pid -> short label."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if args[1:3] == ["-m", "bot.serve"]:  # python -m bot.serve run ... (bot/serve.py)
            args = [args[0], "rasa", *args[3:]]
        if len(args) >= 3 and args[1].endswith("rasa") and args[2] == "run":
            port = args[args.index("--port") + 1] if "--port" in args else "?"
            found[int(proc.name)] = ("actions" if "actions" in args[3:4] else "rasa") + f":{port}"
    return found


async def run_load(urls: list[str], cases: list[dict], users: int, duration: float, conversations: int,
                   timeout: float = 30.0) -> tuple[Stats, float]:
    stats = Stats()
    order = itertools.cycle(cases)
    deadline = time.monotonic() + duration
    budget = {"left": conversations}

    async def user(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline and budget["left"] > 0:
            budget["left"] -= 1
            case = next(order)
            sender = f"load-{uuid.uuid4().hex[:12]}"
            url = urls[zlib.crc32(sender.encode()) % len(urls)].rstrip("/") + "/webhooks/rest/webhook"
            reply, failed = "", False
            for turn in case["turns"]:
                started = time.perf_counter()
                try:
                    async with session.post(url, json={"sender": sender, "message": turn},
                                            headers={"X-Madoguchi-Sender": sender}) as response:
                        body = await response.read()
                        ok = response.status == 200
                    messages = json.loads(body) if ok else []
                    reply = "\n".join(m.get("text", "") for m in messages)
                    ok = ok and bool(messages)
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    ok = False
                stats.latencies.append(time.perf_counter() - started)
                stats.messages += 1
                if not ok:
                    stats.errors += 1
                    failed = True
                    break
            stats.conversations += 1
            if not failed and not check(case, reply):
                stats.correct += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        started = time.monotonic()
        await asyncio.gather(*(user(session) for _ in range(users)))
        elapsed = time.monotonic() - started
    return stats, elapsed


def summary(label: str, stats: Stats, elapsed: float, pids: dict[int, str]) -> dict:
    memory = {f"{name}(pid {pid})": rss_kib(pid) for pid, name in sorted(pids.items(), key=lambda p: p[1])}
    return {
        "setup": label,
        "messages": stats.messages,
        "seconds": round(elapsed, 1),
        "msg_per_s": round(stats.messages / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(stats.latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(stats.latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(stats.latencies, 99) * 1000, 1),
        "errors": stats.errors,
        "correct": f"{stats.correct}/{stats.conversations}",
        "correct_share": round(stats.correct / stats.conversations, 3) if stats.conversations else 0.0,
        "rss_mib": {k: round(v[0] / 1024) for k, v in memory.items()},
        "peak_rss_mib": {k: round(v[1] / 1024) for k, v in memory.items()},
    }


def print_row(row: dict) -> None:
    rss = ", ".join(f"{k} {v} MiB" for k, v in row["rss_mib"].items())
    print(f"| {row['setup']} | {row['msg_per_s']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | "
          f"{row['errors']} | {row['correct']} ({row['correct_share']:.0%}) | {row['messages']} in {row['seconds']} s |"
          " "
          f"{rss} |", flush=True)


HEADER = ("| setup | msg/s | p50 ms | p95 ms | p99 ms | errors | correct | messages | RSS |\n"
          "|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/load.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", default=[], help="a Rasa server (repeat for several)")
    parser.add_argument("--users", default="10", help="concurrent users; a comma-separated list runs each")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per run (upper bound)")
    parser.add_argument("--conversations", type=int, default=100_000, help="conversations per run (upper bound)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of 1-user load before each run, not counted")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-message timeout in seconds")
    parser.add_argument("--cases", action="append", type=Path, help="QA files (default: public + madoguchi)")
    parser.add_argument("--pids", default="",
                        help="comma-separated server PIDs to report memory of (default: discover)")
    parser.add_argument("--start", default="", help="start the cluster with these Rasa process counts, e.g. 1,2")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)

    cases = [c for path in (args.cases or DEFAULT_CASES) for c in load_cases(path)]
    user_counts = [int(u) for u in args.users.split(",") if u.strip()]
    rows = []
    print(f"{len(cases)} conversations in the QA files; duration ≤ {args.duration:.0f} s, "
          f"≤ {args.conversations} conversations per run", flush=True)
    print(HEADER, flush=True)

    def measure(urls: list[str], pids: dict[int, str], label: str) -> None:
        for users in user_counts:
            if args.warmup:
                asyncio.run(run_load(urls, cases, 1, args.warmup, 10_000, args.timeout))
            stats, elapsed = asyncio.run(run_load(urls, cases, users, args.duration, args.conversations, args.timeout))
            row = summary(f"{label}, {users} users", stats, elapsed, pids)
            rows.append(row)
            print_row(row)

    if args.start:
        import tempfile

        from devtools.cluster import Cluster

        for replicas in [int(n) for n in args.start.split(",") if n.strip()]:
            cluster = Cluster(Path(tempfile.mkdtemp(prefix="madoguchi-load-")), replicas=replicas)
            try:
                cluster.start()
                pids = {cluster.pid(n): n for n in cluster.procs}
                measure([cluster.url(i) for i in range(replicas)], pids, f"{replicas} Rasa")
            finally:
                cluster.stop()
                cluster.drop_database()
                cluster.delete_redis_keys()
    else:
        if not args.url:
            parser.error("give --url (one per Rasa server) or --start")
        pids = ({int(p): f"pid {p}" for p in args.pids.split(",") if p.strip()} if args.pids else discover_pids())
        measure(args.url, pids, f"{len(args.url)} Rasa")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
