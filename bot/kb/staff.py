"""The staff desk's store: accounts, sessions and the audit log (the only code that reads or writes them).

The tables live in the knowledge-base database (MADOGUCHI_DB_URL) under their own metadata
(:data:`bot.kb.models.StaffBase`), so `kb build` keeps them. Functions take plain values and return
records, never ORM objects. What a password or a session *is* (hashing, tokens, lockout rules) is
decided in :mod:`bot.staff`; this module only stores it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.kb.db import get_engine, open_session
from bot.kb.models import KBVersion, MetaBase, StaffAccount, StaffAudit, StaffBase, StaffSession

_ready: set[str] = set()
_ready_lock = threading.Lock()


class AccountExists(ValueError):
    """An account of that name is already registered."""


@dataclass(frozen=True)
class AccountRecord:
    id: int
    name: str
    role: str
    password_hash: str
    failed_logins: int
    locked_until: float | None
    created_at: float


@dataclass(frozen=True)
class SessionRecord:
    id: str
    account: AccountRecord
    created_at: float
    last_seen: float


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: float
    account: str
    action: str
    detail: str
    kb_version: str
    address: str


def _account(row: StaffAccount) -> AccountRecord:
    return AccountRecord(row.id, row.name, row.role, row.password_hash, row.failed_logins or 0, row.locked_until,
                         row.created_at)


def ensure_tables(url: str | None = None) -> Engine:
    """Creates the staff tables when they are missing (once per database and process)."""
    engine = get_engine(url)
    key = str(engine.url)
    if key not in _ready:
        with _ready_lock:
            if key not in _ready:
                StaffBase.metadata.create_all(engine)
                _ready.add(key)
    return engine


# -- accounts ------------------------------------------------------------------------------------

def add_account(name: str, role: str, password_hash: str, now: float, url: str | None = None) -> AccountRecord:
    ensure_tables(url)
    with open_session(url) as session:
        row = StaffAccount(name=name, role=role, password_hash=password_hash, failed_logins=0, created_at=now)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise AccountExists(name) from None
        return _account(row)


def set_password(name: str, password_hash: str, url: str | None = None) -> bool:
    """New hash, failures forgotten, lock lifted, every session of the account ended; False if no such account."""
    ensure_tables(url)
    with open_session(url) as session:
        row = session.scalars(select(StaffAccount).where(StaffAccount.name == name)).first()
        if row is None:
            return False
        row.password_hash, row.failed_logins, row.locked_until = password_hash, 0, None
        session.execute(delete(StaffSession).where(StaffSession.account_id == row.id))
        session.commit()
        return True


def replace_hash(account_id: int, password_hash: str, url: str | None = None) -> None:
    """Stores a re-computed hash of the same password (stronger parameters)."""
    with open_session(url) as session:
        session.execute(update(StaffAccount).where(StaffAccount.id == account_id).values(password_hash=password_hash))
        session.commit()


def account_by_name(name: str, url: str | None = None) -> AccountRecord | None:
    ensure_tables(url)
    with open_session(url) as session:
        row = session.scalars(select(StaffAccount).where(StaffAccount.name == name)).first()
        return _account(row) if row is not None else None


def accounts(url: str | None = None) -> list[AccountRecord]:
    ensure_tables(url)
    with open_session(url) as session:
        return [_account(r) for r in session.scalars(select(StaffAccount).order_by(StaffAccount.name))]


def account_count(url: str | None = None) -> int:
    ensure_tables(url)
    with open_session(url) as session:
        return int(session.scalar(select(func.count()).select_from(StaffAccount)) or 0)


def record_failed_login(account_id: int, now: float, max_failures: int, lock_seconds: float,
                        url: str | None = None) -> AccountRecord:
    """Counts one wrong password; the ``max_failures``-th locks the account until ``now + lock_seconds``
    (and the count starts again). The increment is one UPDATE, so logins racing each other all count."""
    with open_session(url) as session:
        session.execute(update(StaffAccount).where(StaffAccount.id == account_id)
                        .values(failed_logins=StaffAccount.failed_logins + 1))
        row = session.get(StaffAccount, account_id)
        session.refresh(row)
        if row.failed_logins >= max_failures:
            row.failed_logins, row.locked_until = 0, now + lock_seconds
        session.commit()
        return _account(row)


def record_successful_login(account_id: int, url: str | None = None) -> None:
    with open_session(url) as session:
        session.execute(update(StaffAccount).where(StaffAccount.id == account_id)
                        .values(failed_logins=0, locked_until=None))
        session.commit()


# -- sessions ------------------------------------------------------------------------------------

def create_session(session_id: str, account_id: int, now: float, url: str | None = None) -> None:
    ensure_tables(url)
    with open_session(url) as session:
        session.add(StaffSession(id=session_id, account_id=account_id, created_at=now, last_seen=now))
        session.commit()


def session_by_id(session_id: str, url: str | None = None) -> SessionRecord | None:
    ensure_tables(url)
    with open_session(url) as session:
        row = session.execute(
            select(StaffSession, StaffAccount).join(StaffAccount, StaffAccount.id == StaffSession.account_id)
            .where(StaffSession.id == session_id)
        ).first()
        if row is None:
            return None
        s, account = row
        return SessionRecord(s.id, _account(account), s.created_at, s.last_seen)


def touch_session(session_id: str, now: float, url: str | None = None) -> None:
    with open_session(url) as session:
        session.execute(update(StaffSession).where(StaffSession.id == session_id).values(last_seen=now))
        session.commit()


def delete_session(session_id: str, url: str | None = None) -> None:
    ensure_tables(url)
    with open_session(url) as session:
        session.execute(delete(StaffSession).where(StaffSession.id == session_id))
        session.commit()


def delete_sessions_idle_since(before: float, url: str | None = None) -> int:
    with open_session(url) as session:
        count = session.execute(delete(StaffSession).where(StaffSession.last_seen < before)).rowcount
        session.commit()
        return count or 0


# -- audit log -----------------------------------------------------------------------------------

def kb_version(url: str | None = None) -> str:
    """The knowledge base's current version ("" before the first build)."""
    engine = get_engine(url)
    MetaBase.metadata.create_all(engine, tables=[KBVersion.__table__])
    with open_session(url) as session:
        return session.scalar(select(KBVersion.version).where(KBVersion.id == 1)) or ""


def audit(action: str, *, account: str = "", detail: str = "", address: str = "", now: float,
          url: str | None = None) -> None:
    ensure_tables(url)
    version = kb_version(url)
    with open_session(url) as session:
        session.add(StaffAudit(at=now, account=account, action=action, detail=detail[:2000], kb_version=version,
                               address=address[:64]))
        session.commit()


def audit_entries(limit: int = 200, url: str | None = None) -> list[AuditRecord]:
    """The newest ``limit`` entries, newest first."""
    ensure_tables(url)
    with open_session(url) as session:
        rows = session.scalars(select(StaffAudit).order_by(StaffAudit.id.desc()).limit(limit))
        return [AuditRecord(r.id, r.at, r.account, r.action, r.detail, r.kb_version, r.address) for r in rows]
