"""Resolves what a question is about in the knowledge base and composes the reply.

One entry point, :func:`answer`, serves every knowledge question: the intent says which kind of
subject is asked about, entities name it (or the previous turn's context supplies it) and the
attribute cue says what to tell. New data needs no new code here.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot.dialogue import presentations, render
from bot.dialogue.municipality import municipality_reply, pending_choice
from bot.dialogue.query import ASSEMBLY_PRIORITY, PRESENTATION_PRIORITY, Query, refers_back, unknown_presenter
from bot.dialogue.reply import Reply
from bot.kb import queries
from bot.kb.records import AssemblyRecord, PresentationRecord

SUGGESTIONS = "総会の日時・会場・参加者数、発表の内容、研究会の事務局、市区町村の団体コードなどをお尋ねください。"
NEXT_ASSEMBLY = -1  # "次回の総会": never in the records

__all__ = ["Reply", "SUGGESTIONS", "answer"]


def answer(session: Session, query: Query) -> Reply:
    if query.context.pending:
        reply = pending_choice(session, query)
        if reply is not None:
            return reply
        query = query.with_context(query.context.with_(pending=None))
    attrs = set(query.attributes)
    intent = query.intent
    if intent == "ask_society" or (intent != "ask_municipality" and _is_society_question(session, query)):
        return _society(session, query)
    if (
        intent == "ask_municipality"
        or (attrs & {"code", "prefecture"} and not query.values("topic"))
        or (query.values("lg_code") and intent != "ask_presentation")
    ):
        reply = municipality_reply(session, query)
        if reply is not None:
            return reply
    return _assembly_or_presentation(session, query)


def _assembly_or_presentation(session: Session, query: Query) -> Reply:
    intent, attrs = query.intent, set(query.attributes)
    assembly, missing, explicit = _assembly(session, query)
    if missing is not None:
        return _no_assembly(session, query, missing)
    if assembly is None:
        return Reply(f"まだ総会の記録が登録されていません。{SUGGESTIONS}", query.context, answered=False)

    if refers_back(query.text) and not _names(query):  # 「そこで行われた実証実験は？」 after a municipality
        municipality = _context_municipality(session, query)
        if municipality:
            query = query.with_entity("municipality", municipality)
        current = _context_presentation(session, query)
        if current is not None and not explicit:
            return presentations.presentation_reply(query, _assembly_of(session, assembly, current), current)

    society = queries.society(session)
    orgs = [queries.organization_name(session, o) or o for o in query.values("organization")]
    orgs = [o for o in orgs if society is None or o != society.name]
    pool = list(assembly.presentations)
    if not explicit:  # a name without a number: every assembly, the current one first
        pool += [p for a in queries.all_assemblies(session) if a.number != assembly.number for p in a.presentations]
    found = presentations.find(pool, query, orgs)
    if found.unmatched_names and intent != "ask_assembly":
        return _no_presentation(session, query, assembly, found.unmatched_names)
    if found.presentations:
        if len(found.presentations) > 1:
            return presentations.which_one(query, found.presentations)
        p = found.presentations[0]
        return presentations.presentation_reply(query, _assembly_of(session, assembly, p), p)

    if intent == "ask_program" or "program" in attrs:
        return _program(query, assembly)
    unknown = unknown_presenter(query.text) if intent == "ask_presentation" else None
    if unknown:
        return _no_presentation(session, query, assembly, [unknown])

    current = _context_presentation(session, query)
    if current is not None and not explicit and "総会" not in query.text:
        attribute = query.attribute(PRESENTATION_PRIORITY)
        if intent == "ask_presentation" or presentations.has_answer(current, attribute):
            return presentations.presentation_reply(query, _assembly_of(session, assembly, current), current)
    if intent == "ask_presentation":
        municipality = _context_municipality(session, query)
        if municipality:  # 「さいたま市の団体コードは？」→「そこで行われた実証実験は？」
            found = presentations.find(pool, query.with_entity("municipality", municipality), [])
            if len(found.presentations) == 1:
                p = found.presentations[0]
                return presentations.presentation_reply(query, _assembly_of(session, assembly, p), p)
        by_text = presentations.best_by_text(pool, query.text)
        if by_text:
            return presentations.presentation_reply(query, _assembly_of(session, assembly, by_text[0]), by_text[0])
        text = "どの発表についてのご質問でしょうか。発表団体名やテーマを添えてお尋ねください。\n" + render.program_answer(assembly)
        return Reply(text, query.context.with_(subject_type="program", assembly_number=assembly.number), answered=False)
    attribute = query.attribute(ASSEMBLY_PRIORITY)
    if attribute == "other":
        return _program(query, assembly)
    return Reply(
        render.assembly_answer(assembly, attribute),
        query.context.with_(subject_type="assembly", assembly_number=assembly.number, presentation_id=None),
        source=assembly.source,
    )


# -- subjects ------------------------------------------------------------------------------------
def _assembly(session: Session, query: Query) -> tuple[AssemblyRecord | None, int | str | None, bool]:
    """(assembly, what is missing, whether the user named it) for the question."""
    numbers = query.values("assembly_number")
    if numbers:
        value = numbers[-1]
        if value == "next":
            return None, NEXT_ASSEMBLY, True
        if value == "latest":
            return queries.latest_assembly(session), None, True
        found = queries.assembly(session, int(value))
        return (found, None, True) if found else (None, int(value), True)
    years = query.values("assembly_year")
    if years:
        year = years[-1]
        matches = [a for a in queries.all_assemblies(session) if a.start_date.year == int(year)]
        return (matches[-1], None, True) if matches else (None, f"{year}年", True)
    if query.context.assembly_number is not None:
        found = queries.assembly(session, query.context.assembly_number)
        if found:
            return found, None, False
    return queries.latest_assembly(session), None, False


def _names(query: Query) -> list[str]:
    return query.values("organization") + query.values("municipality")


def _assembly_of(session: Session, current: AssemblyRecord, p: PresentationRecord) -> AssemblyRecord:
    if p.assembly_number == current.number:
        return current
    return queries.assembly(session, p.assembly_number) or current


def _context_presentation(session: Session, query: Query) -> PresentationRecord | None:
    key = query.context.presentation_id
    if not key or query.context.subject_type not in ("presentation", None):
        return None
    number, _, order = str(key).partition("-")
    assembly = queries.assembly(session, int(number)) if number.isdigit() else None
    return next((p for p in assembly.presentations if str(p.order) == order), None) if assembly else None


def _context_municipality(session: Session, query: Query) -> str | None:
    if query.context.subject_type != "municipality" or not query.context.municipality_code:
        return None
    lg = queries.local_government(session, query.context.municipality_code)
    return lg.name if lg else None


def _is_society_question(session: Session, query: Query) -> bool:
    society = queries.society(session)
    if society is None:
        return False
    named = {queries.organization_name(session, o) for o in query.values("organization")}
    if society.name in named:
        return True
    asks = set(query.attributes)
    return bool(asks & {"purpose", "secretariat"}) and not (
        query.values("topic") or query.values("municipality") or (named - {None}) or query.values("assembly_number")
    )


# -- replies -------------------------------------------------------------------------------------
def _program(query: Query, assembly: AssemblyRecord) -> Reply:
    context = query.context.with_(subject_type="program", assembly_number=assembly.number)
    return Reply(render.program_answer(assembly), context, source=assembly.source)


def _society(session: Session, query: Query) -> Reply:
    society = queries.society(session)
    if society is None:
        return Reply(f"研究会の情報はまだ登録されていません。{SUGGESTIONS}", query.context, answered=False)
    attribute = next((a for a in ("secretariat", "purpose") if a in query.attributes), None)
    return Reply(render.society_answer(society, attribute), query.context.with_(subject_type="society"), source=society.source)


def _no_assembly(session: Session, query: Query, missing: int | str) -> Reply:
    numbers = queries.assembly_numbers(session)
    have = "、".join(f"第{n}回" for n in numbers) or "ありません"
    if missing == NEXT_ASSEMBLY:
        which = "次回の総会"
    elif isinstance(missing, str):
        which = f"{missing}の総会"
    else:
        which = f"第{missing}回総会"
    text = f"{which}の記録はデータにありません。記録があるのは{have}総会です。{SUGGESTIONS}"
    return Reply(text, query.context, answered=False)


def _no_presentation(session: Session, query: Query, assembly: AssemblyRecord, names: list[str]) -> Reply:
    who = "・".join(names)
    presenters = "、".join(p.presenter_label for p in assembly.presentations)
    text = f"{who}の発表の記録は見つかりません。第{assembly.number}回総会で発表したのは{presenters}です。"
    sources = [assembly.source]
    lgs = [lg for name in query.values("municipality") for lg in queries.local_governments_named(session, name)]
    if len(lgs) == 1:
        text += f"なお、{lgs[0].full_name}の全国地方公共団体コードは{lgs[0].code}です。"
        sources.append(render.MASTER_SOURCE)
    text += "\n" + render.source_line("、".join(sources))
    return Reply(text, query.context, answered=False)
