"""Builds the database from the human-edited files in ``data/kb``.

Everything is read and validated first; only a complete, valid data set is written, in one
transaction that replaces the previous content. On any problem nothing in the database changes
and :class:`~bot.kb.files.LoadError` lists every problem with file, row, column and reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

import re

from bot.kb import models as m
from bot.kb.models import Base
from bot.kb.codes import code_problem
from bot.kb.dates import DateError, parse_date, parse_time
from bot.kb.event_csv import EXTRA as EVENT_EXTRA
from bot.kb.db import get_engine
from bot.kb.files import LoadError, Problem, read_csv, read_yaml
from bot.kb.master import MASTER_COLUMNS

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "kb"
ORGANIZATION_COLUMNS = ["名称", "種別"]
ORGANIZATION_OPTIONAL = ("別名", "団体コード")
SOCIETY_REQUIRED = ["名称", "目的", "事務局", "事務局部署", "出典"]
ASSEMBLY_REQUIRED = ["回", "イベント名", "開始日", "場所名称", "出典", "発表"]
PRESENTATION_REQUIRED = ["順番", "題目", "発表団体", "概要"]
_CJK_SPACE_RE = re.compile(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])")


def _clean(text) -> str:
    """Joins folded YAML lines: no spaces next to Japanese characters, single spaces elsewhere."""
    return _CJK_SPACE_RE.sub("", " ".join(str(text).split()))


SOCIETY_KEYS = set(SOCIETY_REQUIRED) | {"役割", "事務局団体コード", "連絡先電話番号", "受付時間", "URL"}
ASSEMBLY_KEYS = set(ASSEMBLY_REQUIRED) | {
    "イベント名_カナ", "終了日", "開始時間", "終了時間", "説明", "住所", "会場団体コード", "主催者", "URL",
    "参加団体数", "参加者数", "規模", "感想", "今後の運営",
}
PRESENTATION_KEYS = set(PRESENTATION_REQUIRED) | {"発表者", "発表者役職", "話題", "関係自治体", "連携先", "事実", "感想", "会場の反応"}
ASSEMBLY_KEYS |= set(EVENT_EXTRA)  # other イベント一覧 columns, kept verbatim
MUNICIPALITY_KEYS = {"名称", "役割", "団体コード"}
FACT_KEYS = {"種類", "内容"}
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
FACT_KINDS = {"いつ", "時間", "どこ", "人数", "自治体数", "数値", "誰", "連携", "条件", "成果", "今後", "内容"}


@dataclass
class KBData:
    """A validated data set, ready to write."""

    local_governments: list[m.LocalGovernment] = field(default_factory=list)
    organizations: list[m.Organization] = field(default_factory=list)
    societies: list[m.Society] = field(default_factory=list)
    assemblies: list[m.Assembly] = field(default_factory=list)
    faq_entries: list[m.FaqEntry] = field(default_factory=list)

    def stats(self) -> dict[str, int]:
        return {
            "local_governments": len(self.local_governments),
            "organizations": len(self.organizations),
            "societies": len(self.societies),
            "assemblies": len(self.assemblies),
            "presentations": sum(len(a.presentations) for a in self.assemblies),
            "faq_entries": len(self.faq_entries),
        }


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.lg_by_code: dict[str, m.LocalGovernment] = {}
        self.lg_by_name: dict[str, list[m.LocalGovernment]] = {}
        self.org_by_name: dict[str, m.Organization] = {}

    def problem(self, file: Path, row: int | None, column: str | None, reason: str) -> None:
        self.problems.append(Problem(str(file), row, column, reason))

    # -- local governments -------------------------------------------------------------------
    def local_governments(self, path: Path, merge: bool = False) -> list[m.LocalGovernment]:
        """With ``merge``, codes already known (from the database) are updated, not duplicates."""
        out = []
        in_file: set[str] = set()
        for row_no, row in read_csv(path, MASTER_COLUMNS):
            code, pref, city = row["団体コード"], row["都道府県名"], row["市区町村名"]
            reason = code_problem(code)
            if reason:
                self.problem(path, row_no, "団体コード", reason)
                continue
            if not pref:
                self.problem(path, row_no, "都道府県名", "値が空です")
                continue
            if code in in_file or (code in self.lg_by_code and not merge):
                self.problem(path, row_no, "団体コード", f"団体コード「{code}」が重複しています")
                continue
            in_file.add(code)
            lg = m.LocalGovernment(
                code=code,
                pref_code=code[:2],
                pref_name=pref,
                name=city or pref,
                pref_kana=row["都道府県名カナ"],
                name_kana=row["市区町村名カナ"] or row["都道府県名カナ"],
                is_prefecture=not city,
            )
            self._fits(path, row_no, "", lg)
            old = self.lg_by_code.get(code)
            if old is not None:  # merge: the file's row replaces the database's
                for names in self.lg_by_name.values():
                    if old in names:
                        names.remove(old)
            self.lg_by_code[code] = lg
            self.lg_by_name.setdefault(lg.name, []).append(lg)
            if not lg.is_prefecture:
                self.lg_by_name.setdefault(pref + lg.name, []).append(lg)
            out.append(lg)
        if not out and not self.problems:
            self.problem(path, None, None, "地方公共団体が1件もありません")
        return out

    def resolve_lg(self, file: Path, row: int | None, column: str, name: str, code: str = "") -> m.LocalGovernment | None:
        if code:
            lg = self.lg_by_code.get(code)
            if lg is None:
                self.problem(file, row, column, code_problem(code) or f"団体コード「{code}」は地方公共団体の一覧にありません")
            elif name and name not in (lg.name, lg.pref_name + lg.name):
                self.problem(file, row, column, f"「{name}」と団体コード「{code}」（{lg.pref_name}{lg.name}）が一致しません")
                return None
            return lg
        candidates = self.lg_by_name.get(name, [])
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            self.problem(file, row, column, f"「{name}」は地方公共団体の一覧にありません")
        else:
            options = "、".join(f"{c.pref_name}{c.name}（{c.code}）" for c in candidates)
            self.problem(file, row, column, f"「{name}」は複数あります（{options}）。都道府県名を付けるか団体コードで指定してください")
        return None

    # -- organizations -----------------------------------------------------------------------
    def organizations(self, path: Path, replace: bool = False) -> list[m.Organization]:
        """With ``replace``, names already known (from the database) are updated, not duplicates."""
        out = []
        in_file: set[str] = set()
        for row_no, row in read_csv(path, ORGANIZATION_COLUMNS, ORGANIZATION_OPTIONAL):
            name, kind = row["名称"], row["種別"]
            if not name or not kind:
                self.problem(path, row_no, "名称" if not name else "種別", "値が空です")
                continue
            if name in in_file or (name in self.org_by_name and not replace):
                self.problem(path, row_no, "名称", f"「{name}」が重複しています")
                continue
            in_file.add(name)
            lg_code = row.get("団体コード", "")
            if lg_code and lg_code not in self.lg_by_code:
                self.problem(path, row_no, "団体コード", code_problem(lg_code) or f"団体コード「{lg_code}」は一覧にありません")
                continue
            aliases = sorted({a.strip() for a in row.get("別名", "").split("|") if a.strip() and a.strip() != name})
            org = m.Organization(name=name, kind=kind, lg_code=lg_code or None)
            org.aliases = [m.OrganizationAlias(alias=a) for a in aliases]
            self._fits(path, row_no, "", org, *org.aliases)
            self.org_by_name[name] = org
            for alias in aliases:
                self.org_by_name.setdefault(alias, org)
            out.append(org)
        return out

    # -- society -----------------------------------------------------------------------------
    def society(self, path: Path) -> m.Society | None:
        data = read_yaml(path)
        if not isinstance(data, dict):
            self.problem(path, None, None, "キーと値の組（マッピング）で書いてください")
            return None
        self._known_keys(path, data, SOCIETY_KEYS)
        if not self._require(path, None, data, SOCIETY_REQUIRED):
            return None
        code = str(data.get("事務局団体コード") or "")
        if code and code not in self.lg_by_code:
            self.problem(path, None, "事務局団体コード", code_problem(code) or f"団体コード「{code}」は一覧にありません")
        society = m.Society(
            name=str(data["名称"]),
            purpose=str(data["目的"]),
            role=str(data.get("役割") or ""),
            secretariat=str(data["事務局"]),
            secretariat_lg_code=code or None,
            secretariat_department=str(data["事務局部署"]),
            phone=str(data.get("連絡先電話番号") or ""),  # optional: the report gives none
            hours=str(data.get("受付時間") or ""),
            url=str(data.get("URL") or ""),
            source=str(data["出典"]),
        )
        self._fits(path, None, "", society)
        return society

    # -- assemblies --------------------------------------------------------------------------
    def assembly(self, path: Path) -> m.Assembly | None:
        data = read_yaml(path)
        if not isinstance(data, dict):
            self.problem(path, None, None, "キーと値の組（マッピング）で書いてください")
            return None
        self._known_keys(path, data, ASSEMBLY_KEYS)
        if not self._require(path, None, data, ASSEMBLY_REQUIRED):
            return None
        number = self._int(path, None, "回", data["回"], minimum=1)
        start = self._date(path, "開始日", data["開始日"])
        end = self._date(path, "終了日", data.get("終了日") or data["開始日"])
        start_time = self._time(path, "開始時間", data.get("開始時間"))
        end_time = self._time(path, "終了時間", data.get("終了時間"))
        if start and end and end < start:
            self.problem(path, None, "終了日", "終了日が開始日より前です")
        venue_code = str(data.get("会場団体コード") or "")
        if venue_code and venue_code not in self.lg_by_code:
            self.problem(path, None, "会場団体コード", code_problem(venue_code) or f"団体コード「{venue_code}」は一覧にありません")
        assembly = m.Assembly(
            number=number,
            name=str(data["イベント名"]),
            name_kana=str(data.get("イベント名_カナ") or ""),
            start_date=start,
            end_date=end,
            start_time=start_time,
            end_time=end_time,
            description=str(data.get("説明") or ""),
            venue=str(data["場所名称"]),
            address=str(data.get("住所") or ""),
            venue_lg_code=venue_code or None,
            organizer=str(data.get("主催者") or ""),
            url=str(data.get("URL") or ""),
            lg_count=self._int(path, None, "参加団体数", data.get("参加団体数"), minimum=0, required=False),
            participant_count=self._int(path, None, "参加者数", data.get("参加者数"), minimum=0, required=False),
            scale_note=str(data.get("規模") or ""),
            outlook=str(data.get("今後の運営") or ""),
            source=str(data["出典"]),
        )
        self._fits(path, None, "", assembly)
        assembly.event_fields = [
            m.AssemblyEventField(column=c, value=str(data[c])) for c in EVENT_EXTRA if data.get(c) not in (None, "")
        ]
        assembly.reactions = [m.AssemblyReaction(text=str(t)) for t in self._list(path, None, "感想", data.get("感想"))]
        presentations = self._list(path, None, "発表", data["発表"])
        orders: set[int] = set()
        for index, item in enumerate(presentations, start=1):
            p = self.presentation(path, index, item)
            if p is None:
                continue
            if p.order in orders:
                self.problem(path, None, f"発表[{index}].順番", f"順番 {p.order} が重複しています")
                continue
            orders.add(p.order)
            assembly.presentations.append(p)
        return assembly

    def presentation(self, path: Path, index: int, item) -> m.Presentation | None:
        where = f"発表[{index}]"
        if not isinstance(item, dict):
            self.problem(path, None, where, "キーと値の組（マッピング）で書いてください")
            return None
        self._known_keys(path, item, PRESENTATION_KEYS, where)
        if not self._require(path, None, item, PRESENTATION_REQUIRED, prefix=where):
            return None
        p = m.Presentation(
            order=self._int(path, None, f"{where}.順番", item["順番"], minimum=1),
            title=str(item["題目"]),
            summary=_clean(item["概要"]),
            speaker=str(item.get("発表者") or ""),
            speaker_title=str(item.get("発表者役職") or ""),
        )
        for name in self._list(path, None, f"{where}.発表団体", item["発表団体"]):
            name = str(name)
            org = self.org_by_name.get(name)
            lgs = self.lg_by_name.get(name, [])
            if org is not None:
                p.presenters.append(m.PresentationOrganization(name=org.name, organization_id=None, lg_code=org.lg_code))
                p.presenters[-1]._org = org  # linked after flush
            elif len(lgs) == 1:
                p.presenters.append(m.PresentationOrganization(name=lgs[0].name, lg_code=lgs[0].code))
            else:
                self.resolve_lg(path, None, f"{where}.発表団体", name) if lgs else self.problem(
                    path, None, f"{where}.発表団体", f"「{name}」は団体の一覧（organizations.csv）にも地方公共団体の一覧にもありません"
                )
        for j, muni in enumerate(self._list(path, None, f"{where}.関係自治体", item.get("関係自治体")), start=1):
            col = f"{where}.関係自治体[{j}]"
            if not isinstance(muni, dict) or not muni.get("名称"):
                self.problem(path, None, col, "「名称」と「役割」を書いてください")
                continue
            self._known_keys(path, muni, MUNICIPALITY_KEYS, col)
            lg = self.resolve_lg(path, None, col, str(muni["名称"]), str(muni.get("団体コード") or ""))
            if lg is not None:
                p.municipalities.append(m.PresentationMunicipality(lg_code=lg.code, role=str(muni.get("役割") or "関係")))
        p.partners = [m.PresentationPartner(name=str(n)) for n in self._list(path, None, f"{where}.連携先", item.get("連携先"))]
        p.topics = [m.PresentationTopic(topic=str(t)) for t in self._list(path, None, f"{where}.話題", item.get("話題"))]
        for j, fact in enumerate(self._list(path, None, f"{where}.事実", item.get("事実")), start=1):
            col = f"{where}.事実[{j}]"
            if not isinstance(fact, dict) or not fact.get("内容"):
                self.problem(path, None, col, "「種類」と「内容」を書いてください")
                continue
            self._known_keys(path, fact, FACT_KEYS, col)
            kinds = [str(k) for k in self._list(path, None, f"{col}.種類", fact.get("種類"))]
            unknown = [k for k in kinds if k not in FACT_KINDS]
            if unknown or not kinds:
                self.problem(path, None, f"{col}.種類", f"種類は {'・'.join(sorted(FACT_KINDS))} から選んでください（{'、'.join(unknown) or '空'}）")
                continue
            p.facts.append(m.PresentationFact(kinds=" ".join(kinds), text=_clean(fact["内容"])))
        p.reactions = [m.PresentationReaction(text=str(t), quoted=True) for t in self._list(path, None, f"{where}.感想", item.get("感想"))]
        p.reactions += [
            m.PresentationReaction(text=_clean(t), quoted=False)
            for t in self._list(path, None, f"{where}.会場の反応", item.get("会場の反応"))
        ]
        children = [*p.presenters, *p.municipalities, *p.partners, *p.topics, *p.facts]
        self._fits(path, None, f"{where}.", p, *children)
        return p

    # -- helpers -----------------------------------------------------------------------------
    def _known_keys(self, path: Path, data: dict, allowed: set[str], prefix: str = "") -> None:
        for key in data:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else str(key)
                self.problem(path, None, where, f"不明な項目です（使える項目: {'、'.join(sorted(allowed))}）")

    def _fits(self, path: Path, row, prefix: str, *objects) -> None:
        """Every text fits its column (PostgreSQL would refuse it; SQLite would keep it)."""
        for obj in objects:
            for column in obj.__table__.columns:
                length = getattr(column.type, "length", None)
                value = getattr(obj, column.key, None)
                if length and isinstance(value, str) and len(value) > length:
                    label = COLUMN_LABELS.get(column.key, column.key)
                    self.problem(path, row, f"{prefix}{label}", f"{length} 文字以内にしてください（{len(value)} 文字）")

    def _require(self, path: Path, row, data: dict, keys: list[str], prefix: str = "") -> bool:
        missing = [k for k in keys if data.get(k) in (None, "")]
        for key in missing:
            self.problem(path, row, f"{prefix}.{key}" if prefix else key, "必須の項目がありません")
        return not missing

    def _list(self, path: Path, row, column: str, value) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, row, column, "リスト（- で始まる行）で書いてください")
            return []
        return value

    def _int(self, path: Path, row, column: str, value, minimum: int = 0, required: bool = True):
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

    def _date(self, path: Path, column: str, value):
        try:
            return parse_date(str(value))
        except DateError as exc:
            self.problem(path, None, column, str(exc))
            return None

    def _time(self, path: Path, column: str, value):
        if value in (None, ""):
            return None
        if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 13:30 as 810
            value = "%d:%02d" % divmod(value, 60)
        try:
            return parse_time(str(value))
        except DateError as exc:
            self.problem(path, None, column, str(exc))
            return None


def read_kb(data_dir: Path = DEFAULT_DATA_DIR) -> KBData:
    """Read and validate every file; raise LoadError listing all problems found."""
    data_dir = Path(data_dir)
    reader = _Reader()
    kb = KBData()

    def guarded(fn, *args):
        try:
            return fn(*args)
        except LoadError as exc:
            reader.problems.extend(exc.problems)
            return None

    master = data_dir / "local_governments.csv"
    if not master.exists():
        raise LoadError([Problem(str(master), None, None, "ファイルがありません（madoguchi kb import-master で作成できます）")])
    kb.local_governments = guarded(reader.local_governments, master) or []
    orgs = data_dir / "organizations.csv"
    if orgs.exists():
        kb.organizations = guarded(reader.organizations, orgs) or []
    society = data_dir / "society.yml"
    if society.exists():
        s = guarded(reader.society, society)
        kb.societies = [s] if s is not None else []
    numbers: dict[int, Path] = {}
    for path in sorted((data_dir / "assemblies").glob("*.yml")):
        a = guarded(reader.assembly, path)
        if a is None:
            continue
        if a.number in numbers:
            reader.problem(path, None, "回", f"第{a.number}回は {numbers[a.number].name} と重複しています")
            continue
        numbers[a.number] = path
        kb.assemblies.append(a)
    faq_dir = data_dir / "faq"
    if faq_dir.is_dir():
        from bot.kb.faq import read_faq_dir

        kb.faq_entries = guarded(read_faq_dir, faq_dir, set(reader.lg_by_code)) or []
    if reader.problems:
        raise LoadError(reader.problems)
    return kb


def write_kb(kb: KBData, engine: Engine) -> None:
    """Replace the database content with ``kb`` in one transaction.

    The KB tables are dropped and recreated inside the same transaction (SQLite and PostgreSQL both
    have transactional DDL), so a schema change needs no migration and a failure changes nothing.
    """
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        Base.metadata.create_all(connection)
        session = Session(bind=connection, future=True)
        session.add_all(kb.local_governments)
        session.flush()
        session.add_all(kb.organizations)
        session.add_all(kb.societies)
        session.flush()
        for assembly in kb.assemblies:
            for p in assembly.presentations:
                for presenter in p.presenters:
                    org = getattr(presenter, "_org", None)
                    if org is not None:
                        presenter.organization_id = org.id
        session.add_all(kb.assemblies)
        session.flush()
        session.add_all(kb.faq_entries)  # tables were just recreated: plain inserts, in file order
        session.flush()
        _new_version(session)
        session.close()


def load(data_dir: Path = DEFAULT_DATA_DIR, url: str | None = None) -> dict[str, int]:
    """Validate ``data_dir`` and, only if it is valid, write it to the database at ``url``."""
    kb = read_kb(data_dir)
    stats = kb.stats()
    write_kb(kb, get_engine(url))
    return stats


# -- incremental loads (madoguchi kb load PATH...) ------------------------------------------------
def _kind_of(path: Path) -> str:
    """What a file holds, from its name and its header (CSV) or keys (YAML)."""
    from bot.kb.files import normalize_header, read_text

    if path.suffix.lower() in (".yml", ".yaml"):
        data = read_yaml(path)
        if isinstance(data, dict) and "回" in data:
            return "assembly"
        if isinstance(data, dict) and "事務局" in data:
            return "society"
        raise LoadError([Problem(str(path), None, None, "総会報告（「回」がある）でも研究会情報（「事務局」がある）でもありません")])
    if path.suffix.lower() == ".csv":
        first = re.split(r"\r\n|\r|\n", read_text(path), maxsplit=1)[0]  # not splitlines(): a file may have millions
        header = {normalize_header(h) for h in first.split(",")}
        if {"団体コード", "都道府県名カナ"} <= header:
            return "master"
        if {"名称", "種別"} <= header:
            return "organizations"
        if {"NO", "イベント名"} <= header:
            return "events"
        if {"質問", "回答"} <= header:
            return "faq"
        raise LoadError([Problem(str(path), 1, None, "見出しから種類を判別できません（団体一覧・団体・イベント一覧・FAQ のいずれか）")])
    raise LoadError([Problem(str(path), None, None, "対応していないファイル形式です（.csv または .yml）")])


def _seed(reader: _Reader, session: Session) -> None:
    """Let the reader resolve names against what the database already holds."""
    for lg in session.scalars(select(m.LocalGovernment)):
        reader.lg_by_code[lg.code] = lg
        reader.lg_by_name.setdefault(lg.name, []).append(lg)
        if not lg.is_prefecture:
            reader.lg_by_name.setdefault(lg.pref_name + lg.name, []).append(lg)
    for org in session.scalars(select(m.Organization).options(selectinload(m.Organization.aliases))):
        reader.org_by_name[org.name] = org
        for alias in org.aliases:
            reader.org_by_name.setdefault(alias.alias, org)


class _DryRun(Exception):
    pass


DATA_SUFFIXES = (".csv", ".yml", ".yaml")


def data_files(paths: list[Path]) -> list[Path]:
    """``paths`` with each folder replaced by the data files under it (CSV and YAML, in name order);
    files named explicitly are kept as given, whatever their suffix (the loader says what it cannot read)."""
    out: list[Path] = []
    empty: list[Problem] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*")
                           if p.suffix.lower() in DATA_SUFFIXES and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                empty.append(Problem(str(path), None, None,
                                     "フォルダです。中に読み込めるデータファイル（.csv .yml .yaml）がありません"))
            out.extend(found)
        else:
            out.append(path)
    if empty:
        raise LoadError(empty)
    return out


def load_files(paths: list[Path], url: str | None = None, dry_run: bool = False) -> dict[str, int]:
    """Upsert the given files (a folder: every data file under it, see :func:`data_files`) by natural key,
    all in one transaction: on any problem nothing changes.

    Loading the same file twice leaves the database as it was after the first load. With
    ``dry_run`` everything is checked against the database and then rolled back.
    """
    counts: dict[str, int] = {}
    try:
        _load_files(data_files(paths), url, dry_run, counts)
    except _DryRun:
        pass
    return counts


def _load_files(paths: list[Path], url: str | None, dry_run: bool, counts: dict[str, int]) -> None:
    from bot.kb.event_csv import read_events, upsert_events

    engine = get_engine(url)
    problems: list[Problem] = []
    with engine.begin() as connection:
        Base.metadata.create_all(connection)
        session = Session(bind=connection, future=True, autoflush=False)
        reader = _Reader()
        _seed(reader, session)
        kinds = []
        for path in paths:
            try:
                kinds.append((path, _kind_of(Path(path))))
            except LoadError as exc:
                problems.extend(exc.problems)
        # the master and organizations first: later files resolve names against them
        order = {"master": 0, "organizations": 1, "society": 2, "events": 3, "assembly": 4, "faq": 5}
        for path, kind in sorted(kinds, key=lambda pk: order[pk[1]]):
            path = Path(path)
            try:
                counts[kind] = counts.get(kind, 0) + _load_one(session, reader, path, kind, read_events, upsert_events)
            except LoadError as exc:
                problems.extend(exc.problems)
        problems.extend(reader.problems)
        if problems:
            raise LoadError(problems)
        session.flush()
        _new_version(session)
        session.close()
        if dry_run:
            raise _DryRun()


def _new_version(session: Session) -> None:
    """Mark the content as changed (bot.kb.queries caches per version)."""
    import uuid

    m.KBVersion.__table__.create(bind=session.connection(), checkfirst=True)
    row = session.get(m.KBVersion, 1)
    if row is None:
        session.add(m.KBVersion(id=1, version=uuid.uuid4().hex))
    else:
        row.version = uuid.uuid4().hex
    session.flush()
    session.info.pop("kb_version", None)  # queries in this session read the new version


def _replace(session: Session, key_column, key, new) -> None:
    """Upsert by natural key: the row with ``key`` (and its children) is replaced by ``new``."""
    existing = session.scalars(select(key_column.class_).where(key_column == key)).first()
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(new)
    session.flush()


def _load_one(session: Session, reader: _Reader, path: Path, kind: str, read_events, upsert_events) -> int:
    before = len(reader.problems)
    if kind == "master":
        rows = reader.local_governments(path, merge=True)
        for lg in rows:
            session.merge(lg)
        session.flush()
        return len(rows)
    if kind == "organizations":
        rows = reader.organizations(path, replace=True)
        for org in rows:
            existing = session.scalars(select(m.Organization).where(m.Organization.name == org.name)).first()
            if existing is None:
                session.add(org)
            else:
                existing.kind, existing.lg_code = org.kind, org.lg_code
                have = {a.alias for a in existing.aliases}
                want = {a.alias for a in org.aliases}
                existing.aliases = [a for a in existing.aliases if a.alias in want]
                existing.aliases += [m.OrganizationAlias(alias=a) for a in sorted(want - have)]
                reader.org_by_name[org.name] = existing
        session.flush()
        return len(rows)
    if kind == "society":
        society = reader.society(path)
        if society is None or len(reader.problems) > before:
            return 0
        _replace(session, m.Society.name, society.name, society)
        return 1
    if kind == "events":
        return upsert_events(session, read_events(path), source=f"イベント一覧 {path.name}")
    if kind == "assembly":
        assembly = reader.assembly(path)
        if assembly is None or len(reader.problems) > before:
            return 0
        for p in assembly.presentations:
            for presenter in p.presenters:
                org = getattr(presenter, "_org", None)
                if org is not None:  # organizations were written (flushed) before assemblies
                    presenter.organization_id = org.id
        _replace(session, m.Assembly.number, assembly.number, assembly)
        return 1
    if kind == "faq":
        from bot.kb.faq import read_faq, upsert_faq

        known = set(reader.lg_by_code)
        return upsert_faq(session, read_faq(path, known))
    raise AssertionError(kind)
