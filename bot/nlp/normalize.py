"""Normalization applied to every user message before NLU (and to KB names before matching).

- NFKC: 全角英数字 → 半角, 半角カナ → 全角カナ, compatibility characters (㍻ → 平成).
- Control characters removed, runs of whitespace collapsed.
- 漢数字 in ordinals and counts (第七回, 十二回目) → Arabic digits.
"""
from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 1000  # longer input is cut before NLU
MAX_QUESTION_CHARS = 300  # a longer message is not read as one question

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_KANJI_NUMBER = "[〇零一二三四五六七八九十百千]+"
_ORDINAL_RE = re.compile(rf"(第)?({_KANJI_NUMBER})(回|番目|件)")
_CONTROL_RE = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_SPACE_RE = re.compile(r"\s+")


def kanji_to_int(text: str) -> int | None:
    """Parse a 漢数字 number such as 七, 十二, 二十五, 百三 (None when not a number)."""
    if not text or any(ch not in _KANJI_DIGITS and ch not in _KANJI_UNITS for ch in text):
        return None
    if all(ch in _KANJI_DIGITS for ch in text):  # positional form: 二〇一八
        return int("".join(str(_KANJI_DIGITS[ch]) for ch in text))
    total, digit = 0, None
    for ch in text:
        if ch in _KANJI_DIGITS:
            digit = _KANJI_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _KANJI_UNITS[ch]
            digit = None
    return total + (digit or 0)


def _ordinal(match: re.Match) -> str:
    value = kanji_to_int(match.group(2))
    if value is None:
        return match.group(0)
    return f"{match.group(1) or ''}{value}{match.group(3)}"


def normalize(text: str | None) -> str:
    """Return the normalized form of a user message (never raises, never returns None)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text)[: MAX_CHARS * 4])
    text = _CONTROL_RE.sub(" ", text)
    text = _SPACE_RE.sub(" ", text).strip()
    text = _ORDINAL_RE.sub(_ordinal, text)
    return text[:MAX_CHARS]


def fold(text: str) -> str:
    """Matching key of the same length as ``text``: katakana → hiragana, ASCII lower-case.

    Same length matters: offsets found in the folded text are offsets in the original.
    """
    out = []
    for ch in text:
        code = ord(ch)
        if 0x30A1 <= code <= 0x30F6:  # ァ..ヶ → ぁ..ゖ
            out.append(chr(code - 0x60))
        else:
            out.append(ch.lower() if ch.isascii() else ch)
    return "".join(out)


def has_meaningful_text(text: str) -> bool:
    """True when the text contains letters, kana, kanji or digits (not only emoji/symbols)."""
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


def is_readable_question(text: str) -> bool:
    """False for messages the guide should not try to classify (no text at all, or far too long)."""
    return has_meaningful_text(text) and len(text) <= MAX_QUESTION_CHARS
