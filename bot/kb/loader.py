"""Loads the human-edited data files into the database: a whole folder (``kb build``) or some files (``kb load``).

Reading is one module per format (:mod:`bot.kb.master`, :mod:`bot.kb.organizations`,
:mod:`bot.kb.society`, :mod:`bot.kb.assembly`, :mod:`bot.kb.faq`, :mod:`bot.kb.event_csv`), with a shared
:class:`~bot.kb.reading.Reader` that collects every problem. Writing is one path (:func:`_write`): each
kind is upserted by its natural key, in dependency order, inside one transaction.

- :func:`load` (``madoguchi kb build``) reads and validates the whole folder, then replaces the
  database content: the tables are dropped and recreated in the same transaction (SQLite and
  PostgreSQL both have transactional DDL), so a schema change needs no migration, and the data is
  written into the empty tables by the same path.
- :func:`load_files` (``madoguchi kb load PATH…``) upserts the given files (a folder: every data file
  under it), each resolved against what the database already holds.

On any problem nothing in the database changes, and :class:`~bot.kb.files.LoadError` lists every
problem with file, row, column and reason.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.kb import content as kb_content
from bot.kb import models as m
from bot.kb import versions
from bot.kb.assembly import read_assembly
from bot.kb.db import get_engine
from bot.kb.event_csv import read_events, upsert_events
from bot.kb.faq import read_faq, read_faq_dir, upsert_faq
from bot.kb.files import LoadError, Problem, normalize_header, read_text, read_yaml
from bot.kb.master import read_local_governments
from bot.kb.models import Base
from bot.kb.organizations import read_organizations
from bot.kb.reading import Reader
from bot.kb.society import read_society

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "kb"
DATA_SUFFIXES = (".csv", ".yml", ".yaml")
# the master and organizations first: later files resolve names against them
KIND_ORDER = {"master": 0, "organizations": 1, "society": 2, "events": 3, "assembly": 4, "faq": 5}


@dataclass
class KBData:
    """A validated data set, ready to write."""

    local_governments: list[m.LocalGovernment] = field(default_factory=list)
    organizations: list[m.Organization] = field(default_factory=list)
    societies: list[m.Society] = field(default_factory=list)
    assemblies: list[m.Assembly] = field(default_factory=list)
    faq_entries: list[m.FaqEntry] = field(default_factory=list)

    def stats(self) -> dict[str, int]:
        return {
            "local_governments": len(self.local_governments),
            "organizations": len(self.organizations),
            "societies": len(self.societies),
            "assemblies": len(self.assemblies),
            "presentations": sum(len(a.presentations) for a in self.assemblies),
            "faq_entries": len(self.faq_entries),
        }


# -- reading ---------------------------------------------------------------------------------------

def read_kb(data_dir: Path = DEFAULT_DATA_DIR) -> KBData:
    """Read and validate every file of a data folder; raise LoadError listing all problems found."""
    data_dir = Path(data_dir)
    reader = Reader()
    kb = KBData()

    def guarded(fn, *args):
        try:
            return fn(*args)
        except LoadError as exc:
            reader.problems.extend(exc.problems)
            return None

    master = data_dir / "local_governments.csv"
    if not master.exists():
        raise LoadError([Problem(str(master), None, None,
                                 "ファイルがありません（madoguchi kb import-master で作成できます）")])
    kb.local_governments = guarded(read_local_governments, reader, master) or []
    orgs = data_dir / "organizations.csv"
    if orgs.exists():
        kb.organizations = guarded(read_organizations, reader, orgs) or []
    society = data_dir / "society.yml"
    if society.exists():
        s = guarded(read_society, reader, society)
        kb.societies = [s] if s is not None else []
    numbers: dict[int, Path] = {}
    for path in sorted((data_dir / "assemblies").glob("*.yml")):
        a = guarded(read_assembly, reader, path)
        if a is None:
            continue
        if a.number in numbers:
            reader.problem(path, None, "回", f"第{a.number}回は {numbers[a.number].name} と重複しています")
            continue
        numbers[a.number] = path
        kb.assemblies.append(a)
    faq_dir = data_dir / "faq"
    if faq_dir.is_dir():
        kb.faq_entries = guarded(read_faq_dir, faq_dir, set(reader.lg_by_code)) or []
    if reader.problems:
        raise LoadError(reader.problems)
    return kb


def data_files(paths: list[Path]) -> list[Path]:
    """``paths`` with each folder replaced by the data files under it (CSV and YAML, in name order);
    files named explicitly are kept as given, whatever their suffix (the loader says what it cannot read)."""
    out: list[Path] = []
    empty: list[Problem] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*")
                           if p.suffix.lower() in DATA_SUFFIXES and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                empty.append(Problem(str(path), None, None,
                                     "フォルダです。中に読み込めるデータファイル（.csv .yml .yaml）がありません"))
            out.extend(found)
        else:
            out.append(path)
    if empty:
        raise LoadError(empty)
    return out


def kind_of(path: Path) -> str:
    """What a file holds, from its name and its header (CSV) or keys (YAML)."""
    if path.suffix.lower() in (".yml", ".yaml"):
        data = read_yaml(path)
        if isinstance(data, dict) and "回" in data:
            return "assembly"
        if isinstance(data, dict) and "事務局" in data:
            return "society"
        raise LoadError([Problem(str(path), None, None,
                                 "総会報告（「回」がある）でも研究会情報（「事務局」がある）でもありません")])
    if path.suffix.lower() == ".csv":
        first = re.split(r"\r\n|\r|\n", read_text(path), maxsplit=1)[0]  # not splitlines(): a file may have millions
        header = {normalize_header(h) for h in first.split(",")}
        if {"団体コード", "都道府県名カナ"} <= header:
            return "master"
        if {"名称", "種別"} <= header:
            return "organizations"
        if {"NO", "イベント名"} <= header:
            return "events"
        if {"質問", "回答"} <= header:
            return "faq"
        raise LoadError([Problem(str(path), 1, None,
                                 "見出しから種類を判別できません（団体一覧・団体・イベント一覧・FAQ のいずれか）")])
    raise LoadError([Problem(str(path), None, None, "対応していないファイル形式です（.csv または .yml）")])


def _read_file(reader: Reader, path: Path, kind: str) -> KBData:
    """One file's records (names resolved against the database and the files before it)."""
    before = len(reader.problems)
    kb = KBData()
    if kind == "master":
        kb.local_governments = read_local_governments(reader, path, merge=True)
    elif kind == "organizations":
        kb.organizations = read_organizations(reader, path, replace=True)
    elif kind == "society":
        society = read_society(reader, path)
        kb.societies = [society] if society is not None and len(reader.problems) == before else []
    elif kind == "assembly":
        assembly = read_assembly(reader, path)
        kb.assemblies = [assembly] if assembly is not None and len(reader.problems) == before else []
    elif kind == "faq":
        kb.faq_entries = read_faq(path, set(reader.lg_by_code))
    else:
        raise AssertionError(kind)
    return kb


