"""Finding the presentation a question is about and answering from its facts."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.dialogue import render
from bot.dialogue.matching import content_bigrams, overlap
from bot.dialogue.query import ASSEMBLY_LEVEL, FACT_KINDS, PRESENTATION_PRIORITY, Query
from bot.dialogue.reply import Reply
from bot.kb.records import AssemblyRecord, PresentationRecord

MIN_FACT_MATCH = 2  # content bigrams a question must share with a fact to pick that fact


@dataclass
class Match:
    presentations: list[PresentationRecord] = field(default_factory=list)
    unmatched_names: list[str] = field(default_factory=list)  # names the user gave that presented nothing


def _mentions(p: PresentationRecord, name: str) -> bool:
    text = p.summary + "".join(f.text for f in p.facts) + "".join(p.partners)
    short = name.removeprefix("株式会社").removesuffix("株式会社")
    return name in text or (len(short) >= 2 and short in text)


def _name_score(p: PresentationRecord, orgs: list[str], munis: list[str], as_presenter: set[str]) -> int:
    """Presenter 4, involved municipality 2, named in the facts 1 (not when asked as a presenter)."""
    score = 0
    for org in orgs:
        if org in p.presenters:
            score += 4
        elif org not in as_presenter and _mentions(p, org):
            score += 1
    for muni in munis:
        if any(_same_place(name, muni) for name in p.presenters):
            score += 4
        elif any(_same_place(name, muni) for name, _, _ in p.municipalities):
            score += 2
        elif muni not in as_presenter and _mentions(p, muni):
            score += 1
    return score


def _asked_as_presenter(text: str, names: list[str]) -> set[str]:
    """Names the question treats as presenters: 「総務省の発表」「日立は何を報告した」."""
    out = set()
    for name in names:
        short = name.removeprefix("株式会社").removesuffix("株式会社")
        for form in {name, short}:
            if form and re.search(re.escape(form) + r"(?:さん|様|社)?(?:の|は|が)[^。?!]{0,10}?(?:発表|報告|講演)", text):
                out.add(name)
    return out


def _same_place(name: str, mention: str) -> bool:
    return name == mention or mention.endswith(name)


def find(pool: list[PresentationRecord], query: Query, orgs: list[str]) -> Match:
    """Presentations best matching the names and topics of ``query`` (several when it cannot tell)."""
    munis = query.values("municipality")
    topics = query.values("topic")
    names = orgs + munis
    if not (names or topics):
        return Match()
    as_presenter = _asked_as_presenter(query.text, names)
    scored = []
    for p in pool:
        name_score = _name_score(p, orgs, munis, as_presenter)
        if names and not name_score:
            continue
        topic_score = sum(1 for t in topics if t in p.topics)
        if not (name_score or topic_score):
            continue
        scored.append(((name_score, topic_score), p))
    if not scored:
        return Match(unmatched_names=names)
    best = max(s for s, _ in scored)
    tied = [p for s, p in scored if s == best]
    if len(tied) > 1:  # the wording may still tell them apart (「委託化にあたって重要なこと」)
        tied = best_by_text(tied, query.text, ignore=content_bigrams("".join(topics))) or tied
    return Match(presentations=tied)


def best_by_text(candidates: list[PresentationRecord], question: str, ignore: set[str] = frozenset()) -> list[PresentationRecord]:
    """The one candidate whose facts share clearly more content with the question, else [].

    ``ignore``: bigrams that cannot tell the candidates apart (the topic they all share).
    """
    scores = sorted(((_text_score(p, question, ignore), i) for i, p in enumerate(candidates)), reverse=True)
    if scores and scores[0][0] >= MIN_FACT_MATCH and (len(scores) == 1 or scores[0][0] > scores[1][0]):
        return [candidates[scores[0][1]]]
    return []


def _name_grams(p: PresentationRecord) -> set[str]:
    """Bigrams of who presented: naming the presenter says nothing about which fact is meant."""
    return content_bigrams("".join(p.presenters))


def _text_score(p: PresentationRecord, question: str, ignore: set[str] = frozenset()) -> int:
    return max((overlap(question, f.text, _name_grams(p) | ignore) for f in p.facts), default=0)


def has_answer(p: PresentationRecord, attribute: str | None) -> bool:
    """Can this presentation itself answer ``attribute`` (not just point to its assembly)?"""
    if attribute == "reactions":
        return bool(p.reactions or p.audience_notes)
    if attribute == "speaker":
        return True
    kinds = FACT_KINDS.get(attribute or "", ())
    return any(k in f.kinds for f in p.facts for k in kinds)


def facts_for(p: PresentationRecord, attribute: str | None, question: str, subjects: tuple[str, ...] = ()) -> list[str]:
    """Facts answering ``attribute``; for a plain 'what about X' the fact the wording points at.

    ``subjects`` are the names the question uses (topics, organizations, municipalities). One that the
    summary itself names (「AIスタッフ」) is what the whole presentation is about and occurs all over its
    facts, so only the rest of the wording (「コストを抑える」) says which fact is meant; one the summary
    does not name (「マニュアル」 for 墨田区) points at a fact.
    """
    kinds = FACT_KINDS.get(attribute or "")
    ignore = _name_grams(p).union(*(content_bigrams(s) for s in subjects if s and s in p.summary))
    if kinds and attribute != "content":
        matching = [f.text for f in p.facts if any(k in f.kinds for k in kinds)]
        if len(matching) > 2:
            matching = sorted(matching, key=lambda t: -overlap(question, t, ignore))[:2]
        if matching:
            return matching
    # A plain "what about X": the fact the wording points at, unless the summary covers it as well.
    ranked = sorted(p.facts, key=lambda f: -overlap(question, f.text, ignore))
    if ranked:
        best = overlap(question, ranked[0].text, ignore)
        if best >= MIN_FACT_MATCH and best > overlap(question, p.summary, ignore):
            return [ranked[0].text]
    return []


def presentation_reply(query: Query, assembly: AssemblyRecord, p: PresentationRecord) -> Reply:
    attribute = query.attribute(PRESENTATION_PRIORITY)
    context = query.context.with_(
        subject_type="presentation", assembly_number=p.assembly_number, presentation_id=p.key, pending=None
    )
    if attribute == "other":
        others = [o for o in assembly.presentations if o.key != p.key]
        return Reply(render.other_presentations(assembly, others), context, source=assembly.source)
    subjects = tuple(query.values("topic")) + tuple(query.values("organization")) + tuple(query.values("municipality"))
    facts = facts_for(p, attribute, query.text, subjects) if attribute not in ("speaker", "reactions") else []
    if attribute in ASSEMBLY_LEVEL and not facts:
        text = render.presentation_at_assembly(p, assembly)
    else:
        text = render.presentation_answer(p, attribute, facts)
    return Reply(text, context, source=p.source)


def which_one(query: Query, candidates: list[PresentationRecord]) -> Reply:
    lines = ["該当する発表が複数あります。どの発表についてお調べしますか。"]
    lines += [f"・{p.presenter_label}「{p.title}」（第{p.assembly_number}回総会）" for p in candidates]
    buttons = tuple(
        {"title": f"{p.presenter_label}の発表", "payload": f"{p.presenter_label}の発表について教えて"} for p in candidates
    )
    return Reply("\n".join(lines), query.context, buttons=buttons, answered=False)
