"""Rasa's socket.io channel (the web widget's), with each conversation bound to its owner (issue 16).

Rasa 3.6.21's channel trusted the client: ``user_uttered`` took the ``session_id`` in its payload, so any
client could post into another conversation (and the reply showed on that user's screen), and a second
client asking for the same id (``session_request``) joined its room and received all its replies. Its
``AsyncServer(cors_allowed_origins=[])`` also turned engine.io's Origin check off. It never even joined
the room: ``sio.enter_room`` became a coroutine in python-socketio 5 and Rasa does not await it.

This subclass replaces Rasa's event handlers:

- **Session = connection + token.** ``session_confirm`` carries ``{"session_id": id, "token": token}``,
  token = HMAC-SHA256(server secret, id) in hex (:func:`session_token`). The widget keeps both (as it
  kept the id) and sends both in ``session_request`` after a reload. The socket joins the room of the
  id it asks for only when the token verifies, or, without a token, when the id is new: no conversation
  is stored under ``socketio:<id>`` (bot.channels.conversations) and no other live connection holds it
  (so a widget that kept an id from before tokens existed still resumes its conversation). Otherwise
  — a wrong token, an id that is taken, an id that is not a sane one (:data:`SESSION_ID`) — the client
  gets a fresh id and its token. Each connection holds at most one session (:class:`SessionBindings`).
- **Messages only for the connection's own session.** ``user_uttered`` for a session id the connection
  does not hold is refused: not processed, nothing sent to that room, logged at info (no text, no id).
- **Payloads validated.** A payload that is not one object, a ``message`` that is not a string (or too
  long, or with broken characters: bot.channels.guard.check_text), ``metadata`` that is neither an
  object nor a string (the two forms Rasa's clients send) is refused; client metadata is never passed
  to Rasa. A refusal goes back to that socket only, as a bot message ``{"text": <Japanese message>}``;
  the conversation goes on and nothing is stored. No exception reaches python-socketio.
- **Rate limit** per client address (bot.channels.guard.limiter, shared with REST): every session
  request and message costs tokens. The address is the Sanic request's ``remote_addr`` (the forwarded
  one behind ``PROXIES_COUNT`` proxies) or else its peer address.
- **Origins.** Websocket upgrades and polling requests whose ``Origin`` is not in
  ``cors_allowed_origins`` are refused (400) by engine.io; requests without an Origin (non-browser
  clients) are accepted. The CORS response headers stay Rasa's (``rasa run --cors``, sanic-cors), as
  before: engine.io's own would duplicate them and browsers refuse a doubled Allow-Origin.

The server secret: ``MADOGUCHI_SESSION_SECRET`` (at least 32 characters; deployment with several
replicas: the same value on each), else a random one kept in ``MADOGUCHI_SESSION_SECRET_FILE`` (default
``var/session_secret`` under the working directory, created 0600 with ``secrets.token_hex(32)``), so that
conversations resume across restarts. It is read when the channel starts; one that cannot be used stops
the server with what to do. Neither the secret nor a token is ever logged.

credentials.yml (written by ``madoguchi channels credentials``; see bot.channels.credentials):

    bot.channels.resilient.SocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
      cors_allowed_origins: ${MADOGUCHI_CORS}   # space-separated (or a list)

Without that setting the channel reads ``MADOGUCHI_CORS`` itself; when that is unset too, it allows the
demo page's origins, as scripts/run.sh does (http://localhost:8080 http://127.0.0.1:8080; ``WEB_PORT``).

Its ``name()`` stays ``socketio`` (``?output_channel=socketio`` keeps working: the output channel turns
the tracker key ``socketio:<id>`` back into the room ``<id>``).

All state lives in this process's event loop: the bindings are plain dicts changed without an ``await``
between a check and the change, so concurrent handlers cannot interleave inside one. With several
processes (replicas), each knows only its own connections, as each has only its own rooms: a reply is
emitted to the sockets of the process that answered; the stored-conversation check and the token hold
across them (shared tracker store, shared secret).
"""
from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import os
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput
from rasa.core.tracker_store import FailSafeTrackerStore
from sanic import Blueprint

from bot.channels import guard
from bot.channels.conversations import conversation_key, split_key

logger = logging.getLogger(__name__)

CHANNEL = "socketio"
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # the whole id (fullmatch)
TOKEN = re.compile(r"^[0-9a-f]{64}$")

SECRET_ENV = "MADOGUCHI_SESSION_SECRET"
SECRET_FILE_ENV = "MADOGUCHI_SESSION_SECRET_FILE"
DEFAULT_SECRET_FILE = Path("var") / "session_secret"
MIN_SECRET_CHARS = 32

