"""Spreadsheet-safe CSV cells: formula cells are neutralised on export and restored on load.

Excel, LibreOffice and Google Sheets run a cell as a formula when it starts with ``=``, ``+``,
``-`` or ``@`` (tab and carriage return as well, since some strip them first), so a resident's
chat message such as ``=cmd|' /C calc'!A0`` written verbatim into a CSV runs when staff open the
file. Every CSV written for people (``kb export --format faq-csv|event-csv``, ``report --format
csv``) passes its cells through :func:`neutralise`, which prepends one ``'`` — the spreadsheet's
"this is text" mark, not shown in the cell. The full-width forms ＝＋－＠ are treated the same way
as a precaution (Japanese input methods produce them).

The escape is bijective, so export → load → export gives the same bytes: a cell is escaped when it
matches ``^'*[=+\\-@\\t\\r＝＋－＠]`` (any run of quotes, then a formula character), and every CSV reader
(:func:`bot.kb.files.read_csv`) applies :func:`restore`, which removes one leading ``'`` from a cell
that matches ``^'+[=+\\-@\\t\\r＝＋－＠]``. Quotes followed by a formula character get one more quote,
so a text that really begins with ``'=`` survives too; ``restore(neutralise(s)) == s`` for every string.

Plain numbers stay as they are: ``-35.6`` (a longitude), ``-1`` or ``+81`` is read by a
spreadsheet as a number, not a formula, and the イベント一覧 open-data format is also read by
programs that would not expect a quote before a number. "Plain" means an optional sign, ASCII
digits and at most one decimal point (``[+-]?[0-9]+(\\.[0-9]+)?``); anything else after a sign, such
as ``-2+3`` or ``+81-3-1234-5678``, is escaped.
"""
from __future__ import annotations

import csv
import re
from typing import Any, Iterable

FORMULA_STARTS = "=+-@\t\r＝＋－＠"
_ESCAPE_RE = re.compile("'*[" + re.escape(FORMULA_STARTS) + "]")
_RESTORE_RE = re.compile("'+[" + re.escape(FORMULA_STARTS) + "]")
_PLAIN_NUMBER_RE = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet shows it as text: one ``'`` before a (possibly quoted) formula start."""
    if _ESCAPE_RE.match(cell) and not _PLAIN_NUMBER_RE.fullmatch(cell):
        return "'" + cell
    return cell


def restore(cell: str) -> str:
    """The inverse of :func:`neutralise`: what the cell held before it was exported."""
    return cell[1:] if _RESTORE_RE.match(cell) else cell


class SafeWriter:
    """A :func:`csv.writer` whose cells are neutralised (``None`` is an empty cell, others ``str()``).

    A NUL character, which no spreadsheet cell can hold and the csv module refuses to write (a
    resident's message may contain one; the knowledge base cannot), is written as U+FFFD.
    """

    def __init__(self, stream, **fmtparams) -> None:
        self._writer = csv.writer(stream, **fmtparams)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow(
            ["" if cell is None else neutralise(str(cell).replace("\x00", "\ufffd")) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream, **fmtparams) -> SafeWriter:
    """``csv.writer(stream, **fmtparams)`` for files people open in a spreadsheet."""
    return SafeWriter(stream, **fmtparams)
