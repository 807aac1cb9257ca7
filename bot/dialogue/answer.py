"""How a question is answered: one routing function, :func:`answer`, over an ordered list of resolvers.

The NLU describes the message (intent ranking, entities, attribute cues, the operation); every
knowledge question reaches :func:`answer`, which asks each resolver of :data:`RESOLVERS` in turn. The
first that returns a reply answers, and its name is kept on the reply (``Reply.resolver``), so "why did
it answer that?" has its answer here. Each resolver is a function ``(session, query) -> Reply | None``
and is tested alone (tests/test_routing.py). New data needs no new code here.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable

from sqlalchemy.orm import Session

from bot.dialogue import aggregate, details, presentations, render
from bot.dialogue.conversation import (
    choice,
    comment,
    not_about_the_knowledge_base,
    rating,
    small_talk,
    unreadable,
)
from bot.dialogue.municipality import PLACE_GAPS, chained_places, municipality_gap, municipality_reply
from bot.dialogue.query import ASSEMBLY_PRIORITY, Query, refers_back, unknown_presenter
from bot.dialogue.reply import SUGGESTIONS, Reply
from bot.dialogue.subjects import (
    NEXT_ASSEMBLY,
    asked_assembly,
    assembly_of,
    context_municipality,
    context_presentation,
    named_prefecture,
    named_presenters,
    names_in,
    organizations,
    places_of_subject,
    region_filter,
    subject_presentations,
)
from bot.kb import queries
from bot.kb.records import AssemblyRecord, PresentationRecord
from bot.nlp.focus import asking_sentences, sentences

SOCIETY_ONLY = frozenset({"purpose", "secretariat", "founded", "members", "representative"})
# What an assembly answers when no presentation is meant (「参加者の感想は」「今後どう活かす」).
ASSEMBLY_ANSWERS = frozenset({"date", "hours", "where", "address", "people", "lg_count", "scale", "reactions", "plan",
                              "organizer", "fee"})
ASSEMBLY_ONLY = frozenset({"date", "hours", "where", "address", "people", "lg_count", "scale", "program", "speaker",
                           "reactions", "access", "capacity", "mc", "participants", "social", "materials",
                           "reception", "ratio"})

Resolver = Callable[[Session, Query], "Reply | None"]

__all__ = ["QUESTION_RESOLVERS", "RESOLVERS", "Reply", "SUGGESTIONS", "answer"]


def answer(session: Session, query: Query) -> Reply:
    """The reply to a user message: the first resolver that answers."""
    query = query.asking_again()  # 「じゃあ内閣府のほうは？」: the last question's details, of new names
    for name, resolver in RESOLVERS:
        reply = resolver(session, query)
        if reply is not None:
            return reply if reply.resolver else replace(reply, resolver=name)
        if resolver is choice and query.context.pending:  # not a pick: the offer lapses
            query = query.with_context(query.context.with_(pending=None))
    raise AssertionError("the last resolver always answers")  # pragma: no cover


def as_question(session: Session, query: Query) -> Reply | None:
    """From here on the message is a knowledge question (the ranking's best question intent)."""
    if query.intent.startswith("ask_"):
        return None
    return answer_question(session, query.as_question())


def answer_question(session: Session, query: Query) -> Reply:
    for name, resolver in QUESTION_RESOLVERS:
        reply = resolver(session, query)
        if reply is not None:
            return replace(reply, resolver=name)
    raise AssertionError("the last resolver always answers")  # pragma: no cover


def questions_in_message(session: Session, query: Query) -> Reply | None:
    """The question inside a longer message (greetings and introductions are already gone): the
    sentences that ask, each answered; the rest of the message only lends them its subject."""
    parts = asking_sentences(query.text)
    if not parts or (len(parts) == 1 and (parts[0] == query.text or len(sentences(query.text)) < 2)):
        return None
    if presentations.asks_members_of_a_group(query.text) and not any(
            presentations.asks_members_of_a_group(part) for part in parts):
        return None  # 「WGは17自治体だったよね。どこどこが入ってたの」: one question over two sentences
    subs = []
    offset = 0
    for part in parts:
        start = query.text.find(part, offset)
        if start < 0:
            return None
        offset = start + len(part)
        sub = query.part(start, offset)
        lent = query.part(start, offset, lend_presenters=True)
        if lent.entities != sub.entities and _topics_are_theirs(session, lent):
            sub = lent  # 「内閣府から説明が…、委託を広げるために何を」: 内閣府's 委託
        if sub.asks_something():  # 「東京だよね？」 asks nothing the records answer
            subs.append(sub)
    if not subs:
        return None
    subs = subs[:4]  # a longer list is answered four questions at a time
    replies, context = [], query.context
    for sub in subs:
        reply = answer_question(session, sub.with_context(context))
        replies.append(reply)
        context = reply.context.with_(last_reply=reply.text)  # 「あわせて、ほかに…」: besides this answer
    if any(r.answered for r in replies):  # 「何件？都道府県と市区町村に分けて」: a part that only refines
        replies = [r for r in replies if not r.clarifies]  # another is not asked back about on its own
    texts = list(dict.fromkeys(r.text for r in replies))
    if len(texts) == 1:
        return replies[0]
    return Reply(
        "\n\n".join(texts), context, answered=any(r.answered for r in replies),
        source="、".join(dict.fromkeys(r.source for r in replies if r.source)) or None,
    )


def _topics_are_theirs(session: Session, query: Query) -> bool:
    """Is every topic of ``query`` part of the one presentation of the presenter it names?"""
    assembly, _, _ = asked_assembly(session, query)
    if assembly is None:
        return False
    found = presentations.find(list(assembly.presentations), query, organizations(session, query))
    if len(found.presentations) != 1:
        return False
    p = found.presentations[0]
    text = p.title + p.summary + "".join(f.text for f in p.facts)
    return all(t in p.topics or t in text for t in query.values("topic"))


def organization_detail(session: Session, query: Query) -> Reply | None:
    """A detail of an organization the report only names (「東京芸術センターの開館時間」「富士通の株価」)."""
    asked = [a for a in query.attributes if a in details.GAP_DETAILS | {"hours", "address"}]
    if not asked or query.values("municipality"):
        return None
    assembly, _, _ = asked_assembly(session, query)
    presenters = {n for p in (assembly.presentations if assembly else ()) for n in p.presenters}
    own = query.values_named_here("organization")  # not lent by another sentence
    for name in organizations(session, query.without("organization").with_entities("organization", own)):
        if name in presenters and asked[0] != "company":
            continue
        if assembly and name in assembly.venue and (asked[0] == "address" or "総会" in query.text):
            continue  # the venue: its address is the assembly's (its opening hours are not)
        text = details.not_recorded(assembly.source if assembly else "このガイドのデータ", name, asked[0])
        if asked[0] == "company":
            text = f"{name}の株価や本社などの企業情報にはお答えできません。" + text
        return Reply(details.with_source(text, assembly.source) if assembly else text, query.context,
                     source=assembly.source if assembly else None)
    return None


def society(session: Session, query: Query) -> Reply | None:
    record = queries.society(session)
    if record is None and query.intent == "ask_society":
        return Reply(f"研究会の情報はまだ登録されていません。{SUGGESTIONS}", query.context, answered=False)
    if record is None or not _is_society_question(session, query):
        return None
    context = query.context.with_(subject_type="society")
    missing = next((a for a in query.attributes if details.society_missing(record, a)), None)
    if missing == "founded" and "purpose" in query.attributes and "date" not in query.attributes:
        missing = None  # 「何を目的に発足した」 asks for the purpose
    attribute: str | None = next((a for a in ("phone", "hours", "url") if a in query.attributes and getattr(record, a)),
                                 None)
    attribute = attribute or next((a for a in ("secretariat", "purpose") if a in query.attributes), None)
    if attribute is None and set(query.attributes) & {"department"}:
        attribute = "secretariat"
    if missing and attribute is None:
        text = details.not_recorded(record.source, record.name, missing, details.society_nearby(record, missing))
        return Reply(details.with_source(text, record.source), context, source=record.source, answered=True)
    text = render.society_answer(record, attribute)
    if missing:  # 「加入を考えています。事務局はどの部署？」: what is recorded, then what is not
        body, _, source_line = text.rpartition("\n")
        text = f"{body}{details.not_recorded(record.source, record.name, missing)}\n{source_line}"
    return Reply(text, context, source=record.source)


def places(session: Session, query: Query) -> Reply | None:
    """Codes and prefectures, also of a place reached through another record (a chain), and what the
    master does not hold about a municipality (人口, 首長 …)."""
    attrs = set(query.attributes)
    op = aggregate.operation_of(query)
    if presentations.asks_members_of_a_group(query.text) and not query.values("lg_code"):
        return None  # 「吉川市のWGに入ってた17の自治体ってどこどこ」: members the talk's record only counts
    region = region_filter(session, query) or named_prefecture(session, query)
    current = context_presentation(session, query) if refers_back(query.text) else None
    if region and current is None and _SUBSET_RE.search(query.text):  # 「AIスタッフを検証した市のうち静岡県のほう」
        assembly, _, _ = asked_assembly(session, query)
        named_talks = subject_presentations(session, query.without("municipality"), assembly) if assembly else []
        current = named_talks[0] if len(named_talks) == 1 else None
    if region and current is not None:  # 「そのうち静岡県にあるのはどっち」
        lgs = [lg for code in aggregate.place_codes(current) for lg in [queries.local_government(session, code)]
               if lg and lg.code[:2] == region.code[:2] and not lg.is_prefecture]
        if lgs:
            text = "".join(f"{lg.full_name}です（全国地方公共団体コード {lg.code}）。" for lg in lgs)
            return Reply(f"{text}\n{render.source_line(render.MASTER_SOURCE)}", query.context,
                         source=render.MASTER_SOURCE)
    by_kind = bool(query.values("presenter_kind")) and aggregate.about_presentations(query)
    if op and ((op[0] in ("list", "count", "exists", "which") and region_filter(session, query))
               or (op[0] in ("count", "exists") and by_kind)):
        return None  # 「埼玉県内の自治体が関わった発表」「自治体による発表は何件」: a filter over presentations
    assembly, _, _ = asked_assembly(session, query)
    via = subject_presentations(session, query, assembly) if assembly else []
    label = f"{via[0].presenter_label}の発表「{via[0].title}」に関わる自治体は、" if len(via) == 1 else ""
    chained = chained_places(session, query, places_of_subject(session, query), label)
    if chained is not None:
        if len(via) == 1:  # 「そのうち静岡県にあるのは」 follows up on that presentation's places
            chained = replace(chained, context=chained.context.with_(
                subject_type="presentation", assembly_number=via[0].assembly_number, presentation_id=via[0].key))
        return chained
    gap = next((a for a in query.attributes if a in PLACE_GAPS), None)
    if gap and query.values("municipality") and not aggregate.about_presentations(query):
        return municipality_gap(session, query, gap)
    named = query.values("municipality") or query.values("lg_code")
    if query.intent == "ask_municipality" and not named and attrs - {"code", "prefecture", "place"}:
        return None  # 「そこの電話番号は」: a detail of the subject in context, not a place
    if (
        query.intent == "ask_municipality"
        or (attrs & {"code", "prefecture"} and not query.values("topic"))
        or (query.values("lg_code") and query.intent != "ask_presentation")
    ):
        return municipality_reply(session, query)
    return None


_SUBSET_RE = re.compile(r"のうち|の中で|のほう|の方(?:は|の|って|が)")


def records_operation(session: Session, query: Query) -> Reply | None:
    """Counts, lists, yes/no, the n-th and how long, over the presentations of an assembly."""
    op = aggregate.operation_of(query)
    if op is None:
        return None
    name, argument = op
    assembly, missing, _ = asked_assembly(session, query)
    if assembly is None:
        return None
    context = query.context.with_(subject_type="assembly", assembly_number=assembly.number, presentation_id=None)
    names = named_presenters(session, query)
    if name == "duration" and not names and not query.values("topic") and (
            "総会" in query.text or query.context.subject_type in (None, "assembly", "program", "society")):
        text = aggregate.duration_text(assembly)
        return Reply(details.with_source(text, assembly.source), context, source=assembly.source) if text else None
    if name == "order":
        places = [v.partition(":")[2] for v in query.values("operation") if v.startswith("order:")]
        places = [a for a in dict.fromkeys(places) if a == "last" or a.isdigit()]
        if len(places) > 1:  # 「トップバッターとトリはそれぞれ」: each place in the order, answered in turn
            replies = [r for a in places for r in [_by_order(session, query, assembly, a)] if r is not None]
            if replies:
                return Reply("\n\n".join(r.text for r in replies), context, source=assembly.source,
                             answered=all(r.answered for r in replies))
        return _by_order(session, query, assembly, argument)
    region = region_filter(session, query)
    kinds = tuple(k for k in query.values("presenter_kind") if not (region and k == "自治体"))
    topics = tuple(query.values("topic"))
    if name in ("exists", "choose") and names and not region and _MEMBERSHIP_RE.search(query.text):
        return _presented(session, query, assembly, names)
    if name == "list" and not (kinds or topics or region or names) and aggregate.about_presentations(query):
        presenters = _NOT_PRESENTING_RE.search(query.text) is not None
        if _PLACES_TARGET_RE.search(query.text) and (presenters or not _PRESENTED_PLACE_RE.search(query.text)):
            # 「発表に出てきた市をすべて」「発表していない市を全部」 (「発表した市を全部」: the programme)
            chosen = list(assembly.presentations)
            return _places_in(session, query, assembly, chosen, None, "", exclude_presenters=presenters)
        return _program(query, assembly)  # 「発表した団体を発表順にすべて」
    if name not in ("count", "list", "exists", "which", "choose") or not (kinds or topics or region or name == "count"):
        return None
    if name == "count" and "lg_count" in query.attributes and not (kinds or region) and \
            not _PRESENTING_RE.search((sentences(query.text) or [""])[-1]):
        return None  # 「そのWGには自治体がいくつ参加」: a number the talk's record gives, not a count of talks
    if not (aggregate.about_presentations(query) or _PLACES_TARGET_RE.search(query.text)):
        return None
    if names and not region:
        return None  # 「京都府の発表はどれ」: one presenter's presentation, answered below
    chosen = aggregate.select(list(assembly.presentations), kinds, topics)
    if region:
        chosen = [p for p in chosen if aggregate.in_region(p, region.code[:2])]
    what = aggregate.describe(kinds, topics) + (f"{region.name}内の自治体が関わる" if region else "")
    counted = [p for p in chosen if presentations.counted_group_asked(p, query.text)]
    if len(counted) == 1:  # 「30以上の自治体はどこ」: the record counts them, it does not name them
        return presentations.presentation_reply(query, assembly, counted[0])
    if _PLACES_TARGET_RE.search(query.text) and not kinds:
        return _places_in(session, query, assembly, chosen, region, what)
    if len(chosen) == 1 and name in ("list", "which"):  # 「マイキーの発表をしたのは誰」: that presentation
        return presentations.presentation_reply(query, assembly, chosen[0])
    if name == "exists":
        if chosen:
            text = f"はい、{render.assembly_label(assembly)}では{what}発表が{len(chosen)}件ありました。\n"
            text += "\n".join(aggregate.line(p) for p in chosen)
            said = presentations.facts_for(chosen[0], None, query.text, topics) if len(chosen) == 1 else []
            if said:  # 「…という話は出ていましたか」: and what was said
                text += f"\n{chosen[0].presenter_label}の発表より：{said[0]}"
        else:
            text = f"いいえ、{render.assembly_label(assembly)}の記録には{what}発表はありません。"
    else:
        text = aggregate.listing(assembly, chosen, what, count_first=name == "count")
    if len(chosen) == 1:
        context = context.with_(subject_type="presentation", presentation_id=chosen[0].key)
    return Reply(details.with_source(text, assembly.source), context, source=assembly.source)


def assembly_or_presentation(session: Session, query: Query) -> Reply:
    """The assembly asked about, or one of its presentations (named, by topic, or from the context)."""
    intent, attrs = query.intent, set(query.attributes)
    assembly, missing, explicit = asked_assembly(session, query)
    if missing is not None:
        return _no_assembly(session, query, missing)
    if assembly is None:
        return Reply(f"まだ総会の記録が登録されていません。{SUGGESTIONS}", query.context, answered=False)

    if refers_back(query.text) and not names_in(query):  # 「そこで行われた実証実験は？」 after a municipality
        municipality = context_municipality(session, query)
        if municipality:
            query = query.with_entity("municipality", municipality)
        current = context_presentation(session, query)
        if current is not None and not explicit:
            return presentations.presentation_reply(query, assembly_of(session, assembly, current), current)

    orgs = organizations(session, query)
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
        return presentations.presentation_reply(query, assembly_of(session, assembly, p), p)

    current = context_presentation(session, query)
    if any(details.assembly_missing(assembly, a) for a in query.attributes) and current is None:
        return _assembly_reply(session, query, assembly)  # 「司会はどなたが」: a detail of the assembly
    if refers_back(query.text) and query.context.subject_type == "assembly" and not names_in(query):
        return _assembly_reply(session, query, assembly)  # 「それは今後どう活かされるの」 after the assembly
    if intent == "ask_program" or "program" in attrs:
        return _program(query, assembly)
    unknown = unknown_presenter(query.text) if intent == "ask_presentation" else None
    if unknown:
        return _no_presentation(session, query, assembly, [unknown])

    if current is not None and not explicit and "総会" not in query.text:
        attribute = presentations.asked_attribute(query)
        if intent == "ask_presentation" or presentations.has_answer(current, attribute):
            return presentations.presentation_reply(query, assembly_of(session, assembly, current), current)
    if intent == "ask_presentation" and not (attrs & ASSEMBLY_ANSWERS):
        municipality = context_municipality(session, query)
        if municipality:  # 「さいたま市の団体コードは？」→「そこで行われた実証実験は？」
            found = presentations.find(pool, query.with_entity("municipality", municipality), [])
            if len(found.presentations) == 1:
                p = found.presentations[0]
                return presentations.presentation_reply(query, assembly_of(session, assembly, p), p)
        by_text = presentations.best_by_text(pool, query.text)
        if by_text:
            return presentations.presentation_reply(query, assembly_of(session, assembly, by_text[0]), by_text[0])
        text = ("どの発表についてのご質問でしょうか。発表団体名やテーマを添えてお尋ねください。\n"
                + render.program_answer(assembly))
        return Reply(text, query.context.with_(subject_type="program", assembly_number=assembly.number), answered=False)
    return _assembly_reply(session, query, assembly)


QUESTION_RESOLVERS: tuple[tuple[str, Resolver], ...] = (
    ("question inside the message", questions_in_message),
    ("organization detail", organization_detail),
    ("society", society),
    ("places", places),
    ("operation over records", records_operation),
    ("assembly or presentation", assembly_or_presentation),
)
# Every message: what the user does (comments, picks, rates, greets) before what is asked.
RESOLVERS: tuple[tuple[str, Resolver], ...] = (
    ("comment on a rating", comment),
    ("unreadable message", unreadable),
    ("choice among candidates", choice),
    ("rating", rating),
    ("small talk", small_talk),
    ("not about the knowledge base", not_about_the_knowledge_base),
    ("read as a question", as_question),
) + QUESTION_RESOLVERS


def _is_society_question(session: Session, query: Query) -> bool:
    record = queries.society(session)
    if record is None or query.intent == "ask_municipality":
        return False
    named = {queries.organization_name(session, o) for o in query.values("organization")}
    home = record.secretariat_lg.name if record.secretariat_lg else None  # 「事務局は足立区のなんという課」
    munis = [m for m in query.values("municipality") if not ("secretariat" in query.attributes and m == home)]
    others = (named - {record.name, None}) or munis or query.values("topic")
    named_here = {queries.organization_name(session, o) for o in query.values_named_here("organization")}
    if (query.context.subject_type in ("presentation", "assembly") and refers_back(query.text)
            and record.name not in named_here):
        return False  # 「それらの意見を事務局として今後どう」 follows up on the assembly
    about_assembly = (
        "総会" in query.text or query.values("assembly_number")
        or (query.values("operation") and aggregate.about_presentations(query))
    )
    asks = set(query.attributes)
    if asks & {"code", "prefecture", "place"} or query.compares_places():
        return False  # 「事務局の自治体の団体コード」「会場の区と事務局の区は同じ」: places, answered by places()
    if others or (asks & ASSEMBLY_ONLY and not asks & SOCIETY_ONLY):
        return False
    if about_assembly and not (asks & SOCIETY_ONLY):
        return False
    if query.intent == "ask_society" or record.name in named:
        return True
    if query.context.subject_type == "society" and refers_back(query.text):  # 「そこの電話番号は」
        return True
    return bool(asks & SOCIETY_ONLY)


# -- replies -------------------------------------------------------------------------------------
def _assembly_reply(session: Session, query: Query, assembly: AssemblyRecord) -> Reply:
    context = query.context.with_(subject_type="assembly", assembly_number=assembly.number, presentation_id=None)
    missing = next((a for a in query.attributes if details.assembly_missing(assembly, a)), None)
    if missing:
        contact = _contact(session)
        text = details.not_recorded(
            assembly.source, render.assembly_label(assembly), missing, details.assembly_nearby(assembly, missing),
            contact
        )
        return Reply(details.with_source(text, assembly.source), context, source=assembly.source)
    asked: list[str | None] = [a for a in ASSEMBLY_PRIORITY if a in set(query.attributes)]
    if asked and asked[0] == "other":
        return _program(query, assembly)
    duration = "duration" in query.operations
    if duration:
        asked = ["hours", *(a for a in asked if a != "hours")]
    # 「会場の名前と参加人数を」: each detail asked, in one reply (at most three)
    bodies = list(dict.fromkeys(render.assembly_body(assembly, a) for a in (asked[:3] or [None])))
    if duration:
        bodies.append(aggregate.duration_text(assembly) or "")
    text = "".join(bodies) + "\n" + render.source_line(assembly.source)
    return Reply(text, context, source=assembly.source)


def _contact(session: Session) -> str:
    record = queries.society(session)
    if record is None:
        return ""
    if record.secretariat_department:
        return f"{record.secretariat}（{record.secretariat_department}）"
    return record.secretariat


def _program(query: Query, assembly: AssemblyRecord) -> Reply:
    context = query.context.with_(subject_type="program", assembly_number=assembly.number)
    return Reply(render.program_answer(assembly), context, source=assembly.source)


_MEMBERSHIP_RE = re.compile(r"発表|登壇|参加|報告|講演|出て|出た|出まし|入って|含まれ|どっち|どちら|はっぴょう|"
                            r"とうだん|さんか")
_PRESENTING_RE = re.compile(r"発表|登壇|報告|講演|プレゼン")
_PRESENTED_PLACE_RE = re.compile(r"(?:発表|登壇|報告)(?:した|して(?:い)?る|された)(?:市|区|町|村|自治体|団体|ところ)")
_NOT_PRESENTING_RE = re.compile(r"(?:発表|登壇|報告)(?:は|を)?(?:して(?:い)?ない|しなかった|せず|していません)")
# The question asks for places (「関わった自治体をすべて」「静岡県の自治体はどこ」), not presentations.
_PLACES_TARGET_RE = re.compile(
    r"(?:自治体|市区町村|市町村|市や区|都市|市)(?:名)?(?:は|を|って|が)?(?:どこ|すべて|全て|全部|一覧|教えて|挙げて|どれ(?!くらい|ぐらい|ほど))")


def _by_order(session: Session, query: Query, assembly: AssemblyRecord, argument: str) -> Reply | None:
    """「3番目の発表」「最後の発表」「富士通の次の発表」「京都府は何番目」."""
    context = query.context.with_(subject_type="assembly", assembly_number=assembly.number, presentation_id=None)
    anchor = None
    if argument in ("before", "after"):
        return _precedence(session, query, assembly, argument)
    if argument in ("which", "next", "previous"):
        found = presentations.find(list(assembly.presentations), query, organizations(session, query))
        anchor = found.presentations[0] if len(found.presentations) == 1 else context_presentation(session, query)
        if anchor is None or anchor.assembly_number != assembly.number:
            return None
        if argument == "which":
            text = aggregate.position_text(assembly, anchor)
            context = context.with_(subject_type="presentation", presentation_id=anchor.key)
            return Reply(details.with_source(text, assembly.source), context, source=assembly.source)
    p = aggregate.by_order(assembly, argument, anchor)
    if p is None:
        text = (aggregate.edge_text(assembly, anchor, argument) if anchor is not None
                else f"{render.assembly_label(assembly)}の発表は{len(assembly.presentations)}件です。")
        return Reply(details.with_source(text, assembly.source), context, answered=False)
    if anchor is not None:  # the anchor's names are not what is asked about
        query = query.without("organization", "municipality")
    if set(query.attributes) <= {"where"}:  # 「最初の発表はどこ（の団体）」: who presented
        query = query.without("attribute").with_entity("attribute", "speaker")
    return presentations.presentation_reply(query, assembly, p)


def _precedence(session: Session, query: Query, assembly: AssemblyRecord, argument: str) -> Reply | None:
    """「京都府の発表は吉川市の発表より先でしたか」: the two named presentations, in the order named
    (the one named right before 「より」 is the one compared against)."""
    found = presentations.find(list(assembly.presentations), query, organizations(session, query))
    pair = found.presentations
    if len(pair) != 2:
        return None
    pivot = query.text.find("より")

    def named_at(p: PresentationRecord) -> int:  # the last mention of p's presenter before 「より」
        spots = [query.text.rfind(name, 0, pivot) for name in (*p.presenters, p.presenter_label)]
        return max(spots, default=-1)

    second, first = sorted(pair, key=named_at, reverse=True)
    if named_at(second) < 0:
        return None
    text = aggregate.precedence_text(assembly, first, second, argument)
    context = query.context.with_(subject_type="assembly", assembly_number=assembly.number, presentation_id=None)
    return Reply(details.with_source(text, assembly.source), context, source=assembly.source)


def _places_in(session: Session, query: Query, assembly: AssemblyRecord, chosen: list[PresentationRecord],
               region, what: str, exclude_presenters: bool = False) -> Reply:
    """The local governments the chosen presentations involve (in the region asked about; only those
    that did not present themselves, when asked so)."""
    codes = [c for p in chosen for c in aggregate.place_codes(p)]
    lgs = [lg for c in dict.fromkeys(codes) for lg in [queries.local_government(session, c)] if lg]
    if region:
        lgs = [lg for lg in lgs if lg.code[:2] == region.code[:2] and not lg.is_prefecture]
    if exclude_presenters:
        presenting = {c for p in assembly.presentations for c in p.presenter_codes if c}
        lgs = [lg for lg in lgs if lg.code not in presenting]
    context = query.context.with_(subject_type="assembly", assembly_number=assembly.number)
    label = render.assembly_label(assembly)
    among = "自治体のうち、自らは発表していない自治体" if exclude_presenters else "自治体"
    if not lgs:
        text = f"{label}の記録には、{what}発表に出てくる{among}はありません。"
        return Reply(details.with_source(text, assembly.source), context, source=assembly.source)
    lines = [f"{label}の記録で{what}発表に出てくる{among}は次のとおりです。"]
    if len(lgs) == 1:  # 「そこの団体コードは」 next asks about that one place
        context = context.with_(subject_type="municipality", municipality_code=lgs[0].code)
    for lg in lgs:
        roles = [f"{p.presenter_label}の発表で{r}" for p in chosen for n, r, c in p.municipalities if c == lg.code]
        lines.append(f"・{lg.full_name}" + (f"（{'、'.join(roles)}）" if roles else ""))
    return Reply(details.with_source("\n".join(lines), assembly.source), context, source=assembly.source)


def _presented(session: Session, query: Query, assembly: AssemblyRecord, names: list[str]) -> Reply:
    """「墨田区は発表しましたか」: yes with what, or no."""
    lines, context = [], query.context.with_(subject_type="assembly", assembly_number=assembly.number)
    label = render.assembly_label(assembly)
    for name in names:
        own = [p for p in assembly.presentations if any(name == n or n.endswith(name) for n in p.presenters)]
        involved = [
            p for p in assembly.presentations if p not in own and any(name == m for m, _, _ in p.municipalities)]
        if own:
            titles = "、".join(f"「{p.title}」" for p in own)
            lines.append(f"はい、{name}は{label}で{titles}を発表しました。" + (own[0].summary if len(own) == 1 else ""))
            if len(own) == 1 and len(names) == 1:
                context = context.with_(subject_type="presentation", presentation_id=own[0].key)
        elif involved:
            for p in involved:
                role = next(r for m, r, _ in p.municipalities if m == name)
                lines.append(f"{name}自身の発表はありませんが、{p.presenter_label}の発表「{p.title}」に{role}の場として登場します。")
        else:
            lines.append(f"いいえ、{label}の記録には{name}の発表はありません。")
    return Reply(details.with_source("".join(lines), assembly.source), context, source=assembly.source)


def _no_assembly(session: Session, query: Query, missing: int | str) -> Reply:
    numbers = queries.assembly_numbers(session)
    have = "、".join(f"第{n}回" for n in numbers)
    if missing == NEXT_ASSEMBLY:
        which = "次回の総会"
    elif isinstance(missing, str):
        which = f"{missing}の総会"
    else:
        which = f"第{missing}回総会"
    held = f"（データにあるのは{have}総会の記録です）" if have else "（総会の記録はまだ登録されていません）"
    text = f"{which}の記録はありません{held}。{SUGGESTIONS}"
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