ORIGINS_ENV = "MADOGUCHI_CORS"

NOT_YOURS = "この接続では、その会話を続けられません。ページを再読み込みしてから、もう一度お送りください。"
NOT_AN_OBJECT = "送信内容の形式が正しくありません（JSON のオブジェクトで送ってください）。"
BAD_METADATA = "metadata の形式が正しくありません（オブジェクトで送ってください）。"


class SessionSecretError(RuntimeError):
    """The configured session secret cannot be used (what to do is in the message; never the secret)."""


# ---- the server secret and the tokens ---------------------------------------------------------------

def session_secret(env: Mapping[str, str] = os.environ) -> bytes:
    """The secret the session tokens are made with: ``MADOGUCHI_SESSION_SECRET``, else the secret file."""
    value = (env.get(SECRET_ENV) or "").strip()
    if value:
        if len(value) < MIN_SECRET_CHARS:
            raise SessionSecretError(
                f"{SECRET_ENV} is too short: use at least {MIN_SECRET_CHARS} random characters "
                "(for example `python -c 'import secrets; print(secrets.token_hex(32))'`)."
            )
        return value.encode("utf-8")
    path = Path(env.get(SECRET_FILE_ENV) or DEFAULT_SECRET_FILE)
    return _secret_file(path).encode("utf-8")


def _secret_file(path: Path) -> str:
    """The secret kept in ``path``; created (0600, ``secrets.token_hex(32)``) when there is none.

    Made under a temporary name and hard-linked into place, so a process that starts at the same time
    never reads a half-written file: whichever link comes first wins and both use its secret.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
            logger.info("created a new socket.io session secret file %s", path)
        except FileExistsError:
            pass  # another process made it first: use that one
    finally:
        temporary.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_SECRET_CHARS:
        raise SessionSecretError(
            f"the session secret file {path} holds fewer than {MIN_SECRET_CHARS} characters; "
            f"delete it (a new one is made at start-up) or set {SECRET_ENV}."
        )
    if path.stat().st_mode & 0o077:
        logger.warning("the session secret file %s can be read by other users; chmod 600 it", path)
    return value


def session_token(secret: bytes, session_id: str) -> str:
    """HMAC-SHA256(secret, session id), hex: what proves that a client was given ``session_id``."""
    return hmac.new(secret, session_id.encode("utf-8"), hashlib.sha256).hexdigest()


def token_matches(secret: bytes, session_id: str, token: Any) -> bool:
    return isinstance(token, str) and bool(TOKEN.fullmatch(token)) and hmac.compare_digest(
        session_token(secret, session_id), token)


# ---- allowed origins ---------------------------------------------------------------------------------

def default_origins(env: Mapping[str, str] = os.environ) -> list[str]:
    """The demo page's origins, as scripts/run.sh allows them (``WEB_PORT``, default 8080)."""
    port = (env.get("WEB_PORT") or "").strip() or "8080"
    return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]


def parse_origins(value: Any, env: Mapping[str, str] = os.environ) -> list[str]:
    """Allowed origins from a credentials value (a space-separated string or a list); when it gives
    none, ``MADOGUCHI_CORS`` from the environment, else :func:`default_origins`. ``*`` allows any."""
    if value is None or (isinstance(value, str) and not value.strip()):
        value = env.get(ORIGINS_ENV) or ""
    if isinstance(value, str):
        origins = value.split()
    elif isinstance(value, Iterable):
        origins = [str(v).strip() for v in value if str(v).strip()]
    else:
        origins = []
    return [o.rstrip("/") if o != "*" else o for o in origins] or default_origins(env)


# ---- payloads ----------------------------------------------------------------------------------------

