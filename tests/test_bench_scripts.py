"""The benchmark scripts start the way their docstrings say (``.venv/bin/python bench/NAME.py``): from the
repository root, where ``devtools/`` is not an installed package. Each answers ``--help`` and exits 0, so an
import that only works under pytest (which puts the repository on sys.path) is caught here."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "bench").glob("*.py"))


def test_there_are_benchmark_scripts():
    assert {p.name for p in SCRIPTS} >= {"eval.py", "load.py", "search.py", "staff_lookup.py", "nlu_cv.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_benchmark_script_starts_from_the_repository_root(script):
    done = subprocess.run([sys.executable, str(script.relative_to(REPO)), "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
