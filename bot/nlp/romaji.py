"""Romanized forms of municipality readings (サッポロシ → sapporo-shi), for questions typed in romaji.

Hepburn with two spellings of long vowels (toukyou / tokyo); the suffix (市 区 町 村 都 道 府 県) is
also written apart (sapporo-shi, sapporo shi).
"""
from __future__ import annotations

import unicodedata

_BASE = {
    "ア": "a", "イ": "i", "ウ": "u", "エ": "e", "オ": "o",
    "カ": "ka", "キ": "ki", "ク": "ku", "ケ": "ke", "コ": "ko", "ガ": "ga", "ギ": "gi", "グ": "gu", "ゲ": "ge",
    "ゴ": "go",
    "サ": "sa", "シ": "shi", "ス": "su", "セ": "se", "ソ": "so", "ザ": "za", "ジ": "ji", "ズ": "zu", "ゼ": "ze",
    "ゾ": "zo",
    "タ": "ta", "チ": "chi", "ツ": "tsu", "テ": "te", "ト": "to", "ダ": "da", "ヂ": "ji", "ヅ": "zu", "デ": "de",
    "ド": "do",
    "ナ": "na", "ニ": "ni", "ヌ": "nu", "ネ": "ne", "ノ": "no",
    "ハ": "ha", "ヒ": "hi", "フ": "fu", "ヘ": "he", "ホ": "ho", "バ": "ba", "ビ": "bi", "ブ": "bu", "ベ": "be",
    "ボ": "bo",
    "パ": "pa", "ピ": "pi", "プ": "pu", "ペ": "pe", "ポ": "po",
    "マ": "ma", "ミ": "mi", "ム": "mu", "メ": "me", "モ": "mo", "ヤ": "ya", "ユ": "yu", "ヨ": "yo",
    "ラ": "ra", "リ": "ri", "ル": "ru", "レ": "re", "ロ": "ro", "ワ": "wa", "ヲ": "o", "ン": "n", "ヴ": "vu",
    "ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o",
}
_YOUON = {"ャ": "a", "ュ": "u", "ョ": "o"}
SUFFIXES = {"シ": "shi", "ク": "ku", "チョウ": "cho", "マチ": "machi", "ムラ": "mura", "ソン": "son", "ケン": "ken",
            "フ": "fu", "ト": "to", "ドウ": "do"}


def to_romaji(kana: str) -> str:
    kana = unicodedata.normalize("NFKC", kana or "")
    out: list[str] = []
    double = False
    i = 0
    while i < len(kana):
        ch = kana[i]
        nxt = kana[i + 1] if i + 1 < len(kana) else ""
        if ch == "ッ":
            double = True
            i += 1
            continue
        if ch == "ー":
            i += 1
            continue
        syllable = _BASE.get(ch, "")
        if nxt in _YOUON and syllable:
            stem = syllable[:-1] if syllable.endswith("i") else syllable
            syllable = (stem if stem in ("sh", "ch", "j") else stem + "y") + _YOUON[nxt]
            i += 1
        if double and syllable:
            syllable = ("t" if syllable.startswith("ch") else syllable[0]) + syllable
        double = False
        out.append(syllable)
        i += 1
    return "".join(out)


def short_vowels(text: str) -> str:
    return text.replace("ou", "o").replace("oo", "o").replace("uu", "u")


def variants(kana: str) -> list[str]:
    """Romanized spellings of a municipality reading, most formal first."""
    kana = unicodedata.normalize("NFKC", kana or "")
    stem_kana, suffix = kana, ""
    for suffix_kana in sorted(SUFFIXES, key=len, reverse=True):
        if kana.endswith(suffix_kana) and len(kana) > len(suffix_kana) + 1:
            stem_kana, suffix = kana[: -len(suffix_kana)], SUFFIXES[suffix_kana]
            break
    out: list[str] = list(dict.fromkeys([to_romaji(kana), short_vowels(to_romaji(kana))]))
    for stem in dict.fromkeys([to_romaji(stem_kana), short_vowels(to_romaji(stem_kana))]):
        forms = [stem + suffix, f"{stem}-{suffix}", f"{stem} {suffix}"] if suffix else [stem]
        out.extend(f for f in forms if f not in out)
    return out
