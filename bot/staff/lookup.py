"""The look-up page's content: the same ranking as /webhooks/faq_search (bot.search), a municipality
filter resolved against the national master (bot.kb.municipalities), matched words marked, and each
FAQ entry's 最終確認日 flagged when it is more than a year old.

Everything here is blocking (database, Sudachi): the server runs it on a worker thread.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from markupsafe import Markup, escape
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.kb import models as m
from bot.kb.db import open_session
from bot.kb.municipalities import Municipality, finder
from bot.search import analyzer as search_analyzer
from bot.search import index as search_index

MAX_QUERY_CHARS = 1000  # as /webhooks/faq_search
MAX_FILTER_CHARS = 100
RESULTS = 10
JST = dt.timezone(dt.timedelta(hours=9), "JST")  # Japan keeps no summer time


@dataclass(frozen=True)
class Result:
    rank: int
    kind: str  # "FAQ" | "発表"
    title: Markup
    answer: Markup
    answer_text: str  # what the copy button copies
    department: str
    phone: str
    url: str
    url_is_link: bool
    checked_on: str  # 2024年4月1日, or ""
    stale: bool  # 最終確認日 more than a year ago
    source: str


@dataclass
class Lookup:
    query: str = ""
    place: str = ""  # the filter field as typed
    municipality: Municipality | None = None
    candidates: list[Municipality] = field(default_factory=list)  # the filter names several
    problem: str = ""  # what the page says instead of results
    results: list[Result] = field(default_factory=list)
    searched: bool = False


def highlight(text: str, query: str) -> Markup:
    """``text`` escaped, with the words the query matched in <mark>."""
    spans = search_analyzer.matched_spans(text, query) if query else []
    out, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        out.append(escape(text[last:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        last = end
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _date_label(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def is_stale(iso: str, today: dt.date) -> bool:
    """More than one year before ``today`` (29 February counts from 28 February)."""
    if not iso:
        return False
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:
        year_ago = today.replace(year=today.year - 1, day=28)
    return dt.date.fromisoformat(iso) < year_ago


def _result(rank: int, hit: search_index.Hit, query: str, today: dt.date) -> Result:
    url = hit.url or ""
    return Result(
        rank=rank, kind="FAQ" if hit.kind == search_index.KIND_FAQ else "発表",
        title=highlight(hit.title, query), answer=highlight(hit.text, query), answer_text=hit.text,
        department=hit.department, phone=hit.phone, url=url,
        url_is_link=url.startswith(("https://", "http://")),
        checked_on=_date_label(hit.checked_on) if hit.checked_on else "", stale=is_stale(hit.checked_on, today),
        source=hit.source,
    )


def suggestions(text: str, url: str | None = None, limit: int = 20) -> list[Municipality]:
    with open_session(url) as session:
        return finder(session).suggest(text[:MAX_FILTER_CHARS], limit=limit)


NO_KNOWLEDGE_BASE = ("知識ベースがまだ作られていません。管理者が madoguchi kb build を実行してから、"
                     "もう一度お試しください。")


def run(query: str, place: str, url: str | None = None, today: dt.date | None = None) -> Lookup:
    try:
        return _run(query, place, url, today)
    except (OperationalError, ProgrammingError):  # no knowledge-base tables: never built
        with open_session(url) as session:
            built = inspect(session.get_bind()).has_table(m.FaqEntry.__tablename__)
        if built:
            raise
        return Lookup(query=query[:MAX_QUERY_CHARS], place=place[:MAX_FILTER_CHARS], problem=NO_KNOWLEDGE_BASE)


def _run(query: str, place: str, url: str | None, today: dt.date | None) -> Lookup:
    page = Lookup(query=query[:MAX_QUERY_CHARS], place=place[:MAX_FILTER_CHARS])
    if len(query) > MAX_QUERY_CHARS:
        page.problem = f"検索語が長すぎます（{MAX_QUERY_CHARS}文字まで）。短くしてからお試しください。"
        return page
    lg_code = None
    if page.place.strip():
        with open_session(url) as session:
            found = finder(session).resolve(page.place)
        if not found:
            page.problem = (f"「{page.place}」に当たる地方公共団体が見つかりません。"
                            "名称、読み、ローマ字、団体コードのいずれかで入力してください。")
            return page
        if len(found) > 1:
            page.candidates = found[:30]
            page.problem = f"「{page.place}」に当たる団体が{len(found)}件あります。次から選んでください。"
            return page
        page.municipality = found[0]
        page.place = found[0].option
        lg_code = found[0].code
    if not page.query.strip():
        return page
    hits = search_index.search(page.query, lg_code=lg_code, limit=RESULTS, url=url)
    today = today or dt.datetime.now(JST).date()
    page.results = [_result(rank, hit, page.query, today) for rank, hit in enumerate(hits, start=1)]
    page.searched = True
    return page
