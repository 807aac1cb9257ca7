"""Longest-match dictionary look-up of known names in Japanese text (no word boundaries).

Entries come from Rasa lookup tables and synonyms, which are generated from the knowledge
base (``madoguchi nlu generate``) or, for question cues, kept by hand in ``data/nlu``.
Matching is on :func:`bot.nlp.normalize.fold` keys, so カタカナ/ひらがな and upper/lower case
variants of a name match alike.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from bot.nlp.normalize import fold

MIN_KANA_ONLY_LENGTH = 4  # short kana-only names (つし, いで) match inside ordinary words
NAME_ENTITIES = frozenset({"municipality", "organization", "topic"})  # cues (いつ, どこ) may be short


@dataclass(frozen=True)
class Match:
    entity: str
    value: str
    start: int
    end: int
    text: str


_KANA_RE = re.compile(r"^[\u3041-\u309f\u30a0-\u30ffー]+$")
_ASCII_RE = re.compile(r"^[a-z0-9 .\-]+$")


def _usable(surface: str, entity: str) -> bool:
    if not surface.strip():
        return False
    if entity not in NAME_ENTITIES:
        return True
    if _KANA_RE.match(surface) and len(surface) < MIN_KANA_ONLY_LENGTH:
        return False
    if _ASCII_RE.match(fold(surface)) and len(surface) < 2:
        return False
    return True


class Gazetteer:
    """Finds non-overlapping, leftmost-longest occurrences of known surfaces."""

    def __init__(self, entries: Iterable[tuple[str, str, str]]):
        """``entries``: (surface, entity, value) triples; the first value given for a surface wins."""
        self._by_key: dict[tuple[str, str], str] = {}
        keys: dict[str, list[str]] = {}
        for surface, entity, value in entries:
            key = fold(surface.strip())
            if not _usable(key, entity) or (key, entity) in self._by_key:
                continue
            self._by_key[(key, entity)] = value
            keys.setdefault(key, []).append(entity)
        self._entities_of = keys
        alternatives = sorted(keys, key=len, reverse=True)
        self._regex = re.compile("|".join(re.escape(k) for k in alternatives)) if alternatives else None

    def __len__(self) -> int:
        return len(self._by_key)

    def find(self, text: str) -> list[Match]:
        if self._regex is None or not text:
            return []
        folded = fold(text)
        found: list[Match] = []
        for m in self._regex.finditer(folded):
            key = m.group(0)
            if _ASCII_RE.match(key) and not _ascii_bounded(folded, m.start(), m.end()):
                continue
            if _inside_katakana_word(text, m.start(), m.end()):
                continue
            for entity in self._entities_of[key]:
                found.append(Match(entity, self._by_key[(key, entity)], m.start(), m.end(), text[m.start() : m.end()]))
        return found


_KATAKANA_RE = re.compile(r"^[\u30a1-\u30faー]+$")
SHORT_MATCH = 3


def _inside_katakana_word(text: str, start: int, end: int) -> bool:
    """A short match inside a longer katakana word: written in katakana (イツ in スカイツリー), or
    beginning or ending with a katakana letter of one (どコ in けどコンビニ)."""
    if end - start > SHORT_MATCH:
        return False
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    if _KATAKANA_RE.match(text[start:end]):
        return bool(_KATAKANA_RE.match(before) or _KATAKANA_RE.match(after))
    return bool((_KATAKANA_RE.match(text[start]) and _KATAKANA_RE.match(before))
                or (_KATAKANA_RE.match(text[end - 1]) and _KATAKANA_RE.match(after)))


def _ascii_bounded(text: str, start: int, end: int) -> bool:
    """Romanized names must not be part of a longer romanized word (mri in 'primary')."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())
