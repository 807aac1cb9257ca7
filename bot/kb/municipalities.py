"""Finding a municipality of the national master by what a person types: 名称, kana, romaji or 団体コード.

    finder(session).suggest("sumida")   → [東京都墨田区 (131075)]
    finder(session).resolve("府中市")     → [東京都府中市, 広島県府中市]  (two: the caller asks which)

Each 団体 is found by its code (6 digits, or the first 5), its name (墨田区), prefecture + name
(東京都墨田区), its reading in hiragana or katakana (すみだく) and its romaji (sumida-ku, sumidaku,
with long vowels written either way: toukyou / tokyo), each also by the start of it (墨田, すみだ,
sumida). Width, case, spaces and hyphens do not matter. The finder is built from the database once per
knowledge-base version (:func:`bot.kb.queries` snapshots).
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kb import models as m
from bot.kb.codes import complete
from bot.kb.queries import _snapshot

_IGNORED = re.compile(r"[\s\-‐―－'’・]")
_LEADING_CODE = re.compile(r"^(\d{5,6})(?!\d)")


@dataclass(frozen=True)
class Municipality:
    code: str
    label: str  # 東京都墨田区, or the prefecture's own name
    kana: str  # reading in hiragana (すみだく)
    romaji: str  # sumida-ku
    is_prefecture: bool
    spellings: tuple[str, ...] = ()  # every romaji spelling without spaces or hyphens (sumidaku; fuchushi, fuchuushi)

    @property
    def reading(self) -> str:
        """Kana and romaji, for a suggestion's label (a browser filters suggestions by it too)."""
        return " ".join(dict.fromkeys(x for x in (self.kana, self.romaji, *self.spellings) if x))

    @property
    def option(self) -> str:
        """What a suggestion puts in the field: the code first, so the choice is never ambiguous."""
        return f"{self.code} {self.label}"


def key(text: str) -> str:
    """The form both the names and what a person types are compared in."""
    from bot.nlp.normalize import fold

    return _IGNORED.sub("", fold(unicodedata.normalize("NFKC", text or "")))


class MunicipalityFinder:
    def __init__(self, municipalities: list[Municipality], keys: list[tuple[str, int]]) -> None:
        self._all = municipalities
        self._by_code = {mu.code: mu for mu in municipalities}
        self._keys = sorted(keys)
        self._words = [k for k, _ in self._keys]

    @classmethod
    def build(cls, session: Session) -> "MunicipalityFinder":
        from bot.nlp.romaji import variants

        lg = m.LocalGovernment
        rows = session.execute(
            select(lg.code, lg.pref_name, lg.name, lg.name_kana, lg.is_prefecture).order_by(lg.code)
        ).all()
        municipalities: list[Municipality] = []
        keys: list[tuple[str, int]] = []
        for i, r in enumerate(rows):
            label = r.name if r.is_prefecture else f"{r.pref_name}{r.name}"
            spellings = variants(r.name_kana) if r.name_kana else []
            hyphenated = sorted((x for x in spellings if "-" in x), key=len)
            shown = hyphenated[0] if hyphenated else (spellings[0] if spellings else "")
            compact = tuple(dict.fromkeys(key(x) for x in spellings))
            municipalities.append(Municipality(r.code, label, key(r.name_kana or ""), shown, bool(r.is_prefecture),
                                               compact))
            for text in {r.code, r.code[:5], r.name, label, r.name_kana or "", *spellings}:
                if key(text):
                    keys.append((key(text), i))
        return cls(municipalities, keys)

    def __len__(self) -> int:
        return len(self._all)

    def by_code(self, code: str) -> Municipality | None:
        full = complete(code)
        return self._by_code.get(full) if full else None

    def suggest(self, text: str, limit: int = 20) -> list[Municipality]:
        """Municipalities whose code, name, reading or romaji starts with ``text``: exact matches first,
        then 市区町村 before prefectures, then by code."""
        wanted = key(text)
        if not wanted:
            return []
        found: dict[int, bool] = {}  # index → exact
        start = bisect.bisect_left(self._words, wanted)
        for word, index in self._keys[start:]:
            if not word.startswith(wanted):
                break
            found[index] = found.get(index, False) or word == wanted
        ordered = sorted(found, key=lambda i: (not found[i], self._all[i].is_prefecture, self._all[i].code))
        return [self._all[i] for i in ordered[:limit]]

    def resolve(self, text: str) -> list[Municipality]:
        """What a filter field names: one municipality, several (the caller asks which), or none.

        A leading code (the suggestion's ``131075 東京都墨田区``) decides alone; otherwise the exact matches
        of name, reading or romaji, or, when there are none, the one municipality whose name starts so.
        """
        text = unicodedata.normalize("NFKC", text or "").strip()
        code = _LEADING_CODE.match(text)
        if code:
            found = self.by_code(code.group(1))
            return [found] if found else []
        wanted = key(text)
        if not wanted:
            return []
        start = bisect.bisect_left(self._words, wanted)
        exact: list[int] = []
        prefix: list[int] = []
        for word, index in self._keys[start:]:
            if not word.startswith(wanted):
                break
            target = exact if word == wanted else prefix
            if index not in target:
                target.append(index)
        if exact:
            return [self._all[i] for i in sorted(exact, key=lambda i: self._all[i].code)]
        return [self._all[i] for i in sorted(prefix, key=lambda i: self._all[i].code)]


def finder(session: Session) -> MunicipalityFinder:
    """The finder of the database ``session`` is bound to, cached per knowledge-base version."""
    return _snapshot(session, "municipality_finder", lambda: MunicipalityFinder.build(session))
