"""Romanized Japanese back to kana, so that a question typed in romaji is read like one typed in kana.

「sumida-ku no happyou wa?」 → 「すみだくのはっぴょうは?」. Only a message whose every Latin word is
romaji is converted (:func:`romaji_to_kana` returns None otherwise), so English ("thank you", "help")
stays English. Hepburn and Kunrei spellings both read (shi/si, tsu/tu, ja/zya); a standalone wa / e /
o / wo is the particle は / へ / を. The syllable table is :mod:`bot.nlp.romaji`'s, read backwards.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Dict, Optional

from bot.nlp.romaji import _BASE, _YOUON

_PARTICLES = {"wa": "は", "e": "へ", "o": "を", "wo": "を"}
_EXTRA = {  # other spellings of the same syllables (Kunrei-shiki, IME input)
    "si": "シ", "ti": "チ", "tu": "ツ", "hu": "フ", "zi": "ジ", "di": "ヂ", "du": "ヅ", "wo": "ヲ", "nn": "ン",
    "fa": "ファ", "fi": "フィ", "fe": "フェ", "fo": "フォ",
    "je": "ジェ", "che": "チェ", "she": "シェ", "thi": "ティ", "dhi": "ディ", "wi": "ウィ",
    "we": "ウェ", "va": "ヴァ", "vi": "ヴィ", "ve": "ヴェ", "vo": "ヴォ",
}
_WORD = re.compile(r"[a-z][a-z'-]*")
_VOWELS = set("aiueo")
MIN_LETTERS = 4  # shorter messages ("ok", "hi", "no") are too often English to guess
_MACRONS = str.maketrans({"ā": "aa", "ī": "ii", "ū": "uu", "ē": "ei", "ō": "ou", "â": "aa", "û": "uu", "ô": "ou",
                          "’": "'", "‘": "'"})
# English words that also spell romaji syllables; a message with one of them is English ("see you")
ENGLISH = frozenset("""
see ya gotta awesome fine nope sure same name take make come home some one done gone time are here more me we he
she hope nice cute bye wine fire game note site page code type mode none nine online mobile ok okay yes wifi wi-fi
""".split())


@lru_cache(maxsize=1)
def _syllables() -> Dict[str, str]:
    """Romaji syllable → katakana, longest spellings included (kya, sha, cha, ja …)."""
    table: Dict[str, str] = {}
    for kana, roman in _BASE.items():
        if kana in "ァィゥェォヲ":
            continue
        if roman:
            table.setdefault(roman, kana)
        if roman.endswith("i") and len(roman) > 1:  # キ → キャ キュ キョ, シ → シャ …
            stem = roman[:-1]
            for small, vowel in _YOUON.items():
                head = stem if stem in ("sh", "ch", "j") else stem + "y"
                table.setdefault(head + vowel, kana + small)
                if stem in ("j", "ch"):
                    table.setdefault(stem + "y" + vowel, kana + small)  # jya, chya
    for roman, kana in _EXTRA.items():
        table.setdefault(roman, kana)
    for kana, roman in (("シ", "sy"), ("チ", "ty"), ("ジ", "zy"), ("ジ", "jy")):
        for small, vowel in _YOUON.items():
            table.setdefault(roman + vowel, kana + small)
    return table


def _word_to_katakana(word: str) -> Optional[str]:
    """One romaji word in katakana, or None when it is not romaji."""
    table = _syllables()
    longest = max(map(len, table))
    out, i = [], 0
    while i < len(word):
        ch = word[i]
        nxt = word[i + 1] if i + 1 < len(word) else ""
        if ch in "'-":
            i += 1
            continue
        if ch == "n" and nxt in ("'", "-"):  # kon'ya, ken-ichi
            out.append("ン")
            i += 2
            continue
        if ch == "m" and nxt and nxt in "bmp":  # shimbun, Gumma (Hepburn writes ン as m before b, m, p)
            out.append("ン")
            i += 1
            continue
        if ch == "n" and (not nxt or (nxt not in _VOWELS and nxt != "y")):
            out.append("ン")  # n before a consonant or at the end
            i += 1 + (nxt == "n" and (i + 2 >= len(word) or word[i + 2] not in _VOWELS))
            continue
        if ch == nxt and ch not in _VOWELS and ch != "n":
            out.append("ッ")  # doubled consonant: kitte, zasshi
            i += 1
            continue
        if ch == "t" and word.startswith("tch", i):
            out.append("ッ")  # matcha
            i += 1
            continue
        for size in range(min(longest, len(word) - i), 0, -1):
            kana = table.get(word[i:i + size])
            if kana:
                out.append(kana)
                i += size
                break
        else:
            return None
    return "".join(out)


def _hiragana(katakana: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in katakana)


def romaji_to_kana(text: str) -> Optional[str]:
    """The message in hiragana if all its Latin words are romaji (at least four letters), else None.

    Words are joined without spaces, as Japanese is written; other characters stay as they are.
    """
    if re.search(r"(?<![A-Za-z])[A-Z]{2,}(?![a-z])", text):
        return None  # an acronym (NISA, AI, FUJITSU) is no romaji
    lowered = text.lower().translate(_MACRONS)
    words = list(_WORD.finditer(lowered))
    if not words or sum(ch.isalpha() for m in words for ch in m.group()) < MIN_LETTERS:
        return None
    if any(ch.isalpha() and "LATIN" in unicodedata.name(ch, "") for ch in _WORD.sub("", lowered)):
        return None  # a Latin letter outside the words: an accented one (é), or a word not romaji at all
    if any(m.group() in ENGLISH for m in words):
        return None
    pieces, last = [], 0
    for match in words:
        between = lowered[last:match.start()]
        pieces.append(between if between.strip() else "")
        word = match.group()
        kana = _PARTICLES.get(word) if len(words) > 1 else None
        if kana is None:
            katakana = _word_to_katakana(word)
            if katakana is None:
                return None
            kana = _hiragana(katakana)
        pieces.append(kana)
        last = match.end()
    pieces.append(lowered[last:])
    return "".join(pieces)
