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
from bot.dialogue.municipality import PLACE_GAPS, chained_places, municipality_gap, municipality_reply, pending_choice
from bot.dialogue.query import ASSEMBLY_PRIORITY, Query, refers_back, unknown_presenter
from bot.dialogue.reply import Reply
from bot.kb import queries
from bot.kb.records import AssemblyRecord, PresentationRecord
from bot.dialogue.open_question import maybe_buttons, open_answer
from bot.nlp.focus import asking_sentences, sentences
from bot.nlp.normalize import MAX_QUESTION_CHARS, has_meaningful_text

SUGGESTIONS = "総会の日時・会場・参加者数、発表の内容、研究会の事務局、市区町村の団体コードなどをお尋ねください。"
NEXT_ASSEMBLY = -1  # "次回の総会": never in the records
# Details only an assembly (or a presentation) has: a question naming the society and one of these asks
# about its assembly.
# Details only our records are asked for (a message with one of these is about them).
DOMAIN_CUES = frozenset({"mc", "capacity", "participants", "social", "materials", "program", "lg_count", "secretariat",
                         "organizer"})
SOCIETY_ONLY = frozenset({"purpose", "secretariat", "founded", "members", "representative"})
# What an assembly answers when no presentation is meant (「参加者の感想は」「今後どう活かす」).
ASSEMBLY_ANSWERS = frozenset({"date", "hours", "where", "address", "people", "lg_count", "scale", "reactions", "plan",
                              "organizer", "fee"})
ASSEMBLY_ONLY = frozenset({"date", "hours", "where", "address", "people", "lg_count", "scale", "program", "speaker",
                           "reactions", "access", "capacity", "mc", "participants", "social", "materials"})

Resolver = Callable[[Session, Query], "Reply | None"]

__all__ = ["QUESTION_RESOLVERS", "RESOLVERS", "Reply", "SUGGESTIONS", "answer"]


def answer(session: Session, query: Query) -> Reply:
    """The reply to a user message: the first resolver that answers."""
    for name, resolver in RESOLVERS:
        reply = resolver(session, query)
        if reply is not None:
            return reply if reply.resolver else replace(reply, resolver=name)
        if resolver is choice and query.context.pending:  # not a pick: the offer lapses
            query = query.with_context(query.context.with_(pending=None))
    raise AssertionError("the last resolver always answers")  # pragma: no cover


# -- resolvers, in the order they are asked ------------------------------------------------------
SMALL_TALK = {"greet": "utter_greet", "goodbye": "utter_goodbye", "thanks": "utter_thanks"}
RATINGS = {"feedback_good": "good", "feedback_bad": "bad"}
NOT_KNOWLEDGE = ("out_of_scope", "help", "nlu_fallback")
_ASKS_RE = re.compile(r"(?:\?|？|か|かな|かね|の|っけ)[\s。．.!！]*$")  # a message that ends like a question
_CORRECTION_WORDS = ("違", "間違", "誤り", "誤っ", "古い", "正しくな")
_QUESTION_WORDS = ("?", "？", "教えて", "ですか", "ますか")


def comment(session: Session, query: Query) -> Reply | None:
    """After 「どの点が違っていましたか」: the user's words are the comment on the 👎, not a new question."""
    if not query.context.awaiting_comment or not has_meaningful_text(query.text):
        return None
    if query.intent in SMALL_TALK:
        return None
    if query.intent.startswith("ask_") and not (
        any(w in query.text for w in _CORRECTION_WORDS) and not any(q in query.text for q in _QUESTION_WORDS)
    ):
        return None
    return Reply("", query.context, kind="comment")


def unreadable(session: Session, query: Query) -> Reply | None:
    """No letters, or longer than any question (the NLU did not read it)."""
    if query.intent != "nlu_fallback":
        return None
    if not has_meaningful_text(query.text):
        return Reply("", query.context, kind="response", response="utter_empty", neutral=True)
    if len(query.text) > MAX_QUESTION_CHARS:
        return Reply("", query.context, kind="response", response="utter_too_long", neutral=True)
    return None


