"""Plain, immutable views of KB rows handed to the dialogue layer (no session needed)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LocalGovernmentRecord:
    code: str
    pref_name: str
    name: str
    name_kana: str
    is_prefecture: bool

    @property
    def full_name(self) -> str:
        return self.name if self.is_prefecture else f"{self.pref_name}{self.name}"


@dataclass(frozen=True)
class SocietyRecord:
    name: str
    purpose: str
    role: str
    secretariat: str
    secretariat_department: str
    secretariat_lg: LocalGovernmentRecord | None
    source: str
    phone: str = ""  # contact of the secretariat; "" when the data holds none
    hours: str = ""
    url: str = ""


@dataclass(frozen=True)
class FactRecord:
    kinds: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class PresentationRecord:
    id: int
    assembly_number: int
    order: int
    title: str
    summary: str
    speaker: str
    speaker_title: str
    presenters: tuple[str, ...]
    municipalities: tuple[tuple[str, str, str], ...]  # (name, role, 団体コード)
    partners: tuple[str, ...]
    topics: tuple[str, ...]
    facts: tuple[FactRecord, ...]
    reactions: tuple[str, ...]  # quoted voices of participants
    audience_notes: tuple[str, ...] = ()  # the report's own description of the audience's reaction
    # parallel to presenters: 種別 of organizations.csv (民間企業, 国の機関 …), or 都道府県 / 市区町村 from
    # the local-government master; "" when the data does not say
    presenter_kinds: tuple[str, ...] = ()
    presenter_codes: tuple[str, ...] = ()  # 団体コード of a local-government presenter, else ""

    @property
    def key(self) -> str:
        """Natural key (回-順番): stays valid when the knowledge base is rebuilt."""
        return f"{self.assembly_number}-{self.order}"

    @property
    def source(self) -> str:
        return f"第{self.assembly_number}回総会 発表{self.order}「{self.title}」"

    @property
    def presenter_label(self) -> str:
        return "・".join(self.presenters)


@dataclass(frozen=True)
class AssemblyRecord:
    number: int
    name: str
    start_date: dt.date
    end_date: dt.date
    start_time: dt.time | None
    end_time: dt.time | None
    description: str
    venue: str
    address: str
    organizer: str
    lg_count: int | None
    participant_count: int | None
    scale_note: str
    outlook: str
    source: str
    reactions: tuple[str, ...]
    presentations: tuple[PresentationRecord, ...] = field(default=())
    event_fields: tuple[tuple[str, str], ...] = ()  # other イベント一覧 columns (料金(基本), 定員 …)
    venue_lg_code: str = ""  # 団体コード of the municipality the venue is in

    def event_field(self, column: str) -> str:
        return dict(self.event_fields).get(column, "")
