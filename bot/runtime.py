"""The one start-up of Madoguchi's server processes: every change to Rasa's or Sanic's behaviour is
installed here, explicitly, by the entry point (``python -m bot.serve``); nothing is changed on import.

What :func:`install` installs, and why:

- ``bot.privacy.logging``: personal data masked in every log record of the process;
- ``bot.rasa_fixes``: one cached action-reply validator, kept-alive action-server sessions (latency);
- ``bot.action_runner``: ``EndpointConfig.request`` runs ``inprocess:`` action endpoints in this process;
- on the app ``rasa run`` builds (``rasa.core.run.configure_app`` is wrapped):
  ``bot.channels.guard.protect`` (Content-Length checked while Sanic reads the request head: Sanic 21.12
  spun for ever on a negative length and answered 500 to a non-number; bodies over the route's limit
  refused with 413 unread; a guard refusal answered as JSON), and the preload of an ``inprocess:``
  actions package when the server starts (the first user does not wait for its import);
- the same guard on the action server's app (``rasa_sdk.endpoint.create_app``: also Sanic 21.12).

Each change checks the installed version of what it changes and refuses to start on another one: it
was written for, and tested against, exactly these.
"""
from __future__ import annotations

import functools
from importlib import metadata
from typing import Any, Callable

# What the changes were written for; another version may have moved or fixed what they change.
WRITTEN_FOR = {"rasa": "3.6.21", "rasa-sdk": "3.6.2", "sanic": "21.12.2"}

_installed = False


class UnsupportedVersion(RuntimeError):
    pass


def check_versions(expected: dict[str, str] | None = None, installed: Callable[[str], str] = metadata.version) -> None:
    """Refuses (UnsupportedVersion, with what to do) when a package differs from what the changes were written for."""
    for package, version in (expected or WRITTEN_FOR).items():
        found = installed(package)
        if found != version:
            raise UnsupportedVersion(
                f"Madoguchi's start-up changes to {package} were written for {package} {version}, "
                f"but {package} {found} is installed. Install the pinned versions (requirements.lock) "
                f"or review bot/runtime.py and the modules it names for the new version."
            )


def _guarded(make_app: Callable[..., Any], *also: Callable[[Any], Any]) -> Callable[..., Any]:
    """``make_app`` whose Sanic app gets :func:`bot.channels.guard.protect`, then each of ``also``."""
    from bot.channels import guard

    @functools.wraps(make_app)
    def make(*args: Any, **kwargs: Any) -> Any:
        app = make_app(*args, **kwargs)
        for change in (guard.protect, *also):
            change(app)
        return app

    make.madoguchi_guarded = True  # type: ignore[attr-defined]
    return make


def install() -> None:
    """Installs every start-up change once (idempotent); raises UnsupportedVersion first if need be."""
    global _installed
    if _installed:
        return
    check_versions()
    import rasa.core.run

    from bot import action_runner, rasa_fixes
    from bot.privacy import logging as privacy_logging

    privacy_logging.install()
    rasa_fixes.install()
    action_runner.install()
    if not getattr(rasa.core.run.configure_app, "madoguchi_guarded", False):
        # and the first user does not wait for an `inprocess:` actions package to be imported
        rasa.core.run.configure_app = _guarded(rasa.core.run.configure_app, action_runner.preload_on_start)
    import rasa_sdk.endpoint

    if not getattr(rasa_sdk.endpoint.create_app, "madoguchi_guarded", False):  # the action server's app
        rasa_sdk.endpoint.create_app = _guarded(rasa_sdk.endpoint.create_app)
    _installed = True