# -- writing ---------------------------------------------------------------------------------------

def _write(session: Session, kb: KBData, reader: Reader | None = None) -> None:
    """The one write path: every kind upserted by its natural key, in dependency order (flushed).

    ``reader``, when given, learns the rows that an upserted organization replaced, so that files read
    after this one link their presenters to the row in the database.
    """
    known = set(session.scalars(select(m.LocalGovernment.code))) if kb.local_governments else set()
    for lg in kb.local_governments:
        if lg.code in known:
            session.merge(lg)  # the file's row replaces the database's
        else:
            session.add(lg)
    session.flush()
    for org in kb.organizations:
        existing = session.scalars(select(m.Organization).where(m.Organization.name == org.name)).first()
        if existing is None:
            session.add(org)
            continue
        existing.kind, existing.lg_code = org.kind, org.lg_code
        have = {a.alias for a in existing.aliases}
        want = {a.alias for a in org.aliases}
        existing.aliases = [a for a in existing.aliases if a.alias in want]
        existing.aliases += [m.OrganizationAlias(alias=a) for a in sorted(want - have)]
        if reader is not None:
            reader.org_by_name[org.name] = existing
    session.flush()
    for society in kb.societies:
        _replace(session, m.Society.name, society.name, society)
    for assembly in kb.assemblies:
        for p in assembly.presentations:
            for presenter in p.presenters:
                written = getattr(presenter, "_org", None)
                if written is not None:  # organizations were written (flushed) before assemblies
                    presenter.organization_id = written.id
        _replace(session, m.Assembly.number, assembly.number, assembly)
    if kb.faq_entries:
        upsert_faq(session, kb.faq_entries)
    session.flush()


