"""Views of a GiNZA-parsed message: its words and characters, and two that plain counts miss.

- **Words** and **characters** (:func:`word_terms`, :func:`character_terms`): the lemmas of the
  message (numbers as ``__number__``) and their character 1–3-grams inside word boundaries, as
  Rasa's ``CountVectorsFeaturizer`` counts them; here so that a featurizer knows which of them it
  has never seen (see ``ViewFeaturizer``).

- **Polarity** (:func:`polarity_terms`): the content words, each marked ``¬`` when a negation
  (ない, ぬ/ん, ず, にくい, づらい) follows it, plus one sign for the whole message: negative if any
  evaluation word below is negative (several do not cancel), flipped once per negation.
  「間違っていませんでした」 and 「間違っていました」 share every word but get opposite signs, so
  feedback can be told apart from words the training data never paired with a negation.
- **Sound** (:func:`sound_key`): the message as romaji of its Sudachi readings, long vowels
  shortened. 「事務曲」(a typo), 「じむきょく」 and "jimukyoku" all read *jimukyoku*, like 事務局.

The evaluation words are a small hand-kept vocabulary about answers (like the question cues in
``data/nlu/attributes.yml``), not facts of the knowledge base. Words are Sudachi normalized forms.
"""
from __future__ import annotations

import re
from typing import Iterable, List

from bot.nlp.romaji import short_vowels, to_romaji

POSITIVE = frozenset({
    "正しい", "合う", "良い", "立つ", "満足", "正確", "的確", "正解", "合格", "通り", "分かる", "求める", "答える",
    "期待", "欲しい", "高評価", "高", "大丈夫", "役立つ", "有能", "満点", "有益", "参考", "納得", "適切", "十分",
    "明確", "丁寧", "親切", "便利",
    "完璧", "最高", "素晴らしい", "優秀", "当たる", "的中", "ぴったり", "ばっちり", "どんぴしゃり", "グッジョブ",
    "ナイス", "パーフェクト", "コレクト", "グッド", "good", "ok", "nice", "great", "helpful", "useful", "👍",
    "exactly", "accurate", "awesome",
})
# English evaluation words as Sudachi normalizes them (right → ライト); counted only when typed in
# Latin letters, since the katakana words mean other things too (ライトアップ, クリアファイル)
ENGLISH_POSITIVE = frozenset({"ライト", "トゥルー", "エグザクト", "クリア", "エクセレント", "グレート"})
ENGLISH_NEGATIVE = frozenset({"フォールス", "テリブル", "プアー", "ナンセンス"})
NEGATIVE = frozenset({
    "違う", "違い", "間違う", "間違い", "誤り", "誤る", "誤答", "誤", "悪い", "不満", "不正確", "不正解", "不合格",
    "不十分", "不親切", "不適切", "不明", "的外れ", "外れる", "外れ", "ずれる", "出鱈目", "頓珍漢", "今一", "微妙",
    "問題", "申し分", "文句", "低評価", "低", "不足", "糞", "がばがば", "ちゃう", "駄目", "最悪", "酷い", "御粗末",
    "役立たず", "バッド", "bad", "ng", "wrong",
    "useless", "👎", "incorrect", "inaccurate", "unhelpful", "unclear", "confusing", "awful",
})
# words that only carry a predicate (いる, ある, くれる, なる, する …): a negation passes over them
_CARRIERS = frozenset({"居る", "有る", "呉れる", "成る", "為る", "仕舞う", "貰う", "下さる", "頂く", "御座る", "来る",
                       "行く", "思う"})
_NEGATORS = frozenset({"ず", "無い", "難い", "辛い"})
_SKIP_POS = ("PUNCT", "SYM", "SPACE")
_LATIN = re.compile(r"[a-z]")
_PARTICLES = {"は": "wa", "へ": "e", "を": "o"}
_NUMBER = re.compile(r"\b[0-9]+\b")
_WORD = re.compile(r"(?u)\b\w+\b")


def _lemmas(doc) -> str:
    return " ".join(_NUMBER.sub("__NUMBER__", t.lemma_ or t.text).lower() for t in doc if t.text.strip())


def word_terms(doc) -> List[str]:
    return _WORD.findall(_lemmas(doc))


