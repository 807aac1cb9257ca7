"""QA case files (format of ../shared/eval/public_qa.yml): loading and checking a reply."""
from __future__ import annotations

from pathlib import Path

import yaml


def load_cases(path: Path) -> list[dict]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    cases = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(cases, list) or not cases:
        raise ValueError(f"{path}: 'cases' がありません")
    for case in cases:
        if not isinstance(case, dict) or not case.get("turns"):
            raise ValueError(f"{path}: case {case!r} has no turns")
    return cases


def check(case: dict, reply: str) -> list[str]:
    """Problems of ``reply`` against the case's expect groups and forbid list (empty when it passes)."""
    problems = []
    for group in case.get("expect") or []:
        if not any(s in reply for s in group):
            problems.append(f"expected one of {group}")
    for s in case.get("forbid") or []:
        if s in reply:
            problems.append(f"forbidden {s!r}")
    return problems
