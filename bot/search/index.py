"""Staff look-up: ranks FAQ entries and presentation passages by relevance to a Japanese query.

Ranking is Okapi BM25 (k1=1.2, b=0.75) with field weights (BM25F-style: a field's term counts are
multiplied by its weight before saturation):

- FAQ entry: 質問 and 質問_別表現 ×2, 分類 and the municipality's name ×1, 回答 and 担当部署 ×1.
- Presentation passage: 題目, presenting organizations and 話題 ×2; 概要, 事実, 連携先 and the
  related municipalities ×1.

Terms come from :mod:`bot.search.analyzer`, the analyzer the bot itself uses: the text is normalized with
:func:`bot.nlp.normalize.normalize`, tokenized by Sudachi in split mode C (the mode and dictionary of
GiNZA's tokenizer, ``sudachipy.Dictionary().create(SplitMode.C)``, without loading the spaCy model)
and each token is reduced to its ``normalized_form`` (取れ → 取れる), then folded with
:func:`bot.nlp.normalize.fold` (ゴミ = ごみ, AI = ai). Particles, auxiliary
verbs, punctuation, prefixes and pronouns are dropped. A compound (国民健康保険) also contributes
its split-mode-A parts of two or more characters (国民, 健康, 保険) at half weight, so 「健康保険」
still finds 「国民健康保険」 while the whole compound ranks higher.

The postings are precomputed BM25 impacts in flat numpy arrays, so a query costs one tokenization
and a few vector additions: about a millisecond for 10,000 entries (``bench/search.py``).

A FAQ hit's ``source`` names the municipality, the category and the file; entries from a file
whose name starts with ``sample`` (``data/kb/faq/sample_faq.csv``) are marked 【サンプルデータ・架空】.

``lg_code`` keeps the FAQ entries of that municipality and the shared ones (団体コード空欄);
presentation passages are not scoped and always stay.

:func:`index_for` keeps one index per database URL for the life of the process. At most every
``check_interval`` seconds it compares a cheap signature of the data (see :func:`signature`); a
change of the indexed data rebuilds the index (a write to another table of the same SQLite file,
such as the staff desk's sessions, does not). Code that writes the knowledge base can call
:func:`invalidate` to drop
an index at once.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
from sqlalchemy.orm import Session

from bot.kb.codes import code_problem, complete
from bot.kb.search_source import content_signature, file_signature, read_documents, signature
from bot.search.analyzer import ANALYZER, query_terms

K1 = 1.2
B = 0.75
QUESTION_WEIGHT = 2.0  # 質問, 質問_別表現, presentation title / presenters / topics
LABEL_WEIGHT = 1.0  # 分類, municipality name
BODY_WEIGHT = 1.0  # 回答, 担当部署, presentation summary / facts
KIND_FAQ, KIND_PRESENTATION = "faq", "presentation"
MAX_LIMIT = 100


class InvalidLgCode(ValueError):
    """The lg_code given to a search is not a 全国地方公共団体コード; the message is Japanese."""


@dataclass(frozen=True)
class Hit:
    kind: str  # "faq" | "presentation"
    score: float
    title: str  # FAQ: 質問; presentation: presenters「題目」
    text: str  # FAQ: 回答; presentation: 概要
    source: str  # where it comes from, to show the user
    lg_code: str | None  # FAQ: its 団体コード (None = shared); presentation: None
    id: int  # FaqEntry.id or Presentation.id
    category: str = ""  # FAQ 分類 / "発表"
    department: str = ""
    phone: str = ""
    url: str = ""
    checked_on: str = ""  # ISO date or ""

    def to_dict(self) -> dict:
        return asdict(self)


# -- the index -----------------------------------------------------------------------------------

class SearchIndex:
    """An immutable in-memory BM25 index over FAQ entries and presentation passages."""

    def __init__(self, hits: list[Hit], fields: list[list[tuple[float, list[tuple[str, float]]]]]) -> None:
        """``hits[i]`` is what document i shows (score 0); ``fields[i]`` its (field weight, terms) lists."""
        self._hits = hits
        n = len(hits)
        vocabulary: dict[str, int] = {}
        term_ids: list[int] = []
        doc_ids: list[int] = []
        tfs: list[float] = []
        lengths = np.zeros(n, dtype=np.float64)
        for doc, doc_fields in enumerate(fields):
            tf: dict[int, float] = {}
            for field_weight, terms in doc_fields:
                for term, weight in terms:
                    tid = vocabulary.setdefault(term, len(vocabulary))
                    tf[tid] = tf.get(tid, 0.0) + field_weight * weight
                    lengths[doc] += field_weight * weight
            term_ids.extend(tf)
            doc_ids.extend([doc] * len(tf))
            tfs.extend(tf.values())
        self._vocabulary = vocabulary
        t = np.asarray(term_ids, dtype=np.int64)
        d = np.asarray(doc_ids, dtype=np.int32)
        f = np.asarray(tfs, dtype=np.float64)
        df = np.bincount(t, minlength=len(vocabulary)).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        avgdl = float(lengths[lengths > 0].mean()) if n and (lengths > 0).any() else 1.0
        norm = K1 * (1.0 - B + B * lengths[d] / avgdl) if len(d) else np.zeros(0)
        impact = idf[t] * f * (K1 + 1.0) / (f + norm) if len(d) else np.zeros(0)
        order = np.argsort(t, kind="stable")
        self._doc_ids = d[order]
        self._impacts = impact[order].astype(np.float32)
        self._offsets = np.concatenate(([0], np.cumsum(df))).astype(np.int64)
        codes = sorted({h.lg_code for h in hits if h.lg_code})
        self._code_index = {code: i for i, code in enumerate(codes)}
        self._doc_code = np.array([self._code_index[h.lg_code] if h.lg_code else -1 for h in hits], dtype=np.int32)
        self._shared = self._doc_code == -1
        self._masks: dict[str, np.ndarray] = {}

    # -- building --------------------------------------------------------------------------------
    @classmethod
    def build(cls, session: Session) -> "SearchIndex":
        return cls.from_data(read_documents(session))

    @classmethod
    def from_data(cls, data: tuple) -> "SearchIndex":
        """The index of what :func:`bot.kb.search_source.read_documents` returned (no database access)."""
        rows, names, assemblies = data
        memo: dict[str, list[tuple[str, float]]] = {}

        def short(text: str) -> list[tuple[str, float]]:  # category, department, names repeat a lot
            if text not in memo:
                memo[text] = ANALYZER.terms(text)
            return memo[text]

        hits: list[Hit] = []
        fields: list = []
        for r in rows:
            scope = names.get(r.lg_code, r.lg_code) if r.lg_code else "共通"
            sample = "【サンプルデータ・架空】" if (r.source or "").startswith("sample") else ""
            hits.append(Hit(
                kind=KIND_FAQ, score=0.0, title=r.question, text=r.answer,
                source=f"{sample}FAQ（{scope}・{r.category}）{r.source}".rstrip(), lg_code=r.lg_code, id=r.id,
                category=r.category, department=r.department or "", phone=r.phone or "", url=r.url or "",
                checked_on=r.checked_on.isoformat() if r.checked_on else "",
            ))
            question = ANALYZER.terms(r.question)
            for alternative in (r.alternatives or "").split("|"):
                question += ANALYZER.terms(alternative)
            label = short(r.category) + (short(scope) if r.lg_code else [])
            body = ANALYZER.terms(r.answer) + short(r.department or "")
            fields.append([(QUESTION_WEIGHT, question), (LABEL_WEIGHT, label), (BODY_WEIGHT, body)])

        for assembly in assemblies:
            for p in assembly.presentations:
                presenters = p.presenter_label
                hits.append(Hit(
                    kind=KIND_PRESENTATION, score=0.0, title=f"{presenters}「{p.title}」" if presenters else p.title,
                    text=p.summary, source=p.source, lg_code=None, id=p.id, category="発表",
                ))
                heading = ANALYZER.terms(p.title)
                for text in (*p.presenters, *p.topics):
                    heading += short(text)
                body = ANALYZER.terms(p.summary)
                for text in (*(f.text for f in p.facts), *p.partners, *(name for name, _, _ in p.municipalities)):
                    body += ANALYZER.terms(text)
                fields.append([(QUESTION_WEIGHT, heading), (BODY_WEIGHT, body)])
        return cls(hits, fields)

    # -- searching -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._hits)

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocabulary)

    def search(self, query: str, lg_code: str | None = None, limit: int = 5) -> list[Hit]:
        """The ``limit`` best hits for ``query``, best first; [] when nothing matches.

        ``lg_code`` (6 digits, or 5 without the check digit) keeps that municipality's FAQ entries
        and the shared ones, plus presentation passages; a malformed code raises InvalidLgCode.
        """
        mask = self._mask(lg_code) if lg_code not in (None, "") else None
        limit = min(int(limit), MAX_LIMIT)
        terms = query_terms(query)
        if limit <= 0 or not terms or not self._hits:
            return []
        scores = np.zeros(len(self._hits), dtype=np.float32)
        for term, weight in terms.items():
            tid = self._vocabulary.get(term)
            if tid is None:
                continue
            start, end = self._offsets[tid], self._offsets[tid + 1]
            scores[self._doc_ids[start:end]] += np.float32(weight) * self._impacts[start:end]
        if mask is not None:
            scores[~mask] = 0.0
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > limit:
            kth = np.partition(scores[candidates], len(candidates) - limit)[len(candidates) - limit]
            candidates = candidates[scores[candidates] >= kth]
        candidates = candidates[np.lexsort((candidates, -scores[candidates]))][:limit]
        out = []
        for doc in candidates:
            hit = self._hits[doc]
            out.append(replace(hit, score=round(float(scores[doc]), 4)))
        return out

    def unknown_terms(self, query: str) -> list[str]:
        """The query's words (not their sub-words) that occur nowhere in the index (「カレー」)."""
        return [t for t, w in ANALYZER.terms(query) if w == 1.0 and t not in self._vocabulary]

    def _mask(self, lg_code: str) -> np.ndarray:
        code = complete(str(lg_code))
        if code is None:
            raise InvalidLgCode(code_problem(str(lg_code)) or f"全国地方公共団体コード「{lg_code}」が正しくありません")
        mask = self._masks.get(code)
        if mask is None:
            index = self._code_index.get(code)
            mask = self._shared if index is None else (self._shared | (self._doc_code == index))
            self._masks[code] = mask
        return mask


