"""Downloads (/download/faq.csv, /download/events.csv): the current FAQ and イベント一覧 as CSV, for viewers
and editors (both may read the data; the files hold nothing a viewer cannot already look up).

The files are those of ``madoguchi kb export --format faq-csv|event-csv`` (bot.kb.faq, bot.kb.event_csv):
UTF-8 with BOM and CRLF, formula cells (= + - @ …) neutralised by bot.kb.spreadsheet. With
``?encoding=cp932`` the same cells are written in CP932 (Shift_JIS as Windows has it) without BOM; a dash
CP932 lacks (— U+2014) becomes ―, and a cell whose first character CP932 shows as a formula start is
neutralised again. A character CP932 cannot hold at all (𠮟, emoji) is never replaced silently: the
download is refused with a message naming it and its line, and UTF-8 is suggested.

Every download is written to the audit log (who, when, which file, encoding, version of the data).
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import time
from dataclasses import dataclass

from sanic import Blueprint, response
from sanic.request import Request

from bot.kb import spreadsheet
from bot.kb import staff as store
from bot.kb.db import open_session
from bot.staff.views import error_page, requires

bp = Blueprint("staff_downloads")
FILES = {"faq.csv": ("faq", "FAQ"), "events.csv": ("events", "イベント一覧")}
ENCODINGS = {"utf-8": "UTF-8（BOM付き）", "cp932": "CP932"}
CP932_TABLE = str.maketrans({"\u2014": "\u2015"})  # EM DASH → HORIZONTAL BAR (CP932's dash)
UNKNOWN_ENCODING = "文字コード「{value}」には対応していません。utf-8（BOM付き）か cp932 を指定してください。"
NOT_CP932 = ("CP932（Shift_JIS）では表せない文字があるため、CP932 では書き出せませんでした: {where}。"
             "UTF-8（BOM付き）でダウンロードしてください。")


class NotInCp932(ValueError):
    """Characters CP932 cannot hold; ``places`` are (character, line number) pairs."""

    def __init__(self, places: list[tuple[str, int]]) -> None:
        super().__init__(", ".join(f"{ch} (line {line})" for ch, line in places))
        self.places = places


@dataclass(frozen=True)
class Download:
    body: bytes
    rows: int  # data rows, without the header
    version: str


def export_text(kind: str, url: str | None) -> tuple[str, str]:
    """(the CSV text as `madoguchi kb export` writes it, the knowledge base's version)."""
    from bot.kb.event_csv import export_events
    from bot.kb.faq import export_faq_csv

    with open_session(url) as session:
        text = export_faq_csv(session) if kind == "faq" else export_events(session)
    return text, store.kb_version(url)


def to_cp932(text: str) -> bytes:
    """The exported UTF-8 CSV text (with BOM) as CP932 bytes, every cell still neutralised."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    out = io.StringIO(newline="")
    writer = spreadsheet.writer(out, lineterminator="\r\n")
    missing: list[tuple[str, int]] = []
    for number, row in enumerate(rows, 1):
        cells = []
        for cell in row:
            value = spreadsheet.restore(cell).translate(CP932_TABLE)
            try:  # what a spreadsheet will show after reading the CP932 bytes back
                value = value.encode("cp932").decode("cp932")
            except UnicodeEncodeError:
                missing += [(ch, number) for ch in dict.fromkeys(value) if not _in_cp932(ch)]
            cells.append(value)
        writer.writerow(cells)
    if missing:
        raise NotInCp932(missing)
    return out.getvalue().encode("cp932")


def _in_cp932(ch: str) -> bool:
    try:
        ch.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


def make_download(kind: str, encoding: str, url: str | None) -> Download:
    text, version = export_text(kind, url)
    rows = max(0, len(list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))) - 1)
    body = to_cp932(text) if encoding == "cp932" else text.encode("utf-8")
    return Download(body, rows, version)


@bp.get("/download/<name:str>")
@requires()
async def download(request: Request, name: str):
    if name not in FILES:
        return error_page(request, 404, "お探しのファイルはありません。"
                          "FAQ（faq.csv）かイベント一覧（events.csv）を選んでください。")
    kind, label = FILES[name]
    encoding = (request.args.get("encoding") or "utf-8").strip().lower().replace("_", "-")
    encoding = {"utf8": "utf-8", "shift-jis": "cp932", "sjis": "cp932", "windows-31j": "cp932"}.get(encoding, encoding)
    if encoding not in ENCODINGS:
        return error_page(request, 400, UNKNOWN_ENCODING.format(value=encoding[:20]))
    in_thread = request.app.ctx.in_thread
    try:
        made = await in_thread(make_download, kind, encoding, request.app.ctx.db_url)
    except NotInCp932 as exc:
        where = "、".join(f"「{ch}」（{line}行目）" for ch, line in exc.places[:10])
        if len(exc.places) > 10:
            where += f" ほか{len(exc.places) - 10}か所"
        return error_page(request, 422, NOT_CP932.format(where=where))
    account = request.ctx.current.account
    detail = f"{label}（{name}、{ENCODINGS[encoding]}、{made.rows}件）をダウンロード"
    await in_thread(functools.partial(store.audit, "download", account=account.name, detail=detail,
                                      address=request.ip or "", now=time.time(), url=request.app.ctx.db_url))
    stamp = dt.date.today().strftime("%Y%m%d")
    filename = f"madoguchi_{kind}_{stamp}{'_cp932' if encoding == 'cp932' else ''}.csv"
    charset = "Windows-31J" if encoding == "cp932" else "utf-8"
    return response.raw(made.body, content_type=f"text/csv; charset={charset}", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Madoguchi-KB-Version": made.version[:12],
    })
