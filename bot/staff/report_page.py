"""The report page (/report): the figures and charts of `madoguchi report` (bot.report), for viewers and
editors, filtered by period and channel.

Each group of unanswered or 👎 questions opens (a ``<details>`` element: no script) to its wordings, why
they went unanswered, and, for editors, 「FAQに追加」: a link to the data page's FAQ entry form,
``/data/faq/new?question=…&category=…&lg_code=…``, prefilled with the group's most frequent wording, the
分類 of the nearest FAQ entry (the look-up's ranking) and the municipality its questions were asked
about (when they name one). Charts are SVG drawn on the server (bot.report.chart_svg); the page needs
nothing but the desk's own CSS, as its Content-Security-Policy demands.

The tracker store is MADOGUCHI_TRACKER_DB_URL (default var/tracker.sqlite3), as for the command.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from markupsafe import Markup
from sanic import Blueprint
from sanic.request import Request

from bot import report
from bot.search import index as search_index
from bot.staff.views import render, requires

bp = Blueprint("staff_report")
TOP_GROUPS = 20
WORDINGS_SHOWN = 10
NO_CONVERSATIONS = "まだ会話の記録がありません。利用者が質問すると、ここに集計が表示されます。"
FAQ_FORM = "/data/faq/new"


@dataclass(frozen=True)
class GroupView:
    number: int
    example: str
    count: int
    bad: int
    causes: list[tuple[str, int]]  # (label, questions)
    wordings: list[tuple[str, int]]
    more_wordings: int
    category: str
    lg_code: str
    faq_url: str


@dataclass(frozen=True)
class ReportView:
    since: str
    until: str
    channel: str
    error: str = ""
    notice: str = ""
    summary: tuple = ()
    causes: tuple = ()  # (code, label, questions)
    charts: tuple = ()  # (title, Markup SVG)
    groups: tuple = ()


def faq_link(question: str, category: str = "", lg_code: str = "") -> str:
    """The data page's prefilled FAQ entry form (the URL contract of /data/faq/new)."""
    return FAQ_FORM + "?" + urlencode({"question": question, "category": category, "lg_code": lg_code})


def _category(question: str, url: str | None) -> str:
    """The 分類 of the FAQ entry nearest to ``question`` (the look-up's ranking), or ""."""
    hits = [h for h in search_index.search(question, limit=5, url=url) if h.kind == "faq"]
    return hits[0].category if hits else ""


def build_view(since: str, until: str, channel: str, db_url: str | None) -> tuple[int, ReportView]:
    """(HTTP status, the page's content); blocking (tracker store, database, Sudachi)."""
    form = ReportView(since=since[:40], until=until[:40], channel=channel[:40])
    try:
        start, end = report.parse_period(since, until)
        wanted = report.check_channel(channel)
    except report.BadFilter as exc:
        return 400, replace(form, error=str(exc))
    try:
        built = report.build(None, db_url, since=start, until=end, channel=wanted, top=TOP_GROUPS)
    except report.NoTrackerStore:
        return 200, replace(form, notice=NO_CONVERSATIONS)
    groups = []
    for number, g in enumerate(built.groups, 1):
        category = _category(g.example, db_url)
        wordings = g.wordings.most_common()
        groups.append(GroupView(
            number=number, example=g.example, count=g.count, bad=g.bad,
            causes=[(report.CAUSES[c], g.causes[c]) for c in report.CAUSES if g.causes[c]],
            wordings=wordings[:WORDINGS_SHOWN], more_wordings=max(0, len(wordings) - WORDINGS_SHOWN),
            category=category, lg_code=g.lg_code, faq_url=faq_link(g.example, category, g.lg_code),
        ))
    return 200, replace(
        form, summary=tuple(report.summary_rows(built)),
        causes=tuple((c, label, built.causes[c]) for c, label in report.CAUSES.items()),
        charts=tuple((title, Markup(svg)) for title, svg in report.charts(built)),  # escaped by chart_svg
        groups=tuple(groups),
    )


@bp.get("/report")
@requires()
async def report_page(request: Request):
    args = request.args
    status, view = await request.app.ctx.in_thread(
        build_view, args.get("since", ""), args.get("until", ""), args.get("channel", ""), request.app.ctx.db_url)
    return render(request, "report.html", status=status, view=view, channels=report.CHANNEL_LABELS,
                  today=dt.date.today().isoformat(), active="report")
