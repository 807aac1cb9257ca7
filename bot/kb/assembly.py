"""Assembly reports (``data/kb/assemblies/*.yml``): one 総会 with its presentations, facts and reactions.

Names of presenting organizations and municipalities are resolved against what the reader knows
(``organizations.csv``, the national master); every problem is located by file and key.
"""
from __future__ import annotations

from pathlib import Path

from bot.kb import models as m
from bot.kb.codes import code_problem
from bot.kb.event_csv import EXTRA as EVENT_EXTRA
from bot.kb.files import read_yaml
from bot.kb.reading import Reader, clean_text

ASSEMBLY_REQUIRED = ["回", "イベント名", "開始日", "場所名称", "出典", "発表"]
PRESENTATION_REQUIRED = ["順番", "題目", "発表団体", "概要"]
ASSEMBLY_KEYS = set(ASSEMBLY_REQUIRED) | {
    "イベント名_カナ", "終了日", "開始時間", "終了時間", "説明", "住所", "会場団体コード", "主催者", "URL",
    "参加団体数", "参加者数", "規模", "感想", "今後の運営",
}
PRESENTATION_KEYS = set(PRESENTATION_REQUIRED) | {"発表者", "発表者役職", "話題", "関係自治体", "連携先", "事実",
                                                  "感想", "会場の反応"}
ASSEMBLY_KEYS |= set(EVENT_EXTRA)  # other イベント一覧 columns, kept verbatim
MUNICIPALITY_KEYS = {"名称", "役割", "団体コード"}
FACT_KEYS = {"種類", "内容"}
FACT_KINDS = {"いつ", "時間", "どこ", "人数", "自治体数", "数値", "誰", "連携", "条件", "成果", "今後", "内容", "様子"}


def read_assembly(reader: Reader, path: Path) -> m.Assembly | None:
    data = read_yaml(path)
    if not isinstance(data, dict):
        reader.problem(path, None, None, "キーと値の組（マッピング）で書いてください")
        return None
    reader.known_keys(path, data, ASSEMBLY_KEYS)
    if not reader.require(path, None, data, ASSEMBLY_REQUIRED):
        return None
    number = reader.integer(path, None, "回", data["回"], minimum=1)
    start = reader.date(path, "開始日", data["開始日"])
    end = reader.date(path, "終了日", data.get("終了日") or data["開始日"])
    start_time = reader.time(path, "開始時間", data.get("開始時間"))
    end_time = reader.time(path, "終了時間", data.get("終了時間"))
    if start and end and end < start:
        reader.problem(path, None, "終了日", "終了日が開始日より前です")
    venue_code = str(data.get("会場団体コード") or "")
    if venue_code and venue_code not in reader.lg_by_code:
        reader.problem(path, None, "会場団体コード",
                       code_problem(venue_code) or f"団体コード「{venue_code}」は一覧にありません")
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
        lg_count=reader.integer(path, None, "参加団体数", data.get("参加団体数"), minimum=0, required=False),
        participant_count=reader.integer(path, None, "参加者数", data.get("参加者数"), minimum=0, required=False),
        scale_note=str(data.get("規模") or ""),
        outlook=str(data.get("今後の運営") or ""),
        source=str(data["出典"]),
    )
    reader.fits(path, None, "", assembly)
    assembly.event_fields = [
        m.AssemblyEventField(column=c, value=str(data[c])) for c in EVENT_EXTRA if data.get(c) not in (None, "")
    ]
    assembly.reactions = [m.AssemblyReaction(text=str(t)) for t in reader.as_list(path, None, "感想", data.get("感想"))]
    presentations = reader.as_list(path, None, "発表", data["発表"])
    orders: set[int] = set()
    for index, item in enumerate(presentations, start=1):
        p = read_presentation(reader, path, index, item)
        if p is None:
            continue
        if p.order in orders:
            reader.problem(path, None, f"発表[{index}].順番", f"順番 {p.order} が重複しています")
            continue
        orders.add(p.order)
        assembly.presentations.append(p)
    return assembly


