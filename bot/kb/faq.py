"""FAQ files (``data/kb/faq/*.csv``): read and validate, upsert into the database, export.

One row is one FAQ entry for staff look-ups. Columns (header names are matched after NFKC, so
全角/半角 variants such as ``質問＿別表現`` are accepted):

=====================  ========  ===========================================================
列                      必須      内容
=====================  ========  ===========================================================
全国地方公共団体コード  列は必須  6桁（検査数字付き）。空欄は全団体共通の項目
分類                    値も必須  戸籍・住民票、子育て・保育、税 …
質問                    値も必須  代表的な質問文。団体コード＋質問 が重複してはいけません
質問_別表現             任意      言い換え。「|」区切り
回答                    値も必須
担当部署                任意
連絡先電話番号          任意      数字・ハイフン・括弧（内線可）
URL                     任意      http:// または https://
最終確認日              任意      西暦または和暦（2024-04-01, 令和6年4月1日, R6.4.1）
=====================  ========  ===========================================================

Export (``export_faq_csv``) writes exactly these columns in this order, **UTF-8 with BOM and CRLF
line ends**: Excel (the tool most municipal staff edit CSV with) opens a BOM-less UTF-8 file as
Shift_JIS and garbles it, and the reader accepts the BOM anyway. Dates are written as
``YYYY-MM-DD``. Rows are ordered shared entries first, then by 団体コード, each group in database
id order (which is file order after a load), so export → load into an empty database → export
gives the same bytes. A cell a spreadsheet would run as a formula (``=…``, ``+…``, ``-…``, ``@…``)
is written with a leading ``'``, which the reader removes again (:mod:`bot.kb.spreadsheet`).

Caveat for Excel users: opening a CSV by double-click turns ``011002`` into ``11002``; the reader
then says that the leading zero is probably missing.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import difflib
import functools
import io
import itertools
import re
import unicodedata
from pathlib import Path
from typing import BinaryIO, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kb import files, spreadsheet
from bot.kb.codes import check_digit, code_problem
from bot.kb.dates import DateError, parse_date
from bot.kb.files import LoadError, Problem, read_csv
from bot.kb.models import FaqEntry

CODE_COLUMN = "全国地方公共団体コード"
FAQ_COLUMNS = ["全国地方公共団体コード", "分類", "質問", "質問_別表現", "回答", "担当部署", "連絡先電話番号", "URL",
               "最終確認日"]
FAQ_REQUIRED = ["全国地方公共団体コード", "分類", "質問", "回答"]  # columns that must be in the header
FAQ_OPTIONAL = tuple(c for c in FAQ_COLUMNS if c not in FAQ_REQUIRED)
FAQ_REQUIRED_VALUES = ("分類", "質問", "回答")  # cells that must not be empty
ALTERNATIVES_SEPARATOR = "|"

# model attribute -> CSV column, for values and length problems
_FIELDS = {
    "category": "分類", "question": "質問", "alternatives": "質問_別表現", "answer": "回答",
    "department": "担当部署", "phone": "連絡先電話番号", "url": "URL",
}
_UPDATABLE = ("category", "alternatives", "answer", "department", "phone", "url", "checked_on", "source")
_DASHES = "\\-\u2010-\u2015\u2212\u30fc"  # hyphen, dashes, minus, ー (typed for a hyphen)
_PHONE_RE = re.compile(rf"[0-9#()\s{_DASHES}]+(\(?内線\s*[0-9{_DASHES}]+\)?)?")
_URL_RE = re.compile(r"https?://[^\s]+")


# -- reading -------------------------------------------------------------------------------------

def read_faq(path: Path, known_lg_codes: set[str], *, _seen: dict | None = None) -> list[FaqEntry]:
    """Read and validate one FAQ CSV file; raise LoadError listing every problem found.

    ``known_lg_codes`` are the codes of the local-government master; an entry's code must be one of
    them. Entries are returned unsaved (``FaqEntry`` objects without id), in file order.
    """
    path = Path(path)
    problems = _file_problems(path)
    if problems:
        raise LoadError(problems)
    try:
        rows = read_csv(path, FAQ_REQUIRED, FAQ_OPTIONAL)
    except LoadError as exc:
        records = functools.cache(lambda: _records(path))  # parsed once, and only if a problem needs it
        raise LoadError([_explain(path, p, records) for p in exc.problems]) from None

    seen: dict[tuple[str | None, str], tuple[str, int]] = {} if _seen is None else _seen
    entries: list[FaqEntry] = []
    for row_no, row in rows:
        entry = _entry(path, row_no, row, known_lg_codes, problems)
        if entry is None:
            continue
        key = (entry.lg_code, _key_text(entry.question))
        if key in seen:
            first_file, first_row = seen[key]
            where = f"{first_row}行目" if first_file == str(path) else f"{Path(first_file).name} {first_row}行目"
            scope = f"団体コード「{entry.lg_code}」" if entry.lg_code else "共通（団体コード空欄）"
            problems.append(Problem(str(path), row_no, "質問",
                                    f"{scope}の質問「{entry.question}」が {where} と重複しています"))
            continue
        seen[key] = (str(path), row_no)
        entries.append(entry)
    if problems:
        raise LoadError(files.limit_problems(str(path), problems))
    return entries


def read_faq_dir(directory: Path, known_lg_codes: set[str]) -> list[FaqEntry]:
    """Every ``*.csv`` in ``directory`` (sorted by name); duplicates across files are problems too."""
    problems: list[Problem] = []
    entries: list[FaqEntry] = []
    seen: dict = {}
    for path in sorted(Path(directory).glob("*.csv")):
        try:
            entries += read_faq(path, known_lg_codes, _seen=seen)
        except LoadError as exc:
            problems += exc.problems
    if problems:
        raise LoadError(problems)
    return entries


def _entry(path: Path, row_no: int, row: dict[str, str], known: set[str], problems: list[Problem]) -> FaqEntry | None:
    before = len(problems)

    def problem(column: str, reason: str) -> None:
        problems.append(Problem(str(path), row_no, column, reason))

    values = {attr: _cell(row.get(column, "")) for attr, column in _FIELDS.items()}
    for column in FAQ_REQUIRED_VALUES:
        if not row.get(column, "").strip():
            problem(column, "値が空です（必須の項目です）")

    lg_code = _code(row.get(CODE_COLUMN, ""), known, lambda reason: problem(CODE_COLUMN, reason))

    alternatives = []
    for alt in values["alternatives"].split(ALTERNATIVES_SEPARATOR):
        alt = alt.strip()
        if alt and alt != values["question"] and alt not in alternatives:
            alternatives.append(alt)
    values["alternatives"] = ALTERNATIVES_SEPARATOR.join(alternatives)

    phone = values["phone"]
    if phone:
        folded = unicodedata.normalize("NFKC", phone)
        if not _PHONE_RE.fullmatch(folded) or not any(ch.isdigit() for ch in folded):
            problem("連絡先電話番号",
                    f"「{phone}」は電話番号として読めません（例: 03-0000-0000、0120-000-000（内線123））")
    url = values["url"]
    if url and not _URL_RE.fullmatch(url):
        problem("URL", f"「{url}」は URL として読めません（http:// または https:// で始めてください）")

    checked_on = None
    raw_date = row.get("最終確認日", "")
    if raw_date:
        try:
            checked_on = parse_date(raw_date)
        except DateError as exc:
            problem("最終確認日", str(exc))
        else:
            if checked_on > dt.date.today():
                problem("最終確認日", f"「{raw_date}」は未来の日付です（確認した日を書いてください）")

    for attr, column in _FIELDS.items():
        length = getattr(FaqEntry.__table__.columns[attr].type, "length", None)
        if length and len(values[attr]) > length:
            problem(column, f"{length} 文字以内にしてください（{len(values[attr])} 文字）")

    if len(problems) > before:
        return None
    return FaqEntry(lg_code=lg_code, checked_on=checked_on, source=path.name, **values)


def _cell(value: str) -> str:
    """Line ends as LF. read_csv has stripped the value already; what it left at the start (a tab
    after a removed spreadsheet quote, see bot.kb.spreadsheet) is part of the value."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _key_text(question: str) -> str:
    """Duplicate check: 全角/半角 and spaces do not make a different question."""
    return "".join(unicodedata.normalize("NFKC", question).split())


