"""What a user turn asks (intent, entities, text) and the context carried between turns."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

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
    "demo": ("様子",),  # how the talk was given: 「画面を展開しながら説明」
}


# Entities that name what a question is about (the rest are cues: attribute, operation, presenter kind).
NAME_ENTITIES = frozenset({"organization", "municipality", "topic", "lg_code"})
SUBJECT_ENTITIES = frozenset({"assembly_number", "assembly_year", "organization", "municipality", "topic", "lg_code"})


_REQUEST_RE = re.compile(r"教え|お知らせ|知りたい|ご教示|伺いたい")
_WH_RE = re.compile(r"何|なに|なん|どこ|いつ|誰|だれ|どれ|どの|どう|どんな|いくつ|いくら|どちら|どっち|なぜ|何故|"
                    r"どうして")


# 「じゃあ内閣府のほうは？」「富士通さんは？」: once its names are taken out, nothing is left but a
# connective and particles; the message asks the last question again about other names.
_ELLIPSIS_RE = re.compile(r"^(?:じゃあ|じゃ|では|それでは|それなら|なら|あと|また|で|次に|ちなみに|一方)?[、,]?"
                          r"(?:の方|のほう|さん|様|さま|側|の場合)?(?:は|って|も|だと|では)?"
                          r"(?:どう(?:です|でした|でしょう|だった)?(?:か)?)?[?？。]*$")


_PLACE_WORD_RE = re.compile(r"会場|事務局|場所|所在地|都道府県|[都道府県市区町村](?:って|は|が|と|も|の|に)|自治体")


def previous_attributes(events: Iterable[dict]) -> tuple[str, ...]:
    """The attribute cues of the user message before the latest, from a tracker's events: the details an
    elliptical follow-up asks again (none when that message asked for none: 「…について教えて」)."""
    users = [e for e in events if e.get("event") == "user"][:-1]  # the last one is the message itself
    if not users:
        return ()
    entities = (users[-1].get("parse_data") or {}).get("entities") or []
    return tuple(dict.fromkeys(str(e.get("value")) for e in entities if e.get("entity") == "attribute"))


def previous_reply(events: Iterable[dict]) -> str:
    """The guide's last reply before the latest user message, from a tracker's events."""
    events = list(events)
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    for e in reversed(events[:users[-1]] if users else []):
        if e.get("event") == "user":
            return ""
        if e.get("event") == "bot" and e.get("text"):
            return str(e["text"])
    return ""


def _int(value: Any) -> int:
    """``int(value)`` for a slot value of any type, -1 if it is no number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


@dataclass(frozen=True)
class Context:
    """The subject of the previous answer (kept in Rasa slots)."""

    subject_type: str | None = None  # assembly | presentation | program | society | municipality
    assembly_number: int | None = None
    presentation_id: str | None = None  # PresentationRecord.key (回-順番)
    municipality_code: str | None = None
    pending: str | None = None  # candidate codes of an ambiguous name awaiting the user's choice
    awaiting_comment: bool = False  # the guide asked what was wrong with a 👎-rated answer
    previous_attributes: tuple[str, ...] = ()  # the details the last question asked (「じゃあ内閣府は？」)
    last_reply: str = ""  # what the guide said last: 「ほかには？」 asks for something else

    def with_(self, **changes) -> "Context":
        return replace(self, **changes)


