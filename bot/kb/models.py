"""SQLAlchemy models of the knowledge base (see DESIGN.md, "Data model")."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import DeclarativeMeta, registry, relationship

# The declarative bases are spelled as classes (SQLAlchemy 1.4's form that mypy accepts as a base class;
# what `declarative_base()` returns is only a variable to it). Each has a registry and metadata of its
# own and the keyword constructor, exactly as `declarative_base()` made them.
_kb_registry = registry()


class Base(metaclass=DeclarativeMeta):
    __abstract__ = True
    registry = _kb_registry
    metadata = _kb_registry.metadata
    __init__ = _kb_registry.constructor


class LocalGovernment(Base):
    """One 都道府県 or 市区町村 of the national master (全国地方公共団体コード)."""

    __tablename__ = "local_government"
    code = Column(String(6), primary_key=True)  # 6 digits, last is the check digit
    pref_code = Column(String(2), nullable=False, index=True)
    pref_name = Column(String(10), nullable=False)
    name = Column(String(40), nullable=False, index=True)  # 市区町村名, or the prefecture name itself
    pref_kana = Column(String(40), nullable=False, default="")
    name_kana = Column(String(80), nullable=False, default="")
    is_prefecture = Column(Boolean, nullable=False, default=False)

    @property
    def full_name(self) -> str:
        return self.name if self.is_prefecture else f"{self.pref_name}{self.name}"


class Organization(Base):
    """A company, national agency, society or facility; local governments link to the master."""

    __tablename__ = "organization"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, unique=True)
    kind = Column(String(20), nullable=False)
    lg_code = Column(String(6), ForeignKey("local_government.code"), nullable=True)
    aliases = relationship("OrganizationAlias", cascade="all, delete-orphan", back_populates="organization")


class OrganizationAlias(Base):
    __tablename__ = "organization_alias"
    id = Column(Integer, primary_key=True)
    organization_id = Column(Integer, ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    alias = Column(String(100), nullable=False)
    organization = relationship("Organization", back_populates="aliases")
    __table_args__ = (UniqueConstraint("organization_id", "alias"),)


class Society(Base):
    __tablename__ = "society"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, unique=True)
    purpose = Column(Text, nullable=False)
    role = Column(Text, nullable=False, default="")
    secretariat = Column(String(100), nullable=False)
    secretariat_lg_code = Column(String(6), ForeignKey("local_government.code"), nullable=True)
    secretariat_department = Column(String(100), nullable=False)
    # The secretariat's contact (optional keys 連絡先電話番号, 受付時間, URL; "" when not registered).
    phone = Column(String(50), nullable=False, default="")
    hours = Column(String(100), nullable=False, default="")
    url = Column(String(500), nullable=False, default="")
    source = Column(String(200), nullable=False)


class Assembly(Base):
    """An assembly (総会) as an event, columns after the イベント一覧 standard dataset."""

    __tablename__ = "assembly"
    id = Column(Integer, primary_key=True)
    number = Column(Integer, nullable=False, unique=True)  # 第N回
    name = Column(String(200), nullable=False)  # イベント名
    name_kana = Column(String(200), nullable=False, default="")
    start_date = Column(Date, nullable=False)  # 開始日
    end_date = Column(Date, nullable=False)  # 終了日
    start_time = Column(Time, nullable=True)  # 開始時間
    end_time = Column(Time, nullable=True)  # 終了時間
    description = Column(Text, nullable=False, default="")  # 説明
    venue = Column(String(200), nullable=False, default="")  # 場所名称
    address = Column(String(200), nullable=False, default="")  # 住所
    venue_lg_code = Column(String(6), ForeignKey("local_government.code"), nullable=True)
    organizer = Column(String(200), nullable=False, default="")  # 主催者
    url = Column(String(500), nullable=False, default="")
    lg_count = Column(Integer, nullable=True)  # 参加団体数
    participant_count = Column(Integer, nullable=True)  # 参加者数
    scale_note = Column(String(200), nullable=False, default="")  # e.g. 過去最大規模
    outlook = Column(Text, nullable=False, default="")  # 今後の運営
    source = Column(String(200), nullable=False)
    presentations = relationship(
        "Presentation", cascade="all, delete-orphan", back_populates="assembly", order_by="Presentation.order"
    )
    reactions = relationship("AssemblyReaction", cascade="all, delete-orphan", order_by="AssemblyReaction.id")
    event_fields = relationship("AssemblyEventField", cascade="all, delete-orphan", order_by="AssemblyEventField.id")


class AssemblyEventField(Base):
    """A column of the イベント一覧 standard that the dialogue does not use (料金, 定員, 緯度 …), kept verbatim."""

    __tablename__ = "assembly_event_field"
    id = Column(Integer, primary_key=True)
    assembly_id = Column(Integer, ForeignKey("assembly.id", ondelete="CASCADE"), nullable=False)
    column = Column(String(50), nullable=False)
    value = Column(Text, nullable=False)
    __table_args__ = (UniqueConstraint("assembly_id", "column"),)


class AssemblyReaction(Base):
    __tablename__ = "assembly_reaction"
    id = Column(Integer, primary_key=True)
    assembly_id = Column(Integer, ForeignKey("assembly.id", ondelete="CASCADE"), nullable=False)
    text = Column(Text, nullable=False)


class Presentation(Base):
    """A presentation at an assembly (schema.org subEvent)."""

    __tablename__ = "presentation"
    id = Column(Integer, primary_key=True)
    assembly_id = Column(Integer, ForeignKey("assembly.id", ondelete="CASCADE"), nullable=False)
    order = Column(Integer, nullable=False)
    title = Column(String(300), nullable=False)
    summary = Column(Text, nullable=False)
    speaker = Column(String(100), nullable=False, default="")
    speaker_title = Column(String(100), nullable=False, default="")
    assembly = relationship("Assembly", back_populates="presentations")
    presenters = relationship("PresentationOrganization", cascade="all, delete-orphan",
                              order_by="PresentationOrganization.id")
    municipalities = relationship("PresentationMunicipality", cascade="all, delete-orphan",
                                  order_by="PresentationMunicipality.id")
    partners = relationship("PresentationPartner", cascade="all, delete-orphan", order_by="PresentationPartner.id")
    topics = relationship("PresentationTopic", cascade="all, delete-orphan", order_by="PresentationTopic.id")
    facts = relationship("PresentationFact", cascade="all, delete-orphan", order_by="PresentationFact.id")
    reactions = relationship("PresentationReaction", cascade="all, delete-orphan", order_by="PresentationReaction.id")
    __table_args__ = (UniqueConstraint("assembly_id", "order"),)


class PresentationOrganization(Base):
    """Who presented: an organization, or a local government (then lg_code is set)."""

    __tablename__ = "presentation_organization"
    id = Column(Integer, primary_key=True)
    presentation_id = Column(Integer, ForeignKey("presentation.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(100), nullable=False)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=True)
    lg_code = Column(String(6), ForeignKey("local_government.code"), nullable=True)
    organization = relationship("Organization")
    local_government = relationship("LocalGovernment")


class PresentationMunicipality(Base):
    __tablename__ = "presentation_municipality"
    id = Column(Integer, primary_key=True)
    presentation_id = Column(Integer, ForeignKey("presentation.id", ondelete="CASCADE"), nullable=False)
    lg_code = Column(String(6), ForeignKey("local_government.code"), nullable=False)
    role = Column(String(20), nullable=False)
    local_government = relationship("LocalGovernment")


class PresentationPartner(Base):
    __tablename__ = "presentation_partner"
    id = Column(Integer, primary_key=True)
    presentation_id = Column(Integer, ForeignKey("presentation.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(100), nullable=False)


class PresentationTopic(Base):
    __tablename__ = "presentation_topic"
    id = Column(Integer, primary_key=True)
    presentation_id = Column(Integer, ForeignKey("presentation.id", ondelete="CASCADE"), nullable=False)
    topic = Column(String(100), nullable=False, index=True)


class PresentationFact(Base):
    """One concrete statement of a presentation; kinds say which questions it answers."""

    __tablename__ = "presentation_fact"
    id = Column(Integer, primary_key=True)
    presentation_id = Column(Integer, ForeignKey("presentation.id", ondelete="CASCADE"), nullable=False)
    kinds = Column(String(200), nullable=False)  # space-separated attribute names
    text = Column(Text, nullable=False)


class PresentationReaction(Base):
    """An audience reaction: a quoted voice (感想) or the report's description of it (会場の反応)."""

    __tablename__ = "presentation_reaction"
    id = Column(Integer, primary_key=True)
    presentation_id = Column(Integer, ForeignKey("presentation.id", ondelete="CASCADE"), nullable=False)
    text = Column(Text, nullable=False)
    quoted = Column(Boolean, nullable=False, default=True)