def _code(raw: str, known: set[str], problem) -> str | None:
    code = unicodedata.normalize("NFKC", raw or "").strip()
    if not code:
        return None
    if re.fullmatch(r"[0-9]{5}", code):
        padded = "0" + code
        if code_problem(padded) is None and padded in known:
            problem(f"全国地方公共団体コード「{code}」は5桁です。先頭の0が落ちていませんか（正しくは {padded} か）。"
                    "Excel で開くと先頭の0が消えるので、文字列として扱ってください")
        else:
            problem(f"全国地方公共団体コード「{code}」は5桁です。"
                    f"検査数字を付けた6桁で書いてください（{code}{check_digit(code)} か）")
        return None
    reason = code_problem(code)
    if reason:
        problem(reason)
        return None
    if code not in known:
        problem(f"全国地方公共団体コード「{code}」は地方公共団体の一覧（local_governments.csv）にありません")
        return None
    return code


# -- file-level problems that read_csv would report vaguely ----------------------------------------

def _file_problems(path: Path) -> list[Problem]:
    """Encodings and truncation, told specifically (UTF-16, EUC-JP, a file cut off mid-character).

    A file that is missing, not a regular file or too large raises LoadError (files.read_bytes).
    """
    raw = files.read_bytes(path)
    name = str(path)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(raw):
        return [Problem(name, None, None, "文字コードが UTF-16（Excel の「Unicode テキスト」）です。"
                        "「CSV UTF-8」または Shift_JIS(CP932) の CSV で保存し直してください")]
    if b"\x00" in raw:
        return []  # read_csv says it is not a text file
    try:
        raw.decode("utf-8-sig")
        return []
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if utf8_error.end == len(raw) and utf8_error.reason == "unexpected end of data":
        return [_truncated(name, raw[: utf8_error.start].decode("utf-8-sig"),
                           "最後の文字が UTF-8 として途中で終わっています")]
    try:
        raw.decode("cp932")
        cp932_ok = True
    except UnicodeDecodeError as exc:
        cp932_ok = False
        if exc.end == len(raw) and exc.start == len(raw) - 1:
            try:
                return [_truncated(name, raw[:-1].decode("cp932"), "最後の文字が Shift_JIS として途中で終わっています")]
            except UnicodeDecodeError:
                pass
    first_line = raw.split(b"\n", 1)[0]
    if not (cp932_ok and "質問" in first_line.decode("cp932")):
        try:
            if "質問" in first_line.decode("euc_jp"):
                return [Problem(name, None, None,
                                "文字コードが EUC-JP のようです。UTF-8 または Shift_JIS(CP932) で保存し直してください")]
        except UnicodeDecodeError:
            pass
    return []


