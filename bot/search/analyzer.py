"""The analyzer of the staff look-up: Japanese text → weighted terms, as the index and its queries see them.

The text is normalized with :func:`bot.nlp.normalize.normalize`, tokenized by Sudachi in split mode C
(the mode and dictionary of GiNZA's tokenizer, ``sudachipy.Dictionary().create(SplitMode.C)``, without
loading the spaCy model) and each token is reduced to its ``normalized_form`` (取れ → 取れる), then folded
with :func:`bot.nlp.normalize.fold` (ゴミ = ごみ, AI = ai). Particles, auxiliary verbs, punctuation,
prefixes and pronouns are dropped. A compound (国民健康保険) also contributes its split-mode-A parts of
two or more characters (国民, 健康, 保険) at half weight (:data:`SUBWORD_WEIGHT`).
"""
from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any, cast

from bot.nlp.normalize import MAX_CHARS, fold, normalize

SUBWORD_WEIGHT = 0.5  # split-mode-A parts of a compound
DROPPED_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "接頭辞", "代名詞"})
# Very frequent, content-free verbs and nouns (normalized forms).
# Grammar and the wording of a request (「教えてください」「知りたい」) match every FAQ title alike.
STOP_TERMS = frozenset({
    "為る", "有る", "居る", "成る", "出来る", "下さる", "致す", "御座る", "頂く", "事", "物", "様", "等",
    "教える", "知る", "分かる", "伺う", "願う", "尋ねる", "欲しい",
})
_CHUNK = MAX_CHARS - 100  # normalize() cuts at MAX_CHARS; documents are fed to it in smaller pieces
_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])")
_CACHE_LIMIT = 200_000
_MISSING = object()


class _Analyzer:
    """Sudachi (GiNZA's dictionary, split mode C), loaded lazily once per process; one tokenizer per thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dictionary = None
        # Sudachi's (untyped) POS matcher and split modes, set with the dictionary
        self._drop: Any = None
        self._modes: Any = None
        self._local = threading.local()
        self._forms: dict[str, str | None] = {}  # normalized form -> term (words repeat: Zipf)
        self._parts: dict[tuple, tuple[tuple[str, float], ...]] = {}  # (word id, surface) -> sub-terms

    def _tokenizer(self):
        tok = getattr(self._local, "tokenizer", None)
        if tok is None:
            from sudachipy import dictionary, tokenizer

            with self._lock:
                if self._dictionary is None:
                    self._dictionary = dictionary.Dictionary()
                    self._drop = self._dictionary.pos_matcher(lambda pos: pos[0] in DROPPED_POS)
                    self._modes = (tokenizer.Tokenizer.SplitMode.C, tokenizer.Tokenizer.SplitMode.A)
            tok = self._local.tokenizer = self._dictionary.create(self._modes[0])
        return tok

    def terms(self, text: str) -> list[tuple[str, float]]:
        """(term, weight) for every content token of ``text``, in order; weight 1 or SUBWORD_WEIGHT."""
        if not text:
            return []
        tok = self._tokenizer()
        drop, mode_a, forms, parts = self._drop, self._modes[1], self._forms, self._parts
        if len(forms) > _CACHE_LIMIT or len(parts) > _CACHE_LIMIT:
            forms.clear()
            parts.clear()
        out: list[tuple[str, float]] = []
        for chunk in _chunks(text):
            chunk = normalize(chunk)
            if not chunk:
                continue
            for morpheme in tok.tokenize(chunk):
                if drop(morpheme):
                    continue
                term = self._term_of(morpheme.normalized_form())
                if term is None:
                    continue
                out.append((term, 1.0))
                if len(morpheme) >= 3:  # a compound of mode C: add its mode-A parts (len() counts characters)
                    key = (morpheme.word_id(), morpheme.surface())
                    subs = parts.get(key)
                    if subs is None:
                        subs = parts[key] = self._subterms(morpheme, term, mode_a, drop)
                    out.extend(subs)
        return out

    def spans(self, text: str, wanted: set[str] | frozenset[str]) -> list[tuple[int, int]]:
        """(start, end) offsets in ``text`` of its words whose term (or, for a compound, a part's term) is in
        ``wanted``: what a query matched, for highlighting. The text is tokenized as it is (Sudachi's offsets
        are the original's; its own input normalization covers width and case), without normalize()."""
        if not text or not wanted:
            return []
        tok = self._tokenizer()
        drop, mode_a = self._drop, self._modes[1]
        out: list[tuple[int, int]] = []
        offset = 0
        for chunk in _chunks(text):
            for morpheme in tok.tokenize(chunk):
                if drop(morpheme):
                    continue
                term = self._term_of(morpheme.normalized_form())
                if term in wanted:
                    out.append((offset + morpheme.begin(), offset + morpheme.end()))
                elif len(morpheme) >= 3:
                    for piece in morpheme.split(mode_a):
                        if not drop(piece) and _term(piece.normalized_form()) in wanted:
                            out.append((offset + piece.begin(), offset + piece.end()))
            offset += len(chunk)
        return out

    def _term_of(self, form: str) -> str | None:
        """The index term of a normalized form, cached (words repeat: Zipf)."""
        term = self._forms.get(form, _MISSING)
        if term is _MISSING:
            term = self._forms[form] = _term(form)
        return cast("str | None", term)

    @staticmethod
    def _subterms(morpheme, term: str, mode_a, drop) -> tuple[tuple[str, float], ...]:
        pieces = morpheme.split(mode_a)
        if len(pieces) < 2:
            return ()
        out = []
        for piece in pieces:
            sub = None if drop(piece) else _term(piece.normalized_form())
            if sub is not None and len(sub) >= 2 and sub != term:
                out.append((sub, SUBWORD_WEIGHT))
        return tuple(out)


def _term(form: str) -> str | None:
    term = fold(form)  # katakana → hiragana, ASCII lower-case: ゴミ = ごみ, AI = ai
    if term in STOP_TERMS or not any(unicodedata.category(ch)[0] in "LN" for ch in term):
        return None
    return term


def _chunks(text: str):
    """Pieces of at most _CHUNK characters, cut at sentence ends where possible."""
    if len(text) <= _CHUNK:
        yield text
        return
    piece = ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > _CHUNK:
            if piece:
                yield piece
                piece = ""
            yield sentence[:_CHUNK]
            sentence = sentence[_CHUNK:]
        if len(piece) + len(sentence) > _CHUNK:
            yield piece
            piece = ""
        piece += sentence
    if piece:
        yield piece


ANALYZER = _Analyzer()


def query_terms(text: str) -> dict[str, float]:
    """The distinct terms of a query with their weights (what the index is searched for)."""
    out: dict[str, float] = {}
    for term, weight in ANALYZER.terms(text if isinstance(text, str) else str(text or "")):
        if weight > out.get(term, 0.0):
            out[term] = weight
    return out


def matched_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Where in ``text`` the words of ``query`` occur as the index sees them (取る matches 取り, ゴミ
    matches ごみ, 健康保険 the parts of 国民健康保険): (start, end) offsets, in order, for highlighting."""
    return ANALYZER.spans(text if isinstance(text, str) else str(text or ""), frozenset(query_terms(query)))