def session_id_from(data: Any) -> str:
    """The client's session id if it is a plausible one, else a new random id (whether the client may
    hold it is :meth:`SocketIOInput._granted`'s decision)."""
    value = data.get("session_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and SESSION_ID.fullmatch(value) else new_session_id()


def new_session_id() -> str:
    return uuid.uuid4().hex


def one_payload(args: tuple, optional: bool = False) -> dict | None:
    """The one object an event carries (None when ``optional`` and nothing came), else Refused (400)."""
    if optional and (not args or (len(args) == 1 and args[0] is None)):
        return None
    if len(args) != 1 or not isinstance(args[0], dict):
        raise guard.Refused(400, NOT_AN_OBJECT)
    return args[0]


def check_message(data: dict, metadata_key: str = "metadata") -> str:
    """The text of a ``user_uttered`` payload, or Refused; the client's metadata is checked, then dropped."""
    text = guard.check_text(data.get("message"))
    metadata = data.get(metadata_key)
    if metadata is not None and not isinstance(metadata, (dict, str)):
        raise guard.Refused(400, BAD_METADATA)
    return text


# ---- who holds which session ---------------------------------------------------------------------

class SessionBindings:
    """Which connection (socket.io sid) holds which session id, and each connection's client address.

    A connection holds at most one session; a session may be held by several connections that all
    showed its token (two tabs of one browser). Only synchronous methods: callers in the event loop
    check and change without an ``await`` in between.
    """

    def __init__(self) -> None:
        self._session: dict[str, str] = {}  # sid -> session id
        self._holders: dict[str, set[str]] = {}  # session id -> sids
        self._address: dict[str, str] = {}  # sid -> client address

    def connected(self, sid: str, address: str) -> None:
        self._address[sid] = address

    def address(self, sid: str) -> str:
        return self._address.get(sid, "unknown")

    def session_of(self, sid: str) -> str | None:
        return self._session.get(sid)

    def held_by_another(self, session_id: str, sid: str) -> bool:
        return bool(self._holders.get(session_id, set()) - {sid})

    def bind(self, sid: str, session_id: str) -> str | None:
        """Makes ``sid`` hold ``session_id``; returns the session it held before (if another)."""
        previous = self._release(sid)
        self._session[sid] = session_id
        self._holders.setdefault(session_id, set()).add(sid)
        return previous if previous != session_id else None

    def disconnected(self, sid: str) -> None:
        self._release(sid)
        self._address.pop(sid, None)

    def _release(self, sid: str) -> str | None:
        previous = self._session.pop(sid, None)
        if previous is not None:
            holders = self._holders.get(previous, set())
            holders.discard(sid)
            if not holders:
                self._holders.pop(previous, None)
        return previous

    def __len__(self) -> int:
        return len(self._session)


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value


# ---- the channel ---------------------------------------------------------------------------------

class SocketIOOutput(RasaSocketIOOutput):
    """Rasa's socket.io output, with the tracker key ``socketio:<id>`` sent to the room ``<id>``.

    (Replies to a message already come with the bare id; this is for Rasa's conversation API, e.g.
    ``trigger_intent?output_channel=socketio``, which names the tracker.) A key of another channel
    names no room and reaches nobody.
    """

    @staticmethod
    def room(recipient_id: str) -> str:
        channel, sender = split_key(recipient_id)
        return sender if channel == CHANNEL else recipient_id

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await super()._send_message(self.room(socket_id), response)

    async def send_custom_json(self, recipient_id: str, json_message: dict, **kwargs: Any) -> None:
        await super().send_custom_json(self.room(recipient_id), json_message, **kwargs)


class SocketIOInput(RasaSocketIOInput):
    """The web chat's socket.io channel; see the module docstring."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SocketIOInput:
        credentials = credentials or {}
        channel = super().from_credentials(credentials)
        channel.cors_allowed_origins = parse_origins(credentials.get("cors_allowed_origins"))
        return channel  # type: ignore[return-value]

    def __init__(self, *args: Any, cors_allowed_origins: Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cors_allowed_origins = parse_origins(cors_allowed_origins)
        self.bindings = SessionBindings()
        self._secret: bytes | None = None
        self._app: Any = None

    def get_output_channel(self) -> SocketIOOutput | None:
        if self.sio is None:
            return super().get_output_channel()  # type: ignore[return-value]  # Rasa's warning, None
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        namespace = self.namespace or "/"
        self._secret = session_secret()  # at start-up: a bad secret stops the server with what to do

        # Origins: engine.io refuses any other Origin (400) before a handshake or an upgrade. The
        # response's CORS headers stay sanic-cors's (rasa run --cors): engine.io would add a second
        # Access-Control-Allow-Origin, and a browser refuses a doubled one.
        sio.eio.cors_allowed_origins = list(self.cors_allowed_origins)
        sio.eio._cors_headers = lambda environ: []  # python-engineio 4.15: only adds CORS headers
        # A websocket frame or polling packet is held to the same size as a REST body (engine.io: 1 MB).
        sio.eio.max_http_buffer_size = guard.MAX_BODY_BYTES

        @socketio_webhook.listener("before_server_start")
        async def keep_app(app: Any, _loop: Any) -> None:
            self._app = app

        rasa_connect = sio.handlers[namespace]["connect"]

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: Any = None) -> bool:
            accepted = await rasa_connect(sid, environ, auth)  # Rasa's (JWT when jwt_key is set)
            if accepted is False:
                return False
            self.bindings.connected(sid, guard.client_address(environ.get("sanic.request")))
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str, *_reason: Any) -> None:
            self.bindings.disconnected(sid)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, *args: Any) -> None:
            try:
                await self._session_request(sid, args)
            except Exception:  # never into python-socketio; the log has the cause, not the payload
                logger.exception("socket.io session request failed")

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, *args: Any) -> None:
            try:
                await self._user_message(sid, args, on_new_message)
            except Exception:  # as above (Rasa's own failures are the apology of bot.channels.resilient)
                logger.exception("socket.io message failed")

        return socketio_webhook

    # ---- handlers ----

    async def _refuse(self, sid: str, refused: guard.Refused) -> None:
        """The refusal, as a bot message to this socket only."""
        await self.sio.emit(self.bot_message_evt, {"text": refused.message}, room=sid, namespace=self.namespace)

    async def _session_request(self, sid: str, args: tuple) -> None:
        try:
            data = one_payload(args, optional=True) or {}
            guard.limiter().check(self.bindings.address(sid))
        except guard.Refused as refused:
            logger.info("socket.io session request refused (%s)", refused.status)
            await self._refuse(sid, refused)
            return
        assert self._secret is not None
        requested, token = data.get("session_id"), data.get("token")
        session_id = await self._granted(sid, requested, token)
        if self.session_persistence:
            previous = self.bindings.bind(sid, session_id)  # no await since _granted's last check
            if previous is not None:
                await _maybe_await(self.sio.leave_room(sid, previous, namespace=self.namespace))
            await _maybe_await(self.sio.enter_room(sid, session_id, namespace=self.namespace))
        await self.sio.emit(
            "session_confirm", {"session_id": session_id, "token": session_token(self._secret, session_id)},
            room=sid, namespace=self.namespace,
        )
        logger.debug("socket.io session confirmed for a client (%s)",
                     "resumed" if session_id == requested else "new")

    async def _granted(self, sid: str, requested: Any, token: Any) -> str:
        """The session id ``sid`` may hold: the one it asks for if its token verifies, or, without a
        token, if it names a conversation stored before tokens existed (under the bare id) that nobody
        has resumed since (nothing under ``socketio:<id>``, no live holder); else a new one. An id the
        server issued is never given out again without its token, even before its first message."""
        if not isinstance(requested, str) or not SESSION_ID.fullmatch(requested):
            return new_session_id()
        if token is not None:
            assert self._secret is not None  # set by blueprint(), before any connection
            if token_matches(self._secret, requested, token):
                return requested
            logger.info("socket.io session request with a token that does not verify: new session")
            return new_session_id()
        if (self.bindings.held_by_another(requested, sid) or await self._stored(conversation_key(CHANNEL, requested))
                or not await self._stored(requested, unknown=False)):
            logger.info("socket.io session request without a token for no conversation to resume: new session")
            return new_session_id()
        if self.bindings.held_by_another(requested, sid):  # claimed while the store was asked
            return new_session_id()
        return requested

    async def _stored(self, key: str, unknown: bool = True) -> bool:
        """Whether a conversation is stored under the tracker key ``key`` (``unknown`` when that cannot be
        told: either way the client gets a new session rather than someone else's)."""
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        # Rasa 3.6 wraps the configured store in a FailSafeTrackerStore, whose `exists` is the base
        # class's `retrieve(...) is not None`: through MaskingTrackerStore.retrieve that also finds a
        # conversation stored under the bare id before channels were kept apart, the very case that
        # must keep its id. The configured store's own `exists` looks at this key only.
        if isinstance(store, FailSafeTrackerStore):
            store = store._tracker_store  # Rasa 3.6.21's attribute (bot.runtime checks the version)
        if store is None:
            logger.warning("socket.io: no tracker store to check a session request against: new session")
            return unknown
        try:
            return bool(await store.exists(key))
        except Exception:  # the store is down: the client gets a new session, not someone else's
            logger.exception("socket.io: checking a session request against the tracker store failed")
            return unknown

    async def _user_message(
        self, sid: str, args: tuple, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        try:
            data = one_payload(args) or {}
            text = check_message(data, self.metadata_key or "metadata")
            if self.session_persistence:
                sender_id = self.bindings.session_of(sid)
                claimed = data.get("session_id")
                if sender_id is None or (claimed is not None and claimed != sender_id):
                    logger.info("socket.io message for a session this connection does not hold: refused")
                    raise guard.Refused(403, NOT_YOURS)
            else:
                sender_id = sid
            guard.limiter().check(self.bindings.address(sid), text)
        except guard.Refused as refused:
            if refused.status != 403:
                logger.info("socket.io message refused (%s)", refused.status)
            await self._refuse(sid, refused)
            return
        output_channel = SocketIOOutput(self.sio, self.bot_message_evt)
        message = UserMessage(text, output_channel, sender_id, input_channel=self.name(), metadata=None)
        await on_new_message(message)
