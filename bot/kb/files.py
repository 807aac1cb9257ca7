"""Reading human-edited data files: encodings, header variants, size limits, located problems.

Every file is opened the same way (:func:`read_bytes`): only a regular file is read (a folder, a
named pipe or a device such as ``/dev/zero`` is refused before anything is read, so nothing
blocks), and at most :data:`MAX_FILE_BYTES` of it. A CSV file may have at most
:data:`MAX_CSV_ROWS` records and :data:`MAX_CSV_COLUMNS` columns, and YAML is read by a safe loader
with limits on nesting depth, aliases and nodes (:func:`read_yaml`), so an alias bomb ("billion
laughs") is refused at once: a file of at most 20 MB cannot take minutes or gigabytes. Every
problem is a :class:`LoadError`, never another exception; one file lists at most
:data:`MAX_PROBLEMS` of them (and counts the rest).
"""
from __future__ import annotations

import csv
import io
import os
import stat
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, SequenceNode
from yaml.resolver import Resolver

from bot.kb.spreadsheet import restore

MAX_FILE_BYTES = 20 * 1024 * 1024  # a KB file is far smaller; larger is a mistake (or an attack)
ENCODINGS = ("utf-8-sig", "cp932")
MAX_CSV_ROWS = 50_000  # records after the header (the national master has 1,788): bounds time and memory
MAX_CSV_COLUMNS = 1_000  # in the header (the イベント一覧 has 32)
MAX_PROBLEMS = 100  # listed per file; more are counted
# YAML: a report (assemblies/NNN.yml) has a few hundred nodes, 6 levels and no alias.
MAX_YAML_DEPTH = 50  # lists and mappings inside each other
MAX_YAML_ALIASES = 100
MAX_YAML_NODES = 100_000  # after expanding aliases: a node used through an alias counts each time


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