def read_presentation(reader: Reader, path: Path, index: int, item) -> m.Presentation | None:
    where = f"発表[{index}]"
    if not isinstance(item, dict):
        reader.problem(path, None, where, "キーと値の組（マッピング）で書いてください")
        return None
    reader.known_keys(path, item, PRESENTATION_KEYS, where)
    if not reader.require(path, None, item, PRESENTATION_REQUIRED, prefix=where):
        return None
    p = m.Presentation(
        order=reader.integer(path, None, f"{where}.順番", item["順番"], minimum=1),
        title=str(item["題目"]),
        summary=clean_text(item["概要"]),
        speaker=str(item.get("発表者") or ""),
        speaker_title=str(item.get("発表者役職") or ""),
    )
    for name in reader.as_list(path, None, f"{where}.発表団体", item["発表団体"]):
        name = str(name)
        org = reader.org_by_name.get(name)
        lgs = reader.lg_by_name.get(name, [])
        if org is not None:
            p.presenters.append(m.PresentationOrganization(name=org.name, organization_id=None, lg_code=org.lg_code))
            p.presenters[-1]._org = org  # linked after flush
        elif len(lgs) == 1:
            p.presenters.append(m.PresentationOrganization(name=lgs[0].name, lg_code=lgs[0].code))
        else:
            reader.resolve_lg(path, None, f"{where}.発表団体", name) if lgs else reader.problem(
                path, None, f"{where}.発表団体",
                f"「{name}」は団体の一覧（organizations.csv）にも地方公共団体の一覧にもありません"
            )
    for j, muni in enumerate(reader.as_list(path, None, f"{where}.関係自治体", item.get("関係自治体")), start=1):
        col = f"{where}.関係自治体[{j}]"
        if not isinstance(muni, dict) or not muni.get("名称"):
            reader.problem(path, None, col, "「名称」と「役割」を書いてください")
            continue
        reader.known_keys(path, muni, MUNICIPALITY_KEYS, col)
        lg = reader.resolve_lg(path, None, col, str(muni["名称"]), str(muni.get("団体コード") or ""))
        if lg is not None:
            p.municipalities.append(m.PresentationMunicipality(lg_code=lg.code, role=str(muni.get("役割") or "関係")))
    p.partners = [m.PresentationPartner(name=str(n)) for n in reader.as_list(path, None, f"{where}.連携先",
                                                                             item.get("連携先"))]
    p.topics = [m.PresentationTopic(topic=str(t)) for t in reader.as_list(path, None, f"{where}.話題",
                                                                          item.get("話題"))]
    for j, fact in enumerate(reader.as_list(path, None, f"{where}.事実", item.get("事実")), start=1):
        col = f"{where}.事実[{j}]"
        if not isinstance(fact, dict) or not fact.get("内容"):
            reader.problem(path, None, col, "「種類」と「内容」を書いてください")
            continue
        reader.known_keys(path, fact, FACT_KEYS, col)
        kinds = [str(k) for k in reader.as_list(path, None, f"{col}.種類", fact.get("種類"))]
        unknown = [k for k in kinds if k not in FACT_KINDS]
        if unknown or not kinds:
            reader.problem(path, None, f"{col}.種類",
                           f"種類は {'・'.join(sorted(FACT_KINDS))} から選んでください（{'、'.join(unknown) or '空'}）")
            continue
        p.facts.append(m.PresentationFact(kinds=" ".join(kinds), text=clean_text(fact["内容"])))
    p.reactions = [m.PresentationReaction(text=str(t), quoted=True) for t in reader.as_list(path, None, f"{where}.感想",
                                                                                            item.get("感想"))]
    p.reactions += [
        m.PresentationReaction(text=clean_text(t), quoted=False)
        for t in reader.as_list(path, None, f"{where}.会場の反応", item.get("会場の反応"))
    ]
    children = [*p.presenters, *p.municipalities, *p.partners, *p.topics, *p.facts]
    reader.fits(path, None, f"{where}.", p, *children)
    return p