@dataclass(frozen=True)
class Query:
    intent: str
    text: str = ""
    entities: tuple[tuple[str, str], ...] = ()  # (entity, value), in text order
    context: Context = field(default_factory=Context)
    spans: tuple[tuple[int, int], ...] = ()  # (start, end) of each entity in text, when known
    ranking: tuple[tuple[str, float], ...] = ()  # the classifier's intent ranking, best first

    @classmethod
    def build(cls, intent: str, text: str, entities: Iterable[dict], context: Context,
              ranking: Iterable[dict] = ()) -> "Query":
        kept = [e for e in entities if e.get("entity") and e.get("value") is not None]
        pairs = tuple((str(e.get("entity")), str(e.get("value"))) for e in kept)
        spans = tuple((_int(e.get("start")), _int(e.get("end"))) for e in kept)
        ranked = tuple((str(r.get("name")), float(r.get("confidence") or 0.0)) for r in ranking if r.get("name"))
        return cls(intent=intent or "", text=text or "", entities=pairs, context=context, spans=spans, ranking=ranked)

    def as_question(self) -> "Query":
        """The same message read as a knowledge question: the best question intent of the ranking."""
        if self.intent.startswith("ask_"):
            return self
        best = next((name for name, _ in self.ranking if name.startswith("ask_")), "")
        return replace(self, intent=best)

    def names_a_subject(self) -> bool:
        return any(name in SUBJECT_ENTITIES for name, _ in self.entities)

    def part(self, start: int, end: int, lend_presenters: bool = False) -> "Query":
        """The question asked in ``text[start:end]``, with the entities found there. Names given in the
        rest of the message (the subject of a mail) stay when the part names none of its own; with
        ``lend_presenters``, the organizations and municipalities named before a part that names only
        topics stay too (the caller checks that the topics are theirs)."""
        if len(self.spans) != len(self.entities):
            return replace(self, text=self.text[start:end])
        inside = [(e, s) for e, s in zip(self.entities, self.spans) if start <= s[0] < end]
        own = {e[0] for e, _ in inside if e[0] in SUBJECT_ENTITIES or e[0] == "presenter_kind"}
        # the names given before this sentence (else after it)
        if not own & (NAME_ENTITIES | {"presenter_kind"}) and "総会" not in self.text[start:end]:
            lend = SUBJECT_ENTITIES - own
            before = [(e, s) for e, s in zip(self.entities, self.spans) if e[0] in lend and s[0] < start]
            after = [(e, s) for e, s in zip(self.entities, self.spans) if e[0] in lend and s[0] >= end]
            lent = before or after
            asked = {e[1] for e, _ in inside if e[0] == "attribute"}
            if asked and asked <= ASSEMBLY_LEVEL | {"lg_count"} and any(e[0] == "assembly_number" for e, _ in lent):
                # 「行政改革の勉強会で第7回総会を取材…開催日と参加者数は」: the assembly's, not a talk's
                lent = [(e, s) for e, s in lent if e[0] != "topic"]
            inside = lent + inside
        elif lend_presenters and own & NAME_ENTITIES == {"topic"} and not any(e[0] == "operation" for e, _ in inside):
            # 「内閣府から説明が…、委託を広げるために何を」: a topic of the presenter named before it
            lend = frozenset({"organization", "municipality"})
            inside = [(e, s) for e, s in zip(self.entities, self.spans) if e[0] in lend and s[0] < start] + inside
        return replace(
            self, text=self.text[start:end], entities=tuple(e for e, _ in inside),
            spans=tuple((s[0] - start, s[1] - start) for _, s in inside),
        )

    def elliptical(self) -> bool:
        """「じゃあ内閣府のほうは？」: names of its own, no detail or operation, nothing else."""
        if self.attributes or self.values("operation") or len(self.text) > 30:
            return False
        named = [s for (name, _), s in zip(self.entities, self.spans) if name in NAME_ENTITIES and s[0] >= 0]
        if not named or len(self.spans) != len(self.entities):
            return False
        rest, at = "", 0
        for start, end in sorted(named):
            rest, at = rest + self.text[at:start], max(at, end)
        rest = (rest + self.text[at:]).strip()
        # a bare name (「内閣府」) is a new subject, not 「内閣府は？」
        return bool(rest.strip("?？。")) and bool(_ELLIPSIS_RE.match(rest))

    def asking_again(self) -> "Query":
        """An elliptical follow-up with the details the previous question asked (else this query)."""
        if not self.context.previous_attributes or not self.elliptical():
            return self
        return self.with_entities("attribute", list(self.context.previous_attributes))

    def compares_places(self) -> bool:
        """「会場の区と事務局の区は同じ」 compares places; 「その結果って人がやったのと同じだった」 does not."""
        if "compare" not in self.operations:
            return False
        return len(self.values("municipality")) >= 2 or bool(_PLACE_WORD_RE.search(self.text))

    def asks_something(self) -> bool:
        """Does this (part of a) question ask for a detail, an operation, with a question word, or
        request something about a subject it names itself (「開発のポイントについてもお教えください」)?"""
        if self.attributes or self.values("operation") or _WH_RE.search(self.text):
            return True
        own = any(name in SUBJECT_ENTITIES and start >= 0 for (name, _), (start, _) in zip(self.entities, self.spans))
        return own or bool(_REQUEST_RE.search(self.text) and len(self.text) >= 12)

    def with_context(self, context: Context) -> "Query":
        return replace(self, context=context)

    def with_entity(self, entity: str, value: str) -> "Query":
        spans = self.spans + ((-1, -1),) if len(self.spans) == len(self.entities) else self.spans
        return replace(self, entities=self.entities + ((entity, value),), spans=spans)

    def with_entities(self, entity: str, values: list[str]) -> "Query":
        out = self
        for value in values:
            out = out.with_entity(entity, value)
        return out

    def without(self, *entities: str) -> "Query":
        keep = [i for i, (name, _) in enumerate(self.entities) if name not in entities]
        spans = tuple(self.spans[i] for i in keep) if len(self.spans) == len(self.entities) else self.spans
        return replace(self, entities=tuple(self.entities[i] for i in keep), spans=spans)

    def values_named_here(self, entity: str) -> list[str]:
        """Values of ``entity`` named in this text, not lent by another sentence of the message."""
        if len(self.spans) != len(self.entities):
            return self.values(entity)
        return [v for (name, v), (start, _) in zip(self.entities, self.spans) if name == entity and start >= 0]

    def named(self, entity: str) -> list[tuple[str, str]]:
        """(the words of this text, the value) of each ``entity`` named here (「三菱総研」, 株式会社三菱総合研究所)."""
        if len(self.spans) != len(self.entities):
            return []
        return [(self.text[start:end], value) for (name, value), (start, end) in zip(self.entities, self.spans)
                if name == entity and 0 <= start < end <= len(self.text)]

    def surfaces(self, entity: str) -> list[str]:
        """The words of this text that named ``entity`` (「案内サービス」 for the topic 総合案内)."""
        return [words for words, _ in self.named(entity)]

    @property
    def operations(self) -> set[str]:
        """The operations asked (count, order, compare …), without their arguments."""
        return {v.partition(":")[0] for v in self.values("operation")}

    def values(self, entity: str) -> list[str]:
        out: list[str] = []
        for name, value in self.entities:
            if name == entity and value not in out:
                out.append(value)
        return out

    @property
    def attributes(self) -> list[str]:
        """Attribute cues, without those inside a presenter kind (「都道府県による発表」 asks no prefecture)."""
        if len(self.spans) != len(self.entities):
            return self.values("attribute")
        kinds = [span for (name, _), span in zip(self.entities, self.spans) if name == "presenter_kind"]
        out: list[str] = []
        for (name, value), (start, end) in zip(self.entities, self.spans):
            if name != "attribute" or value in out:
                continue
            if any(k[0] <= start and end <= k[1] for k in kinds if start >= 0):
                continue
            out.append(value)
        return out

    def attribute(self, priority: tuple[str, ...]) -> str | None:
        asked = set(self.attributes)
        return next((a for a in priority if a in asked), None)


