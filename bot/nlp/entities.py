"""Entity extraction shared by the Rasa component and the annotation tool (no Rasa imports)."""
from __future__ import annotations

import re
from typing import Any, Iterable

from bot.nlp.gazetteer import Gazetteer, Match
from bot.nlp.normalize import normalize

ASSEMBLY_NUMBER_RE = re.compile(r"第\s*(\d{1,3})\s*回|(\d{1,3})\s*回目|(\d{1,3})\s*回(?=の?総会)")
LATEST_ASSEMBLY_RE = re.compile(r"(最新|直近|前回|今回|この前|最近)(の総会|の会合)?")
NEXT_ASSEMBLY_RE = re.compile(r"(次回|次の総会|来年の総会|来年度の総会|今度の総会)")
# the one before the latest (「前回」 is the latest one, seen from after it)
PREVIOUS_ASSEMBLY_RE = re.compile(r"(?:ひとつ|一つ|1つ)前の(?:総会|回)|前々回")
YEAR_RE = re.compile(r"(?<!\d)(\d{4})年(?:度)?|(平成|令和|昭和)(元|\d{1,2})年(?:度)?")
ERA_START = {"昭和": 1926, "平成": 1989, "令和": 2019}
LG_CODE_RE = re.compile(r"(?<!\d)(\d{6}|\d{5})(?!\d)")
GAZETTEER_ENTITIES = ("municipality", "organization", "topic", "attribute")


def gazetteer_entries(lookup_tables: Iterable[dict], synonyms: dict[str, str]) -> list[list[str]]:
    """[surface, entity, canonical value] for every lookup-table element of a gazetteer entity."""
    normalized = {normalize(k): v for k, v in synonyms.items()}
    entries = []
    for table in lookup_tables:
        if table["name"] not in GAZETTEER_ENTITIES:
            continue
        for surface in table["elements"]:
            surface = normalize(surface)
            entries.append([surface, table["name"], normalized.get(surface, surface)])
    return entries


_HONORIFIC_RE = re.compile(r"さん|さま|様|氏|くん|君|ちゃん|先生|課長|部長|係長|主任")


def _a_persons_name(m: Match, text: str) -> bool:
    """「吉川さん」: a place read without its suffix (吉川 for 吉川市) that is someone's name."""
    stem = m.entity == "municipality" and m.value != m.text and m.value[:-1] == m.text
    return stem and bool(_HONORIFIC_RE.match(text, m.end))


def extract(gazetteer: Gazetteer, text: str) -> list[dict[str, Any]]:
    """Entities in ``text`` (already normalized), sorted by position; spans never overlap."""
    found: list[dict[str, Any]] = [
        {"entity": m.entity, "start": m.start, "end": m.end, "value": m.value} for m in gazetteer.find(text)
        if not _a_persons_name(m, text)]
    for m in ASSEMBLY_NUMBER_RE.finditer(text):
        number = next(g for g in m.groups() if g)
        found.append({"entity": "assembly_number", "start": m.start(), "end": m.end(), "value": str(int(number))})
    for m in LATEST_ASSEMBLY_RE.finditer(text):
        found.append({"entity": "assembly_number", "start": m.start(), "end": m.end(), "value": "latest"})
    for m in PREVIOUS_ASSEMBLY_RE.finditer(text):
        found.append({"entity": "assembly_number", "start": m.start(), "end": m.end(), "value": "previous"})
    for m in NEXT_ASSEMBLY_RE.finditer(text):
        found.append({"entity": "assembly_number", "start": m.start(), "end": m.end(), "value": "next"})
    for m in YEAR_RE.finditer(text):
        if m.group(1):
            year = int(m.group(1))
        else:
            year = ERA_START[m.group(2)] + (1 if m.group(3) == "元" else int(m.group(3))) - 1
        found.append({"entity": "assembly_year", "start": m.start(), "end": m.end(), "value": str(year)})
    for m in LG_CODE_RE.finditer(text):
        found.append({"entity": "lg_code", "start": m.start(), "end": m.end(), "value": m.group(1)})
    found.sort(key=lambda e: (e["start"], -(e["end"] - e["start"])))
    out: list[dict[str, Any]] = []
    for entity in found:
        if out and entity["start"] < out[-1]["end"]:
            continue  # overlaps a longer or earlier entity
        out.append(entity)
    return out