def choice(session: Session, query: Query) -> Reply | None:
    """「東京都の方」 after 「府中市は複数あります」: the user's pick among the candidates offered."""
    if not query.context.pending:
        return None
    return pending_choice(session, query)


def rating(session: Session, query: Query) -> Reply | None:
    """👍 / 👎 on the last answer, unless the message names a subject and asks (「吉川市は埼玉県で合ってる？」)."""
    value = RATINGS.get(query.intent)
    if value is None or (query.names_a_subject() and _ASKS_RE.search(query.text)):
        return None
    return Reply("", query.context, kind="rating", rating=value)


def small_talk(session: Session, query: Query) -> Reply | None:
    """Greetings, goodbyes and thanks, unless they name a subject (「じゃあ第7回は？」)."""
    response = SMALL_TALK.get(query.intent)
    if response is None or query.names_a_subject():
        return None
    return Reply("", query.context, kind="response", response=response, neutral=True)


def not_about_the_knowledge_base(session: Session, query: Query) -> Reply | None:
    """Out of scope, a request for help, or not understood, when nothing in it points at our records:
    the closest FAQ entry or passage when there is a clear one, else a plain 「お答えできません」."""
    if query.intent not in NOT_KNOWLEDGE or _knowledge_cues(query):
        return None
    found = open_answer(query, query.context.municipality_code)
    if found is not None:
        return found
    if query.intent == "help":
        return Reply("", query.context, kind="response", response="utter_help", neutral=True)
    if query.intent == "out_of_scope":
        return Reply("", query.context, kind="response", response="utter_out_of_scope", answered=False)
    buttons = maybe_buttons([{"name": n, "confidence": c} for n, c in query.ranking])
    if buttons:
        text = "申し訳ありません、ご質問を読み取れませんでした。もしかして、次のことをお知りになりたいですか。"
        return Reply(text, query.context, buttons=buttons, answered=False)
    return Reply(f"申し訳ありません、ご質問の意味がわかりませんでした。{SUGGESTIONS}", query.context, answered=False)


def _knowledge_cues(query: Query) -> bool:
    """Does a message the classifier did not take for a question still point at our records?"""
    if query.names_a_subject():
        return True
    if query.values("presenter_kind") and query.values("operation"):
        return True
    if set(query.attributes) & DOMAIN_CUES:  # 「開会のあいさつは誰が」: only our records have these
        return True
    if query.context.subject_type is None:
        return False
    asks = bool(query.attributes or query.values("operation") or _ASKS_RE.search(query.text))
    cued = bool(query.attributes or query.values("operation"))
    return (refers_back(query.text) and asks) or (cued and query.intent == "nlu_fallback")


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
    subs = []
    offset = 0
    for part in parts:
        start = query.text.find(part, offset)
        if start < 0:
            return None
        offset = start + len(part)
        sub = query.part(start, offset)
        if sub.asks_something():  # 「東京だよね？」 asks nothing the records answer
            subs.append(sub)
    if not subs or len(subs) > 4:
        return None
    replies, context = [], query.context
    for sub in subs:
        reply = answer_question(session, sub.with_context(context))
        replies.append(reply)
        context = reply.context
    texts = list(dict.fromkeys(r.text for r in replies))
    if len(texts) == 1:
        return replies[0]
    return Reply(
        "\n\n".join(texts), context, answered=any(r.answered for r in replies),
        source="、".join(dict.fromkeys(r.source for r in replies if r.source)) or None,
    )


