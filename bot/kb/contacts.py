"""Who to contact when the guide hands over to a person: read from the data, never invented."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.kb import models as m
from bot.kb import queries


@dataclass(frozen=True)
class Contact:
    department: str
    organization: str = ""  # whose department (the secretariat's name, the municipality's name)
    phone: str = ""  # "" = not registered
    hours: str = ""
    url: str = ""
    source: str = ""


def secretariat(session: Session) -> Contact | None:
    society = queries.society(session)
    if society is None:
        return None
    return Contact(
        department=society.secretariat_department, organization=society.secretariat,
        phone=society.phone, hours=society.hours, url=society.url, source=society.source,
    )


def municipality(session: Session, lg_code: str, limit: int = 3) -> list[Contact]:
    """The departments named in that municipality's FAQ entries, most frequent first."""
    lg = queries.local_government(session, lg_code)
    name = lg.full_name if lg else ""
    rows = session.execute(
        select(m.FaqEntry.department, m.FaqEntry.phone, m.FaqEntry.url, m.FaqEntry.source, func.count())
        .where(m.FaqEntry.lg_code == lg_code, m.FaqEntry.department != "")
        .group_by(m.FaqEntry.department, m.FaqEntry.phone, m.FaqEntry.url, m.FaqEntry.source)
        .order_by(func.count().desc(), m.FaqEntry.department)
    ).all()
    out, seen = [], set()
    for department, phone, url, source, _ in rows:
        if department in seen:
            continue
        seen.add(department)
        out.append(Contact(department=department, organization=name, phone=phone, url=url, source=source))
    return out[:limit]


def faq_entry(session: Session, entry_id: int) -> Contact | None:
    row = session.get(m.FaqEntry, entry_id)
    if row is None or not row.department:
        return None
    lg = queries.local_government(session, row.lg_code) if row.lg_code else None
    return Contact(department=row.department, organization=lg.full_name if lg else "", phone=row.phone,
                   url=row.url, source=row.source)
