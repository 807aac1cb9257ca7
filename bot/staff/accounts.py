"""Staff accounts: names, roles, Argon2id password hashes (argon2-cffi) and the lockout rule.

There is no default account and no default password: the first account is made with
``madoguchi staff add NAME --role editor``. Five wrong passwords in a row lock an account for 15 minutes;
while it is locked even the right password is refused (and not checked). A login attempt for a name that
does not exist costs the same hash computation, and says the same thing, as a wrong password.
"""
from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.kb import staff as store

ROLES = {"viewer": "閲覧者", "editor": "編集者"}
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # whole name (fullmatch)

# RFC 9106's second recommended setting (argon2-cffi's default): Argon2id, 64 MiB, 3 passes, 4 lanes.
HASHER = PasswordHasher()

WRONG = "ユーザー名またはパスワードが正しくありません。"
LOCKED = ("ログインに{n}回続けて失敗したため、このアカウントは一時的にロックされています。"
          "{minutes}分ほど時間をおいてから、もう一度お試しください。")


class AccountError(ValueError):
    """A name, role or password that cannot be used; the message says why, in Japanese."""


@dataclass(frozen=True)
class Account:
    """Who is logged in (no hash)."""

    id: int
    name: str
    role: str

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def is_editor(self) -> bool:
        return self.role == "editor"


@dataclass(frozen=True)
class LoginResult:
    account: Account | None
    message: str = ""  # why not, when account is None
    locked: bool = False


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise AccountError("ユーザー名は半角英数字で始まり、半角英数字と _ . @ - だけからなる"
                           "64文字以内にしてください。")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError("役割は viewer（閲覧者）か editor（編集者）です。")
    return role


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください。")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"パスワードは{MAX_PASSWORD_CHARS}文字以内にしてください。")
    if not password.strip():
        raise AccountError("空白だけのパスワードは使えません。")
    return password


def create(name: str, role: str, password: str, url: str | None = None) -> Account:
    """A new account; :class:`AccountError` for a bad name, role or password or a name already taken."""
    check_name(name), check_role(role), check_password(password)
    now = time.time()
    try:
        record = store.add_account(name, role, HASHER.hash(password), now, url)
    except store.AccountExists:
        raise AccountError(f"ユーザー名「{name}」はすでに登録されています。") from None
    store.audit("account_created", detail=f"{name}（{ROLES[role]}）", now=now, url=url)
    return Account(record.id, record.name, record.role)


def set_password(name: str, password: str, url: str | None = None) -> None:
    """A new password for ``name``; lifts a lock and ends the account's sessions."""
    check_password(password)
    if not store.set_password(name, HASHER.hash(password), url):
        raise AccountError(f"ユーザー名「{name}」は登録されていません。")
    store.audit("password_set", detail=name, now=time.time(), url=url)


def authenticate(name: str, password: str, address: str = "", url: str | None = None) -> LoginResult:
    """Checks a login and records it (failures count toward the lock; everything goes to the audit log)."""
    now = time.time()
    record = store.account_by_name(name, url) if isinstance(name, str) and NAME.fullmatch(name) else None
    if record is None:
        _verify(_dummy_hash(), password)  # the same time as a wrong password: names cannot be probed
        store.audit("login_failed", detail="登録のない名前", address=address, now=now, url=url)
        return LoginResult(None, WRONG)
    if record.locked_until and record.locked_until > now:
        store.audit("login_refused_locked", account=record.name, address=address, now=now, url=url)
        return LoginResult(None, _locked_message(record.locked_until - now), locked=True)
    if not _verify(record.password_hash, password):
        after = store.record_failed_login(record.id, now, MAX_FAILURES, LOCK_SECONDS, url)
        if after.locked_until and after.locked_until > now:
            store.audit("account_locked", account=record.name, detail=f"{MAX_FAILURES}回続けて失敗",
                        address=address, now=now, url=url)
            return LoginResult(None, _locked_message(after.locked_until - now), locked=True)
        store.audit("login_failed", account=record.name, address=address, now=now, url=url)
        return LoginResult(None, WRONG)
    store.record_successful_login(record.id, url)
    if HASHER.check_needs_rehash(record.password_hash):
        store.replace_hash(record.id, HASHER.hash(password), url)
    store.audit("login", account=record.name, address=address, now=now, url=url)
    return LoginResult(Account(record.id, record.name, record.role))


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """What a login for an unknown name is verified against (made once, on first use)."""
    return HASHER.hash("madoguchi: no such account")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password if isinstance(password, str) else "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _locked_message(seconds_left: float) -> str:
    return LOCKED.format(n=MAX_FAILURES, minutes=max(1, int(seconds_left // 60) + (1 if seconds_left % 60 else 0)))
