"""Words that mean the same: Sudachi's normalized forms and synonym groups of the content words, and the
groups of the 言い換え辞書 (:mod:`bot.nlp.thesaurus`) a text uses.

「何に基づいて」 and 「骨太の方針に基づき」 share the normalized form 基づく; 「費用」 and 「コスト」 share a
Sudachi synonym group, as do 「AI」 and 「人工知能」. :func:`terms` gives the terms a text means (each
content word's normalized form and its synonym group ids), so that matching a question to a fact does
not depend on both using the same characters. The dictionary is SudachiDict's (a PyPI package that
GiNZA depends on); nothing is downloaded.
"""
from __future__ import annotations

import threading
from functools import lru_cache

from bot.nlp import thesaurus

THESAURUS_GROUP_BASE = -1  # the thesaurus's groups count down from here; Sudachi's ids are positive
_CONTENT = ("名詞", "動詞", "形容詞", "形状詞", "代名詞")
# Words every sentence has: they mean nothing about which fact is asked for.
_EMPTY = frozenset({
    "する", "為る", "居る", "いる", "成る", "なる", "有る", "ある", "出来る", "できる", "こと", "事", "もの", "物",
    "よう",
    "ため", "為", "何", "どれ", "どこ", "誰", "これ", "それ", "あれ", "この", "その", "方", "行う", "言う", "思う",
    "くれる",
    "貰う", "もらう", "下さる", "くださる", "頂く", "いただく", "御座る", "ござる", "呉れる", "様", "さん", "的",
    "とき", "時",
})
_local = threading.local()


def _tokenizer():
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        from sudachipy import dictionary

        tok = _local.tokenizer = dictionary.Dictionary().create()
    return tok


@lru_cache(maxsize=4096)
def words(text: str) -> tuple[tuple[str, frozenset[int]], ...]:
    """The content words of ``text``: (normalized form, Sudachi synonym group ids) each."""
    if not text:
        return ()
    from sudachipy import tokenizer

    out: dict[str, frozenset[int]] = {}
    for m in _tokenizer().tokenize(text[:2000], tokenizer.Tokenizer.SplitMode.C):
        pos = m.part_of_speech()
        if pos[0] not in _CONTENT or pos[1] == "数詞":
            continue
        form = m.normalized_form()
        if form in _EMPTY or m.dictionary_form() in _EMPTY or (len(form) < 2 and not _is_kanji(form)):
            continue
        out[form] = out.get(form, frozenset()) | frozenset(m.synonym_group_ids())
    for name, number in thesaurus.groups_in(text[:2000]):  # 「民間に任せる」 ~ 「委託」 (data/thesaurus.yml)
        out[name] = out.get(name, frozenset()) | {THESAURUS_GROUP_BASE - number}
    return tuple(out.items())


def _is_kanji(ch: str) -> bool:
    return bool(ch) and "\u4e00" <= ch[0] <= "\u9fff"


@lru_cache(maxsize=4096)
def _vocabulary(text: str) -> tuple[frozenset[str], frozenset[int]]:
    """The normalized forms of ``text``'s content words, and their synonym group ids."""
    found = words(text)
    return frozenset(f for f, _ in found), frozenset().union(*(g for _, g in found)) if found else frozenset()


def _unmatched(question: str, text: str, ignore: frozenset[str]) -> tuple[int, list[str]]:
    """How many content words of ``question`` (other than ``ignore``) ``text`` has, itself or a synonym,
    and the forms of those it has not."""
    forms, groups = _vocabulary(text)
    matched, rest = 0, []
    for form, group in words(question):
        if form in ignore:
            continue
        if form in forms or group & groups:
            matched += 1
        else:
            rest.append(form)
    return matched, rest


def shared(question: str, text: str, ignore: frozenset[str] = frozenset()) -> int:
    """How many content words of ``question`` (other than ``ignore``) ``text`` has, itself or a synonym."""
    return _unmatched(question, text, ignore)[0]


# Kanji that make words rather than meanings (化, 的, 業, 務 …): sharing one says nothing.
_AFFIX_KANJI = frozenset("化的性者等各全本当同新大小多少中内外上下前後今所方用業務事行人会日年月時間自治体市区町村工"
                         "県府都国民公共発表報告一二三数円万回目分実")


def kin(question: str, text: str, ignore: frozenset[str] = frozenset()) -> int:
    """Content words of ``question`` that ``text`` neither has nor has a synonym of, but shares a kanji
    with one of its words (「整える」~「整備」, 「準備」~「整備」): a weaker sign of the same meaning."""
    kanji = {ch for f in _vocabulary(text)[0] if len(f) >= 2 for ch in f if _is_kanji(ch) and ch not in _AFFIX_KANJI}
    return sum(1 for form in _unmatched(question, text, ignore)[1] if any(ch in kanji for ch in form))


def forms(text: str) -> frozenset[str]:
    return frozenset(f for f, _ in words(text))
