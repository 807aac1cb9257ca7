"""Rasa's own evaluation of the conversation test stories in tests/test_stories.yml."""
from __future__ import annotations

import subprocess

from servers import BIN, MODEL, REPO


def test_rasa_test_stories_have_no_prediction_errors(tmp_path):
    result = subprocess.run(
        [
            str(BIN / "python"), "-m", "bot.serve", "test", "core", "--model", str(MODEL), "--stories",
            "tests/test_stories.yml",
            "--out", str(tmp_path), "--fail-on-prediction-errors",
        ],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert result.returncode == 0, (details or result.stdout[-3000:]) + result.stderr[-2000:]
