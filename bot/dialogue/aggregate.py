"""Questions over several records: how many, which ones, whether, the n-th, how long, the same or not.

A question becomes a :class:`RecordsQuery` (the assembly, a filter over its presentations, the
operation and the attribute asked), which :func:`run` executes over the records and renders. The kind
of each presenter (民間企業, 国の機関, 都道府県, 市区町村) comes from the data (organizations.csv 種別 and
the local-government master); the topic filter matches the presentations' own words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.dialogue import render
from bot.dialogue.query import Query
from bot.kb.records import AssemblyRecord, PresentationRecord

# Operations in the order they win when a question carries several cues (「何件ありましたか」: count).
OPERATIONS = ("order", "duration", "compare", "count", "choose", "list", "exists", "which")
KIND_LABELS = {"民間企業": "企業", "国の機関": "国の機関", "都道府県": "都道府県", "市区町村": "市区町村",
               "自治体": "自治体",
               "特別区": "特別区"}
_LOCAL = ("都道府県", "市区町村")
_ABOUT_PRESENTATIONS = re.compile(r"発表|報告(?!書)|講演|登壇|プレゼン|事例")


@dataclass(frozen=True)
class RecordsQuery:
    operation: str  # count | list | exists | order | duration | compare
    argument: str = ""  # order: the position ("3", "last")
    kinds: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # organizations and municipalities named as presenters


def operation_of(query: Query) -> tuple[str, str] | None:
    """The operation the question asks for, with its argument; None for a single value."""
    found: dict[str, str] = {}
    for value in query.values("operation"):
        name, _, argument = value.partition(":")
        found.setdefault(name, argument)
    for name in OPERATIONS:
        if name in found:
            return name, found[name]
    return None


def about_presentations(query: Query) -> bool:
    return bool(_ABOUT_PRESENTATIONS.search(query.text)) or bool(query.values("presenter_kind"))


def matches_kind(p: PresentationRecord, kind: str) -> bool:
    if kind == "自治体":
        return any(k in _LOCAL for k in p.presenter_kinds)
    if kind == "特別区":  # the wards of Tokyo: 東京都 (13) municipalities named …区
        return any(k == "市区町村" and c.startswith("13") and n.endswith("区")
                   for n, k, c in zip(p.presenters, p.presenter_kinds, p.presenter_codes))
    return kind in p.presenter_kinds


def place_codes(p: PresentationRecord) -> list[str]:
    """団体コード of every local government a presentation involves: its presenters, then the others."""
    return list(dict.fromkeys([c for c in p.presenter_codes if c] + [code for _, _, code in p.municipalities]))


def in_region(p: PresentationRecord, pref_code: str) -> bool:
    return any(code[:2] == pref_code for code in place_codes(p))


def matches_topic(p: PresentationRecord, topic: str) -> bool:
    text = p.title + p.summary + "".join(p.topics) + "".join(f.text for f in p.facts)
    return topic in p.topics or topic in text


def select(pool: list[PresentationRecord], kinds: tuple[str, ...], topics: tuple[str, ...]) -> list[PresentationRecord]:
    """Presentations of the kinds asked, about the topics asked (those matching the most topics)."""
    out = [p for p in pool if not kinds or any(matches_kind(p, k) for k in kinds)]
    if not topics:
        return out
    scored = [(sum(matches_topic(p, t) for t in topics), p) for p in out]
    best = max((n for n, _ in scored), default=0)
    return [p for n, p in scored if n and n == best]


def describe(kinds: tuple[str, ...], topics: tuple[str, ...]) -> str:
    """「企業による」「AIに関する」: the filter in words."""
    parts = []
    if topics:
        parts.append("・".join(topics) + "に関する")
    if kinds:
        parts.append("・".join(KIND_LABELS.get(k, k) for k in kinds) + "による")
    return "".join(parts)


def line(p: PresentationRecord) -> str:
    return f"・{p.presenter_label}「{p.title}」"


def listing(assembly: AssemblyRecord, chosen: list[PresentationRecord], what: str, count_first: bool) -> str:
    label = render.assembly_label(assembly)
    if not chosen:
        return f"{label}の記録には、{what}発表はありません。"
    head = (f"{label}の{what}発表は{len(chosen)}件です。" if count_first
            else f"{label}の{what}発表は次のとおりです（{len(chosen)}件）。")
    return "\n".join([head] + [line(p) for p in chosen])


def by_order(assembly: AssemblyRecord, argument: str,
             anchor: PresentationRecord | None = None) -> PresentationRecord | None:
    """The n-th presentation (``argument``: 1, 2 …, last), or the one after / before ``anchor``."""
    ordered = sorted(assembly.presentations, key=lambda p: p.order)
    if not ordered:
        return None
    if argument == "last":
        return ordered[-1]
    if argument in ("next", "previous") and anchor is not None and anchor in ordered:
        i = ordered.index(anchor) + (1 if argument == "next" else -1)
        return ordered[i] if 0 <= i < len(ordered) else None
    try:
        n = int(argument)
    except ValueError:
        return None
    return ordered[n - 1] if 1 <= n <= len(ordered) else None


def duration_text(assembly: AssemblyRecord) -> str | None:
    if not (assembly.start_time and assembly.end_time):
        return None
    minutes = (assembly.end_time.hour * 60 + assembly.end_time.minute) - (
        assembly.start_time.hour * 60 + assembly.start_time.minute
    )
    if minutes <= 0 or assembly.end_date != assembly.start_date:
        return None
    hours, rest = divmod(minutes, 60)
    length = f"{hours}時間" + (f"{rest}分" if rest else "")
    return (
        f"{render.assembly_label(assembly)}は{render.hours_text(assembly)}開催され、"
        f"時間は{length}でした。"
    )


def position_text(assembly: AssemblyRecord, p: PresentationRecord) -> str:
    ordered = sorted(assembly.presentations, key=lambda x: x.order)
    n = ordered.index(p) + 1
    note = "（最初）" if n == 1 else "（最後）" if n == len(ordered) else ""
    return (f"{p.presenter_label}の発表「{p.title}」は、{render.assembly_label(assembly)}の"
            f"{len(ordered)}件の発表のうち{n}番目{note}でした。")


def precedence_text(assembly: AssemblyRecord, first: PresentationRecord, second: PresentationRecord,
                    argument: str) -> str:
    """「AはBより先（argument=before）・後（after）でしたか」: yes or no first, then both positions."""
    ordered = sorted(assembly.presentations, key=lambda x: x.order)
    a, b = ordered.index(first) + 1, ordered.index(second) + 1
    yes = (a < b) == (argument == "before")
    relation = "先" if a < b else "後"
    return (f"{'はい' if yes else 'いいえ'}、{first.presenter_label}の発表（{a}番目）は"
            f"{second.presenter_label}の発表（{b}番目）より{relation}でした"
            f"（{render.assembly_label(assembly)}の発表{len(ordered)}件のうち）。")


def edge_text(assembly: AssemblyRecord, anchor: PresentationRecord, argument: str) -> str:
    where = "後" if argument == "next" else "前"
    return f"{anchor.presenter_label}の発表の{where}に、{render.assembly_label(assembly)}の発表はありません。"
