"""Checks a change before it is published, with the same checks as ``madoguchi kb validate``.

An uploaded file goes through :func:`bot.kb.loader.load_files` itself, the function behind ``kb validate``
and ``kb load``, against a scratch copy of the knowledge base (a SQLite file in a temporary folder): the
same readers, the same checks against the master and the organizations, the same upsert by natural key.
What the scratch copy then holds is the content the change would make (:mod:`bot.kb.content`), to be
previewed and published (:mod:`bot.kb.versions`). The real database is only read.

A FAQ entry typed into the desk's form is checked by :func:`bot.kb.faq.read_faq`, the FAQ file reader,
as a one-row FAQ file.
"""
from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import delete, insert, select

from bot.kb import content as kb_content
from bot.kb import db as kb_db
from bot.kb.files import LoadError, Problem, normalize_header, read_text, read_yaml
from bot.kb.models import Base, FaqEntry, LocalGovernment

KIND_LABELS = {"faq": "FAQ", "events": "イベント一覧", "assembly": "総会報告"}
SUFFIXES = (".csv", ".yml", ".yaml")
WRONG_TYPE = ("このファイルの種類は扱えません。FAQ の CSV、イベント一覧の CSV、総会報告の YAML（.csv / .yml / .yaml）を"
              "選んでください")
ENTRY_SOURCE = "職員用画面"


def kind_of(path: Path, shown: str) -> str:
    """"faq", "events" or "assembly", from the suffix and the header (CSV) or keys (YAML), as ``kb load``
    tells them; any other file (the master, organizations, the society, a spreadsheet, a picture) is refused."""
    suffix = Path(shown).suffix.lower()
    if suffix not in SUFFIXES:
        raise LoadError([Problem(shown, None, None, WRONG_TYPE)])
    if suffix == ".csv":
        first = read_text(path).lstrip("\ufeff").split("\n", 1)[0].split("\r", 1)[0]
        header = {normalize_header(h.strip('"')) for h in first.split(",")}
        if {"質問", "回答"} <= header:
            return "faq"
        if {"NO", "イベント名"} <= header:
            return "events"
        raise LoadError([Problem(shown, 1, None,
                                 "見出し行から FAQ（質問・回答）かイベント一覧（NO・イベント名）かを判別できません。"
                                 + WRONG_TYPE)])
    data = read_yaml(path)
    if isinstance(data, dict) and "回" in data:
        return "assembly"
    raise LoadError([Problem(shown, None, None, "総会報告（「回」の項目がある YAML）ではありません。" + WRONG_TYPE)])


def _rename(problems: list[Problem], path: Path, shown: str) -> list[Problem]:
    return [Problem(shown if p.file in (str(path), path.name) else p.file, p.row, p.column, p.reason) for p in problems]


def check_upload(path: Path, shown: str, url: str | None = None, replace_faq: bool = False) -> tuple[str, dict]:
    """(kind, the content the file would make), or LoadError with every problem (file named ``shown``).

    ``replace_faq``: the FAQ file is the whole FAQ; entries that are not in it are removed."""
    path = Path(path)
    try:
        kind = kind_of(path, shown)
    except LoadError as exc:
        raise LoadError(_rename(exc.problems, path, shown)) from None
    from bot.kb.loader import load_files

    folder = Path(tempfile.mkdtemp(prefix="madoguchi-check-"))
    scratch = f"sqlite:///{folder / 'scratch.sqlite3'}"
    try:
        _copy(url, scratch, without_faq=replace_faq and kind == "faq")
        try:
            load_files([path], scratch)
        except LoadError as exc:
            raise LoadError(_rename(exc.problems, path, shown)) from None
        with kb_db.open_session(scratch) as session:
            return kind, kb_content.read(session)
    finally:
        kb_db.forget(scratch)
        shutil.rmtree(folder, ignore_errors=True)