def _replace(session: Session, key_column, key, new) -> None:
    """Upsert by natural key: the row with ``key`` (and its children) is replaced by ``new``."""
    existing = session.scalars(select(key_column.class_).where(key_column == key)).first()
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(new)
    session.flush()


def _new_version(session: Session) -> None:
    """Mark the content as changed (bot.kb.queries caches per version)."""
    m.KBVersion.__table__.create(bind=session.connection(), checkfirst=True)
    row = session.get(m.KBVersion, 1)
    if row is None:
        session.add(m.KBVersion(id=1, version=uuid.uuid4().hex))
    else:
        row.version = uuid.uuid4().hex
    session.flush()
    session.info.pop("kb_version", None)  # queries in this session read the new version


def write_kb(kb: KBData, engine: Engine, keep: dict | None = None,
             record: tuple[str, str] | None = None) -> None:
    """Replace the database content with ``kb`` in one transaction (tables recreated, then :func:`_write`).
    ``keep``, an editable content (bot.kb.content), then replaces the files' FAQ entries and assemblies;
    ``record`` (kind, summary) records the result as a version (bot.kb.versions) in the same transaction."""
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        Base.metadata.create_all(connection)
        session = Session(bind=connection, future=True, autoflush=False)
        _write(session, kb)
        if keep is not None:
            kb_content.write(session, kb_content.read(session), keep)
        _new_version(session)
        if record is not None:
            versions.record_in(session, *record)
        session.close()


def load(data_dir: Path = DEFAULT_DATA_DIR, url: str | None = None, keep: dict | None = None,
         record: tuple[str, str] | None = None) -> dict[str, int]:
    """Validate ``data_dir`` and, only if it is valid, write it to the database at ``url`` (with ``keep``'s
    FAQ entries and assemblies instead of the files', recorded as a version: see :func:`write_kb`)."""
    kb = read_kb(data_dir)
    stats = kb.stats()
    write_kb(kb, get_engine(url), keep, record)
    return stats


class _DryRun(Exception):
    pass


def load_files(paths: list[Path], url: str | None = None, dry_run: bool = False) -> dict[str, int]:
    """Upsert the given files (a folder: every data file under it, see :func:`data_files`) by natural key,
    all in one transaction: on any problem nothing changes.

    Loading the same file twice leaves the database as it was after the first load. With
    ``dry_run`` everything is checked against the database and then rolled back.
    """
    counts: dict[str, int] = {}
    try:
        _load_files(data_files(paths), url, dry_run, counts)
    except _DryRun:
        pass
    return counts


def _load_files(paths: list[Path], url: str | None, dry_run: bool, counts: dict[str, int]) -> None:
    engine = get_engine(url)
    problems: list[Problem] = []
    with engine.begin() as connection:
        Base.metadata.create_all(connection)
        session = Session(bind=connection, future=True, autoflush=False)
        reader = Reader()
        reader.seed(session)
        kinds = []
        for path in paths:
            try:
                kinds.append((Path(path), kind_of(Path(path))))
            except LoadError as exc:
                problems.extend(exc.problems)
        for path, kind in sorted(kinds, key=lambda pk: KIND_ORDER[pk[1]]):
            try:
                if kind == "events":  # rows of イベント一覧 become assemblies by their own upsert
                    written = upsert_events(session, read_events(path), source=f"イベント一覧 {path.name}")
                else:
                    kb = _read_file(reader, path, kind)
                    _write(session, kb, reader)
                    written = sum(len(rows) for rows in vars(kb).values())
            except LoadError as exc:
                problems.extend(exc.problems)
                continue
            counts[kind] = counts.get(kind, 0) + written
        problems.extend(reader.problems)
        if problems:
            raise LoadError(problems)
        session.flush()
        _new_version(session)
        session.close()
        if dry_run:
            raise _DryRun()
