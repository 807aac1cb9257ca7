"""``society.yml``: the society itself (名称, 目的, 事務局 …)."""
from __future__ import annotations

from pathlib import Path

from bot.kb import models as m
from bot.kb.codes import code_problem
from bot.kb.files import read_yaml
from bot.kb.reading import Reader

SOCIETY_REQUIRED = ["名称", "目的", "事務局", "事務局部署", "出典"]
SOCIETY_KEYS = set(SOCIETY_REQUIRED) | {"役割", "事務局団体コード", "連絡先電話番号", "受付時間", "URL"}


def read_society(reader: Reader, path: Path) -> m.Society | None:
    data = read_yaml(path)
    if not isinstance(data, dict):
        reader.problem(path, None, None, "キーと値の組（マッピング）で書いてください")
        return None
    reader.known_keys(path, data, SOCIETY_KEYS)
    if not reader.require(path, None, data, SOCIETY_REQUIRED):
        return None
    code = str(data.get("事務局団体コード") or "")
    if code and code not in reader.lg_by_code:
        reader.problem(path, None, "事務局団体コード", code_problem(code) or f"団体コード「{code}」は一覧にありません")
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
    reader.fits(path, None, "", society)
    return society
