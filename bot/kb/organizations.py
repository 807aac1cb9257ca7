"""``organizations.csv``: the organizations that present (companies, national bodies, …), their 種別 and aliases."""
from __future__ import annotations

from pathlib import Path

from bot.kb import models as m
from bot.kb.codes import code_problem
from bot.kb.files import read_csv
from bot.kb.reading import Reader

ORGANIZATION_COLUMNS = ["名称", "種別"]
ORGANIZATION_OPTIONAL = ("別名", "団体コード")


def read_organizations(reader: Reader, path: Path, replace: bool = False) -> list[m.Organization]:
    """With ``replace``, names already known (from the database) are updated, not duplicates."""
    out = []
    in_file: set[str] = set()
    for row_no, row in read_csv(path, ORGANIZATION_COLUMNS, ORGANIZATION_OPTIONAL):
        name, kind = row["名称"], row["種別"]
        if not name or not kind:
            reader.problem(path, row_no, "名称" if not name else "種別", "値が空です")
            continue
        if name in in_file or (name in reader.org_by_name and not replace):
            reader.problem(path, row_no, "名称", f"「{name}」が重複しています")
            continue
        in_file.add(name)
        lg_code = row.get("団体コード", "")
        if lg_code and lg_code not in reader.lg_by_code:
            reader.problem(path, row_no, "団体コード",
                           code_problem(lg_code) or f"団体コード「{lg_code}」は一覧にありません")
            continue
        aliases = sorted({a.strip() for a in row.get("別名", "").split("|") if a.strip() and a.strip() != name})
        org = m.Organization(name=name, kind=kind, lg_code=lg_code or None)
        org.aliases = [m.OrganizationAlias(alias=a) for a in aliases]
        reader.fits(path, row_no, "", org, *org.aliases)
        reader.org_by_name[name] = org
        for alias in aliases:
            reader.org_by_name.setdefault(alias, org)
        out.append(org)
    return out
