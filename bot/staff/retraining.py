"""Retraining after a publish that brings names the guide's model has never seen.

The model learns the knowledge base's names from the lookup tables it was trained with
(``data/nlu/generated/kb_lookups.yml``, written by ``madoguchi nlu generate``; the KBEntityExtractor keeps
them as its gazetteer): municipalities, organizations and presentation topics. A published version whose
presentations name an organization or a topic that is not in them holds *unseen* names
(:func:`unseen_names`); the preview says so before publishing.

After such a publish, :func:`after_publish` starts one retraining in a background thread of the desk:

1. the lookup tables are generated from the published database (``bot.kb.queries.lookup_names``, as
   ``madoguchi nlu generate`` does) into ``var/retraining/vN/data/nlu/generated/``
   (``MADOGUCHI_RETRAIN_DIR`` moves ``var/retraining``), next to links to the hand-written training data
   (``data/nlu/*.yml``, ``data/rules.yml``); the repository's files are not touched;
2. ``rasa train`` runs on them as a child process (as ``make train`` does), writing
   ``var/retraining/vN/madoguchi-vN.tar.gz``; its log is read for progress (each component trained or
   restored from Rasa's cache), shown on the data page;
3. the running guide is switched to the new model through Rasa's HTTP API (``PUT /model``), when the desk
   knows where the guide is (``MADOGUCHI_RASA_URL``: one URL, or the replicas' URLs separated by spaces or
   commas, switched one after the other so that the others keep answering) and the guide's API token
   (``MADOGUCHI_RASA_TOKEN``; Rasa must run with ``--enable-api --auth-token``). Rasa loads the model into
   a new agent with the same tracker and lock stores, so every conversation goes on; messages in flight
   finish on the old model. Without those two settings the page says where the model is and that the guide
   still runs the old one; a replica that cannot be reached or refuses the model is named;
4. unless every server refused it, ``var/retraining/current.tar.gz`` is pointed at the new model
   (bot.retrained_model): a guide server that starts later with ``MADOGUCHI_RETRAINED_MODEL`` naming it
   (``make run``, the replicas of ``docker-compose.yml``) starts on it.

A publish during a retraining queues one more run, which starts when the current one ends.
"""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from bot.kb import content as kb_content
from bot.nlp.lookups import DEFAULT_PATH as LOOKUPS_PATH
from bot.retrained_model import LINK_NAME, newer_retrained, point_at, retrain_dir

logger = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
_PROGRESS_RE = re.compile(r"(?:Finished training|Restored) component '([^']+)'")
_known: dict[str, tuple[float, frozenset[str]]] = {}


def known_names(path: Path = LOOKUPS_PATH) -> frozenset[str]:
    """Every name of the lookup tables the model was trained with (cached while the file is unchanged)."""
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        return frozenset()
    cached = _known.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names: set[str] = set()
    for block in data.get("nlu", []):
        examples = block.get("examples") or ""
        names.update(line[2:].strip() for line in examples.splitlines() if line.startswith("- "))
        if block.get("synonym"):
            names.add(str(block["synonym"]))
    result = frozenset(names)
    _known[str(path)] = (stamp, result)
    return result


def lookups_in_use(shipped: Path = REPO / "models" / "madoguchi.tar.gz") -> Path:
    """The lookup tables of the model a guide server starts on (bot.retrained_model's rule): those of the
    last retraining while its model is newer than the shipped one, else ``make train``'s. Without this a
    desk that starts after a retraining would find the same names unseen again, and retrain at every start."""
    retrained = newer_retrained(shipped, retrain_dir() / LINK_NAME)
    trained = retrained.parent / "data" / "nlu" / "generated" / "kb_lookups.yml" if retrained else None
    return trained if trained is not None and trained.is_file() else LOOKUPS_PATH


def unseen_names(new: dict, path: Path | None = None) -> set[str]:
    """Names in ``new``'s presentations (presenting organizations, topics) that the model has never seen:
    not in the lookup tables of the last retraining that reached the guide, or else of ``make train``."""
    from bot.nlp.normalize import normalize

    lookups = path or _status.lookups or lookups_in_use()
    known = {normalize(n) for n in known_names(Path(lookups))}
    return {n for n in kb_content.names(new) if normalize(n) not in known}