# -- one index per database, rebuilt when the data changes -----------------------------------------

@dataclass
class _Cached:
    index: SearchIndex
    signature: tuple
    checked: float
    content: tuple | None = None  # SQLite: content_signature() when the index was built


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()


def index_for(url: str | None = None, check_interval: float = 2.0) -> SearchIndex:
    """The index of the database at ``url`` (default: MADOGUCHI_DB_URL or the SQLite file).

    Built on first use (seconds for 10,000 entries; other threads wait only for this first build).
    Afterwards the data signature is checked at most every ``check_interval`` seconds; when it has
    changed the index is rebuilt, and meanwhile other threads keep getting the previous index. A SQLite
    file whose indexed content is unchanged (:func:`content_signature`: only another table was
    written) keeps its index.
    """
    from sqlalchemy.engine import make_url

    from bot.kb.db import database_url, open_session

    resolved = database_url(url)
    cached = _cache.get(resolved)
    if cached is not None:
        now = time.monotonic()
        if now - cached.checked < check_interval:
            return cached.index
        by_file = file_signature(make_url(resolved))
        if by_file is not None and by_file == cached.signature:
            cached.checked = now
            return cached.index
    if not _cache_lock.acquire(blocking=cached is None):
        assert cached is not None  # only a non-blocking acquire fails
        return cached.index  # another thread is checking or rebuilding
    try:
        cached = _cache.get(resolved)
        with open_session(resolved) as session:
            current = signature(session)
            if cached is not None and cached.signature == current:
                cached.checked = time.monotonic()
                return cached.index
            content = content_signature(session) if current[0] == "file" else None
            if cached is not None and content is not None and cached.content == content:
                cached.signature, cached.checked = current, time.monotonic()  # another table was written
                return cached.index
            data = read_documents(session)
        index = SearchIndex.from_data(data)  # the read transaction has ended: writers need not wait
        _cache[resolved] = _Cached(index, current, time.monotonic(), content)
        return index
    finally:
        _cache_lock.release()


def invalidate(url: str | None = None, *, everything: bool = False) -> None:
    """Forget the cached index of ``url`` (or of every database): the next search rebuilds it."""
    from bot.kb.db import database_url

    with _cache_lock:
        if everything:
            _cache.clear()
        else:
            _cache.pop(database_url(url), None)


def search(query: str, lg_code: str | None = None, limit: int = 5, url: str | None = None) -> list[Hit]:
    """Search the knowledge base at ``url`` (see SearchIndex.search)."""
    return index_for(url).search(query, lg_code=lg_code, limit=limit)