def character_terms(doc) -> List[str]:
    """Character 1–3-grams of each word padded with a space (scikit-learn's ``char_wb``)."""
    out: List[str] = []
    for word in _lemmas(doc).split():
        padded = f" {word} "
        for n in range(1, 4):
            if n >= len(padded):
                out.append(padded)  # the whole padded word, once
                break
            out.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return out


_ENGLISH_NEGATORS = frozenset({"ノット", "ネバー", "ドント", "キャント"})  # not, never, don't, can't


def _is_negation(token) -> bool:
    morph = str(token.morph)
    if "助動詞-ヌ" in morph or "助動詞-ナイ" in morph:
        return True
    if token.norm_ in _ENGLISH_NEGATORS:
        return True
    if token.text == "t" and token.i >= 2 and token.nbor(-1).text in ("'", "’") and token.nbor(-2).text.endswith("n"):
        return True  # wasn't, doesn't: Sudachi splits them as wasn / ' / t
    return token.i > 0 and token.norm_ in _NEGATORS


def _is_function_word(token) -> bool:
    return token.tag_.startswith(("助動詞", "助詞", "接尾辞", "補助記号")) or token.norm_ in _CARRIERS


def negated_words(doc) -> List[str]:
    """Content words (normalized forms), with ``¬`` on those a negation applies to."""
    tokens = list(doc)
    negated = [False] * len(tokens)
    for i, token in enumerate(tokens):
        if not _is_negation(token):
            continue
        j = i - 1
        while j >= 0 and _is_function_word(tokens[j]) and not _is_negation(tokens[j]):
            j -= 1
        if j >= 0:
            negated[j] = not negated[j]
    return [t.norm_ + ("¬" if negated[t.i] else "") for t in tokens
            if not (_is_function_word(t) or _is_negation(t) or t.pos_ in _SKIP_POS)]


RATINGS = {"👍": "POL+", "👎": "POL-"}  # the rating buttons' emoji: their sign is not a word's to negate
THUMBS_IN_WORDS = {"thumbs up": "POL+", "thumbs down": "POL-", "親指を上": "POL+", "親指を下": "POL-"}


def polarity(doc) -> str | None:
    """``POL+`` / ``POL-`` for a message with evaluation words, ``NEG`` for a negation without
    any, else None. A message with 👍 or 👎 (one of them) has its sign: 「👎 正しくない」 rates the
    answer down, its negation does not turn the thumb up."""
    lowered = doc.text.lower()
    thumbs = {RATINGS[ch] for ch in doc.text if ch in RATINGS}
    thumbs |= {sign for words, sign in THUMBS_IN_WORDS.items() if words in lowered}
    if len(thumbs) == 1:
        return thumbs.pop()
    polar, negative, negations = False, False, 0
    for token in doc:
        if _is_negation(token):
            negations += 1
            continue
        word = token.norm_.lower()
        latin = bool(_LATIN.search(token.text.lower()))
        if word in POSITIVE or (latin and word in ENGLISH_POSITIVE):
            polar = True
        elif word in NEGATIVE or (latin and word in ENGLISH_NEGATIVE):
            polar = negative = True  # negative words add up (👎 的外れ), they do not cancel
    if not polar:
        return "NEG" if negations else None
    return "POL-" if negative != (negations % 2 == 1) else "POL+"


def polarity_terms(doc) -> List[str]:
    sign = polarity(doc)
    return negated_words(doc) + ([sign] if sign else [])


def sound_key(doc) -> str:
    parts: List[str] = []
    for token in doc:
        if token.pos_ in _SKIP_POS:
            continue
        text = token.text.lower()
        if _LATIN.search(text):
            parts.append(re.sub(r"[^a-z]", "", text))
            continue
        if token.tag_.startswith("助詞") and token.text in _PARTICLES:
            parts.append(_PARTICLES[token.text])  # は and へ as particles sound wa and e
            continue
        reading = token.morph.get("Reading")
        parts.append((to_romaji(reading[0]) if reading else "") or text)
    return short_vowels("".join(parts))


def char_ngrams(text: str, low: int, high: int) -> Iterable[str]:
    padded = f" {text} "
    for n in range(low, high + 1):
        for i in range(len(padded) - n + 1):
            yield padded[i:i + n]
