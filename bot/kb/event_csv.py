"""Assemblies in the columns of the 自治体標準オープンデータセット「イベント一覧」.

Import (``madoguchi kb load events.csv``) upserts by 回: the standard's ``NO`` column carries the
assembly number (第N回). Columns the dialogue uses map onto :class:`~bot.kb.models.Assembly`; the
others (料金, 定員, 緯度 …) are kept verbatim as event fields, so export → load → export gives the
same file. Presentations and participation figures are not part of this standard: they come from
the companion report format (``data/kb/assemblies/NNN.yml``, see README).
"""
from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.kb import models as m
from bot.kb import spreadsheet
from bot.kb.codes import code_problem
from bot.kb.dates import DateError, parse_date, parse_time
from bot.kb.files import LoadError, Problem, limit_problems, read_csv

EVENT_COLUMNS = [
    "都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "イベント名", "イベント名_カナ",
    "イベント名_英語",
    "開始日", "終了日", "開始時間", "終了時間", "開始日時特記事項", "説明", "料金(基本)", "料金(詳細)", "連絡先名称",
    "連絡先電話番号", "連絡先内線番号", "主催者", "場所名称", "住所", "方書", "緯度", "経度", "アクセス方法",
    "駐車場情報",
    "定員", "参加申込終了日", "参加申込終了時間", "参加申込方法", "URL", "備考",
]
REQUIRED = ["NO", "イベント名", "開始日", "場所名称"]
# Standard column → Assembly attribute (the rest are event fields).
MAPPED = {
    "イベント名": "name", "イベント名_カナ": "name_kana", "説明": "description", "主催者": "organizer",
    "場所名称": "venue", "住所": "address", "URL": "url",
}
DATE_TIME = {"開始日", "終了日", "開始時間", "終了時間"}
EXTRA = [c for c in EVENT_COLUMNS if c not in MAPPED and c not in DATE_TIME and c != "NO"]
MAX_NUMBER = 2**31 - 1  # an INTEGER column (PostgreSQL refuses more; SQLite more than 2**63 - 1)


def read_events(path: Path) -> list[dict]:
    """Validated rows as {"number", "attrs", "fields"}; LoadError lists every problem."""
    problems: list[Problem] = []
    out: list[dict] = []
    seen: dict[int, int] = {}
    for row_no, row in read_csv(path, REQUIRED, tuple(c for c in EVENT_COLUMNS if c not in REQUIRED)):
        def problem(column: str, reason: str, row_no: int = row_no) -> None:
            problems.append(Problem(str(path), row_no, column, reason))

        for column in REQUIRED:
            if not row.get(column):
                problem(column, "必須の値が空です")
        try:
            number = int(row.get("NO") or "")
            if not 1 <= number <= MAX_NUMBER:
                raise ValueError
        except ValueError:
            problem("NO",
                    f"「{(row.get('NO') or '')[:50]}」は総会の回（1以上 {MAX_NUMBER:,} 以下の整数）ではありません")
            continue
        if number in seen:
            problem("NO", f"第{number}回が {seen[number]} 行目と重複しています")
            continue
        seen[number] = row_no
        code = row.get("都道府県コード又は市区町村コード", "")
        reason = code_problem(code) if code else None
        if reason:
            problem("都道府県コード又は市区町村コード", reason)
        attrs: dict = {MAPPED[c]: row.get(c, "") for c in MAPPED}
        dates = {}
        for column in ("開始日", "終了日"):
            if row.get(column):
                try:
                    dates[column] = parse_date(row[column])
                except DateError as exc:
                    problem(column, str(exc))
        attrs["start_date"] = dates.get("開始日")
        attrs["end_date"] = dates.get("終了日") or attrs["start_date"]
        for column, key in (("開始時間", "start_time"), ("終了時間", "end_time")):
            try:
                attrs[key] = parse_time(row[column]) if row.get(column) else None
            except DateError as exc:
                problem(column, str(exc))
        if attrs["start_date"] and attrs["end_date"] and attrs["end_date"] < attrs["start_date"]:
            problem("終了日", "終了日が開始日より前です")
        fields = {c: row[c] for c in EXTRA if row.get(c)}
        out.append({"number": number, "attrs": attrs, "fields": fields, "row": row_no})
    if problems:
        raise LoadError(limit_problems(str(path), problems))
    return out


def upsert_events(session: Session, rows: list[dict], source: str) -> int:
    """Create or update assemblies by number; presentations and figures of existing ones are kept."""
    numbers = [row["number"] for row in rows]
    existing: dict[int, m.Assembly] = {}
    for start in range(0, len(numbers), 500):  # one query per 500 rows, not one per row
        chunk = select(m.Assembly).where(m.Assembly.number.in_(numbers[start : start + 500]))
        existing.update((a.number, a) for a in session.scalars(chunk.options(selectinload(m.Assembly.event_fields))))
    for row in rows:
        assembly = existing.get(row["number"])
        if assembly is None:
            assembly = m.Assembly(number=row["number"], source=source)
            session.add(assembly)
        for key, value in row["attrs"].items():
            setattr(assembly, key, value)
        current = {f.column: f for f in assembly.event_fields}
        for column, value in row["fields"].items():
            if column in current:
                current[column].value = value
            else:
                assembly.event_fields.append(m.AssemblyEventField(column=column, value=value))
        for column, field in current.items():
            if column not in row["fields"]:
                assembly.event_fields.remove(field)
    session.flush()
    return len(rows)


def export_events(session: Session) -> str:
    """The assemblies as an イベント一覧 CSV (UTF-8 with BOM, CRLF: opens cleanly in Excel).

    Formula cells are neutralised with a leading ``'`` that the reader removes; plain numbers such
    as a negative 経度 are written as they are (:mod:`bot.kb.spreadsheet`).
    """
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer, lineterminator="\r\n")
    writer.writerow(EVENT_COLUMNS)
    rows = session.scalars(
        select(m.Assembly).order_by(m.Assembly.number).options(selectinload(m.Assembly.event_fields)))
    for a in rows:
        fields = {f.column: f.value for f in a.event_fields}
        values = {c: getattr(a, attr) or "" for c, attr in MAPPED.items()}
        values.update(
            {
                "NO": str(a.number),
                "開始日": a.start_date.isoformat() if a.start_date else "",
                "終了日": a.end_date.isoformat() if a.end_date else "",
                "開始時間": a.start_time.strftime("%H:%M") if a.start_time else "",
                "終了時間": a.end_time.strftime("%H:%M") if a.end_time else "",
            }
        )
        values.update(fields)
        writer.writerow([values.get(c, "") for c in EVENT_COLUMNS])
    return "\ufeff" + buffer.getvalue()