@dataclass(frozen=True)
class Status:
    state: str = "idle"  # idle | running | done | failed
    message: str = ""
    version: int = 0
    done: int = 0
    total: int = 0
    names: tuple[str, ...] = ()
    model: str = ""
    lookups: str = ""  # the lookup tables of the model the guide runs, once a retraining switched it
    started: float = 0.0
    finished: float = 0.0
    trained_components: int = 0  # how many the last run counted: the next run's total
    queued: tuple = field(default=(), compare=False)


_status = Status()
_lock = threading.Lock()
_training: list[subprocess.Popen] = []  # the running `rasa train`, for stop()


def status() -> Status:
    return _status


def _set(**changes) -> None:
    global _status
    with _lock:
        _status = replace(_status, **changes)


def _total_components() -> int:
    """How many components a training reports (trained or restored from cache): the last run's count, or
    before any run the trainable entries of config.yml (its pipeline and policies, less the components
    that learn nothing and report nothing: 11 for the shipped config.yml, as a run counts)."""
    if _status.trained_components:
        return _status.trained_components
    config = yaml.safe_load((REPO / "config.yml").read_text(encoding="utf-8")) or {}
    quiet = ("GinzaNLP", "SpacyTokenizer", "SpacyFeaturizer", "JapaneseNormalizer", "FallbackClassifier",
             "NoTextClassifier")
    pipeline = [c for c in config.get("pipeline") or [] if not str(c.get("name", "")).endswith(quiet)]
    return len(pipeline) + len(config.get("policies") or [])


def after_publish(version_id: int, url: str | None, audit=None) -> bool:
    """Start a retraining when the published data has unseen names; True if one started (or was queued)."""
    from bot.kb import versions

    names = unseen_names(versions.content_of(version_id, url))
    if not names or os.environ.get("MADOGUCHI_RETRAIN", "1") == "0":
        return False
    with _lock:
        running = _status.state == "running"
    if running:
        _set(queued=(version_id, url, audit))
        return True
    _set(state="running", version=version_id, done=0, total=_total_components(), names=tuple(sorted(names)),
         message=f"版 {version_id} に、案内の言語モデルが知らない名前が {len(names)} 件あります。"
                 "モデルの再学習を始めました。"
                 "学習が終わるまでの間も、案内は新しいデータで回答しています。",
         model="", started=time.time(), finished=0.0, queued=())
    threading.Thread(target=_run, args=(version_id, url, audit), name=f"retraining-v{version_id}",
                     daemon=True).start()
    return True


def _run(version_id: int, url: str | None, audit) -> None:
    try:
        model, lookups = _train(version_id, url)
        switched, failed = _switch(model)
        if switched or not failed:  # a model no server took is not the one servers restart on
            point_at(model)
        if switched and not failed:
            message = (f"再学習が終わりました（版 {version_id}）。案内は新しいモデルで回答しています。"
                       "会話は途切れていません。")
            outcome = "案内を新しいモデルに切り替えました"
        elif switched:
            message = (f"再学習が終わりました（版 {version_id}）。{len(switched)}台の案内は新しいモデルで"
                       f"回答しています。切り替えられなかった案内（{'、'.join(failed)}）は、再起動すると"
                       "新しいモデルで始まります。それまでは以前のモデルで回答しています。")
            outcome = f"{len(switched)}台を新しいモデルに切り替えました。切り替えられなかった案内: {'、'.join(failed)}"
        else:
            if failed:
                message = (f"再学習が終わりました（版 {version_id}）が、案内（{'、'.join(failed)}）は新しいモデル"
                           f"（{model}）に切り替わりませんでした。案内は以前のモデルで回答を続け、再起動しても"
                           "以前のモデルで始まります。管理者に連絡してください。")
            else:
                message = (f"再学習が終わりました（版 {version_id}）。新しいモデルは {model} にあります。案内の"
                           "切り替えには、MADOGUCHI_RASA_URL と MADOGUCHI_RASA_TOKEN の設定（案内を --enable-api で"
                           "起動）が必要です。案内は再起動すると新しいモデルで始まります。それまでは以前のモデルで"
                           "回答しています。")
            outcome = "モデルは切り替えていません"
        _set(state="done", model=str(model), finished=time.time(), done=_status.total, total=_status.total,
             lookups=str(lookups) if switched else _status.lookups, message=message)
        if audit:
            audit("retraining", f"版 {version_id} の再学習が終わりました。{outcome}: {model.name}")
    except Exception as exc:  # noqa: BLE001 (shown on the page; the desk keeps running)
        logger.exception("retraining for version %s failed", version_id)
        _set(state="failed", finished=time.time(),
             message=f"再学習に失敗しました（版 {version_id}）。案内は以前のモデルで回答しています。"
                     f"管理者に連絡してください（{exc}）。")
        if audit:
            audit("retraining", f"版 {version_id} の再学習に失敗しました: {str(exc)[:300]}")
    queued = _status.queued
    if queued:
        _set(state="idle", queued=())
        after_publish(*queued)


