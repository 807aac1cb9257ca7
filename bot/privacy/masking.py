"""Masks personal data in free text: pure functions, no I/O.

- phone numbers (03-1234-5678, 090-1234-5678, 0120-000-000, 0312345678, (03)1234-5678, +81-3-1234-5678,
  03 1234 5678, 03.1234.5678) → 「［電話番号］」: 10 or 11 digits starting with 0 (9 or 10 after +81), with or
  without separators (hyphens, spaces, dots);
- e-mail addresses → 「［メールアドレス］」;
- 12-digit numbers, optionally grouped 4-4-4 by spaces, hyphens or dots (what a マイナンバー looks like) →
  「［個人番号］」.

Each character is folded on its own before matching: full-width digits, letters and symbols, the long-vowel
mark and other dashes used as a hyphen (０３ー１２３４ー５６７８), 「・」 used as a dot, other scripts' decimal
digits; invisible characters (zero-width spaces and joiners, soft hyphens, BOMs, other format and control
characters, combining marks) are left out. Numbers written in 漢数字 (〇三－一二三四－五六七八, with 〇/零 and
一…九 as digits) are looked for separately: 漢数字 and Arabic digits are never read as one number (健一090-…).
Every span found is mapped back to the original text, so the rest of the text is kept exactly as written and a
masked number takes the invisible characters inside it along. Shorter numbers are never masked: 6-digit
団体コード (131211), dates (2018-02-07, 2018/2/7, 二〇一八年), times, counts (三十人, 一二〇〇名).

Masking takes time linear in the length of the text: no regular expression ever runs on more than a few
hundred characters. E-mail addresses are looked for around each '@' (local part ≤ 64, domain ≤ 255
characters, RFC 5321); numbers in overlapping windows longer than any number (:func:`_search`).
``python -m bot.privacy.masking`` prints how long masking takes on long adversarial texts.
"""
from __future__ import annotations

import functools
import re
import string
import unicodedata
from typing import Any, Iterator

PHONE = "［電話番号］"
EMAIL = "［メールアドレス］"
MY_NUMBER = "［個人番号］"

_DASHES = "-‐‑‒–—―−－ー─"
_INVISIBLE = {"Cf", "Cc", "Mn", "Me"}  # format and control characters, combining marks (whitespace aside)
_KANJI_DIGITS = {**{k: str(i) for i, k in enumerate("〇一二三四五六七八九")}, "零": "0"}
# The view in which 漢数字 are digits and Arabic digits are not: the two are never read as one number.
_KANJI_VIEW = str.maketrans({**_KANJI_DIGITS, **{d: "#" for d in string.digits}})

