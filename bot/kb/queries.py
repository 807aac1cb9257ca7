"""Read-only queries used by the dialogue layer. Each returns records, never ORM objects."""
from __future__ import annotations

from typing import Any, Callable, overload

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.kb import models as m
from bot.kb import sqlite_stamp
from bot.kb.db import sqlite_file
from bot.kb.records import (
    AssemblyRecord,
    FactRecord,
    LocalGovernmentRecord,
    PresentationRecord,
    SocietyRecord,
)


@overload
def _lg(row: m.LocalGovernment) -> LocalGovernmentRecord: ...


@overload
def _lg(row: m.LocalGovernment | None) -> LocalGovernmentRecord | None: ...


def _lg(row: m.LocalGovernment | None) -> LocalGovernmentRecord | None:
    if row is None:
        return None
    return LocalGovernmentRecord(row.code, row.pref_name, row.name, row.name_kana, row.is_prefecture)


def _presentation(p: m.Presentation, number: int, lg_names: dict[str, str]) -> PresentationRecord:
    return PresentationRecord(
        id=p.id,
        assembly_number=number,
        order=p.order,
        title=p.title,
        summary=p.summary,
        speaker=p.speaker,
        speaker_title=p.speaker_title,
        presenters=tuple(o.name for o in p.presenters),
        municipalities=tuple((lg_names.get(x.lg_code, x.lg_code), x.role, x.lg_code) for x in p.municipalities),
        partners=tuple(x.name for x in p.partners),
        topics=tuple(x.topic for x in p.topics),
        facts=tuple(FactRecord(tuple(f.kinds.split()), f.text) for f in p.facts),
        reactions=tuple(r.text for r in p.reactions if r.quoted),
        audience_notes=tuple(r.text for r in p.reactions if not r.quoted),
        presenter_kinds=tuple(_presenter_kind(o) for o in p.presenters),
        presenter_codes=tuple(o.lg_code or "" for o in p.presenters),
    )


def _presenter_kind(o: m.PresentationOrganization) -> str:
    if o.local_government is not None:
        return "都道府県" if o.local_government.is_prefecture else "市区町村"
    return o.organization.kind if o.organization is not None else ""


_ASSEMBLY_LOAD = (
    selectinload(m.Assembly.reactions),
    selectinload(m.Assembly.event_fields),
    selectinload(m.Assembly.presentations).selectinload(m.Presentation.presenters)
    .selectinload(m.PresentationOrganization.organization),
    selectinload(m.Assembly.presentations).selectinload(m.Presentation.presenters)
    .selectinload(m.PresentationOrganization.local_government),
    selectinload(m.Assembly.presentations).selectinload(m.Presentation.municipalities),
    selectinload(m.Assembly.presentations).selectinload(m.Presentation.partners),
    selectinload(m.Assembly.presentations).selectinload(m.Presentation.topics),
    selectinload(m.Assembly.presentations).selectinload(m.Presentation.facts),
    selectinload(m.Assembly.presentations).selectinload(m.Presentation.reactions),
)


def _assembly(session: Session, a: m.Assembly) -> AssemblyRecord:
    codes = {x.lg_code for p in a.presentations for x in p.municipalities}
    names = dict(session.execute(
        select(m.LocalGovernment.code, m.LocalGovernment.name).where(m.LocalGovernment.code.in_(codes))
    ).all()) if codes else {}
    return AssemblyRecord(
        number=a.number,
        name=a.name,
        start_date=a.start_date,
        end_date=a.end_date,
        start_time=a.start_time,
        end_time=a.end_time,
        description=a.description,
        venue=a.venue,
        address=a.address,
        organizer=a.organizer,
        lg_count=a.lg_count,
        participant_count=a.participant_count,
        scale_note=a.scale_note,
        outlook=a.outlook,
        source=a.source,
        reactions=tuple(r.text for r in a.reactions),
        presentations=tuple(_presentation(p, a.number, names) for p in a.presentations),
        event_fields=tuple((f.column, f.value) for f in a.event_fields),
        venue_lg_code=a.venue_lg_code or "",
    )


