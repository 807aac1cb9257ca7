"""Staff sessions and CSRF tokens (itsdangerous signatures; the sessions themselves are rows in the database).

- **Session cookie** ``madoguchi_staff``: a random token (``secrets.token_urlsafe(32)``), signed with the
  desk's secret (itsdangerous ``URLSafeTimedSerializer``). The database keeps only the token's SHA-256,
  with the account and the time it was last used. A session ends at logout, after
  :data:`IDLE_SECONDS` without a request (``STAFF_IDLE_MINUTES``, default 30), after
  :data:`MAX_AGE_SECONDS` in any case, and when the account's password is set anew.
- **Before login** the browser gets ``madoguchi_staff_pre``: a signed random nonce, so that the login form
  has a CSRF token too.
- **CSRF token**: the session's (or the nonce's) key signed with another salt. Every POST must carry it in
  the form field ``csrf_token``; it is valid only with the cookie it was made for.
- Cookies are ``HttpOnly``, ``SameSite=Strict``, ``Path=/``, and ``Secure`` when the request came over
  HTTPS (directly or as ``X-Forwarded-Proto: https`` from the proxy in front).

The secret is ``MADOGUCHI_STAFF_SECRET`` (at least 32 characters), else a random one kept in
``var/staff_secret`` (0600; ``MADOGUCHI_STAFF_SECRET_FILE`` moves it), so a restart keeps sessions.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.kb import staff as store
from bot.staff.accounts import Account

COOKIE = "madoguchi_staff"
PRE_COOKIE = "madoguchi_staff_pre"
MAX_AGE_SECONDS = 12 * 3600
TOUCH_EVERY_SECONDS = 30  # last_seen is written at most this often per session
SECRET_ENV = "MADOGUCHI_STAFF_SECRET"
SECRET_FILE_ENV = "MADOGUCHI_STAFF_SECRET_FILE"
DEFAULT_SECRET_FILE = Path("var") / "staff_secret"
MIN_SECRET_CHARS = 32


def idle_seconds(env: Mapping[str, str] = os.environ) -> float:
    raw = (env.get("STAFF_IDLE_MINUTES") or "").strip()
    try:
        minutes = float(raw) if raw else 30.0
    except ValueError:
        minutes = -1.0
    if not 0 < minutes <= 24 * 60:
        raise ValueError(f"STAFF_IDLE_MINUTES must be a number of minutes between 0 and 1440 (got {raw!r})")
    return minutes * 60


class SecretError(RuntimeError):
    """The configured secret cannot be used (the message says what to do; never the secret)."""


def secret(env: Mapping[str, str] = os.environ) -> str:
    value = (env.get(SECRET_ENV) or "").strip()
    if value:
        if len(value) < MIN_SECRET_CHARS:
            raise SecretError(f"{SECRET_ENV} is too short: use at least {MIN_SECRET_CHARS} random characters.")
        return value
    path = Path(env.get(SECRET_FILE_ENV) or DEFAULT_SECRET_FILE)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, path)  # whichever process links first wins; both then read its secret
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_SECRET_CHARS:
        raise SecretError(f"{path} holds fewer than {MIN_SECRET_CHARS} characters: delete it (a new one is made) "
                          f"or set {SECRET_ENV}.")
    return value


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Current:
    """What a request's cookies say."""

    account: Account | None = None
    session_id: str = ""  # SHA-256 of the session token (the database key)
    expired: bool = False  # a session cookie came, but its session has ended
    pre_nonce: str = ""  # the pre-login nonce (valid cookie), or ""

    @property
    def csrf_key(self) -> str:
        if self.account is not None:
            return "s:" + self.session_id
        return "p:" + self.pre_nonce if self.pre_nonce else ""


class Sessions:
    def __init__(self, secret_value: str, idle: float, url: str | None = None) -> None:
        self._cookie = URLSafeTimedSerializer(secret_value, salt="madoguchi-staff-session")
        self._pre = URLSafeTimedSerializer(secret_value, salt="madoguchi-staff-pre")
        self._csrf = URLSafeTimedSerializer(secret_value, salt="madoguchi-staff-csrf")
        self.idle = idle
        self.url = url

    # -- reading a request (blocking: database) ----------------------------------------------------
    def current(self, cookies: Mapping[str, str]) -> Current:
        pre = self._loads(self._pre, cookies.get(PRE_COOKIE), MAX_AGE_SECONDS) or ""
        raw = cookies.get(COOKIE)
        if not raw:
            return Current(pre_nonce=pre)
        token = self._loads(self._cookie, raw, MAX_AGE_SECONDS)
        if not token:
            return Current(expired=True, pre_nonce=pre)
        session_id = _digest(token)
        record = store.session_by_id(session_id, self.url)
        now = time.time()
        if record is None:
            return Current(expired=True, pre_nonce=pre)
        if now - record.last_seen > self.idle or now - record.created_at > MAX_AGE_SECONDS:
            store.delete_session(session_id, self.url)
            return Current(expired=True, pre_nonce=pre)
        if now - record.last_seen > TOUCH_EVERY_SECONDS:
            store.touch_session(session_id, now, self.url)
        a = record.account
        return Current(Account(a.id, a.name, a.role), session_id, pre_nonce=pre)

    @staticmethod
    def _loads(serializer: URLSafeTimedSerializer, value: str | None, max_age: int) -> str | None:
        if not value or len(value) > 512:
            return None
        try:
            loaded = serializer.loads(value, max_age=max_age)
        except BadSignature:  # also SignatureExpired
            return None
        return loaded if isinstance(loaded, str) else None

    # -- logging in and out (blocking: database) ---------------------------------------------------
    def start(self, account: Account) -> str:
        """A new session for ``account``; returns the cookie value."""
        now = time.time()
        store.delete_sessions_idle_since(now - self.idle, self.url)
        token = secrets.token_urlsafe(32)
        store.create_session(_digest(token), account.id, now, self.url)
        return self._cookie.dumps(token)

    def end(self, current: Current) -> None:
        if current.session_id:
            store.delete_session(current.session_id, self.url)

    def new_pre_cookie(self) -> tuple[str, str]:
        """(nonce, cookie value) for a browser that has no valid pre-login cookie."""
        nonce = secrets.token_urlsafe(16)
        return nonce, self._pre.dumps(nonce)

    # -- CSRF ---------------------------------------------------------------------------------------
    def csrf_token(self, key: str) -> str:
        return self._csrf.dumps(key) if key else ""

    def csrf_ok(self, key: str, token: str | None) -> bool:
        if not key:
            return False
        loaded = self._loads(self._csrf, token, MAX_AGE_SECONDS)
        return loaded is not None and hmac.compare_digest(loaded, key)


def set_cookie(response, name: str, value: str, secure: bool) -> None:
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["path"] = "/"
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    if secure:
        cookie["secure"] = True


def clear_cookie(response, name: str, secure: bool) -> None:
    set_cookie(response, name, "", secure)
    response.cookies[name]["max-age"] = 0