def _copy(source: str | None, target: str, without_faq: bool = False) -> None:
    """The knowledge base's tables of ``source`` into the empty SQLite database ``target``."""
    engine = kb_db.get_engine(target)
    kb_db.create_schema(engine)
    with kb_db.get_engine(source).connect() as reading, engine.begin() as writing:
        for table in Base.metadata.sorted_tables:
            if without_faq and table.name == FaqEntry.__tablename__:
                continue
            rows = [dict(r) for r in reading.execute(select(table)).mappings()]
            for start in range(0, len(rows), 5000):
                writing.execute(insert(table), rows[start:start + 5000])
        if without_faq:
            writing.execute(delete(FaqEntry.__table__))


# -- one FAQ entry from the form -----------------------------------------------------------------

FORM_FIELDS = ("lg_code", "category", "question", "alternatives", "answer", "department", "phone", "url", "checked_on")
_COLUMNS = dict(zip(FORM_FIELDS, ("全国地方公共団体コード", "分類", "質問", "質問_別表現", "回答", "担当部署",
                                  "連絡先電話番号", "URL", "最終確認日")))
FORM_NAME = "入力内容"


def check_entry(values: dict[str, str], base: dict, original: tuple[str, str] | None,
                url: str | None = None) -> dict:
    """The content ``base`` becomes with the entry ``values`` added (``original`` None) or put in place of
    the entry keyed ``original``; LoadError lists what is wrong, by field."""
    from bot.kb.faq import FAQ_COLUMNS, read_faq

    with kb_db.open_session(url) as session:
        known = set(session.scalars(select(LocalGovernment.code)))
    folder = Path(tempfile.mkdtemp(prefix="madoguchi-entry-"))
    try:
        path = folder / "entry.csv"
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(FAQ_COLUMNS)
            by_column = {_COLUMNS[k]: (values.get(k) or "") for k in FORM_FIELDS}
            writer.writerow([by_column.get(c, "") for c in FAQ_COLUMNS])
        try:
            entries = read_faq(path, known)
        except LoadError as exc:
            raise LoadError([Problem(FORM_NAME, None, p.column, p.reason) for p in exc.problems]) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    entry = entries[0]
    faq = [dict(e) for e in base.get("faq", [])]
    index = next((i for i, e in enumerate(faq) if kb_content.faq_key(e) == original), None) if original else None
    if original and index is None:
        raise LoadError([Problem(FORM_NAME, None, None, "編集しようとした項目が見つかりません（ほかの方が変更したか、"
                                 "削除した可能性があります）。一覧から開き直してください")])
    source = faq[index].get("source") if index is not None else ENTRY_SOURCE
    new = {"lg_code": entry.lg_code, "category": entry.category, "question": entry.question,
           "alternatives": entry.alternatives or "", "answer": entry.answer, "department": entry.department or "",
           "phone": entry.phone or "", "url": entry.url or "",
           "checked_on": entry.checked_on.isoformat() if entry.checked_on else None, "source": source or ENTRY_SOURCE}
    key = kb_content.faq_key(new)
    same = _same_question(key)
    for i, e in enumerate(faq):
        if i != index and _same_question(kb_content.faq_key(e)) == same:
            scope = f"団体コード「{key[0]}」" if key[0] else "共通（団体コード空欄）"
            raise LoadError([Problem(FORM_NAME, None, "質問", f"{scope}の質問「{e['question']}」がすでにあります。"
                                     "その項目を編集してください")])
    if index is None:
        faq.append(new)
    else:
        faq[index] = new
    return {**base, "faq": faq}


def without_entry(base: dict, original: tuple[str, str]) -> dict:
    """``base`` with the FAQ entry keyed ``original`` retired (LoadError if there is none)."""
    faq = [e for e in base.get("faq", []) if kb_content.faq_key(e) != original]
    if len(faq) == len(base.get("faq", [])):
        raise LoadError([Problem(FORM_NAME, None, None,
                                 "削除しようとした項目が見つかりません。一覧から開き直してください")])
    return {**base, "faq": faq}


def _same_question(key: tuple[str, str]) -> tuple[str, str]:
    import unicodedata

    return key[0], "".join(unicodedata.normalize("NFKC", key[1]).split())
