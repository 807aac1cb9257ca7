"""Reading human-edited data files: encodings, header variants, size limits, located problems."""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

MAX_FILE_BYTES = 20 * 1024 * 1024  # a KB file is far smaller; larger is a mistake (or an attack)
ENCODINGS = ("utf-8-sig", "cp932")


@dataclass(frozen=True)
class Problem:
    """One problem in a data file, located for the person who has to fix it."""

    file: str
    row: int | None  # 1-based data row (CSV: header is row 1, so data starts at 2); None for the whole file
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" {self.row}行目"
        if self.column:
            where += f"「{self.column}」"
        return f"{where}: {self.reason}"


class LoadError(Exception):
    """The data cannot be loaded; ``problems`` says where and why. Nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def normalize_header(name: str) -> str:
    """料金（基本） → 料金(基本); strips BOM and spaces."""
    return unicodedata.normalize("NFKC", name or "").replace("\ufeff", "").strip()


def read_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise LoadError([Problem(str(path), None, None, f"ファイルが大きすぎます（{size:,} バイト、上限 {MAX_FILE_BYTES:,} バイト）")])
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError([Problem(str(path), None, None, "文字コードが UTF-16 です。UTF-8 または Shift_JIS(CP932) で保存し直してください")])
    if b"\x00" in raw:
        raise LoadError([Problem(str(path), None, None, "テキストファイルではありません（NUL 文字を含みます）")])
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig" and exc.end == len(raw) and exc.reason == "unexpected end of data":
                lines = raw[: exc.start].count(b"\n") + 1
                raise LoadError([Problem(str(path), lines, None, "ファイルが途中で切れています（最後の文字が UTF-8 として途中で終わっています）。"
                                         "元のファイルから保存し直してください")]) from None
            continue
    raise LoadError([Problem(str(path), None, None, "文字コードを判別できません（UTF-8 または Shift_JIS(CP932) で保存してください）")])


def read_csv(path: Path, required: list[str], optional: tuple[str, ...] = ()) -> list[tuple[int, dict[str, str]]]:
    """Rows as (row number, {normalized header: stripped value}); problems raise LoadError."""
    text = read_text(path)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise LoadError([Problem(str(path), None, None, f"CSV として読めません（{exc}）")]) from None
    if not rows:
        raise LoadError([Problem(str(path), None, None, "ファイルが空です")])
    header = [normalize_header(h) for h in rows[0]]
    problems = [Problem(str(path), 1, col, "必須の列がありません") for col in required if col not in header]
    known = set(required) | set(optional)
    problems += [Problem(str(path), 1, col, "不明な列です") for col in header if col and col not in known]
    duplicates = {col for col in header if header.count(col) > 1}
    problems += [Problem(str(path), 1, col, "列名が重複しています") for col in sorted(duplicates)]
    if problems:
        raise LoadError(problems)
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(Problem(str(path), number, None, f"列の数が見出しと合いません（{len(row)} 列、見出しは {len(header)} 列）"))
            continue
        out.append((number, {h: v.strip() for h, v in zip(header, row)}))
    if problems:
        raise LoadError(problems)
    return out


def read_yaml(path: Path):
    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise LoadError([Problem(str(path), row, None, f"YAML として読めません（{getattr(exc, 'problem', exc)}）")]) from None
