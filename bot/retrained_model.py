"""The model the staff desk retrained last, and which model a guide server starts on.

After a retraining (bot.staff.retraining) the desk points ``current.tar.gz`` in its retraining folder
(``var/retraining``, or ``MADOGUCHI_RETRAIN_DIR``) at the new model (:func:`point_at`). The running
servers are switched to it at once through Rasa's ``PUT /model``. A server that starts later (a
replica that restarts, the next ``make run``) is told where that link is by ``MADOGUCHI_RETRAINED_MODEL``
and starts on the retrained model when it is newer than the model it was given (:func:`model_arguments`).
A model trained after it (``make train`` or a new image, after the files changed) is newer and wins.
"""
from __future__ import annotations

import os
from pathlib import Path

LINK_NAME = "current.tar.gz"
REPO = Path(__file__).resolve().parents[1]


def retrain_dir(env=os.environ) -> Path:
    """Where the desk trains (one folder per version) and keeps the link to the newest model."""
    return Path(env.get("MADOGUCHI_RETRAIN_DIR") or REPO / "var" / "retraining")


def point_at(model: Path, env=os.environ) -> Path:
    """Point the link at ``model`` (replaced in one step: a server starting meanwhile sees the old or new)."""
    link = retrain_dir(env) / LINK_NAME
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{LINK_NAME}.{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(model.resolve(), link.parent.resolve()))
    os.replace(tmp, link)
    return link


def model_arguments(argv: list[str], env=os.environ) -> tuple[list[str], Path | None]:
    """``rasa run`` arguments with ``--model FILE`` replaced by the retrained model when that is newer;
    the model chosen instead (None when nothing changed). Other commands pass through unchanged."""
    link = env.get("MADOGUCHI_RETRAINED_MODEL", "").strip()
    if not link or argv[:1] != ["run"] or "actions" in argv[1:2] or "--model" not in argv[:-1]:
        return argv, None
    at = argv.index("--model") + 1
    given = Path(argv[at])
    if not given.is_file():  # a folder: Rasa takes its newest model itself
        return argv, None
    chosen = newer_retrained(given, Path(link))
    if chosen is None:
        return argv, None
    return [*argv[:at], str(chosen), *argv[at + 1:]], chosen


def newer_retrained(given: Path, link: Path) -> Path | None:
    """The model ``link`` points at when it is newer than ``given`` (or ``given`` is missing), else None:
    the one rule for which model a server starts on, and whose lookup tables the desk compares with."""
    try:
        if not link.is_file() or (given.is_file() and link.stat().st_mtime <= given.stat().st_mtime):
            return None
        return link.resolve()
    except OSError:
        return None