# Records are immutable snapshots: cached per database and knowledge-base version (one small query
# per question, read once per session, instead of loading every assembly with its presentations).
_SNAPSHOTS: dict[tuple[str, str], tuple[str, Any]] = {}
_UNVERSIONED = object()


def _kb_version(session: Session) -> str | None:
    version = session.info.get("kb_version", _UNVERSIONED)
    if version is not _UNVERSIONED:
        return version
    path = _sqlite_file(session)
    stamp = sqlite_stamp.change_stamp(path) if path else None  # taken before the query (see below)
    known = _VERSION_BY_FILE.get(path) if path and stamp else None
    if known is not None and known[0] == stamp:
        version = known[1]  # nothing has been committed to the file since that version was read
    else:
        try:
            version = session.scalar(select(m.KBVersion.version).where(m.KBVersion.id == 1))
        except Exception:  # a database built before kb_version existed (or busy): no caching
            session.rollback()
            version = None
        else:
            if path and stamp:
                _VERSION_BY_FILE[path] = (stamp, version)
    session.info["kb_version"] = version
    return version


# SQLite file -> (its change stamp when the version was read, that version): while the stamp stays the
# same, so does the version, and a knowledge answer built from snapshots needs no database round trip.
# The stamp is taken before the query, so a commit in between only makes the next call read the
# version again. The database is changed in place by the loader; a file replaced under a running
# server is read through the connections the pool still holds to the old one (as before this cache).
_VERSION_BY_FILE: dict[str, tuple[tuple[int, ...], str | None]] = {}


def _sqlite_file(session: Session) -> str | None:
    if session.in_transaction():  # a session that may have written (the loader's) reads the table
        return None
    return sqlite_file(session.get_bind().url)


def _snapshot(session: Session, name: str, build: Callable[[], Any]) -> Any:
    key = (str(session.get_bind().url), name)
    version = _kb_version(session)
    cached = _SNAPSHOTS.get(key)
    if version is not None and cached is not None and cached[0] == version:
        return cached[1]
    value = build()
    if version is not None:
        _SNAPSHOTS[key] = (version, value)
    return value


def all_assemblies(session: Session) -> list[AssemblyRecord]:
    """Every assembly, by number."""
    def build() -> tuple[AssemblyRecord, ...]:
        rows = session.scalars(select(m.Assembly).order_by(m.Assembly.number).options(*_ASSEMBLY_LOAD)).all()
        return tuple(_assembly(session, a) for a in rows)

    return list(_snapshot(session, "assemblies", build))


def assembly_numbers(session: Session) -> list[int]:
    return [a.number for a in all_assemblies(session)]


def assembly(session: Session, number: int) -> AssemblyRecord | None:
    return next((a for a in all_assemblies(session) if a.number == number), None)


def latest_assembly(session: Session) -> AssemblyRecord | None:
    assemblies = all_assemblies(session)
    return max(assemblies, key=lambda a: (a.start_date, a.number)) if assemblies else None


def society(session: Session) -> SocietyRecord | None:
    def build() -> SocietyRecord | None:
        row = session.scalars(select(m.Society).order_by(m.Society.id)).first()
        if row is None:
            return None
        lg = session.get(m.LocalGovernment, row.secretariat_lg_code) if row.secretariat_lg_code else None
        return SocietyRecord(
            row.name, row.purpose, row.role, row.secretariat, row.secretariat_department, _lg(lg), row.source,
            phone=row.phone or "", hours=row.hours or "", url=row.url or "",
        )

    return _snapshot(session, "society", build)


def local_governments_named(session: Session, name: str) -> list[LocalGovernmentRecord]:
    """By 市区町村名 or 都道府県名, or by 都道府県名+市区町村名 (東京都府中市)."""
    full = m.LocalGovernment.pref_name + m.LocalGovernment.name
    rows = session.scalars(
        select(m.LocalGovernment)
        .where(or_(m.LocalGovernment.name == name, (full == name) & (m.LocalGovernment.is_prefecture.is_(False))))
        .order_by(m.LocalGovernment.code)
    ).all()
    return [_lg(r) for r in rows]