class FaqEntry(Base):
    """A FAQ entry for staff look-ups; lg_code None means shared by all municipalities."""

    __tablename__ = "faq_entry"
    id = Column(Integer, primary_key=True)
    lg_code = Column(String(6), ForeignKey("local_government.code"), nullable=True, index=True)
    category = Column(String(100), nullable=False)
    question = Column(Text, nullable=False)
    alternatives = Column(Text, nullable=False, default="")  # 質問_別表現, "|"-separated
    answer = Column(Text, nullable=False)
    department = Column(String(200), nullable=False, default="")
    phone = Column(String(50), nullable=False, default="")
    url = Column(String(500), nullable=False, default="")
    checked_on = Column(Date, nullable=True)  # 最終確認日
    source = Column(String(200), nullable=False, default="")
    __table_args__ = (UniqueConstraint("lg_code", "question"),)


# Bookkeeping, not knowledge: outside Base, so rebuilds and content checks ignore it.
_meta_registry = registry()


class MetaBase(metaclass=DeclarativeMeta):
    __abstract__ = True
    registry = _meta_registry
    metadata = _meta_registry.metadata
    __init__ = _meta_registry.constructor


class KBVersion(MetaBase):
    """Changes with every write of the knowledge base: readers cache snapshots per version."""

    __tablename__ = "kb_version"
    id = Column(Integer, primary_key=True)
    version = Column(String(36), nullable=False)


