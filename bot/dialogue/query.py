"""What a user turn asks (intent, entities, text) and the context carried between turns."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable

# Attribute priority when one question carries several cues (会場の所在地 → address).
ASSEMBLY_PRIORITY = (
    "other", "fee", "organizer", "address", "hours", "lg_count", "people", "scale", "date", "where", "reactions",
    "plan", "program", "speaker", "content",
)
PRESENTATION_PRIORITY = (
    "other", "reactions", "requirement", "figures", "lg_count", "people", "partners", "where", "date", "hours",
    "address", "speaker", "plan", "result", "content",
)
# Attributes an assembly answers when its presentation cannot (「この発表は第7回総会で…」).
ASSEMBLY_LEVEL = frozenset({"date", "hours", "where", "address", "people", "scale"})
# Attribute → the fact kinds (種類 in data/kb) that answer it.
FACT_KINDS = {
    "date": ("いつ",),
    "hours": ("時間", "数値"),
    "where": ("どこ",),
    "lg_count": ("自治体数",),
    "people": ("人数",),
    "figures": ("数値",),
    "partners": ("連携",),
    "requirement": ("条件",),
    "result": ("成果",),
    "plan": ("今後",),
    "content": ("内容",),
}


@dataclass(frozen=True)
class Context:
    """The subject of the previous answer (kept in Rasa slots)."""

    subject_type: str | None = None  # assembly | presentation | program | society | municipality
    assembly_number: int | None = None
    presentation_id: str | None = None  # PresentationRecord.key (回-順番)
    municipality_code: str | None = None
    pending: str | None = None  # candidate codes of an ambiguous name awaiting the user's choice

    def with_(self, **changes) -> "Context":
        return replace(self, **changes)


@dataclass(frozen=True)
class Query:
    intent: str
    text: str = ""
    entities: tuple[tuple[str, str], ...] = ()  # (entity, value), in text order
    context: Context = field(default_factory=Context)

    @classmethod
    def build(cls, intent: str, text: str, entities: Iterable[dict], context: Context) -> "Query":
        pairs = tuple((str(e.get("entity")), str(e.get("value"))) for e in entities if e.get("entity") and e.get("value") is not None)
        return cls(intent=intent or "", text=text or "", entities=pairs, context=context)

    def with_context(self, context: Context) -> "Query":
        return replace(self, context=context)

    def with_entity(self, entity: str, value: str) -> "Query":
        return replace(self, entities=self.entities + ((entity, value),))

    def values(self, entity: str) -> list[str]:
        out: list[str] = []
        for name, value in self.entities:
            if name == entity and value not in out:
                out.append(value)
        return out

    @property
    def attributes(self) -> list[str]:
        return self.values("attribute")

    def attribute(self, priority: tuple[str, ...]) -> str | None:
        asked = set(self.attributes)
        return next((a for a in priority if a in asked), None)


# 「日立の発表」「NTTデータは何を報告した」: a name the KB does not know, in front of 発表/報告/講演.
_PRESENTER_RE = re.compile(
    r"([一-龥ァ-ヴーA-Za-z0-9・&]{2,30}?)(?:さん|様|社)?(?:の|は|が)[^。?!]{0,10}?(?:発表|報告|講演|説明|紹介|取組|取り組み)"
)
_NOT_NAMES = {"その", "この", "あの", "総会", "研究会", "今回", "前回", "次回", "最初", "最後", "ほか", "他", "次", "前", "どこ", "誰", "何"}


def unknown_presenter(text: str) -> str | None:
    """The presenter named in ``text`` when the extractor found none (so the bot can say it has no record)."""
    m = _PRESENTER_RE.search(text or "")
    if not m:
        return None
    name = m.group(1)
    if name in _NOT_NAMES or any(name.endswith(w) for w in ("総会", "研究会")) or name.startswith(("第", "その", "この")):
        return None
    return name


_REFERS_BACK_RE = re.compile(r"(そこ|その|それ|この|あの|そちら|こちら|同じ)")


def refers_back(text: str) -> bool:
    """「そこで」「その発表」: the question points at the previous turn's subject."""
    return bool(_REFERS_BACK_RE.search(text or ""))