def local_government(session: Session, code: str) -> LocalGovernmentRecord | None:
    return _lg(session.get(m.LocalGovernment, code))


def prefecture_of(session: Session, lg: LocalGovernmentRecord) -> LocalGovernmentRecord | None:
    row = session.scalars(
        select(m.LocalGovernment).where(m.LocalGovernment.pref_code == lg.code[:2],
                                        m.LocalGovernment.is_prefecture.is_(True))
    ).first()
    return _lg(row)


def organization_name(session: Session, name_or_alias: str) -> str | None:
    """Canonical organization name for a name or alias."""
    row = session.scalars(select(m.Organization.name).where(m.Organization.name == name_or_alias)).first()
    if row:
        return row
    return session.scalars(
        select(m.Organization.name).join(m.OrganizationAlias).where(m.OrganizationAlias.alias == name_or_alias)
    ).first()


def kb_counts(session: Session) -> dict[str, int]:
    return {
        "local_governments": session.scalar(select(func.count()).select_from(m.LocalGovernment)),
        "organizations": session.scalar(select(func.count()).select_from(m.Organization)),
        "assemblies": session.scalar(select(func.count()).select_from(m.Assembly)),
        "presentations": session.scalar(select(func.count()).select_from(m.Presentation)),
        "faq_entries": session.scalar(select(func.count()).select_from(m.FaqEntry)),
    }


def lookup_names(session: Session) -> dict[str, list[tuple[str, str]]]:
    """(surface, canonical value) pairs per entity, for NLU lookup tables and synonyms.

    municipality: 市区町村名 / 都道府県名, 都道府県名+市区町村名, the kana reading (ひらがな) and its romaji;
    organization: names and aliases of non-local-government organizations;
    topic: presentation topics.
    """
    from bot.nlp.normalize import fold
    from bot.nlp.romaji import variants

    out: dict[str, list[tuple[str, str]]] = {"municipality": [], "organization": [], "topic": []}
    for lg in session.scalars(select(m.LocalGovernment).order_by(m.LocalGovernment.code)):
        out["municipality"].append((lg.name, lg.name))
        if lg.name_kana:
            out["municipality"].append((fold(lg.name_kana), lg.name))
            out["municipality"].extend((romaji, lg.name) for romaji in variants(lg.name_kana))
        if not lg.is_prefecture:
            out["municipality"].append((lg.pref_name + lg.name, lg.pref_name + lg.name))
    for org in session.scalars(select(m.Organization).options(selectinload(m.Organization.aliases))
                               .order_by(m.Organization.id)):
        if org.lg_code:
            continue
        out["organization"].append((org.name, org.name))
        out["organization"].extend((a.alias, org.name) for a in org.aliases)
    for topic in session.scalars(select(m.PresentationTopic.topic).distinct().order_by(m.PresentationTopic.topic)):
        out["topic"].append((topic, topic))
    out["municipality"] += _stems_of_places_in_records(session)
    return out


def _stems_of_places_in_records(session: Session) -> list[tuple[str, str]]:
    """「墨田の件」「吉川の窓口」: a place the presentations name, without 都道府県市区町村, when no other local
    government of the master has that stem (「京都」 is also 京都市, 「川崎」 also 川崎町: neither is read)."""
    codes = set(session.scalars(select(m.PresentationMunicipality.lg_code)))
    codes |= {c for c in session.scalars(select(m.PresentationOrganization.lg_code)) if c}
    stems: dict[str, set[str]] = {}
    for name in session.scalars(select(m.LocalGovernment.name)):
        if len(name) >= 3 and name[-1] in "都道府県市区町村":
            stems.setdefault(name[:-1], set()).add(name)
    named = session.scalars(select(m.LocalGovernment.name).where(m.LocalGovernment.code.in_(codes))
                            .order_by(m.LocalGovernment.code))
    return [(name[:-1], name) for name in named if stems.get(name[:-1]) == {name}]