# 「日立の発表」「NTTデータは何を報告した」: a name the KB does not know, in front of 発表/報告/講演.
_PRESENTER_RE = re.compile(
    r"([一-龥ァ-ヴーA-Za-z0-9・&]{2,30}?)(?:さん|様|社)?(?:の|は|が)[^。?!]{0,10}?(?:発表|報告|講演|説明|紹介|取組|取り組み)"
)
_NOT_NAMES = {"その", "この", "あの", "総会", "研究会", "今回", "前回", "次回", "最初", "最後", "ほか", "他", "次",
              "前", "どこ", "誰", "何"}


def unknown_presenter(text: str) -> str | None:
    """The presenter named in ``text`` when the extractor found none (so the bot can say it has no record)."""
    m = _PRESENTER_RE.search(text or "")
    if not m:
        return None
    name = m.group(1)
    if (name in _NOT_NAMES or any(name.endswith(w) for w in ("総会", "研究会"))
            or name.startswith(("第", "その", "この"))):
        return None
    return name


_REFERS_BACK_RE = re.compile(r"(そこ|その|それ|この|あの|そちら|こちら|同じ)")


def refers_back(text: str) -> bool:
    """「そこで」「その発表」: the question points at the previous turn's subject."""
    return bool(_REFERS_BACK_RE.search(text or ""))
