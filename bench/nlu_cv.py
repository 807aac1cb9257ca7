"""Cross-validated NLU figures: runs `rasa test nlu --cross-validation` and prints intent macro-F1
and entity F1 (per extractor), read from the reports Rasa writes.

    .venv/bin/python bench/nlu_cv.py --folds 5 [--seed 0]

Rasa draws the folds with numpy's global random state and no seed, so two runs on the same data
differ by a few thousandths; ``--seed`` seeds it first, and the same seed gives the same folds.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# `rasa <args>` with numpy's global random state seeded first (argv[1] is the seed)
SEEDED_RASA = ("import sys, numpy; numpy.random.seed(int(sys.argv.pop(1))); sys.argv[0] = 'rasa'; "
               "from rasa.__main__ import main; main()")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="seed of the fold split (default 0)")
    parser.add_argument("--out", default=None, help="keep Rasa's reports here (default: a temporary folder)")
    args = parser.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="nlu-cv-"))
    command = [
        sys.executable, "-c", SEEDED_RASA, str(args.seed), "test", "nlu", "--nlu", "data", "--config", "config.yml",
        "--cross-validation", "--folds", str(args.folds), "--out", str(out),
    ]
    result = subprocess.run(command, cwd=REPO)
    if result.returncode != 0:
        print(f"rasa test nlu failed ({result.returncode})", file=sys.stderr)
        return result.returncode
    intent = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    print(f"intent macro-F1 ({args.folds}-fold CV, seed {args.seed}): {intent['macro avg']['f1-score']:.4f}"
          f"  accuracy: {intent.get('accuracy', float('nan')):.4f}")
    for report in sorted(out.glob("*_report.json")):
        if report.name in ("intent_report.json", "response_selection_report.json"):
            continue
        data = json.loads(report.read_text(encoding="utf-8"))
        if "micro avg" in data or "macro avg" in data:
            micro = data.get("micro avg", {}).get("f1-score", float("nan"))
            macro = data.get("macro avg", {}).get("f1-score", float("nan"))
            print(f"entity F1 {report.stem.removesuffix('_report')}: micro {micro:.4f}  macro {macro:.4f}")
    print(f"reports: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
