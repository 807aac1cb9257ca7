"""Resolves what a question is about in the knowledge base and composes the reply.

One entry point, :func:`answer`, serves every knowledge question: the intent says which kind of
subject is asked about, entities name it (or the previous turn's context supplies it) and the
attribute cue says what to tell. New data needs no new code here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.dialogue import render
from bot.dialogue.query import ASSEMBLY_PRIORITY, FACT_KINDS, PRESENTATION_PRIORITY, Context, Query, unknown_presenter
from bot.kb import queries
from bot.kb.codes import check_digit, complete
from bot.kb.records import AssemblyRecord, LocalGovernmentRecord, PresentationRecord

SUGGESTIONS = "総会の日時・会場・参加者数、発表の内容、研究会の事務局、市区町村の団体コードなどをお尋ねください。"
ASSEMBLY_LEVEL = {"date", "hours", "where", "address", "people", "scale"}
NEXT_ASSEMBLY = -1  # "次回の総会": never in the records


@dataclass(frozen=True)
class Reply:
    text: str
    context: Context
    buttons: tuple[dict, ...] = ()
    answered: bool = True  # False when the KB had nothing to say
    source: str | None = None


@dataclass
class _Subject:
    assembly: AssemblyRecord | None = None
    assembly_missing: int | None = None
    presentations: list[PresentationRecord] = field(default_factory=list)
    named: list[str] = field(default_factory=list)  # names the user gave for a presentation subject


def answer(session: Session, query: Query) -> Reply:
    attrs = set(query.attributes)
    intent = query.intent
    if intent == "ask_society" or (intent not in ("ask_municipality",) and _is_society_question(session, query)):
        return _society(session, query)
    if intent == "ask_municipality" or (attrs & {"code", "prefecture"} and not query.values("topic")) or (
        query.values("lg_code") and intent != "ask_presentation"
    ):
        reply = _municipality(session, query)
        if reply is not None:
            return reply

    subject = _resolve(session, query)
    if subject.assembly_missing is not None:
        return _no_assembly(session, query, subject.assembly_missing)
    assembly = subject.assembly
    if assembly is None:
        return Reply(f"まだ総会の記録が登録されていません。{SUGGESTIONS}", query.context, answered=False)

    if subject.named and not subject.presentations and intent != "ask_assembly":
        return _no_presentation(session, query, assembly, subject.named)
    if subject.presentations:
        return _presentation(query, assembly, subject.presentations)
    if intent == "ask_program" or "program" in attrs:
        return Reply(render.program_answer(assembly), query.context.with_(subject_type="program", assembly_number=assembly.number), source=assembly.source)
    unknown = unknown_presenter(query.text) if intent == "ask_presentation" else None
    if unknown:
        return _no_presentation(session, query, assembly, [unknown])
    if intent == "ask_presentation" and query.context.presentation_id is not None:
        current = next((p for p in assembly.presentations if p.id == query.context.presentation_id), None)
        if current is None:
            current = _presentation_by_id(session, query.context.presentation_id)
        if current is not None:
            return _presentation(query, assembly, [current])
    if intent == "ask_presentation":
        text = "どの発表についてのご質問でしょうか。発表団体名やテーマを添えてお尋ねください。\n" + render.program_answer(assembly)
        return Reply(text, query.context.with_(subject_type="program", assembly_number=assembly.number), answered=False)
    attribute = query.attribute(ASSEMBLY_PRIORITY)
    return Reply(
        render.assembly_answer(assembly, attribute),
        query.context.with_(subject_type="assembly", assembly_number=assembly.number, presentation_id=None),
        source=assembly.source,
    )


# -- subjects ------------------------------------------------------------------------------------
def _resolve(session: Session, query: Query) -> _Subject:
    subject = _Subject()
    numbers = query.values("assembly_number")
    explicit = None
    if numbers:
        value = numbers[-1]
        if value == "next":
            subject.assembly_missing = NEXT_ASSEMBLY
            return subject
        if value == "latest":
            subject.assembly = queries.latest_assembly(session)
        else:
            explicit = int(value)
            subject.assembly = queries.assembly(session, explicit)
            if subject.assembly is None:
                subject.assembly_missing = explicit
                return subject
    elif query.context.assembly_number is not None:
        subject.assembly = queries.assembly(session, query.context.assembly_number)
    if subject.assembly is None:
        subject.assembly = queries.latest_assembly(session)
    if subject.assembly is None:
        return subject

    orgs = [queries.organization_name(session, o) or o for o in query.values("organization")]
    munis = query.values("municipality")
    topics = query.values("topic")
    society = queries.society(session)
    orgs = [o for o in orgs if society is None or o != society.name]
    if not (orgs or munis or topics):
        return subject
    pool = list(subject.assembly.presentations)
    if explicit is None:  # a name without a number: search every assembly, the current one first
        for other in queries.all_assemblies(session):
            if other.number != subject.assembly.number:
                pool.extend(other.presentations)
    scored = []
    for p in pool:
        score = 0
        score += 4 * sum(1 for o in orgs if o in p.presenters)
        score += 4 * sum(1 for mu in munis if _presented_by_municipality(p, mu))
        score += 2 * sum(1 for mu in munis if any(_same_municipality(name, mu) for name, _, _ in p.municipalities))
        score += sum(1 for t in topics if t in p.topics)
        if score:
            scored.append((score, p))
    if scored:
        best = max(s for s, _ in scored)
        subject.presentations = [p for s, p in scored if s == best]
        subject.assembly = _assembly_of(session, subject.assembly, subject.presentations[0])
    subject.named = orgs + munis
    return subject


def _same_municipality(name: str, mention: str) -> bool:
    return name == mention or mention.endswith(name)


def _presented_by_municipality(p: PresentationRecord, mention: str) -> bool:
    return any(_same_municipality(name, mention) for name in p.presenters)


def _assembly_of(session: Session, current: AssemblyRecord, p: PresentationRecord) -> AssemblyRecord:
    if p.assembly_number == current.number:
        return current
    return queries.assembly(session, p.assembly_number) or current


def _presentation_by_id(session: Session, presentation_id: int) -> PresentationRecord | None:
    for a in queries.all_assemblies(session):
        for p in a.presentations:
            if p.id == presentation_id:
                return p
    return None


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
def _presentation(query: Query, assembly: AssemblyRecord, candidates: list[PresentationRecord]) -> Reply:
    attribute = query.attribute(PRESENTATION_PRIORITY)
    if query.intent == "ask_assembly" and attribute in ASSEMBLY_LEVEL | {"lg_count"} and not _has_kind(candidates, attribute):
        return Reply(
            render.assembly_answer(assembly, attribute),
            query.context.with_(subject_type="assembly", assembly_number=assembly.number),
            source=assembly.source,
        )
    if len(candidates) > 1 and attribute in FACT_KINDS:
        with_facts = [p for p in candidates if _facts(p, attribute, query.text)]
        candidates = with_facts if len(with_facts) == 1 else candidates
    if len(candidates) > 1:
        return _which_presentation(query, candidates)
    p = candidates[0]
    facts = _facts(p, attribute, query.text)
    text = render.presentation_answer(p, attribute, facts, assembly)
    context = query.context.with_(subject_type="presentation", assembly_number=p.assembly_number, presentation_id=p.id)
    return Reply(text, context, source=p.source)


def _which_presentation(query: Query, candidates: list[PresentationRecord]) -> Reply:
    lines = ["該当する発表が複数あります。どの発表についてお調べしますか。"]
    lines += [f"・{p.presenter_label}「{p.title}」（第{p.assembly_number}回総会）" for p in candidates]
    buttons = tuple({"title": f"{p.presenter_label}の発表", "payload": f"{p.presenter_label}の発表について教えて"} for p in candidates)
    return Reply("\n".join(lines), query.context, buttons=buttons, answered=False)


def _has_kind(candidates: list[PresentationRecord], attribute: str | None) -> bool:
    kinds = FACT_KINDS.get(attribute or "", ())
    return any(k in f.kinds for p in candidates for f in p.facts for k in kinds)


def _facts(p: PresentationRecord, attribute: str | None, question: str) -> list[str]:
    kinds = FACT_KINDS.get(attribute or "")
    if not kinds or attribute == "content":
        return []
    matching = [f.text for f in p.facts if any(k in f.kinds for k in kinds)]
    if len(matching) > 2:
        matching = sorted(matching, key=lambda t: -_overlap(question, t))[:2]
    return matching


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _overlap(question: str, text: str) -> int:
    return len(_bigrams(question) & _bigrams(text))


def _society(session: Session, query: Query) -> Reply:
    society = queries.society(session)
    if society is None:
        return Reply(f"研究会の情報はまだ登録されていません。{SUGGESTIONS}", query.context, answered=False)
    attribute = next((a for a in ("secretariat", "purpose") if a in query.attributes), None)
    return Reply(render.society_answer(society, attribute), query.context.with_(subject_type="society"), source=society.source)


def _no_assembly(session: Session, query: Query, number: int) -> Reply:
    numbers = queries.assembly_numbers(session)
    have = "、".join(f"第{n}回" for n in numbers) or "ありません"
    which = "次回の総会" if number == NEXT_ASSEMBLY else f"第{number}回総会"
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


def _municipality(session: Session, query: Query) -> Reply | None:
    attribute = next((a for a in ("prefecture", "code") if a in query.attributes), None)
    for raw in query.values("lg_code"):
        code = complete(raw)
        if code is None:
            expected = raw[:5] + str(check_digit(raw[:5]))
            text = f"「{raw}」は正しい全国地方公共団体コードではありません（検査数字が合いません。{raw[:5]}で始まるコードなら{expected}です）。"
            return Reply(text, query.context, answered=False)
        lg = queries.local_government(session, code)
        if lg is None:
            return Reply(f"全国地方公共団体コード「{code}」の団体はデータにありません。", query.context, answered=False)
        return Reply(render.lg_by_code_answer(raw, lg), query.context.with_(subject_type="municipality", municipality_code=lg.code), source=render.MASTER_SOURCE)
    names = query.values("municipality")
    if not names and query.context.municipality_code and query.intent == "ask_municipality":
        lg = queries.local_government(session, query.context.municipality_code)
        return _lg_reply(session, query, lg, attribute) if lg else None
    if not names:
        if query.intent == "ask_municipality":
            return Reply("どの市区町村についてのご質問でしょうか。市区町村名か全国地方公共団体コードを添えてお尋ねください。", query.context, answered=False)
        return None
    name = names[0]
    candidates = queries.local_governments_named(session, name)
    if not candidates:
        return Reply(f"「{name}」は全国地方公共団体コードの一覧に見つかりません。", query.context, answered=False)
    if len(candidates) > 1:
        what = "の都道府県は？" if attribute == "prefecture" else "の団体コードは？"
        buttons = tuple({"title": c.full_name, "payload": f"{c.full_name}{what}"} for c in candidates)
        options = "、".join(c.full_name for c in candidates)
        text = f"「{name}」は複数あります（{options}）。どちらについてお調べしますか。"
        return Reply(text, query.context, buttons=buttons, answered=False)
    return _lg_reply(session, query, candidates[0], attribute)


def _lg_reply(session: Session, query: Query, lg: LocalGovernmentRecord, attribute: str | None) -> Reply:
    prefecture = queries.prefecture_of(session, lg)
    context = query.context.with_(subject_type="municipality", municipality_code=lg.code)
    return Reply(render.lg_answer(lg, attribute, prefecture), context, source=render.MASTER_SOURCE)
