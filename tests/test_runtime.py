"""bot.runtime: the start-up changes are installed by the entry point, and only on the versions they were
written for."""
from __future__ import annotations

import subprocess
import sys

import pytest
from servers import REPO

from bot import runtime


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


def test_importing_every_module_changes_nothing_in_rasa_or_logging():
    """No change to Rasa's behaviour is a side effect of an import: only bot.runtime.install() makes them."""
    code = """
import importlib, logging, pkgutil
import rasa.core.run
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig
before = (RemoteAction._validate_action_result, EndpointConfig.request, EndpointConfig.session,
          rasa.core.run.configure_app, logging.getLogRecordFactory())
import bot, actions
for package in (bot, actions):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name not in ("bot.serve",):
            importlib.import_module(info.name)
import bot.serve
after = (RemoteAction._validate_action_result, EndpointConfig.request, EndpointConfig.session,
         rasa.core.run.configure_app, logging.getLogRecordFactory())
changed = [i for i, (a, b) in enumerate(zip(before, after)) if a is not b]
print("changed:", changed)
from bot import runtime
runtime.install()
installed = (RemoteAction._validate_action_result, EndpointConfig.request, EndpointConfig.session,
             rasa.core.run.configure_app, logging.getLogRecordFactory())
print("installed:", [i for i, (a, b) in enumerate(zip(after, installed)) if a is not b])
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "changed: []" in done.stdout, done.stdout
    assert "installed: [0, 1, 2, 3, 4]" in done.stdout, done.stdout
