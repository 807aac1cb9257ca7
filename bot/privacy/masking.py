"""Masks personal data in free text: pure functions, no I/O.

- phone numbers (03-1234-5678, 090-1234-5678, 0120-000-000, 0312345678, (03)1234-5678, +81-3-1234-5678)
  → 「［電話番号］」: 10 or 11 digits starting with 0 (9 or 10 after +81), with or without separators;
- e-mail addresses → 「［メールアドレス］」;
- 12-digit numbers, optionally grouped 4-4-4 by spaces or hyphens (what a マイナンバー looks like) →
  「［個人番号］」.

Full-width digits, letters, hyphens and the long-vowel mark used as a hyphen (０３ー１２３４ー５６７８) are folded
one character at a time before matching, so the rest of the text is kept exactly as written. Shorter
numbers are never masked: 6-digit 団体コード (131211), dates (2018-02-07, 2018/2/7), times, counts.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

PHONE = "［電話番号］"
EMAIL = "［メールアドレス］"
MY_NUMBER = "［個人番号］"

_DASHES = "-‐‑‒–—―−－ー─"
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_MY_NUMBER_RE = re.compile(r"(?<![\d\-])\d{4}[ \-]?\d{4}[ \-]?\d{4}(?![\d])")
_PHONE_RE = re.compile(
    r"(?<![\d\-+])(?:\+81[ \-]?(?:\(0\))?|\(0|0)\d{0,4}\)?[ \-]?\(?\d{1,4}\)?[ \-]?\d{1,4}[ \-]?\d{3,4}(?![\d])"
)


def _fold_char(char: str) -> str:
    if char in _DASHES:
        return "-"
    folded = unicodedata.normalize("NFKC", char)
    if len(folded) == 1:
        return "(" if folded == "（" else ")" if folded == "）" else folded
    return char  # keep one character per character: spans found in the folded text fit the original


def fold(text: str) -> str:
    """The text with full-width digits/letters/symbols folded, same length as ``text``."""
    return "".join(_fold_char(c) for c in text)


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if candidate.startswith("+81"):
        return 9 <= len(digits) - 2 <= 10 or (digits.startswith("810") and 10 <= len(digits) - 2 <= 11)
    return digits.startswith("0") and 10 <= len(digits) <= 11


def spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of every piece of personal data in ``text``, not overlapping, in order."""
    folded = fold(text)
    found: list[tuple[int, int, str]] = []

    def add(start: int, end: int, label: str) -> None:
        if all(end <= s or start >= e for s, e, _ in found):
            found.append((start, end, label))

    for m in _EMAIL_RE.finditer(folded):
        add(m.start(), m.end(), EMAIL)
    for m in _MY_NUMBER_RE.finditer(folded):
        add(m.start(), m.end(), MY_NUMBER)
    for m in _PHONE_RE.finditer(folded):
        if _is_phone(m.group()):
            add(m.start(), m.end(), PHONE)
    return sorted(found)


def mask(text: str) -> str:
    """``text`` with phone numbers, e-mail addresses and 12-digit numbers replaced by labels."""
    if not text or not isinstance(text, str):
        return text
    pieces, last = [], 0
    for start, end, label in spans(text):
        pieces.append(text[last:start])
        pieces.append(label)
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def contains_personal_data(text: str) -> bool:
    return bool(text) and bool(spans(text))


def mask_data(value: Any) -> Any:
    """A copy of a JSON-like value with every string masked."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_data(v) for v in value]
    return value
