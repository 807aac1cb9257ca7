"""The knowledge base's editable content as plain data: read it, compare two of them, write one.

"Editable" is what the staff desk's data page changes: the FAQ entries and the assemblies (with their
presentations and everything under them). The national master, the organizations and the society are
changed by ``madoguchi kb load`` / ``kb build`` only, so they are not part of a version.

A content is a JSON-ready dict ``{"faq": [...], "assemblies": [...]}``: one dict per row with the
model's column names (dates and times as ISO text), children nested under their parent. A presenter
that is an organization keeps the organization's *name* (``"organization"``), not its id: ``kb build``
recreates the organizations, and a restored version is linked to them again by name.

:func:`diff` compares two contents entry by entry, keyed as people know them: a FAQ entry by
(団体コード, 質問), an assembly by 回, a presentation by (回, 順番). :func:`write` changes only what
differs (a FAQ entry in place, an assembly with all it holds replaced), in the caller's transaction.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.kb import models as m

_SKIP = {"id", "assembly_id", "presentation_id", "organization_id"}
ASSEMBLY_CHILDREN = {"event_fields": m.AssemblyEventField, "reactions": m.AssemblyReaction,
                     "presentations": m.Presentation}
PRESENTATION_CHILDREN = {"presenters": m.PresentationOrganization, "municipalities": m.PresentationMunicipality,
                         "partners": m.PresentationPartner, "topics": m.PresentationTopic,
                         "facts": m.PresentationFact, "reactions": m.PresentationReaction}
FAQ_LABELS = {"lg_code": "全国地方公共団体コード", "category": "分類", "question": "質問",
              "alternatives": "質問_別表現", "answer": "回答", "department": "担当部署",
              "phone": "連絡先電話番号", "url": "URL", "checked_on": "最終確認日", "source": "出典"}
ASSEMBLY_LABELS = {
    "name": "イベント名", "name_kana": "イベント名_カナ", "start_date": "開始日", "end_date": "終了日",
    "start_time": "開始時間", "end_time": "終了時間", "description": "説明", "venue": "場所名称", "address": "住所",
    "venue_lg_code": "会場団体コード", "organizer": "主催者", "url": "URL", "lg_count": "参加団体数",
    "participant_count": "参加者数", "scale_note": "規模", "outlook": "今後の運営", "source": "出典",
    "event_fields": "その他の項目", "reactions": "感想",
}
PRESENTATION_LABELS = {
    "title": "題目", "presenters": "発表団体", "speaker": "発表者", "speaker_title": "発表者役職", "summary": "概要",
    "topics": "話題", "municipalities": "関係自治体", "partners": "連携先", "facts": "事実", "reactions": "感想",
}


# -- reading -------------------------------------------------------------------------------------

def _out(value):
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def _dump(row) -> dict:
    return {c.key: _out(getattr(row, c.key)) for c in row.__table__.columns if c.key not in _SKIP}


def read(session: Session) -> dict:
    """The FAQ entries (in id order, as exported) and the assemblies (by 回) of the database."""
    faq = [_dump(e) for e in session.scalars(select(m.FaqEntry).order_by(m.FaqEntry.id))]
    options = [selectinload(getattr(m.Assembly, name)) for name in ("event_fields", "reactions")]
    p = selectinload(m.Assembly.presentations)
    options += [p.selectinload(getattr(m.Presentation, name)) for name in PRESENTATION_CHILDREN]
    options.append(p.selectinload(m.Presentation.presenters).selectinload(m.PresentationOrganization.organization))
    assemblies = []
    for a in session.scalars(select(m.Assembly).order_by(m.Assembly.number).options(*options)):
        item = _dump(a)
        item["event_fields"] = [_dump(f) for f in a.event_fields]
        item["reactions"] = [_dump(r) for r in a.reactions]
        item["presentations"] = []
        for pr in a.presentations:
            entry = _dump(pr)
            for name in PRESENTATION_CHILDREN:
                entry[name] = [_dump(c) for c in getattr(pr, name)]
            for presenter, row in zip(entry["presenters"], pr.presenters):
                presenter["organization"] = row.organization.name if row.organization is not None else None
            item["presentations"].append(entry)
        assemblies.append(item)
    return {"faq": faq, "assemblies": assemblies}


# -- comparing -----------------------------------------------------------------------------------

def faq_key(entry: dict) -> tuple[str, str]:
    return (entry.get("lg_code") or "", entry["question"])


@dataclass(frozen=True)
class Change:
    """One entry added, changed or removed; ``fields`` are (label, old, new) of what differs
    (for an added or removed entry: every field that has a value, with "" on the other side)."""

    kind: str  # "FAQ" | "総会" | "発表"
    key: tuple
    label: str
    fields: tuple[tuple[str, str, str], ...]


@dataclass
class Diff:
    added: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "removed": len(self.removed)}

    def summary(self) -> str:
        return f"追加 {len(self.added)}件・変更 {len(self.changed)}件・削除 {len(self.removed)}件"


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    return str(value)


def _list_text(items: list[dict], name: str) -> str:
    if name == "presenters":
        return "、".join(i["name"] for i in items)
    if name == "municipalities":
        return "、".join(f"{i['lg_code']}（{i['role']}）" for i in items)
    if name == "event_fields":
        return " / ".join(f"{i['column']}: {i['value']}" for i in items)
    if name == "facts":
        return " / ".join(f"［{i['kinds']}］{i['text']}" for i in items)
    if name == "reactions":
        return " / ".join(i["text"] for i in items)
    return "、".join(_text(next(iter(i.values()))) for i in items)


def _flat(content: dict) -> dict[tuple, tuple[str, str, dict[str, str]]]:
    """Every entry a person recognises: key -> (kind, label, {field label: text})."""
    out: dict[tuple, tuple[str, str, dict[str, str]]] = {}
    for e in content.get("faq", []):
        scope = f"団体コード {e['lg_code']}" if e.get("lg_code") else "共通"
        values = {label: _text(e.get(attr)) for attr, label in FAQ_LABELS.items()}
        key = ("FAQ", *faq_key(e))
        out[key] = ("FAQ", f"「{e['question']}」（{scope}）", values)
    for a in content.get("assemblies", []):
        values = {}
        for attr, label in ASSEMBLY_LABELS.items():
            values[label] = _list_text(a.get(attr) or [], attr) if attr in ASSEMBLY_CHILDREN else _text(a.get(attr))
        out[("総会", a["number"])] = ("総会", f"第{a['number']}回 {a.get('name') or ''}", values)
        for p in a.get("presentations", []):
            pv = {}
            for attr, label in PRESENTATION_LABELS.items():
                pv[label] = _list_text(p.get(attr) or [], attr) if attr in PRESENTATION_CHILDREN else _text(p.get(attr))
            out[("発表", a["number"], p["order"])] = ("発表", f"第{a['number']}回 {p['order']}番目「{p['title']}」", pv)
    return out


def diff(old: dict, new: dict) -> Diff:
    """What changes when ``old`` becomes ``new`` (in ``new``'s order; removed ones in ``old``'s)."""
    before, after = _flat(old), _flat(new)
    result = Diff()
    for key, (kind, label, values) in after.items():
        previous = before.get(key)
        if previous is None:
            fields = tuple((name, "", value) for name, value in values.items() if value)
            result.added.append(Change(kind, key, label, fields))
            continue
        fields = tuple((name, previous[2].get(name, ""), value) for name, value in values.items()
                       if previous[2].get(name, "") != value)
        if fields:
            result.changed.append(Change(kind, key, label, fields))
    for key, (kind, label, values) in before.items():
        if key not in after:
            result.removed.append(Change(kind, key, label,
                                         tuple((name, value, "") for name, value in values.items() if value)))
    return result


def names(content: dict) -> set[str]:
    """The names the guide's model learns from the knowledge base that presentations bring: presenting
    organizations and topics (bot.kb.queries.lookup_names; partners and speakers are not in its tables)."""
    out: set[str] = set()
    for a in content.get("assemblies", []):
        for p in a.get("presentations", []):
            out.update(i["name"] for i in p.get("presenters", []))
            out.update(i["topic"] for i in p.get("topics", []))
    return {n.strip() for n in out if n and n.strip()}


# -- writing -------------------------------------------------------------------------------------

def _load(cls, data: dict):
    kwargs = {}
    for column in cls.__table__.columns:
        if column.key in _SKIP or column.key not in data:
            continue
        value = data[column.key]
        if value is not None and isinstance(column.type, m.Date):
            value = dt.date.fromisoformat(value)
        elif value is not None and isinstance(column.type, m.Time):
            value = dt.time.fromisoformat(value)
        kwargs[column.key] = value
    return cls(**kwargs)


def _assembly(data: dict, org_ids: dict[str, int]) -> m.Assembly:
    assembly = _load(m.Assembly, data)
    assembly.event_fields = [_load(m.AssemblyEventField, f) for f in data.get("event_fields", [])]
    assembly.reactions = [_load(m.AssemblyReaction, r) for r in data.get("reactions", [])]
    for item in data.get("presentations", []):
        p = _load(m.Presentation, item)
        for name, cls in PRESENTATION_CHILDREN.items():
            setattr(p, name, [_load(cls, c) for c in item.get(name, [])])
        for presenter, c in zip(p.presenters, item.get("presenters", [])):
            presenter.organization_id = org_ids.get(c.get("organization") or "")
        assembly.presentations.append(p)
    return assembly


def write(session: Session, old: dict, new: dict) -> None:
    """Make the database, which holds ``old``, hold ``new``: only the entries that differ are written.
    Flushes; the caller commits (or rolls back)."""
    changes = diff(old, new)
    faq_touched = {c.key[1:] for c in (*changes.added, *changes.changed, *changes.removed) if c.kind == "FAQ"}
    assemblies_touched = {c.key[1] for c in (*changes.added, *changes.changed, *changes.removed) if c.kind != "FAQ"}
    if faq_touched:
        wanted = {faq_key(e): e for e in new.get("faq", []) if faq_key(e) in faq_touched}
        rows = {(r.lg_code or "", r.question): r for r in session.scalars(select(m.FaqEntry))}
        for key in faq_touched:
            row = rows.get(key)
            if row is not None and key not in wanted:
                session.delete(row)
        session.flush()
        for e in new.get("faq", []):  # in the new content's order: added entries get ids in that order
            key = faq_key(e)
            if key not in wanted:
                continue
            row = rows.get(key)
            fresh = _load(m.FaqEntry, e)
            if row is None:
                session.add(fresh)
            else:
                for column in m.FaqEntry.__table__.columns:
                    if column.key not in _SKIP:
                        setattr(row, column.key, getattr(fresh, column.key))
        session.flush()
    if assemblies_touched:
        org_ids = {o.name: o.id for o in session.scalars(select(m.Organization))}
        for a in session.scalars(select(m.Assembly).where(m.Assembly.number.in_(sorted(assemblies_touched)))):
            session.delete(a)
        session.flush()
        for data in new.get("assemblies", []):
            if data["number"] in assemblies_touched:
                session.add(_assembly(data, org_ids))
        session.flush()