def limit_problems(file: str, problems: list[Problem]) -> list[Problem]:
    """The first MAX_PROBLEMS problems of one file and a count of the rest (a broken file can have millions)."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = len(problems) - MAX_PROBLEMS
    return problems[:MAX_PROBLEMS] + [Problem(file, None, None,
                                              f"ほかにも {rest:,} 件の問題があります（最初の {MAX_PROBLEMS} "
                                              "件だけ示しました）")]


def normalize_header(name: str) -> str:
    """料金（基本） → 料金(基本); strips BOM and spaces."""
    return unicodedata.normalize("NFKC", name or "").replace("\ufeff", "").strip()


_NOT_REGULAR = (
    (stat.S_ISDIR, "ファイルではなくフォルダです"),
    (stat.S_ISFIFO, "通常のファイルではありません（名前付きパイプ）"),
    (stat.S_ISCHR, "通常のファイルではありません（デバイス）"),
    (stat.S_ISBLK, "通常のファイルではありません（デバイス）"),
    (stat.S_ISSOCK, "通常のファイルではありません（ソケット）"),
)


def read_bytes(path: Path) -> bytes:
    """The content of a regular file of at most MAX_FILE_BYTES; anything else raises LoadError.

    The file is opened without blocking (a named pipe without a writer would wait forever) and
    checked with fstat on the open descriptor before a byte is read; at most the limit plus one
    byte is read, so a file that grows while it is read is refused too.
    """
    limit = MAX_FILE_BYTES

    def refuse(reason: str):
        return LoadError([Problem(str(path), None, None, reason)])

    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise refuse("ファイルがありません") from None
    except IsADirectoryError:
        raise refuse("ファイルではなくフォルダです") from None
    except PermissionError:
        raise refuse("ファイルを読む権限がありません") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise refuse(f"ファイルを開けません（{getattr(exc, 'strerror', None) or exc}）") from None
    try:
        info = os.fstat(fd)
        for test, reason in _NOT_REGULAR:
            if test(info.st_mode):
                raise refuse(reason)
        if not stat.S_ISREG(info.st_mode):
            raise refuse("通常のファイルではありません")
        if info.st_size > limit:
            raise refuse(f"ファイルが大きすぎます（{info.st_size:,} バイト、上限 {limit:,} バイト）")
        os.set_blocking(fd, True)
        chunks, remaining = [], limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise refuse(f"ファイルを読めません（{exc.strerror or exc}）") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > limit:
        raise refuse(f"ファイルが大きすぎます（上限 {limit:,} バイトを超えています）")
    return raw


def read_text(path: Path) -> str:
    raw = read_bytes(path)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError([Problem(str(path), None, None,
                                 "文字コードが UTF-16 です。UTF-8 または Shift_JIS(CP932) で保存し直してください")])
    if b"\x00" in raw:
        raise LoadError([Problem(str(path), None, None, "テキストファイルではありません（NUL 文字を含みます）")])
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig" and exc.end == len(raw) and exc.reason == "unexpected end of data":
                lines = raw[: exc.start].count(b"\n") + 1
                raise LoadError([Problem(str(path), lines, None,
                                         "ファイルが途中で切れています"
                                         "（最後の文字が UTF-8 として途中で終わっています）。"
                                         "元のファイルから保存し直してください")]) from None
            continue
    raise LoadError([Problem(str(path), None, None,
                             "文字コードを判別できません（UTF-8 または Shift_JIS(CP932) で保存してください）")])


def read_csv(path: Path, required: list[str], optional: tuple[str, ...] = ()) -> list[tuple[int, dict[str, str]]]:
    """Rows as (row number, {normalized header: stripped value}); problems raise LoadError."""
    text = read_text(path)
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), strict=True):
            if len(rows) > MAX_CSV_ROWS:
                raise LoadError([Problem(str(path), None, None,
                                         f"行が多すぎます（見出しを除いて上限 {MAX_CSV_ROWS:,} 行）。"
                                         "ファイルを分けてください")])
            rows.append(row)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            reason = (f"値が長すぎます（1つの値は {csv.field_size_limit():,} 文字まで。引用符（\"）"
                      "の閉じ忘れではありませんか）")
        else:
            reason = f"CSV として読めません（{exc}）"
        raise LoadError([Problem(str(path), None, None, reason)]) from None
    if not rows:
        raise LoadError([Problem(str(path), None, None, "ファイルが空です")])
    if len(rows[0]) > MAX_CSV_COLUMNS:
        raise LoadError([Problem(str(path), 1, None,
                                 f"列が多すぎます（{len(rows[0]):,} 列、上限 {MAX_CSV_COLUMNS:,} 列）")])
    header = [normalize_header(h) for h in rows[0]]
    problems = [Problem(str(path), 1, col, "必須の列がありません") for col in required if col not in header]
    known = set(required) | set(optional)
    problems += [Problem(str(path), 1, col, "不明な列です") for col in header if col and col not in known]
    counts = Counter(header)
    problems += [
        Problem(str(path), 1, col, "列名が重複しています") for col in sorted(c for c, n in counts.items() if n > 1)]
    if problems:
        raise LoadError(limit_problems(str(path), problems))
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(Problem(str(path), number, None,
                                    f"列の数が見出しと合いません（{len(row)} 列、見出しは {len(header)} 列）"))
            continue
        out.append((number, {h: restore(v.strip()) for h, v in zip(header, row)}))
    if problems:
        raise LoadError(limit_problems(str(path), problems))
    return out


def read_yaml(path: Path):
    text = read_text(path)
    try:
        # types-PyYAML accepts only PyYAML's own loader classes, not a subclass composed of their parts
        return yaml.load(text, Loader=_LimitedLoader)  # type: ignore[arg-type]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = min(mark.line + 1, text.count("\n") + 1) if mark is not None else None  # libyaml may mark past the end
        problem = getattr(exc, "problem", None) or str(exc)
        reason = problem if isinstance(exc, _YamlLimitError) else f"YAML として読めません（{problem}）"
        raise LoadError([Problem(str(path), row, None, reason)]) from None


# -- YAML with limits ------------------------------------------------------------------------------
try:  # libyaml scans and parses (fast: a 20 MB file in a fraction of a second); the composer below is Python
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML without libyaml
    _Parser = None  # type: ignore[assignment, misc]  # the stubs declare the C extension always present


class _YamlLimitError(ComposerError):
    """A document over a limit; ``problem`` is the Japanese reason."""


class _LimitedComposer(Composer):
    """Composes nodes while counting depth, aliases and nodes (aliases expanded) against the limits.

    Aliases only share nodes while composing; it is the code using the data (``str()``, loops) that
    expands them, which is how a few hundred bytes become gigabytes. So a node's size is computed
    here with its aliased children counted in full, and the document is refused as soon as the
    total passes MAX_YAML_NODES, before anything is expanded.
    """

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._aliases = 0
        self._sizes: dict[int, int] = {}  # id(node) -> nodes under it, aliases expanded; absent while composing

    def compose_node(self, parent, index):
        event = self.peek_event()
        if self.check_event(yaml.AliasEvent) and event.anchor in self.anchors:
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise _YamlLimitError(None, None, f"YAML の別名（*）が多すぎます（上限 {MAX_YAML_ALIASES} 個）。"
                                      "別名を使わずに書いてください", event.start_mark)
            if id(self.anchors[event.anchor]) not in self._sizes:
                raise _YamlLimitError(None, None, f"YAML の別名「*{event.anchor}」がそれ自身の中で使われています",
                                      event.start_mark)
            return super().compose_node(parent, index)
        collection = self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent)
        self._depth += collection
        if self._depth > MAX_YAML_DEPTH:
            raise _YamlLimitError(None, None, f"YAML の入れ子が深すぎます（上限 {MAX_YAML_DEPTH} 段）",
                                  event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= collection
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = []
        size = 1 + sum(self._sizes[id(child)] for child in children)
        if size > MAX_YAML_NODES:
            raise _YamlLimitError(None, None,
                                  f"YAML の要素が多すぎます（別名の展開を含めて上限 {MAX_YAML_NODES:,} 個）",
                                  event.start_mark)
        self._sizes[id(node)] = size
        return node


class _SafeConstructor(SafeConstructor):
    """SafeConstructor whose value errors (2018-02-30, a 5,000-digit integer, ``!!int`` without a value)
    are located YAML errors: PyYAML's constructors assume well-formed values and raise whatever
    Python raises (ValueError, IndexError, AttributeError …) on the others."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:
            value = f"「{node.value[:50]}」" if isinstance(node.value, str) else ""
            raise ConstructorError(None, None, f"値{value}を読めません（{exc}）", node.start_mark) from None


if _Parser is not None:
    class _LimitedLoader(_LimitedComposer, _Parser, _SafeConstructor, Resolver):
        def __init__(self, stream) -> None:
            _Parser.__init__(self, stream)
            _LimitedComposer.__init__(self)
            _SafeConstructor.__init__(self)
            Resolver.__init__(self)
else:  # pragma: no cover
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _LimitedLoader(  # type: ignore[no-redef]  # the pure-Python variant of the class above
            Reader, Scanner, Parser, _LimitedComposer, _SafeConstructor, Resolver):
        def __init__(self, stream) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            _LimitedComposer.__init__(self)
            _SafeConstructor.__init__(self)
            Resolver.__init__(self)
