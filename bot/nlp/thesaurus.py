"""The 言い換え辞書 (``data/thesaurus.yml``): everyday expressions for the words of administrative reports.

「受付の仕事を民間に任せる」 shares no word with 「窓口業務の民間委託」, and Sudachi's synonym groups do not
join them. The thesaurus does: :func:`groups_in` gives the groups a text uses, which
:func:`bot.nlp.meaning.words` adds to the text's words (so a question and a fact match through a group),
and :func:`topic_surfaces` gives, for each presentation topic that names a group, the group's other
expressions, which ``madoguchi nlu generate`` adds to the topic lookup table (so 「民間に任せる」 names the
topic 委託).
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from bot.nlp.normalize import fold, normalize

PATH = Path(__file__).resolve().parents[2] / "data" / "thesaurus.yml"


def _path(path: Path | None) -> Path:
    """``path``, else MADOGUCHI_THESAURUS (another file, for a check before it replaces this one), else PATH."""
    return path or Path(os.environ.get("MADOGUCHI_THESAURUS") or PATH)


class ThesaurusError(ValueError):
    """The thesaurus file is not a list of groups of expressions."""


def load(path: Path | None = None) -> tuple[tuple[str, ...], ...]:
    """The groups, each a tuple of normalized expressions, its name first."""
    return _load(_path(path))


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[tuple[str, ...], ...]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ThesaurusError(f"言い換え辞書 {path} を読めません: {exc}") from exc
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        raise ThesaurusError(f"言い換え辞書 {path} には groups: の一覧が必要です")
    out = []
    for i, group in enumerate(groups, 1):
        if not isinstance(group, list) or len(group) < 2 or not all(isinstance(w, str) and w.strip() for w in group):
            raise ThesaurusError(f"言い換え辞書 {path} の {i} 番目の組は、"
                                 f"2語以上の文字列の一覧にしてください: {group!r}")
        out.append(tuple(dict.fromkeys(normalize(w).strip() for w in group)))
    return tuple(out)


def _pattern(expression: str) -> str:
    key = re.escape(fold(expression))
    if re.fullmatch(r"[a-z0-9]+", fold(expression)):  # 「IT」 is not the «it» of «digital»
        return rf"(?<![a-z0-9]){key}(?![a-z0-9])"
    return key


@lru_cache(maxsize=4)
def _patterns(path: Path) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((group[0], re.compile("|".join(_pattern(w) for w in sorted(group, key=len, reverse=True))))
                 for group in _load(path))


def groups_in(text: str, path: Path | None = None) -> tuple[tuple[str, int], ...]:
    """(the group's name, its number) for each group an expression of which ``text`` uses."""
    if not text:
        return ()
    folded = fold(text)
    return tuple((name, i) for i, (name, pattern) in enumerate(_patterns(_path(path))) if pattern.search(folded))


def topic_surfaces(topics: Iterable[str], path: Path | None = None) -> list[tuple[str, str]]:
    """(expression, topic) for every other expression of a group whose name is a topic."""
    known = {normalize(t): t for t in topics}
    return [(w, known[group[0]]) for group in load(path) if group[0] in known for w in group[1:]]