def organization_detail(session: Session, query: Query) -> Reply | None:
    """A detail of an organization the report only names (「東京芸術センターの開館時間」「富士通の株価」)."""
    asked = [a for a in query.attributes if a in details.GAP_DETAILS | {"hours", "address"}]
    if not asked or query.values("municipality"):
        return None
    assembly, _, _ = _assembly(session, query)
    presenters = {n for p in (assembly.presentations if assembly else ()) for n in p.presenters}
    own = [value for (entity, value), (start, _) in zip(query.entities, query.spans or [(0, 0)] * len(query.entities))
           if entity == "organization" and start >= 0]  # named here, not lent by another sentence
    for name in _organizations(session, query.without("organization").with_entities("organization", own)):
        if name in presenters and asked[0] != "company":
            continue
        if assembly and name in assembly.venue and asked[0] in ("address", "hours") and assembly.address:
            continue  # the venue: its address is the assembly's
        text = details.not_recorded(assembly.source if assembly else "このガイドのデータ", name, asked[0])
        if asked[0] == "company":
            text = f"{name}の株価や本社などの企業情報にはお答えできません。" + text
        return Reply(details.with_source(text, assembly.source) if assembly else text, query.context,
                     source=assembly.source if assembly else None)
    return None


def society(session: Session, query: Query) -> Reply | None:
    if not _is_society_question(session, query):
        return None
    record = queries.society(session)
    if record is None:
        return Reply(f"研究会の情報はまだ登録されていません。{SUGGESTIONS}", query.context, answered=False)
    context = query.context.with_(subject_type="society")
    missing = next((a for a in query.attributes if details.society_missing(record, a)), None)
    if missing == "founded" and "purpose" in query.attributes and "date" not in query.attributes:
        missing = None  # 「何を目的に発足した」 asks for the purpose
    if missing:
        text = details.not_recorded(record.source, record.name, missing, details.society_nearby(record, missing))
        return Reply(details.with_source(text, record.source), context, source=record.source, answered=True)
    attribute = next((a for a in ("secretariat", "purpose") if a in query.attributes), None)
    if attribute is None and set(query.attributes) & {"phone", "department"}:
        attribute = "secretariat"
    return Reply(render.society_answer(record, attribute), context, source=record.source)


def places(session: Session, query: Query) -> Reply | None:
    """Codes and prefectures, also of a place reached through another record (a chain), and what the
    master does not hold about a municipality (人口, 首長 …)."""
    attrs = set(query.attributes)
    op = aggregate.operation_of(query)
    region = _region(session, query) or _named_prefecture(session, query)
    current = _context_presentation(session, query)
    if region and current is not None and refers_back(query.text):  # 「そのうち静岡県にあるのはどっち」
        lgs = [lg for code in aggregate.place_codes(current) for lg in [queries.local_government(session, code)]
               if lg and lg.code[:2] == region.code[:2] and not lg.is_prefecture]
        if lgs:
            text = "".join(f"{lg.full_name}です（全国地方公共団体コード {lg.code}）。" for lg in lgs)
            return Reply(f"{text}\n{render.source_line(render.MASTER_SOURCE)}", query.context, source=render.MASTER_SOURCE)
    if _region(session, query) and op and op[0] in ("list", "count", "exists", "which"):
        return None  # 「埼玉県内の自治体が関わった発表」: a filter over presentations
    assembly, _, _ = _assembly(session, query)
    via = _subject_presentations(session, query, assembly) if assembly else []
    label = f"{via[0].presenter_label}の発表「{via[0].title}」に関わる自治体は、" if len(via) == 1 else ""
    chained = chained_places(session, query, _places_of_subject(session, query), label)
    if chained is not None:
        if len(via) == 1:  # 「そのうち静岡県にあるのは」 follows up on that presentation's places
            chained = replace(chained, context=chained.context.with_(
                subject_type="presentation", assembly_number=via[0].assembly_number, presentation_id=via[0].key))
        return chained
    gap = next((a for a in query.attributes if a in PLACE_GAPS), None)
    if gap and query.values("municipality"):
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