# The staff desk (bot/staff): accounts, their sessions and the audit log. Operational data like the
# feedback: same database, its own metadata, so `kb build` (which drops and recreates Base's tables)
# never touches them. Only bot/kb/staff.py reads or writes them.
_staff_registry = registry()


class StaffBase(metaclass=DeclarativeMeta):
    __abstract__ = True
    registry = _staff_registry
    metadata = _staff_registry.metadata
    __init__ = _staff_registry.constructor


class StaffAccount(StaffBase):
    """A staff member who may log in to the desk; the password is kept only as an Argon2id hash."""

    __tablename__ = "staff_account"
    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    role = Column(String(10), nullable=False)  # "viewer" | "editor"
    password_hash = Column(String(255), nullable=False)
    failed_logins = Column(Integer, nullable=False, default=0)  # wrong passwords since the last success or lock
    locked_until = Column(Float, nullable=True)  # UNIX time; no login before it
    created_at = Column(Float, nullable=False)


class StaffSession(StaffBase):
    """A logged-in browser: ``id`` is the SHA-256 of the random token in its cookie (never the token)."""

    __tablename__ = "staff_session"
    id = Column(String(64), primary_key=True)
    account_id = Column(Integer, ForeignKey("staff_account.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(Float, nullable=False)
    last_seen = Column(Float, nullable=False, index=True)


class StaffAudit(StaffBase):
    """One entry of the audit log: who did what, when, and on which knowledge-base version."""

    __tablename__ = "staff_audit"
    id = Column(Integer, primary_key=True)
    at = Column(Float, nullable=False, index=True)  # UNIX time
    account = Column(String(64), nullable=False, default="")  # the acting account's name ("" if none)
    action = Column(String(40), nullable=False)
    detail = Column(Text, nullable=False, default="")
    kb_version = Column(String(36), nullable=False, default="")
    address = Column(String(64), nullable=False, default="")  # the client's address ("" from the command line)
