"""QA benchmark: asks every case of a QA file over REST and prints accuracy and latency.

    .venv/bin/python bench/eval.py ../shared/eval/public_qa.yml --url http://localhost:5005

Case format (see ../shared/eval/public_qa.yml): ``turns`` are sent in order with one sender id; the
reply to the last turn must contain, for every ``expect`` group, one of its strings, and none of
the ``forbid`` strings. Prints per-case failures, accuracy, and p50/p95 latency per message.
With ``--fixed-text`` the same server is also timed answering a fixed response (a rule with an
``utter_`` reply, no action server) for comparison, one after each case, so that both see the same
machine load. Accuracy comes from the first pass; the set is asked again (each case in a new
conversation) until ``--min-messages`` are timed, after ``--warmup`` untimed cases.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # devtools/ is not installed: the repository's

from devtools.qa import check, load_cases  # noqa: E402


@dataclass
class Result:
    case_id: str
    passed: bool
    reply: str
    problems: list[str] = field(default_factory=list)


def ask(url: str, sender: str, text: str, timeout: float = 30.0) -> tuple[str, float]:
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(
        url.rstrip("/") + "/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.loads(response.read().decode("utf-8"))
    elapsed = time.perf_counter() - start
    return "\n".join(m.get("text", "") for m in payload if isinstance(m, dict)), elapsed


def run_case(url: str, case: dict, latencies: list[float]) -> Result:
    sender = f"eval-{case.get('id', 'case')}-{uuid.uuid4().hex[:8]}"
    reply = ""
    for turn in case["turns"]:
        reply, elapsed = ask(url, sender, turn)
        latencies.append(elapsed)
    problems = check(case, reply)
    return Result(str(case.get("id")), not problems, reply, problems)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qa_file", type=Path)
    parser.add_argument("--url", default="http://localhost:5005")
    parser.add_argument("--repeat", type=int, default=1, help="ask the whole set at least this many times")
    parser.add_argument("--min-messages", type=int, default=100,
                        help="repeat the set until at least this many messages are timed (a p95 needs them)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed cases first (model and caches warm up)")
    parser.add_argument("--fixed-text", default=None,
                        help="also time this message, answered by a fixed response, interleaved with the cases")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--target", type=float, default=1.0,
                        help="exit 0 when at least this share of cases pass (1.0: all of them)")
    args = parser.parse_args(argv)

    try:
        cases = load_cases(args.qa_file)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    for case in cases[: max(0, args.warmup)]:
        run_case(args.url, case, [])
    latencies: list[float] = []
    fixed: list[float] = []
    results: list[Result] = []
    run = uuid.uuid4().hex[:8]
    passes = 0
    while passes < max(1, args.repeat) or len(latencies) < args.min_messages:
        passes += 1
        this_pass = []
        for case in cases:
            this_pass.append(run_case(args.url, case, latencies))
            if args.fixed_text:  # interleaved, so both see the same machine load; a new conversation each
                fixed.append(ask(args.url, f"eval-fixed-{run}-{len(fixed)}", args.fixed_text)[1])
        results = results or this_pass  # accuracy from the first pass
        changed = [a.case_id for a, b in zip(results, this_pass) if a.passed != b.passed]
        if changed:
            print(f"pass {passes}: different outcome for {', '.join(changed)}")
    failed = [r for r in results if not r.passed]
    if not args.quiet:
        for r in failed:
            print(f"FAIL {r.case_id}: {'; '.join(r.problems)}\n     reply: {r.reply!r}")
    accuracy = (len(results) - len(failed)) / len(results)
    kinds = {c.get("kind") for c in cases if c.get("kind")}
    for kind in sorted(kinds):
        of_kind = [r for c, r in zip(cases, results) if c.get("kind") == kind]
        print(f"  {kind}: {sum(r.passed for r in of_kind)}/{len(of_kind)}")
    print(f"cases: {len(results)}  passed: {len(results) - len(failed)}  accuracy: {accuracy:.1%}"
          f"  (target {args.target:.0%})")
    print(
        f"latency per message (n={len(latencies)}, {passes} pass(es)): p50 {percentile(latencies, 50) * 1000:.1f} ms"
        f"  p95 {percentile(latencies, 95) * 1000:.1f} ms"
    )
    if args.fixed_text:
        p95, fixed95 = percentile(latencies, 95), percentile(fixed, 95)
        print(
            f"fixed response (n={len(fixed)}): p50 {percentile(fixed, 50) * 1000:.1f} ms  p95 {fixed95 * 1000:.1f} ms"
            f"  ratio p95 {p95 / fixed95:.2f}x"
        )
    return 0 if accuracy >= args.target - 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