def records_operation(session: Session, query: Query) -> Reply | None:
    """Counts, lists, yes/no, the n-th and how long, over the presentations of an assembly."""
    op = aggregate.operation_of(query)
    if op is None:
        return None
    name, argument = op
    assembly, missing, _ = _assembly(session, query)
    if assembly is None:
        return None
    context = query.context.with_(subject_type="assembly", assembly_number=assembly.number, presentation_id=None)
    names = _named_presenters(session, query)
    if name == "duration" and not names and ("総会" in query.text or (
            not query.values("topic") and query.context.subject_type in (None, "assembly", "program", "society"))):
        text = aggregate.duration_text(assembly)
        return Reply(details.with_source(text, assembly.source), context, source=assembly.source) if text else None
    if name == "order":
        return _by_order(session, query, assembly, argument)
    region = _region(session, query)
    kinds = tuple(k for k in query.values("presenter_kind") if not (region and k == "自治体"))
    topics = tuple(query.values("topic"))
    if name in ("exists", "choose") and names and not region and _MEMBERSHIP_RE.search(query.text):
        return _presented(session, query, assembly, names)
    if name == "list" and not (kinds or topics or region or names) and aggregate.about_presentations(query):
        return _program(query, assembly)  # 「発表した団体を発表順にすべて」
    if name not in ("count", "list", "exists", "which", "choose") or not (kinds or topics or region or name == "count"):
        return None
    if not (aggregate.about_presentations(query) or _PLACES_TARGET_RE.search(query.text)):
        return None
    if names and not region:
        return None  # 「京都府の発表はどれ」: one presenter's presentation, answered below
    chosen = aggregate.select(list(assembly.presentations), kinds, topics)
    if region:
        chosen = [p for p in chosen if aggregate.in_region(p, region.code[:2])]
    what = aggregate.describe(kinds, topics) + (f"{region.name}内の自治体が関わる" if region else "")
    if _PLACES_TARGET_RE.search(query.text) and not kinds:
        return _places_in(session, query, assembly, chosen, region, what)
    if len(chosen) == 1 and name in ("list", "which"):  # 「マイキーの発表をしたのは誰」: that presentation
        return presentations.presentation_reply(query, assembly, chosen[0])
    if name == "exists":
        if chosen:
            text = f"はい、{render.assembly_label(assembly)}では{what}発表が{len(chosen)}件ありました。\n"
            text += "\n".join(aggregate.line(p) for p in chosen)
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

    orgs = _organizations(session, query)
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

    current = _context_presentation(session, query)
    if any(details.assembly_missing(assembly, a) for a in query.attributes) and current is None:
        return _assembly_reply(session, query, assembly)  # 「司会はどなたが」: a detail of the assembly
    if refers_back(query.text) and query.context.subject_type == "assembly" and not _names(query):
        return _assembly_reply(session, query, assembly)  # 「それは今後どう活かされるの」 after the assembly
    if intent == "ask_program" or "program" in attrs:
        return _program(query, assembly)
    unknown = unknown_presenter(query.text) if intent == "ask_presentation" else None
    if unknown:
        return _no_presentation(session, query, assembly, [unknown])

    if current is not None and not explicit and "総会" not in query.text:
        attribute = presentations.asked_attribute(query)
        if intent == "ask_presentation" or presentations.has_answer(current, attribute):
            return presentations.presentation_reply(query, _assembly_of(session, assembly, current), current)
    if intent == "ask_presentation" and not (attrs & ASSEMBLY_ANSWERS):
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


# -- subjects ------------------------------------------------------------------------------------
def _assembly(session: Session, query: Query) -> tuple[AssemblyRecord | None, int | str | None, bool]:
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


def _organizations(session: Session, query: Query) -> list[str]:
    """Canonical names of the organizations named, the society left out."""
    society = queries.society(session)
    orgs = [queries.organization_name(session, o) or o for o in query.values("organization")]
    return [o for o in orgs if society is None or o != society.name]


