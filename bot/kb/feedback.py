"""Answer feedback (👍/👎 and an optional comment): the only code that reads or writes it.

The table ``answer_feedback`` lives in the knowledge-base database (MADOGUCHI_DB_URL) but outside the
knowledge base's metadata, so `kb build` keeps it. Texts are masked before they are stored.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.kb.db import get_engine, open_session
from bot.kb.models import Feedback, FeedbackBase
from bot.privacy.masking import mask

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


def all_feedback(url: str | None = None, since: float | None = None, channel: str | None = None) -> list[FeedbackRecord]:
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
