"""Versions of the knowledge base's editable content (bot.kb.content): staged changes, publish, roll back.

Every publish from the staff desk is a version: a row of ``kb_publication`` holding the whole editable
content after it (zlib-compressed JSON; the shipped data is about 60 kB, 10,000 FAQ entries about
1.5 MB), who published it, when, from which version, and the knowledge-base version (``kb_version``)
it produced. A change is first *staged* (``kb_staged``: the content it would make, checked and shown
as a preview), then published.

- **One transaction.** :func:`publish` writes the publication row, the changed entries and a new
  ``kb_version`` together; the running guide notices the new ``kb_version`` (snapshots in
  bot.kb.queries, the search index in bot.search) and answers from the new data without a restart.
- **No silent overwrite.** A staged change remembers the version it was made from. ``base_id`` is
  UNIQUE in ``kb_publication``: each version can be the base of one publication only, so of two
  editors publishing from the same version the database lets one through and the second gets
  :class:`Conflict`. The data must also still be that version's (``kb_version`` unchanged), or the
  publish is refused as well.
- **Changes made elsewhere** (``madoguchi kb load``, ``kb build`` from ``make run``) are noticed by
  their ``kb_version`` and recorded as a version of their own (:func:`current`), so the list is
  complete and the desk's earlier versions can be restored after a rebuild.
- **A rebuild keeps what the desk published.** Once the desk has published, the database, not
  ``data/kb``, holds the current FAQ and assemblies: ``kb build`` (which ``make run`` and the
  deployment's ``kb-load`` job run) rebuilds the rest from the files and keeps that content
  (:func:`desk_content`), until ``kb build --from-files`` takes the files' content again.
- **Roll back** stages an earlier version's content as a new change: the list only grows, and a
  rollback is previewed and published like any other change.

The tables live in the knowledge-base database under their own metadata, so ``kb build`` keeps them.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
import zlib
from dataclasses import dataclass

from sqlalchemy import Column, Float, Integer, LargeBinary, String, Text, delete, desc, func, inspect, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeMeta, Session, registry

from bot.kb import content as kb_content
from bot.kb.db import get_engine, open_session
from bot.kb.models import KBVersion, MetaBase

# A class rather than `declarative_base()`'s variable, so mypy accepts it as a base class (as bot.kb.models):
# a registry and metadata of its own and the keyword constructor, as `declarative_base()` made them.
_version_registry = registry()


class VersionBase(metaclass=DeclarativeMeta):
    __abstract__ = True
    registry = _version_registry
    metadata = _version_registry.metadata
    __init__ = _version_registry.constructor


STAGED_TTL_SECONDS = 24 * 3600  # a preview nobody published is forgotten after a day
KINDS = {"baseline": "最初の記録", "external": "画面の外での変更（kb load / kb build）", "upload": "ファイルの公開",
         "entry": "FAQ 1件の編集", "rollback": "差し戻し", "build": "data/kb からの作り直し（kb build）",
         "kept": "作り直し・公開内容を保持（kb build）"}
DESK_KINDS = ("upload", "entry", "rollback")  # the changes made on the desk's data page
_publish_lock = threading.Lock()  # one publish at a time per process (SQLite: no lock upgrade between readers)
_ready: set[str] = set()


class Publication(VersionBase):
    """One version: the editable content after a publish (or after a change made outside the desk)."""

    __tablename__ = "kb_publication"
    id = Column(Integer, primary_key=True)  # the version number people see (版 N)
    base_id = Column(Integer, nullable=True, unique=True)  # the version it was made from: one child each
    created_at = Column(Float, nullable=False)
    account = Column(String(64), nullable=False, default="")
    kind = Column(String(20), nullable=False)
    summary = Column(Text, nullable=False, default="")
    restored_from = Column(Integer, nullable=True)
    kb_version = Column(String(36), nullable=False, default="")
    added = Column(Integer, nullable=False, default=0)
    changed = Column(Integer, nullable=False, default=0)
    removed = Column(Integer, nullable=False, default=0)
    content = Column(LargeBinary, nullable=False)


class Staged(VersionBase):
    """A checked change waiting to be published: the content it would make and the version it starts from."""

    __tablename__ = "kb_staged"
    id = Column(String(32), primary_key=True)  # random token, in the preview page's URL
    account = Column(String(64), nullable=False)
    created_at = Column(Float, nullable=False)
    base_id = Column(Integer, nullable=False)
    kind = Column(String(20), nullable=False)
    summary = Column(Text, nullable=False, default="")
    restored_from = Column(Integer, nullable=True)
    content = Column(LargeBinary, nullable=False)


class Conflict(Exception):
    """The data is no longer the version the change was made from; ``message`` says so in Japanese."""

    def __init__(self, message: str, latest: int | None = None):
        super().__init__(message)
        self.message, self.latest = message, latest


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class VersionRecord:
    id: int
    base_id: int | None
    created_at: float
    account: str
    kind: str
    summary: str
    restored_from: int | None
    kb_version: str
    added: int
    changed: int
    removed: int

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class StagedRecord:
    id: str
    account: str
    created_at: float
    base_id: int
    kind: str
    summary: str
    restored_from: int | None
    content: dict


def _pack(content: dict) -> bytes:
    return zlib.compress(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 6)


def _unpack(blob: bytes) -> dict:
    return json.loads(zlib.decompress(blob).decode("utf-8"))


def _record(row: Publication) -> VersionRecord:
    return VersionRecord(row.id, row.base_id, row.created_at, row.account, row.kind, row.summary, row.restored_from,
                         row.kb_version, row.added or 0, row.changed or 0, row.removed or 0)


def ensure_tables(url: str | None = None) -> None:
    engine = get_engine(url)
    key = str(engine.url)
    if key not in _ready:
        VersionBase.metadata.create_all(engine)
        MetaBase.metadata.create_all(engine, tables=[KBVersion.__table__])
        _ready.add(key)


def _kb_version(session: Session) -> str:
    return session.scalar(select(KBVersion.version).where(KBVersion.id == 1)) or ""


def _latest(session: Session) -> Publication | None:
    return session.scalars(select(Publication).order_by(desc(Publication.id)).limit(1)).first()


def _new_kb_version(session: Session) -> str:
    """Mark the knowledge base as changed (as the loader does): readers rebuild their snapshots."""
    version = uuid.uuid4().hex
    if session.get(KBVersion, 1) is None:
        session.add(KBVersion(id=1, version=version))
    else:
        session.execute(update(KBVersion).where(KBVersion.id == 1).values(version=version))
    session.flush()
    session.info.pop("kb_version", None)
    return version


# -- reading -------------------------------------------------------------------------------------

def current(url: str | None = None, now: float | None = None, kind: str = "external",
            summary: str = "") -> VersionRecord:
    """The version the data is at now. The first call records the data as version 1; a change made
    outside the desk since the last version is recorded as a version of its own (``kind``, and
    ``summary`` before the counts of what changed)."""
    ensure_tables(url)
    for _attempt in range(10):
        with open_session(url) as session:
            latest = _latest(session)
            kb_version = _kb_version(session)
            if latest is not None and latest.kb_version == kb_version:
                return _record(latest)
            row = _new_row(session, latest, kb_version, kind if latest is not None else "baseline", summary, now)
            try:
                session.commit()
            except (IntegrityError, OperationalError):  # another request recorded it first, or is publishing
                session.rollback()
                time.sleep(0.2)
                continue
            return _record(row)
    raise Conflict("データの版を記録できませんでした。時間をおいてもう一度お試しください。")


def _new_row(session: Session, latest: Publication | None, kb_version: str, kind: str, summary: str,
             now: float | None) -> Publication:
    """A version of the data the session sees (added to the session, not committed)."""
    data = kb_content.read(session)
    previous = _unpack(latest.content) if latest is not None else {"faq": [], "assemblies": []}
    changes = kb_content.diff(previous, data)
    row = Publication(base_id=latest.id if latest is not None else None,
                      created_at=time.time() if now is None else now, account="", kind=kind,
                      summary=summary + changes.summary() if latest is not None else
                      f"{summary}FAQ {len(data['faq'])}件・総会 {len(data['assemblies'])}件",
                      kb_version=kb_version, content=_pack(data), **changes.counts())
    session.add(row)
    return row


def record_in(session: Session, kind: str, summary: str = "") -> None:
    """Record the data the session has just written as a version, in the writer's transaction (``kb build``:
    the desk can never record the rebuild as a change of its own in between)."""
    VersionBase.metadata.create_all(session.connection())
    _new_row(session, _latest(session), _kb_version(session), kind, summary, None)
    session.flush()


def desk_content(url: str | None = None) -> tuple[VersionRecord, dict] | None:
    """The editable content a rebuild from the files must keep, and its version: the data's current
    content when the desk has published since the last ``kb build --from-files`` (or first build);
    None when it has not (then the files are the data)."""
    if not inspect(get_engine(url)).has_table(Publication.__tablename__):
        return None
    with open_session(url) as session:
        desk = session.scalar(select(func.max(Publication.id)).where(Publication.kind.in_(DESK_KINDS)))
        built = session.scalar(select(func.max(Publication.id)).where(Publication.kind.in_(("baseline", "build"))))
    if desk is None or (built is not None and built > desk):
        return None
    try:
        record = current(url)  # a change made by `kb load` after the publish is part of what is kept
    except SQLAlchemyError:  # the tables are of an older schema: the last recorded version
        with open_session(url) as session:
            latest = _latest(session)
        assert latest is not None  # the desk has published
        record = _record(latest)
    return record, content_of(record.id, url)


def versions(limit: int = 100, url: str | None = None) -> list[VersionRecord]:
    """The newest ``limit`` versions, newest first."""
    ensure_tables(url)
    with open_session(url) as session:
        rows = session.execute(select(*[c for c in Publication.__table__.columns if c.key != "content"])
                               .order_by(desc(Publication.id)).limit(limit)).all()
        return [VersionRecord(r.id, r.base_id, r.created_at, r.account, r.kind, r.summary, r.restored_from,
                              r.kb_version, r.added or 0, r.changed or 0, r.removed or 0) for r in rows]


def version(version_id: int, url: str | None = None) -> VersionRecord:
    ensure_tables(url)
    with open_session(url) as session:
        row = session.get(Publication, version_id)
        if row is None:
            raise NotFound(version_id)
        return _record(row)


def content_of(version_id: int, url: str | None = None) -> dict:
    ensure_tables(url)
    with open_session(url) as session:
        blob = session.scalar(select(Publication.content).where(Publication.id == version_id))
        if blob is None:
            raise NotFound(version_id)
        return _unpack(blob)


# -- staging -------------------------------------------------------------------------------------

def stage(account: str, base_id: int, kind: str, summary: str, content: dict, restored_from: int | None = None,
          url: str | None = None, now: float | None = None) -> str:
    """Keep a checked change for its preview and publish; returns its token."""
    ensure_tables(url)
    token = secrets.token_hex(16)
    now = time.time() if now is None else now
    with open_session(url) as session:
        session.execute(delete(Staged).where(Staged.created_at < now - STAGED_TTL_SECONDS))
        session.add(Staged(id=token, account=account, created_at=now, base_id=base_id, kind=kind,
                           summary=summary[:2000], restored_from=restored_from, content=_pack(content)))
        session.commit()
    return token


def staged(token: str, url: str | None = None) -> StagedRecord:
    ensure_tables(url)
    with open_session(url) as session:
        row = session.get(Staged, token) if token and len(token) <= 32 else None
        if row is None:
            raise NotFound(token)
        return StagedRecord(row.id, row.account, row.created_at, row.base_id, row.kind, row.summary,
                            row.restored_from, _unpack(row.content))


def discard(token: str, url: str | None = None) -> None:
    ensure_tables(url)
    with open_session(url) as session:
        session.execute(delete(Staged).where(Staged.id == token))
        session.commit()


# -- publishing ----------------------------------------------------------------------------------

def conflict_message(base_id: int, latest: int | None) -> str:
    after = f"版 {latest} が" if latest else "別の変更が"
    return (f"この変更は公開しませんでした。確認した版 {base_id} の後に、{after}公開されています（ほかの方の公開か、"
            "コマンドでの更新です）。上書きを防ぐため、最新の版をもとにもう一度変更を用意して、内容を確認してから公開してください。")


def publish(token: str, account: str, url: str | None = None,
            now: float | None = None) -> tuple[VersionRecord, kb_content.Diff]:
    """Publish a staged change in one transaction; :class:`Conflict` when its base is no longer current."""
    change = staged(token, url)
    now = time.time() if now is None else now
    with _publish_lock:
        session = open_session(url)
        try:
            # The first statement writes: on SQLite it takes the write lock at once (a reader upgrading
            # later could deadlock with another writer); the UNIQUE base_id refuses a second child.
            row = Publication(base_id=change.base_id, created_at=now, account=account, kind=change.kind,
                              summary=change.summary, restored_from=change.restored_from, kb_version="",
                              content=b"")
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                session.rollback()
                raise Conflict(conflict_message(change.base_id, _latest_id(url)), _latest_id(url)) from None
            base = session.get(Publication, change.base_id)
            if base is None or base.kb_version != _kb_version(session):
                session.rollback()
                raise Conflict(conflict_message(change.base_id, _latest_id(url)), _latest_id(url))
            old = kb_content.read(session)
            changes = kb_content.diff(old, change.content)
            kb_content.write(session, old, change.content)
            row.kb_version = _new_kb_version(session)
            row.content = _pack(change.content)
            row.added, row.changed, row.removed = (len(changes.added), len(changes.changed), len(changes.removed))
            session.execute(delete(Staged).where(Staged.id == token))
            session.commit()
            return _record(row), changes
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def _latest_id(url: str | None) -> int | None:
    with open_session(url) as session:
        return session.scalar(select(Publication.id).order_by(desc(Publication.id)).limit(1))