def _named_presenters(session: Session, query: Query) -> list[str]:
    return _organizations(session, query) + query.values("municipality")


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


def _places_of_subject(session: Session, query: Query) -> list[str]:
    """団体コード of the places a question reaches through another record: the municipalities of the
    presentation(s) it points at, the venue's municipality, or the secretariat's."""
    attrs = set(query.attributes)
    compare = "compare" in {v.partition(":")[0] for v in query.values("operation")}
    if not (attrs & {"code", "prefecture", "place"} or compare):
        return []
    assembly, _, _ = _assembly(session, query)
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
        for p in _subject_presentations(session, query, assembly, split_topics=compare):
            codes += aggregate.place_codes(p) if not query.values("presenter_kind") else [c for c in p.presenter_codes if c]
    return list(dict.fromkeys(c for c in codes if c))


def _subject_presentations(session: Session, query: Query, assembly: AssemblyRecord,
                           split_topics: bool = False) -> list[PresentationRecord]:
    """The presentations a question points at: by order, kind, topic, name or the context."""
    op = aggregate.operation_of(query)
    if op and op[0] == "order":
        p = aggregate.by_order(assembly, op[1])
        return [p] if p else []
    kinds = tuple(query.values("presenter_kind"))
    if kinds:
        return aggregate.select(list(assembly.presentations), kinds, ())
    topics = query.values("topic")
    if split_topics and len(topics) > 1:
        out = []
        for topic in topics:
            found = presentations.find(list(assembly.presentations), query.without("topic").with_entity("topic", topic), [])
            out += found.presentations[:1]
        return out
    if topics or query.values("organization"):
        found = presentations.find(list(assembly.presentations), query, _organizations(session, query))
        if len(found.presentations) == 1:
            return found.presentations
    if refers_back(query.text):
        current = _context_presentation(session, query)
        return [current] if current else []
    return []


def _is_society_question(session: Session, query: Query) -> bool:
    record = queries.society(session)
    if record is None or query.intent == "ask_municipality":
        return False
    named = {queries.organization_name(session, o) for o in query.values("organization")}
    home = record.secretariat_lg.name if record.secretariat_lg else None  # 「事務局は足立区のなんという課」
    munis = [m for m in query.values("municipality") if not ("secretariat" in query.attributes and m == home)]
    others = (named - {record.name, None}) or munis or query.values("topic")
    named_here = {queries.organization_name(session, value) for (entity, value), (start, _) in
                  zip(query.entities, query.spans or [(0, 0)] * len(query.entities)) if entity == "organization" and start >= 0}
    if query.context.subject_type in ("presentation", "assembly") and refers_back(query.text) and record.name not in named_here:
        return False  # 「それらの意見を事務局として今後どう」 follows up on the assembly
    about_assembly = (
        "総会" in query.text or query.values("assembly_number")
        or (query.values("operation") and aggregate.about_presentations(query))
    )
    asks = set(query.attributes)
    if asks & {"code", "prefecture", "place"}:
        return False  # 「事務局の自治体の団体コード」: a place, answered by places()
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
            assembly.source, render.assembly_label(assembly), missing, details.assembly_nearby(assembly, missing), contact
        )
        return Reply(details.with_source(text, assembly.source), context, source=assembly.source)
    asked = [a for a in ASSEMBLY_PRIORITY if a in set(query.attributes)]
    if asked and asked[0] == "other":
        return _program(query, assembly)
    if "duration" in {v.partition(":")[0] for v in query.values("operation")}:
        asked = ["hours"] + [a for a in asked if a != "hours"]
    # 「会場の名前と参加人数を」: each detail asked, in one reply (at most three)
    bodies = list(dict.fromkeys(render.assembly_body(assembly, a) for a in (asked[:3] or [None])))
    if "duration" in {v.partition(":")[0] for v in query.values("operation")}:
        bodies.append(aggregate.duration_text(assembly) or "")
    text = "".join(bodies) + "\n" + render.source_line(assembly.source)
    return Reply(text, context, source=assembly.source)


