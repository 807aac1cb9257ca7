"""Finding the presentation a question is about and answering from its facts."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import AbstractSet

from bot.dialogue import details, render
from bot.dialogue.matching import GENERIC_WORDS, content_bigrams, overlap
from bot.dialogue.query import ASSEMBLY_LEVEL, FACT_KINDS, PRESENTATION_PRIORITY, Query
from bot.dialogue.reply import Reply
from bot.kb.records import AssemblyRecord, PresentationRecord
from bot.nlp import meaning
from bot.nlp.focus import sentences

# Attributes whose value is a time or a number: a fact of another kind never stands in for it.
STRICT_KINDS = frozenset({"date", "people", "lg_count"})
MIN_FACT_MATCH = 2  # content bigrams and words a question must share with a fact to pick that fact
# Words of the question itself (「発表の内容を教えて」): they say nothing about which fact is meant.
QUESTION_WORDS = ("発表", "内容", "報告", "説明", "話", "教える", "知る", "聞く", "取組", "取り組み", "総会", "研究会",
                  "具体", "詳しい", "概要", "テーマ", "紹介", "事例", "どんな")
GENERIC_FORMS = frozenset(f for w in GENERIC_WORDS + QUESTION_WORDS for f in meaning.forms(w))
# 「…って説明してた？」: words that ask about a talk point at none of its facts
QUESTION_GRAMS = frozenset().union(*(content_bigrams(w) for w in ("発表", "報告", "説明", "内容", "概要", "テーマ")))


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
            if form and re.search(re.escape(form) + r"(?:さん|様|社)?(?:の|は|が)[^。?!]{0,10}?(?:発表|報告|講演)",
                                  text):
                out.add(name)
    return out


def _same_place(name: str, mention: str) -> bool:
    return name == mention or mention.endswith(name)


def find(pool: list[PresentationRecord], query: Query, orgs: list[str]) -> Match:
    """Presentations best matching the names and topics of ``query`` (several when it cannot tell)."""
    munis = query.values("municipality")
    topics = query.values("topic")
    names = orgs + munis
    kinds = query.values("presenter_kind")
    if kinds and not names:  # 「国は…」: the presenter of that kind, when there is one
        of_kind = [p for p in pool if any(k in p.presenter_kinds for k in kinds)]
        if len(of_kind) == 1:
            return Match(presentations=of_kind)
    if not (names or topics):
        return Match()
    as_presenter = _asked_as_presenter(query.text, names)
    scored = []
    for p in pool:
        name_score = _name_score(p, orgs, munis, as_presenter)
        if names and not name_score:
            continue
        topic_score = sum(1 for t in topics if t in p.topics or t in p.title + p.summary)
        if not (name_score or topic_score):
            continue
        scored.append(((name_score, topic_score), p))
    if not scored:
        return Match(unmatched_names=names)
    best = max(s for s, _ in scored)
    tied = [p for s, p in scored if s == best]
    kinds = query.values("presenter_kind")
    if len(tied) > 1 and kinds:  # 「国は何を紹介していく」: the presenter of that kind
        of_kind = [p for p in tied if any(k in p.presenter_kinds for k in kinds)]
        tied = of_kind or tied
    if len(tied) > 1:  # the wording may still tell them apart (「委託化にあたって重要なこと」)
        tied = best_by_text(tied, query.text, ignore=content_bigrams("".join(topics))) or tied
    return Match(presentations=tied)


def best_by_text(candidates: list[PresentationRecord], question: str,
                 ignore: AbstractSet[str] = frozenset()) -> list[PresentationRecord]:
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


def _name_words(p: PresentationRecord) -> frozenset[str]:
    return meaning.forms("、".join(p.presenters)) | GENERIC_FORMS


def score(question: str, text: str, ignore: set[str], ignore_words: frozenset[str]) -> int:
    """Shared content bigrams, plus content words shared in meaning (normalized form or a Sudachi
    synonym: 「基づいて」~「基づき」, 「費用」~「コスト」)."""
    return overlap(question, text, ignore) + meaning.shared(question, text, ignore_words)


def _text_score(p: PresentationRecord, question: str, ignore: AbstractSet[str] = frozenset(),
                ignore_words: frozenset[str] = frozenset()) -> int:
    grams, words = _name_grams(p) | ignore, _name_words(p) | ignore_words
    return max((score(question, f.text, grams, words) for f in p.facts), default=0)


def has_answer(p: PresentationRecord, attribute: str | None) -> bool:
    """Can this presentation itself answer ``attribute`` (not just point to its assembly)?"""
    if attribute == "reactions":
        return bool(p.reactions or p.audience_notes)
    if attribute == "speaker":
        return True
    kinds = FACT_KINDS.get(attribute or "", ())
    return any(k in f.kinds for f in p.facts for k in kinds)


def facts_for(p: PresentationRecord, attribute: str | None, question: str, subjects: tuple[str, ...] = (),
              presenter: tuple[str, ...] = (), said: str = "") -> list[str]:
    """Facts answering ``attribute``; for a plain 'what about X' the fact the wording points at.

    ``subjects`` are the names the question uses (topics, organizations, municipalities, and the words
    that named a topic: 「案内サービス」 for 総合案内). One that the
    summary itself names (「AIスタッフ」) is what the whole presentation is about and occurs all over its
    facts, so only the rest of the wording (「コストを抑える」) says which fact is meant; one the summary
    does not name (「マニュアル」 for 墨田区) points at a fact. ``presenter``: the words that named the
    presenter (「三菱総研」), which never point at a fact. ``said``: the guide's last reply, which
    「ほかに」 asks beyond.
    """
    kinds = FACT_KINDS.get(attribute or "")
    product = details.product_name(p)  # 「案内サービス」 is part of the name of what the talk is about
    known = [s for s in subjects if s and s in p.summary] + list(presenter) + ([product] if product else [])
    ignore = _name_grams(p).union(QUESTION_GRAMS, *(content_bigrams(s) for s in known))
    words = _name_words(p).union(*(meaning.forms(s) for s in known))

    def fit(text: str, asked: str = question) -> int:  # inside one talk a shared kanji counts too (準備~整備)
        return score(asked, text, ignore, words) + meaning.kin(asked, text, words)

    asking = (sentences(question) or [question])[-1]  # without the background a mail gives

    if kinds and attribute in STRICT_KINDS:  # 「何人」「いつ」: only a fact of that kind answers
        return [f.text for f in p.facts if any(k in f.kinds for k in kinds)][:2]
    # 「ほかに何を」: something the last reply (else the summary) did not already say
    besides = ([f for f in p.facts if not _said_in(f.text, said or p.summary)]
               if _BESIDES_RE.search(question) else [])
    beyond = max(besides, key=lambda f: fit(f.text), default=None)
    if beyond is not None and fit(beyond.text) >= MIN_FACT_MATCH:
        return [beyond.text]
    if kinds and attribute != "content":
        matching = [f.text for f in p.facts if any(k in f.kinds for k in kinds)]
        if len(matching) > 2:
            matching = sorted(matching, key=lambda t: -fit(t))[:2]
        best = max(p.facts, key=lambda f: fit(f.text, asking), default=None)
        # the asking sentence points clearly at another fact (「どのような方針に基づいて」 is no plan)
        if attribute in ("plan", "result", "partners", "requirement") and best is not None and \
                best.text not in matching and \
                fit(best.text, asking) >= MIN_FACT_MATCH + 1 and \
                fit(best.text, asking) > max((fit(t, asking) for t in matching), default=0) + 1:
            return [best.text]
        if matching:
            return matching
    # A plain "what about X": the fact the wording points at, unless the summary covers it as well.
    ranked = sorted(p.facts, key=lambda f: -fit(f.text))
    if ranked:
        top = fit(ranked[0].text)
        if top >= MIN_FACT_MATCH and top > fit(p.summary):
            return [ranked[0].text]
    return []


# 「ほかに」「あわせて手を入れた」, and 「あわせて、」 opening a mail's next ask (「併せて教えて」 is only polite)
_BESIDES_RE = re.compile(r"ほかに|他に|以外に|以外で|"
                         r"(?:あわせて|併せて)(?!(?:ご|お)?(?:教え|おしえ|教示|伺|聞|知ら|確認))")


def _said_in(fact: str, said: str) -> bool:
    """Does ``said`` already say (nearly) all that ``fact`` says?"""
    grams = content_bigrams(fact)
    return bool(grams) and len(grams & content_bigrams(said)) >= 0.8 * len(grams)


# Details asked about a presentation, before the generic cues: 「発表資料はどこで」 asks for the slides.
DETAIL_FIRST = (
    "demo", "company", "department", "fullname", "speaker_name", "title", "affiliation", "product", "materials",
    "phone", "email", "url", "budget",
    "fee", "period", "capacity", "application", "access", "mc", "participants", "social", "representative", "reception",
    "ratio",
    "founded", "members", "population", "secretariat",
)
PERSON_DETAILS = ("fullname", "speaker_name", "title")
# 「この発表はいつ」: the talk itself is what 「いつ」「どこ」 ask about (else an activity it describes).
_ABOUT_THE_TALK = re.compile(r"(?:発表|講演|報告|説明|登壇|プレゼン)(?:は|が|って|日|した|された|の日|を行った|の会場|"
                             r"の日時)|総会|会場")
_ABOUT_AN_ORGANIZATION = re.compile(r"(?:会社|企業|本社|事業者|社屋|団体|機関)(?:の|は|って)?(?:所在地|住所|場所|"
                                    r"連絡先|どこに)")
# A partner written as a kind (銀行, 企業) rather than a name (…株式会社): the record cannot say which.
_NAMED_PARTNER_RE = re.compile(r"株式会社|有限会社|法人|機構|協会|財団|組合|大学|省|庁|府$|県$|市$|区$|町$|村$")
_WHICH_ONES_RE = re.compile(r"どこの|どちらの|名前|名称|具体的|どの|何という|なんという|社名|行名")


def _category_asked(p: PresentationRecord, text: str) -> str | None:
    for partner in p.partners:
        if len(partner) <= 6 and not _NAMED_PARTNER_RE.search(partner) and partner in text:
            after = text[text.index(partner):]
            before = text[:text.index(partner)]
            if _WHICH_ONES_RE.search(after[:16]) or re.search(r"(?:どこの|どちらの|どの|何という)$", before):
                return partner
    return None


_GROUP_RE = re.compile(r"(\d+)\s*(以上)?の?(自治体|団体|市町村|市区町村|市|社|機関|事業者)")
_WHICH_OF_GROUP_RE = re.compile(r"どこどこ|一覧|リスト|名前|名称|内訳|全部|すべて|全て|どちら|具体的に|"
                                r"どこ(?:の|が|か|です|でしょう|[?？])")


def asks_members_of_a_group(text: str) -> bool:
    """「17の自治体ってどこどこ」: which members of a counted group (answered by a presentation's record)."""
    return bool(_GROUP_RE.search(text) and _WHICH_OF_GROUP_RE.search(text))


def counted_group_asked(p: PresentationRecord, text: str) -> tuple[str, str] | None:
    """(「17自治体」, the fact) when the question asks which members of a group the record only counts."""
    if not asks_members_of_a_group(text):
        return None
    for m in _GROUP_RE.finditer(text):
        number, more, unit = m.group(1), m.group(2) or "", m.group(3)
        for f in p.facts:
            found = re.search(re.escape(number) + r"\s*(以上)?の?" + re.escape(unit), f.text)
            if found and len(p.municipalities) < int(number):
                return f"{number}{more or found.group(1) or ''}の{unit}", f.text
    return None


_AMOUNT_RE = re.compile(r"いくら|金額|何円|値段|価格|料金|予算|幾ら|単価|年間|万円|億円|"
                        r"どのくらい|どれくらい|どれぐらい|かかり|かかる|かかった")


def asked_attribute(query: Query) -> str | None:
    asked = set(query.attributes)
    return next((a for a in DETAIL_FIRST if a in asked), None) or query.attribute(PRESENTATION_PRIORITY)


def asked_attributes(query: Query) -> list[str]:
    """Every detail the question asks for, the most specific first (「自治体名と協力事業者は」: two)."""
    asked = set(query.attributes)
    first = asked_attribute(query)
    rest = [a for a in PRESENTATION_PRIORITY if a in asked and a != first and a not in ("other", "content")]
    if first == "speaker" or "speaker" in rest:  # 「発表したのはどこ」: who, not where
        rest = [a for a in rest if a not in ("where", "address")]
        if first in ("where", "address"):
            first, rest = "speaker", [a for a in rest if a != "speaker"]
    return ([first] if first else []) + rest[:2]


def presentation_reply(query: Query, assembly: AssemblyRecord, p: PresentationRecord) -> Reply:
    context = query.context.with_(
        subject_type="presentation", assembly_number=p.assembly_number, presentation_id=p.key, pending=None
    )
    attributes: list[str | None] = list(asked_attributes(query)) or [None]
    if attributes[0] == "other":
        others = [o for o in assembly.presentations if o.key != p.key]
        return Reply(render.other_presentations(assembly, others), context, source=assembly.source)
    bodies: list[str] = []
    source = p.source
    for attribute in attributes:
        body, body_source = _body(query, assembly, p, attribute)
        if body not in bodies:
            bodies.append(body)
        if body_source != p.source and len(attributes) == 1:
            source = body_source
    return Reply("".join(bodies) + "\n" + render.source_line(source), context, source=source)


def _body(query: Query, assembly: AssemblyRecord, p: PresentationRecord, attribute: str | None) -> tuple[str, str]:
    """The sentences answering ``attribute`` about ``p``, and their source."""
    named = [o for o in query.values("organization") if o not in p.presenters and _mentions(p, o)]
    counted = counted_group_asked(p, query.text)
    if counted:  # 「17の自治体ってどこどこ？」: the record gives how many, not which
        group, fact = counted
        text = details.not_recorded(assembly.source, f"{p.presenter_label}の発表にある{group}", "names",
                                    f"記載されているのは「{fact}」です。")
        return text, assembly.source
    category = _category_asked(p, query.text)
    if category:  # 「連携した銀行の名前は」: the record names the kind of partner, not which ones
        text = details.not_recorded(assembly.source, f"{p.presenter_label}の連携先の{category}", "names",
                                    f"記載されているのは、連携先が{'、'.join(p.partners)}であることです。")
        return text, assembly.source
    if attribute in ("fee", "budget") and not _AMOUNT_RE.search(query.text):
        attribute = None  # 「費用を抑える工夫」 asks about the cost, not for an amount
    if attribute in PERSON_DETAILS and not p.speaker:
        attribute = "speaker_name" if attribute != "title" else attribute
    if attribute and details.presentation_missing(p, attribute):
        if attribute in PERSON_DETAILS and named:
            subject = f"{named[0]}の担当者"
        elif attribute in PERSON_DETAILS:
            subject = f"{p.presenter_label}の発表者"
        else:
            subject = f"{p.presenter_label}の発表「{p.title}」"
        nearby = details.presentation_nearby(p, attribute, query.text)
        return details.not_recorded(assembly.source, subject, attribute, nearby), assembly.source
    subjects = tuple(query.values("topic")) + tuple(query.values("organization")) + tuple(query.values("municipality"))
    subjects += tuple(s for s in query.surfaces("topic") if s not in subjects)  # the user's words for them
    presenter = tuple(s for e in ("organization", "municipality") for s, v in query.named(e) if v in p.presenters)
    facts = (facts_for(p, attribute, query.text, subjects, presenter, query.context.last_reply)
             if attribute not in ("speaker", "reactions", "affiliation") else [])
    if attribute == "secretariat" or (
            attribute in ("address", "where", "hours") and (named or _ABOUT_AN_ORGANIZATION.search(query.text))):
        who = named[0] if named else p.presenter_label  # 「その会社の所在地は」: the organization's, not the venue's
        missing = {"secretariat": "contact", "where": "address"}.get(attribute, attribute)
        return details.not_recorded(assembly.source, who, missing), assembly.source
    if attribute == "date" and not facts and not _ABOUT_THE_TALK.search(query.text):
        text = details.not_recorded(assembly.source, f"{p.presenter_label}の発表にある取組", "when_done",
                                    f"記載されているのは、この発表が{render.assembly_label(assembly)}で行われたことです。")
        return text, assembly.source
    if attribute in ("people", "lg_count") and not facts:
        label = "人数" if attribute == "people" else "自治体数"
        text = (f"{assembly.source}には、{p.presenter_label}の発表「{p.title}」について、"
                f"お尋ねの{label}の記載がありません。")
        return text, assembly.source
    if attribute in ASSEMBLY_LEVEL and attribute not in ("people", "scale") and not facts:
        if _ABOUT_THE_TALK.search(query.text) or not query.text:  # 「この発表はどこで」: the assembly's
            return render.presentation_at_assembly_body(p, assembly), assembly.source
        text = details.not_recorded(assembly.source, f"{p.presenter_label}の発表にある取組",
                                    "when_done" if attribute in ("date", "hours") else "where_done")
        return text, assembly.source
    body = render.presentation_body(p, attribute, facts)
    if attribute == "speaker" and not p.speaker:
        body += details.not_recorded(assembly.source, f"{p.presenter_label}の発表者", "speaker_name")
    return body, p.source


def which_one(query: Query, candidates: list[PresentationRecord]) -> Reply:
    lines = ["該当する発表が複数あります。どの発表についてお調べしますか。"]
    lines += [f"・{p.presenter_label}「{p.title}」（第{p.assembly_number}回総会）" for p in candidates]
    buttons = tuple(
        {"title": f"{p.presenter_label}の発表", "payload": f"{p.presenter_label}の発表について教えて"}
        for p in candidates
    )
    return Reply("\n".join(lines), query.context, buttons=buttons, answered=False, clarifies=True)
