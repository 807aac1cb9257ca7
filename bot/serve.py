"""The guide's servers with Madoguchi's start-up changes installed (bot.runtime): ``rasa`` with its own
arguments.

    .venv/bin/python -m bot.serve run --port 5005 --model models/madoguchi.tar.gz ...
    .venv/bin/python -m bot.serve run actions --actions actions --port 5055
    .venv/bin/python -m bot.serve shell

``MADOGUCHI_RETRAINED_MODEL`` names the link to the model the staff desk retrained last: ``run`` starts on
it when it is newer than ``--model`` (bot.retrained_model).

Known third-party warnings that say nothing about the guide (deprecations inside Rasa's dependencies,
TensorFlow's notes on CUDA and CPU instructions) are kept out of the server's output
(:func:`quiet_known_warnings`), so that what the guide itself says can be read. ``MADOGUCHI_WARNINGS=all``
shows them again.
"""
from __future__ import annotations

import os
import re
import sys
import warnings

from bot import runtime

# Modules whose deprecation warnings are their dependencies' business, not ours (Rasa 3.6's pins).
KNOWN_NOISY = r"(sanic_cors|apscheduler|pkg_resources|tensorflow|keras|jax|matplotlib|pyparsing|sqlalchemy|rasa|" \
              r"sanic|google|flatbuffers|absl|setuptools|distutils|importlib|spacy|thinc|websockets)(\.|$)"
DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
SITE_PACKAGES = re.compile(r"[/\\](site|dist)-packages[/\\]")
KNOWN_MESSAGES = (
    r"Slot auto-fill has been removed",  # Rasa 3's note on every domain with slots
    r".*load_module\(\) method is deprecated",
    r"Deprecated API features detected",  # SQLAlchemy 2.0 notice on Rasa's tracker store
)


def quiet_known_warnings(env=os.environ) -> None:
    """Hides the known third-party warnings (see the module docstring); before Rasa is imported."""
    if env.get("MADOGUCHI_WARNINGS") == "all":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ notes (oneDNN, CUDA, TensorRT)
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    for category in DEPRECATIONS:
        warnings.filterwarnings("ignore", category=category, module=KNOWN_NOISY)
    for message in KNOWN_MESSAGES:
        warnings.filterwarnings("ignore", message=message)
    # Some libraries turn their own deprecation warnings back on (setuptools' distutils does, in a
    # catch_warnings block): such a warning is still not shown when it comes from an installed package.
    shown = warnings.showwarning

    def show_unless_known(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        if issubclass(category, DEPRECATIONS) and SITE_PACKAGES.search(filename or ""):
            return
        if any(re.match(known, str(message)) for known in KNOWN_MESSAGES):
            return
        shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show_unless_known


def main(argv: list[str] | None = None) -> None:
    quiet_known_warnings()
    try:
        runtime.install()
    except runtime.UnsupportedVersion as exc:
        print(f"起動できません / cannot start: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    from rasa.__main__ import main as rasa_main

    from bot.retrained_model import model_arguments

    args, retrained = model_arguments(sys.argv[1:] if argv is None else argv)
    if retrained is not None:
        print(f"スタッフ画面で再学習したモデルで起動します / starting on the model retrained from the staff desk: "
              f"{retrained}", file=sys.stderr)
    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
