"""What every reader of a data file shares: its located problems, the names known so far, value checks.

A :class:`Reader` collects every problem (file, row, column, reason) instead of stopping at the first,
and knows the local governments and organizations read so far (from earlier files, or from the database
with :meth:`Reader.seed`), so a later file can name them. One module per format reads with it:
:mod:`bot.kb.master`, :mod:`bot.kb.organizations`, :mod:`bot.kb.society`, :mod:`bot.kb.assembly`
(and :mod:`bot.kb.faq`, :mod:`bot.kb.event_csv`, which check their rows themselves).
"""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.kb import models as m
from bot.kb.codes import code_problem
from bot.kb.dates import DateError, parse_date, parse_time
from bot.kb.files import Problem

_CJK_SPACE_RE = re.compile(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])")
# Japanese names of model columns, for length problems.
COLUMN_LABELS = {
    "name": "名称", "kind": "種別", "alias": "別名", "pref_name": "都道府県名", "name_kana": "カナ",
    "pref_kana": "都道府県名カナ", "secretariat": "事務局", "secretariat_department": "事務局部署",
    "source": "出典", "venue": "場所名称", "address": "住所", "organizer": "主催者", "url": "URL",
    "phone": "連絡先電話番号", "hours": "受付時間",
    "scale_note": "規模", "title": "題目", "speaker": "発表者", "speaker_title": "発表者役職",
    "topic": "話題", "role": "役割", "kinds": "種類",
}
MAX_INTEGER = 2**31 - 1  # INTEGER columns (回, 順番, 参加者数 …): PostgreSQL refuses larger values


def clean_text(text) -> str:
    """Joins folded YAML lines: no spaces next to Japanese characters, single spaces elsewhere."""
    return _CJK_SPACE_RE.sub("", " ".join(str(text).split()))


class Reader:
    """One load's problems and known names; the readers of each format add to both."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.lg_by_code: dict[str, m.LocalGovernment] = {}
        self.lg_by_name: dict[str, list[m.LocalGovernment]] = {}
        self.org_by_name: dict[str, m.Organization] = {}

    def problem(self, file: Path, row: int | None, column: str | None, reason: str) -> None:
        self.problems.append(Problem(str(file), row, column, reason))

    def seed(self, session: Session) -> None:
        """Resolve names against what the database already holds, too."""
        for lg in session.scalars(select(m.LocalGovernment)):
            self.add_local_government(lg)
        for org in session.scalars(select(m.Organization).options(selectinload(m.Organization.aliases))):
            self.org_by_name[org.name] = org
            for alias in org.aliases:
                self.org_by_name.setdefault(alias.alias, org)

    def add_local_government(self, lg: m.LocalGovernment) -> None:
        """Known by its code, its name and (a municipality) its prefecture + name; replaces a known code."""
        old = self.lg_by_code.get(lg.code)
        if old is not None:
            for names in self.lg_by_name.values():
                if old in names:
                    names.remove(old)
        self.lg_by_code[lg.code] = lg
        self.lg_by_name.setdefault(lg.name, []).append(lg)
        if not lg.is_prefecture:
            self.lg_by_name.setdefault(lg.pref_name + lg.name, []).append(lg)

    def resolve_lg(self, file: Path, row: int | None, column: str, name: str,
                   code: str = "") -> m.LocalGovernment | None:
        if code:
            lg = self.lg_by_code.get(code)
            if lg is None:
                self.problem(file, row, column,
                             code_problem(code) or f"団体コード「{code}」は地方公共団体の一覧にありません")
            elif name and name not in (lg.name, lg.pref_name + lg.name):
                self.problem(file, row, column,
                             f"「{name}」と団体コード「{code}」（{lg.pref_name}{lg.name}）が一致しません")
                return None
            return lg
        candidates = self.lg_by_name.get(name, [])
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            self.problem(file, row, column, f"「{name}」は地方公共団体の一覧にありません")
        else:
            options = "、".join(f"{c.pref_name}{c.name}（{c.code}）" for c in candidates)
            self.problem(file, row, column,
                         f"「{name}」は複数あります（{options}）。都道府県名を付けるか団体コードで指定してください")
        return None

    def known_keys(self, path: Path, data: dict, allowed: set[str], prefix: str = "") -> None:
        for key in data:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else str(key)
                self.problem(path, None, where, f"不明な項目です（使える項目: {'、'.join(sorted(allowed))}）")

    def fits(self, path: Path, row, prefix: str, *objects) -> None:
        """Every text fits its column (PostgreSQL would refuse it; SQLite would keep it)."""
        for obj in objects:
            for column in obj.__table__.columns:
                length = getattr(column.type, "length", None)
                value = getattr(obj, column.key, None)
                if length and isinstance(value, str) and len(value) > length:
                    label = COLUMN_LABELS.get(column.key, column.key)
                    self.problem(path, row, f"{prefix}{label}", f"{length} 文字以内にしてください（{len(value)} 文字）")

    def require(self, path: Path, row, data: dict, keys: list[str], prefix: str = "") -> bool:
        missing = [k for k in keys if data.get(k) in (None, "")]
        for key in missing:
            self.problem(path, row, f"{prefix}.{key}" if prefix else key, "必須の項目がありません")
        return not missing

    def as_list(self, path: Path, row, column: str, value) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, row, column, "リスト（- で始まる行）で書いてください")
            return []
        return value

    def integer(self, path: Path, row, column: str, value, minimum: int = 0, required: bool = True):
        if value in (None, "") and not required:
            return None
        try:
            number = int(str(value).replace(",", ""))
        except ValueError:
            self.problem(path, row, column, f"「{str(value)[:50]}」は整数ではありません")
            return None
        if not minimum <= number <= MAX_INTEGER:
            self.problem(path, row, column, f"{minimum} 以上 {MAX_INTEGER:,} 以下の整数にしてください")
            return None
        return number

    def date(self, path: Path, column: str, value):
        try:
            return parse_date(str(value))
        except DateError as exc:
            self.problem(path, None, column, str(exc))
            return None

    def time(self, path: Path, column: str, value):
        if value in (None, ""):
            return None
        if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 13:30 as 810
            value = "%d:%02d" % divmod(value, 60)
        try:
            return parse_time(str(value))
        except DateError as exc:
            self.problem(path, None, column, str(exc))
            return None
