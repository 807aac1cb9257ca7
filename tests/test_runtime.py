"""bot.runtime: the start-up changes are installed by the entry point, and only on the versions they were
written for."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bot import runtime
from servers import REPO


def test_a_different_version_is_refused_with_what_to_do():
    with pytest.raises(runtime.UnsupportedVersion, match=r"written for rasa 3\.6\.21, but rasa 3\.7\.0"):
        runtime.check_versions({"rasa": "3.6.21"}, installed=lambda name: "3.7.0")
    runtime.check_versions()  # the installed, pinned versions pass


def test_the_server_refuses_to_start_on_a_rasa_it_was_not_written_for():
    code = ("from bot import runtime; runtime.WRITTEN_FOR['rasa'] = '3.7.0'; "
            "from bot.serve import main; main(['run', '--help'])")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 3
    assert "起動できません" in done.stderr and "rasa 3.7.0" in done.stderr


def test_the_server_app_rasa_builds_gets_the_guard():
    import rasa.core.run

    runtime.install()
    assert getattr(rasa.core.run.configure_app, "madoguchi_guarded", False)
    app = rasa.core.run.configure_app(enable_api=False, port=0)
    assert app.config.REQUEST_MAX_SIZE <= 1024 * 1024
