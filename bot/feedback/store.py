"""Answer feedback (👍/👎 and an optional comment): the only code that reads or writes it.

The table ``answer_feedback`` lives in the knowledge-base database (MADOGUCHI_DB_URL) but outside the
knowledge base's metadata, so `kb build` keeps it. Texts are masked before they are stored.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import Column, Float, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeMeta, registry

from bot.kb.db import get_engine, open_session
from bot.privacy.masking import mask

# Operational data, not knowledge: `kb build` drops and recreates the knowledge base's tables, the
# feedback must survive it. Same database (MADOGUCHI_DB_URL), metadata of its own.
# (The class form of `declarative_base()`, which mypy accepts as a base class; see bot.kb.models.)
_feedback_registry = registry()


class FeedbackBase(metaclass=DeclarativeMeta):
    __abstract__ = True
    registry = _feedback_registry
    metadata = _feedback_registry.metadata
    __init__ = _feedback_registry.constructor


class Feedback(FeedbackBase):
    """A 👍/👎 on one factual answer; texts are stored masked (bot.privacy.masking)."""

    __tablename__ = "answer_feedback"
    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(50), nullable=False, default="")
    question = Column(Text, nullable=False, default="")
    answer = Column(Text, nullable=False, default="")
    intent = Column(String(100), nullable=False, default="")
    confidence = Column(Float, nullable=True)
    source = Column(String(500), nullable=False, default="")
    rating = Column(String(4), nullable=False)  # "good" | "bad"
    comment = Column(Text, nullable=False, default="")
    created_at = Column(Float, nullable=False, index=True)  # UNIX time, like Rasa's events.timestamp


RATINGS = ("good", "bad")
MAX_COMMENT_CHARS = 1000
_ready: set[str] = set()
_ready_lock = threading.Lock()


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    sender_id: str
    channel: str
    question: str
    answer: str
    intent: str
    confidence: float | None
    source: str
    rating: str
    comment: str
    created_at: float


def ensure_table(url: str | None = None) -> Engine:
    engine = get_engine(url)
    key = str(engine.url)
    if key not in _ready:
        with _ready_lock:  # two first ratings at once (actions run on several threads) create it once
            if key not in _ready:
                FeedbackBase.metadata.create_all(engine)
                _ready.add(key)
    return engine


def record(
    *, sender_id: str, channel: str | None, question: str, answer: str, intent: str | None,
    confidence: float | None, source: str | None, rating: str, created_at: float | None = None, url: str | None = None,
) -> int:
    """Stores one rating; returns its id."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}")
    ensure_table(url)
    row = Feedback(
        sender_id=sender_id, channel=channel or "", question=mask(question or ""), answer=mask(answer or ""),
        intent=intent or "", confidence=None if confidence is None else float(confidence), source=source or "",
        rating=rating, comment="", created_at=time.time() if created_at is None else created_at,
    )
    with open_session(url) as session:
        session.add(row)
        session.commit()
        return row.id


def add_comment(feedback_id: int, sender_id: str, comment: str, url: str | None = None) -> bool:
    """Attaches the user's optional comment to their 👎 (only the same conversation may); True if stored."""
    ensure_table(url)
    with open_session(url) as session:
        row = session.get(Feedback, int(feedback_id))
        if row is None or row.sender_id != sender_id:
            return False
        row.comment = mask((comment or "").strip())[:MAX_COMMENT_CHARS]
        session.commit()
        return True


def all_feedback(url: str | None = None, since: float | None = None,
                 channel: str | None = None) -> list[FeedbackRecord]:
    ensure_table(url)
    stmt = select(Feedback).order_by(Feedback.id)
    if since is not None:
        stmt = stmt.where(Feedback.created_at >= since)
    if channel:
        stmt = stmt.where(Feedback.channel == channel)
    with open_session(url) as session:
        return [
            FeedbackRecord(r.id, r.sender_id, r.channel, r.question, r.answer, r.intent, r.confidence, r.source,
                           r.rating, r.comment, r.created_at)
            for r in session.scalars(stmt)
        ]
