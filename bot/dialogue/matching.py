"""Cheap Japanese text matching for choosing among a presentation's facts.

Content bigrams are character bigrams that contain at least one kanji, katakana, Latin letter or
digit: pure-hiragana bigrams are mostly particles and endings (のは, ですか) and carry no topic.
"""
from __future__ import annotations

import re
from typing import AbstractSet

_HIRAGANA_ONLY = re.compile(r"^[\u3041-\u309f]+$")
_PUNCT = re.compile(r"[\s、。・「」『』（）()?？!！,.:：/／\-ー]")


# Words every presentation is about: they say nothing about which fact a question means.
GENERIC_WORDS = ("自治体",)


def question_bigrams(question: str) -> set[str]:
    """The question's content bigrams without those of GENERIC_WORDS."""
    return content_bigrams(question) - set().union(*(content_bigrams(w) for w in GENERIC_WORDS))


def content_bigrams(text: str) -> set[str]:
    text = _PUNCT.sub(" ", text or "")
    grams = set()
    for i in range(len(text) - 1):
        gram = text[i : i + 2]
        if " " in gram or _HIRAGANA_ONLY.match(gram):
            continue
        grams.add(gram.lower())
    return grams


def overlap(question: str, text: str, ignore: AbstractSet[str] = frozenset()) -> int:
    """How many content bigrams of ``question`` (minus ``ignore``) occur in ``text``."""
    return len((question_bigrams(question) - ignore) & content_bigrams(text))