def _contact(session: Session) -> str:
    record = queries.society(session)
    if record is None:
        return ""
    return f"{record.secretariat}（{record.secretariat_department}）" if record.secretariat_department else record.secretariat


def _program(query: Query, assembly: AssemblyRecord) -> Reply:
    context = query.context.with_(subject_type="program", assembly_number=assembly.number)
    return Reply(render.program_answer(assembly), context, source=assembly.source)


_MEMBERSHIP_RE = re.compile(r"発表|登壇|参加|報告|講演|出て|出た|出まし|入って|含まれ|どっち|どちら|はっぴょう|とうだん|さんか")
# The question asks for places (「関わった自治体をすべて」「静岡県の自治体はどこ」), not presentations.
_PLACES_TARGET_RE = re.compile(
    r"(?:自治体|市区町村|市町村|市や区|都市|市)(?:名)?(?:は|を|って|が)?(?:どこ|すべて|全て|全部|一覧|教えて|挙げて|どれ(?!くらい|ぐらい|ほど))")
_REGION_RE = r"(?:内|の自治体|の市|の区|の町|にある|の団体)"


def _region(session: Session, query: Query):
    """A prefecture the question filters by: 「埼玉県内の自治体」「静岡県の自治体」."""
    for name in query.values("municipality"):
        lgs = queries.local_governments_named(session, name)
        if len(lgs) == 1 and lgs[0].is_prefecture and re.search(re.escape(name) + _REGION_RE, query.text):
            return lgs[0]
    return None


def _named_prefecture(session: Session, query: Query):
    for name in query.values("municipality"):
        lgs = queries.local_governments_named(session, name)
        if len(lgs) == 1 and lgs[0].is_prefecture:
            return lgs[0]
    return None


def _by_order(session: Session, query: Query, assembly: AssemblyRecord, argument: str) -> Reply | None:
    """「3番目の発表」「最後の発表」「富士通の次の発表」「京都府は何番目」."""
    context = query.context.with_(subject_type="assembly", assembly_number=assembly.number, presentation_id=None)
    anchor = None
    if argument in ("which", "next", "previous"):
        found = presentations.find(list(assembly.presentations), query, _organizations(session, query))
        anchor = found.presentations[0] if len(found.presentations) == 1 else _context_presentation(session, query)
        if anchor is None:
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


def _places_in(session: Session, query: Query, assembly: AssemblyRecord, chosen: list[PresentationRecord],
               region, what: str) -> Reply:
    """The local governments the chosen presentations involve (in the region asked about)."""
    codes = [c for p in chosen for c in aggregate.place_codes(p)]
    lgs = [lg for c in dict.fromkeys(codes) for lg in [queries.local_government(session, c)] if lg]
    if region:
        lgs = [lg for lg in lgs if lg.code[:2] == region.code[:2] and not lg.is_prefecture]
    context = query.context.with_(subject_type="assembly", assembly_number=assembly.number)
    label = render.assembly_label(assembly)
    if not lgs:
        text = f"{label}の記録には、{what}発表に出てくる自治体はありません。"
        return Reply(details.with_source(text, assembly.source), context, source=assembly.source)
    lines = [f"{label}の記録で{what}発表に出てくる自治体は次のとおりです。"]
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
        involved = [p for p in assembly.presentations if p not in own and any(name == m for m, _, _ in p.municipalities)]
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
    have = "、".join(f"第{n}回" for n in numbers) or "ありません"
    if missing == NEXT_ASSEMBLY:
        which = "次回の総会"
    elif isinstance(missing, str):
        which = f"{missing}の総会"
    else:
        which = f"第{missing}回総会"
    text = f"{which}の記録はありません（データにあるのは{have}総会の記録です）。{SUGGESTIONS}"
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