def stop(timeout: float = 10.0) -> None:
    """End a running training with the desk (no `rasa train` outlives the server that started it)."""
    for process in list(_training):
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()


def _train(version_id: int, url: str | None) -> tuple[Path, Path]:
    from bot.kb.db import open_session
    from bot.kb.queries import lookup_names
    from bot.nlp import lookups

    work = retrain_dir() / f"v{version_id}"
    data = work / "data"
    (data / "nlu" / "generated").mkdir(parents=True, exist_ok=True)
    with open_session(url) as session:
        generated = lookups.write(lookup_names(session), data / "nlu" / "generated" / "kb_lookups.yml")
    for source in sorted((REPO / "data" / "nlu").glob("*.yml")) + [REPO / "data" / "rules.yml"]:
        target = data / source.relative_to(REPO / "data")
        if not target.exists():
            target.symlink_to(source)
    name = f"madoguchi-v{version_id}"
    log = work / "train.log"
    args = [str(Path(sys.executable).parent / "rasa"), "train", "--data", str(data),
            "--config", str(REPO / "config.yml"), "--domain", str(REPO / "domain.yml"), "--out", str(work),
            "--fixed-model-name", name]
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONUNBUFFERED": "1"}
    done = 0
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, encoding="utf-8", errors="replace")
        _training.append(process)
        try:
            assert process.stdout is not None  # stdout=PIPE
            for line in process.stdout:
                out.write(line)
                if _PROGRESS_RE.search(line):  # one line per graph component (five are ViewFeaturizers)
                    done += 1
                    _set(done=done, total=max(_status.total, done))
            code = process.wait()
        finally:
            _training.remove(process)
    _set(trained_components=done)
    model = work / f"{name}.tar.gz"
    if code != 0 or not model.exists():
        raise RuntimeError(f"rasa train の終了コード {code}。記録: {log}")
    return model, generated


def guide_urls(env=os.environ) -> list[str]:
    """The guide servers to switch: ``MADOGUCHI_RASA_URL``, one URL or several separated by spaces or commas."""
    return [u.rstrip("/") for u in re.split(r"[\s,]+", env.get("MADOGUCHI_RASA_URL", "")) if u]


def _switch(model: Path, env=os.environ) -> tuple[list[str], list[str]]:
    """Load ``model`` into each guide server in turn (Rasa ``PUT /model``): the URLs switched and those that
    failed; both empty when the desk does not know the guide."""
    urls, token = guide_urls(env), env.get("MADOGUCHI_RASA_TOKEN", "")
    if not urls or not token:
        return [], []
    switched: list[str] = []
    failed: list[str] = []
    for base in urls:  # one after the other: the others answer while one loads the model
        _set(message=f"再学習が終わりました。案内を新しいモデルに切り替えています…（{len(switched) + len(failed) + 1}"
                     f"/{len(urls)}）")
        try:
            request = urllib.request.Request(f"{base}/model?token={urllib.parse.quote(token)}", method="PUT",
                                             data=json.dumps({"model_file": str(model)}).encode("utf-8"),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=600) as reply:
                ok = reply.status in (200, 204)
        except (OSError, ValueError) as exc:  # refused, timed out, an HTTP error status, not a URL
            logger.warning("switching %s to %s failed: %s", base, model, exc)
            ok = False
        (switched if ok else failed).append(base)
    return switched, failed
