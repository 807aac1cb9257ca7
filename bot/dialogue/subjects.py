"""What a question is about: the assembly it names (or the one in context), the organizations and
places it names, the presentation in context, and the presentations and places it reaches through
another record (「AIスタッフを検証した市」「会場の区」「事務局の区」)."""
from __future__ import annotations

import re

from sqlalchemy.orm import Session

from bot.dialogue import aggregate, presentations
from bot.dialogue.query import Query, refers_back
from bot.kb import queries
from bot.kb.records import AssemblyRecord, LocalGovernmentRecord, PresentationRecord

NEXT_ASSEMBLY = -1  # "次回の総会": never in the records
_REGION_RE = r"(?:内|の自治体|の市|の区|の町|にある|の団体)"


# -- subjects ------------------------------------------------------------------------------------
def asked_assembly(session: Session, query: Query) -> tuple[AssemblyRecord | None, int | str | None, bool]:
    """(assembly, what is missing, whether the user named it) for the question."""
    numbers = query.values("assembly_number")
    if numbers:
        value = numbers[-1]
        if value == "next":
            return None, NEXT_ASSEMBLY, True
        if value == "latest":  # 「前回の総会」: the latest, not a number the user chose
            return queries.latest_assembly(session), None, False
        if value == "previous":
            latest = queries.latest_assembly(session)
            if latest is None:
                return None, None, True
            found = queries.assembly(session, latest.number - 1)
            return (found, None, True) if found else (None, latest.number - 1, True)
        if not str(value).isdigit():  # a crafted payload (「七」): not a number the records can hold
            return queries.latest_assembly(session), None, False
        found = queries.assembly(session, int(value))
        return (found, None, True) if found else (None, int(value), True)
    years = query.values("assembly_year")
    if years:
        year = years[-1]
        if not str(year).isdigit():
            return queries.latest_assembly(session), None, False
        matches = [a for a in queries.all_assemblies(session) if a.start_date.year == int(year)]
        return (matches[-1], None, True) if matches else (None, f"{year}年", True)
    if query.context.assembly_number is not None:
        found = queries.assembly(session, query.context.assembly_number)
        if found:
            return found, None, False
    return queries.latest_assembly(session), None, False


def names_in(query: Query) -> list[str]:
    return query.values("organization") + query.values("municipality")


def organizations(session: Session, query: Query) -> list[str]:
    """Canonical names of the organizations named, the society left out."""
    society = queries.society(session)
    orgs = [queries.organization_name(session, o) or o for o in query.values("organization")]
    return [o for o in orgs if society is None or o != society.name]


def named_presenters(session: Session, query: Query) -> list[str]:
    return organizations(session, query) + query.values("municipality")


def assembly_of(session: Session, current: AssemblyRecord, p: PresentationRecord) -> AssemblyRecord:
    if p.assembly_number == current.number:
        return current
    return queries.assembly(session, p.assembly_number) or current


def context_presentation(session: Session, query: Query) -> PresentationRecord | None:
    key = query.context.presentation_id
    if not key or query.context.subject_type not in ("presentation", None):
        return None
    number, _, order = str(key).partition("-")
    assembly = queries.assembly(session, int(number)) if number.isdigit() else None
    return next((p for p in assembly.presentations if str(p.order) == order), None) if assembly else None


def context_municipality(session: Session, query: Query) -> str | None:
    if query.context.subject_type != "municipality" or not query.context.municipality_code:
        return None
    lg = queries.local_government(session, query.context.municipality_code)
    return lg.name if lg else None


def places_of_subject(session: Session, query: Query) -> list[str]:
    """団体コード of the places a question reaches through another record: the municipalities of the
    presentation(s) it points at, the venue's municipality, or the secretariat's."""
    attrs = set(query.attributes)
    compare = query.compares_places()
    if not (attrs & {"code", "prefecture", "place"} or compare):
        return []
    assembly, _, _ = asked_assembly(session, query)
    codes: list[str] = []
    secretariat = queries.society(session)
    secretariat_code = secretariat.secretariat_lg.code if secretariat and secretariat.secretariat_lg else ""
    if compare:  # the names the question compares keep their place in the list
        codes += [lg.code for name in query.values("municipality")
                  for lg in queries.local_governments_named(session, name)[:1]]
    elif query.values("municipality") or query.values("lg_code"):
        return []
    if "会場" in query.text and assembly and assembly.venue_lg_code:
        codes.append(assembly.venue_lg_code)
    if "事務局" in query.text and secretariat_code:
        codes.append(secretariat_code)
    if refers_back(query.text) and not codes and not query.values("topic") and not query.values("organization"):
        if query.context.subject_type == "society" and secretariat_code:
            codes.append(secretariat_code)
        elif query.context.subject_type == "assembly" and assembly and assembly.venue_lg_code:
            codes.append(assembly.venue_lg_code)
    if assembly is not None and (not codes or compare):
        for p in subject_presentations(session, query, assembly, split_topics=compare):
            codes += aggregate.place_codes(p) if not query.values("presenter_kind") else [
                c for c in p.presenter_codes if c]
    if compare:  # 「会場の区と事務局の区は同じ」: two places, even when they are one
        return [c for c in codes if c]
    return list(dict.fromkeys(c for c in codes if c))


def subject_presentations(session: Session, query: Query, assembly: AssemblyRecord,
                           split_topics: bool = False) -> list[PresentationRecord]:
    """The presentations a question points at: by order, kind, topic, name or the context."""
    op = aggregate.operation_of(query)
    if op and op[0] == "order" and op[1] not in ("which", "next", "previous"):
        p = aggregate.by_order(assembly, op[1])
        return [p] if p else []
    kinds = tuple(query.values("presenter_kind"))
    if kinds:
        return aggregate.select(list(assembly.presentations), kinds, ())
    topics = query.values("topic")
    if split_topics and len(topics) > 1:
        out = []
        for topic in topics:
            found = presentations.find(list(assembly.presentations), query.without("topic").with_entity("topic", topic),
                                       [])
            out += found.presentations[:1]
        return out
    if topics or query.values("organization"):
        found = presentations.find(list(assembly.presentations), query, organizations(session, query))
        if len(found.presentations) == 1:
            return found.presentations
    if refers_back(query.text):
        current = context_presentation(session, query)
        return [current] if current else []
    return []


def region_filter(session: Session, query: Query) -> LocalGovernmentRecord | None:
    """A prefecture the question filters by: 「埼玉県内の自治体」「静岡県の自治体」."""
    for name in query.values("municipality"):
        lgs = queries.local_governments_named(session, name)
        if len(lgs) == 1 and lgs[0].is_prefecture and re.search(re.escape(name) + _REGION_RE, query.text):
            return lgs[0]
    return None


def named_prefecture(session: Session, query: Query) -> LocalGovernmentRecord | None:
    for name in query.values("municipality"):
        lgs = queries.local_governments_named(session, name)
        if len(lgs) == 1 and lgs[0].is_prefecture:
            return lgs[0]
    return None