_LOCAL_PART = frozenset(string.ascii_letters + string.digits + "._%+-")
_MAX_LOCAL, _MAX_DOMAIN = 64, 255
_DOMAIN_RE = re.compile(r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
# Not right after a digit, nor after a digit and a hyphen or dot: no part of a longer number (3.0312345678).
_NOT_IN_A_NUMBER = r"(?<!\d)(?<!\d[.\-])"
# Groups of a My Number are joined by spaces or hyphens only: 2022・2023・2024年度 and 1200.1300.1400名 are
# lists of years and counts, not a number.
_MY_NUMBER_RE = re.compile(_NOT_IN_A_NUMBER + r"\d{4}[ \-]?\d{4}[ \-]?\d{4}(?!\d)")
_PHONE_RE = re.compile(
    _NOT_IN_A_NUMBER
    + r"(?:\+81[ .\-]?(?:\(0\))?|\(0|0)\d{1,4}\)?[ .\-]?\(?\d{1,4}\)?[ .\-]?\d{1,4}[ .\-]?\d{3,4}(?!\d)"
)
_LONGEST = 40  # more than a phone number or My Number match and its look-ahead read (30 characters at most)
_WINDOW = 256


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """The one character ``char`` is matched as, '' for an invisible one."""
    if unicodedata.category(char) in _INVISIBLE and not char.isspace():
        return ""
    folded = unicodedata.normalize("NFKC", char)
    if len(folded) != 1:
        return char  # one character per character: spans found in the folded text fit the original
    if folded in _DASHES:
        return "-"
    if folded == "・":
        return "."
    if unicodedata.category(folded) == "Nd":
        return str(unicodedata.decimal(folded))
    return folded


def fold(text: str) -> str:
    """The text with each character folded as for matching (invisible ones kept), same length as ``text``."""
    return "".join(_fold_char(c) or c for c in text)


def _visible(text: str) -> tuple[str, list[int]]:
    """``text`` folded, without its invisible characters; and the offset in ``text`` of each character."""
    chars, where = [], []
    for i, char in enumerate(text):
        folded = _fold_char(char)
        if folded:
            chars.append(folded)
            where.append(i)
    return "".join(chars), where


def _search(pattern: re.Pattern, text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of what ``pattern.finditer(text)`` finds, running ``pattern`` on windows of ``_WINDOW``
    characters only. Exact for patterns whose matches and look-arounds read fewer than ``_LONGEST`` characters
    (two of them before the match): a position farther than that from a window's end is read as in the text."""
    pos = 0
    while pos < len(text):
        lo, hi = max(pos - 2, 0), min(pos + _WINDOW, len(text))
        found = pattern.search(text[lo:hi], pos - lo)
        sure = hi if hi == len(text) else hi - _LONGEST  # matches starting before this are not cut short
        if found is None:
            if hi == len(text):
                return
            pos = sure
        elif lo + found.start() >= sure:
            pos = lo + found.start()  # look again in a window that starts there
        else:
            yield lo + found.start(), lo + found.end()
            pos = lo + found.end()


def _emails(text: str) -> Iterator[tuple[int, int, str]]:
    at = text.find("@")
    while at >= 0:
        following = text.find("@", at + 1)  # neither part of an address holds an '@'
        start = at
        while start > max(at - _MAX_LOCAL, 0) and text[start - 1] in _LOCAL_PART:
            start -= 1
        if start < at:
            end = min(at + 1 + _MAX_DOMAIN, len(text) if following < 0 else following)
            domain = _DOMAIN_RE.match(text[at + 1:end])
            if domain:
                yield start, at + 1 + domain.end(), EMAIL
        at = following


def _is_phone(candidate: str) -> bool:
    digits = "".join(c for c in candidate if c.isdigit())
    if candidate.startswith("+81"):
        return 9 <= len(digits) - 2 <= 10 or (digits.startswith("810") and 10 <= len(digits) - 2 <= 11)
    return digits.startswith("0") and 10 <= len(digits) <= 11


def _numbers(text: str) -> Iterator[tuple[int, int, str]]:
    for start, end in _search(_MY_NUMBER_RE, text):
        yield start, end, MY_NUMBER
    for start, end in _search(_PHONE_RE, text):
        candidate = text[start:end]
        if _is_phone(candidate):
            yield start, end, PHONE
            continue
        # The pattern is greedy: 「090-1234-5678 2024年」 reads 15 digits. The longest part that ends
        # before a separator and is a phone number is one.
        for cut in range(len(candidate) - 1, 0, -1):
            if candidate[cut] in " .-" and candidate[cut - 1].isdigit() and _is_phone(candidate[:cut]):
                yield start, start + cut, PHONE
                break


def spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of every piece of personal data in ``text``, not overlapping, in order.

    Overlapping finds are joined into one span, labelled as the one that starts first (the longest of those)."""
    folded, where = _visible(text)
    found = [*_emails(folded), *_numbers(folded)]
    if any(k in folded for k in _KANJI_DIGITS):
        found += _numbers(folded.translate(_KANJI_VIEW))
    joined: list[list] = []
    for start, end, label in sorted(found, key=lambda f: (f[0], -f[1])):
        if joined and start < joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end, label])
    return [(where[start], where[end - 1] + 1, label) for start, end, label in joined]


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


def mask_data(value: Any) -> Any:
    """A copy of a JSON-like value with every string masked."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_data(v) for v in value]
    return value


if __name__ == "__main__":  # how long masking takes on long adversarial texts (printed, never asserted)
    import time

    for unit in ("a", "0", "a.", "0 ", "a@", "〇", "0\u200b"):
        text = (unit * 160_000)[:160_000]
        started = time.perf_counter()
        mask(text)
        print(f"mask({unit!r} * …, {len(text):,} characters): {time.perf_counter() - started:.3f} s")