def _utf16_without_bom(raw: bytes) -> bool:
    if b"\x00" not in raw[:200]:
        return False
    first = raw[:2000]
    for encoding in ("utf-16-le", "utf-16-be"):
        if "質問" in first[: len(first) // 2 * 2].decode(encoding, errors="ignore"):
            return True
    return False


def _truncated(name: str, text: str, detail: str) -> Problem:
    """A file that ends in the middle of a character: say which row and column were cut."""
    reason = f"ファイルが途中で切れています（{detail}）。元のファイルから保存し直してください"
    try:
        records = list(csv.reader(io.StringIO(text + ('"' if _open_quote(text) else ""), newline="")))
    except csv.Error:  # a value longer than the csv module reads: the file is cut all the same
        return Problem(name, None, None, reason)
    header = [files.normalize_header(h) for h in records[0]] if records else []
    if not records or text.endswith(("\n", "\r")):
        row, column = len(records) + 1, _column_name(header, 0) if records else None
    else:
        row, column = len(records), _column_name(header, len(records[-1]) - 1) if len(records) > 1 else None
    return Problem(name, row, column, reason)


def _open_quote(text: str) -> bool:
    """True when ``text`` ends inside a quoted CSV field."""
    return text.count('"') % 2 == 1


def _column_name(header: list[str], index: int) -> str | None:
    return header[index] if 0 <= index < len(header) else None


def _records(path: Path) -> tuple[str, list[list[str]]]:
    """The text of a file read_csv has parsed (so it is CSV, of at most files.MAX_CSV_ROWS records) and its records."""
    text = files.read_text(path)
    return text, list(csv.reader(io.StringIO(text, newline="")))


def _explain(path: Path, problem: Problem, parsed=None) -> Problem:
    """Make read_csv's problems more specific for FAQ files (truncation, misspelt columns).

    ``parsed()`` gives (text, records) of the file (``_records``, cached by the caller)."""
    reason = problem.reason
    if reason.startswith("CSV として読めません"):
        return _locate_csv_error(path, problem)
    if reason.startswith("列の数が見出しと合いません"):
        text, records = (parsed or (lambda: _records(path)))()
        if problem.row == len(records) and not text.endswith(("\n", "\r")):
            header = [files.normalize_header(h) for h in records[0]]
            short = len(records[-1]) < len(header)
            reason += "。最後の行が改行で終わっていません。ファイルが途中で切れていないか確認してください"
            column = _column_name(header, len(records[-1]) - 1) if short else None
            return dataclasses.replace(problem, column=column, reason=reason)
        return problem
    if reason == "不明な列です" and problem.column:
        close = difflib.get_close_matches(problem.column, FAQ_COLUMNS, n=1, cutoff=0.5)
        hint = f"「{close[0]}」の誤りではありませんか。" if close else ""
        return dataclasses.replace(problem, reason=f"不明な列です（{hint}使える列: {'、'.join(FAQ_COLUMNS)}）")
    if reason == "必須の列がありません":
        return dataclasses.replace(problem,
                                   reason="必須の列がありません（見出し行に書いてください。値は空欄でもかまいません）"
                                   if problem.column == CODE_COLUMN else reason)
    return problem


def _locate_csv_error(path: Path, problem: Problem) -> Problem:
    """read_csv says only that the file is not CSV; find the row and column where parsing broke."""
    text = files.read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    lines_read = 0
    try:
        for record in reader:
            records.append(record)
            lines_read = reader.line_num
    except csv.Error as exc:
        error = str(exc)
    else:
        return problem
    header = [files.normalize_header(h) for h in records[0]] if records else []
    # the text after the lines the reader took, without a list of every line (20 MB of newlines: 565 MB)
    rest = "".join(itertools.islice(io.StringIO(text, newline=""), lines_read, None))
    if "unexpected end of data" in error and _open_quote(rest):
        try:
            partial = next(csv.reader(io.StringIO(rest + '"', newline="")), [])
        except csv.Error:  # the open value is longer than the csv module reads
            partial = []
        column = _column_name(header, len(partial) - 1)
        reason = ("引用符（\"）が閉じられないままファイルが終わっています。ファイルが途中で切れているか、"
                  "値の中の「\"」が「\"\"」になっていません")
    else:
        column = None
        reason = "引用符（\"）の使い方が正しくありません（値の中の「\"」は「\"\"」と2つ重ねてください）"
    return dataclasses.replace(problem, row=len(records) + 1, column=column, reason=reason)


# -- writing -------------------------------------------------------------------------------------

def upsert_faq(session: Session, entries: Iterable[FaqEntry], counts: dict[str, int] | None = None) -> int:
    """Insert or update by the natural key (団体コード, 質問); loading the same entries twice changes nothing.

    Returns the number of entries given (like the loader's other kinds). ``counts``, if given, is
    increased by how many were ``inserted``, ``updated`` and ``unchanged``. Entries that are in the
    database but not in ``entries`` are kept (this is an upsert, not a replace; ``madoguchi kb
    build`` replaces everything). Flushes; the caller commits.
    """
    entries = list(entries)
    keys = [(e.lg_code, e.question) for e in entries]
    if len(set(keys)) != len(keys):
        raise ValueError("upsert_faq: the same (lg_code, question) appears twice; validate with read_faq first")
    existing: dict[tuple[str | None, str], FaqEntry] = {}
    questions = sorted({q for _, q in keys})
    for start in range(0, len(questions), 500):
        chunk = questions[start : start + 500]
        for row in session.scalars(select(FaqEntry).where(FaqEntry.question.in_(chunk))):
            existing[(row.lg_code, row.question)] = row
    counts = {"inserted": 0, "updated": 0, "unchanged": 0} if counts is None else counts
    for key in ("inserted", "updated", "unchanged"):
        counts.setdefault(key, 0)
    for entry in entries:
        row = existing.get((entry.lg_code, entry.question))
        if row is None:
            session.add(FaqEntry(lg_code=entry.lg_code, question=entry.question,
                                 **{attr: getattr(entry, attr) for attr in _UPDATABLE}))
            counts["inserted"] += 1
            continue
        changed = False
        for attr in _UPDATABLE:
            value = getattr(entry, attr)
            if attr in ("alternatives", "department", "phone", "url", "source") and value is None:
                value = ""
            if getattr(row, attr) != value:
                setattr(row, attr, value)
                changed = True
        counts["updated" if changed else "unchanged"] += 1
    session.flush()
    return len(entries)


def export_faq_csv(session: Session, out: Path | str | BinaryIO | None = None) -> str:
    """Every FAQ entry as a FAQ CSV file: UTF-8 with BOM, CRLF line ends.

    Returns the text (starting with the BOM character U+FEFF, so ``Path.write_text(text,
    encoding="utf-8", newline="")`` writes the same bytes); with ``out`` (a path or a binary stream)
    also writes it there.
    """
    rows = session.scalars(select(FaqEntry)).all()
    rows.sort(key=lambda e: (e.lg_code is not None, e.lg_code or "", e.id))
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer, lineterminator="\r\n")
    writer.writerow(FAQ_COLUMNS)
    for e in rows:
        writer.writerow([
            e.lg_code or "", e.category, e.question, e.alternatives or "", e.answer, e.department or "",
            e.phone or "", e.url or "", e.checked_on.isoformat() if e.checked_on else "",
        ])
    text = "\ufeff" + buffer.getvalue()
    if out is not None:
        data = text.encode("utf-8")
        if isinstance(out, (str, Path)):
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_bytes(data)
        else:
            out.write(data)
    return text
