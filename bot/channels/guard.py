"""What every public surface checks in a request before Rasa sees it (issue 16).

Limits, validators and a per-client rate limit; the channels call them and answer a refusal with its
status and its Japanese message (:class:`Refused`). :func:`protect` adds the checks that must run before
any route, while Sanic reads the request head (see its docstring); `bot.runtime` installs it.

- **Body size**: a REST or web-chat message is a few kB. A ``Content-Length`` above the route's limit is
  refused with 413 before the body is read; a chunked body is cut off by Sanic's ``REQUEST_MAX_SIZE``.
- **Content-Length sanity**: only digits, once. Sanic 21.12 took ``-1`` as a length and spun at 100% CPU
  for ever (``Http.read`` never reaches the end of a negative body), and a non-number was a 500.
- **Sender ids**: a safe character set and length (:data:`SENDER_ID`). A lone surrogate reached the SQL
  tracker store, whose ``ValueError`` Rasa reads as "schema not found" and exits the process.
- **Messages**: a string of at most :data:`MAX_MESSAGE_CHARS` characters, no lone surrogates.
- **Rate**: each client address gets a bucket of message tokens; a long message costs more
  (:class:`RateLimiter`). One client cannot keep the server busy for everyone else.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

MAX_BODY_BYTES = 64 * 1024  # a message is a few kB (2,000 characters, \uXXXX-escaped: 12 kB); larger: 413 unread
MAX_MESSAGE_CHARS = 2000  # a long e-mail style question fits; longer is refused before any per-character work
MAX_REQUEST_BYTES = 1024 * 1024  # any route, chunked bodies included (LINE and Slack send well under 1 MB)
MAX_JSON_DEPTH = 20  # a message body is an object holding strings and a small metadata object
# whole id (fullmatch): "abc\n" is not one  # LINE U…, Slack ids, uuids, the widget's ids
SENDER_ID = re.compile(r"[A-Za-z0-9_.@:+=\-]{1,128}")

# Body limits by path prefix (the first that matches); other routes get MAX_REQUEST_BYTES.
BODY_LIMITS = (
    ("/webhooks/rest/", MAX_BODY_BYTES),
    ("/webhooks/faq_search/", MAX_BODY_BYTES),
    ("/socket.io", MAX_BODY_BYTES),
)

TOO_LARGE = f"メッセージが大きすぎます（本文は{MAX_BODY_BYTES // 1024}KBまでです）。"
TOO_LONG = (f"メッセージが長すぎるため読み取れませんでした（{MAX_MESSAGE_CHARS}文字まで）。"
            "お知りになりたいことを短くまとめてお送りください。")
RATE_LIMITED = "短い時間に多くのメッセージが届いたため、受付を一時停止しています。少し時間をおいてからお送りください。"


@dataclass
class Refused(Exception):
    """A request the guide does not take: the HTTP status and the message for the user (Japanese)."""

    status: int
    message: str

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


class TooLong(Refused):
    """A well-formed message longer than :data:`MAX_MESSAGE_CHARS`: the channels answer it like a reply
    (the user typed or pasted it), without reading or storing it."""


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_sender(value: Any, field: str = "sender") -> str:
    """The sender id, or :class:`Refused` (400) when it is missing or not a safe id."""
    if value is None or value == "":
        raise Refused(400, f"{field} を指定してください（英数字と _ . @ : + = - で128文字まで）。")
    if not isinstance(value, str) or not SENDER_ID.fullmatch(value):
        raise Refused(400,
                      f"{field} に使えない文字が含まれているか、長すぎます（英数字と _ . @ : + = - で128文字まで）。")
    return value


def check_text(value: Any, field: str = "message") -> str:
    """The message text, or :class:`Refused`: not a string (400), too long (:class:`TooLong`), lone
    surrogates (400; no keyboard makes them, and the tokenizer cannot take them)."""
    if not isinstance(value, str):
        raise Refused(400, f"{field} は文字列で送ってください。")
    if len(value) > MAX_MESSAGE_CHARS:
        raise TooLong(413, TOO_LONG)
    if has_lone_surrogate(value):
        raise Refused(400, f"{field} に読み取れない文字（対になっていないサロゲート）が含まれています。")
    return value


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value, stopping once it exceeds ``limit``."""
    stack, deepest = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def json_object(body: Optional[bytes], limit: int = MAX_BODY_BYTES) -> dict:
    """The request body as a JSON object, or :class:`Refused` (413 too large, 400 anything else).

    NaN and Infinity are refused, so are numbers too large for a float (1e400) and nesting deeper than
    :data:`MAX_JSON_DEPTH`; a body nested 100,000 deep is refused by its bracket count before parsing.
    """
    if body is not None and len(body) > limit:
        raise Refused(413, TOO_LARGE)
    if not body or not body.strip():
        raise Refused(400, "本文が空です。JSON のオブジェクトで送ってください。")
    opening = body.count(b"[") + body.count(b"{")
    if opening > 1000:  # cheap bound before the parser recurses; real messages hold a handful
        raise Refused(400, "JSON の入れ子が深すぎます。")
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant,
                           parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(400, "本文を JSON として読めません（UTF-8 の JSON オブジェクトで送ってください）。") from None
    if not isinstance(value, dict):
        raise Refused(400, "本文は JSON のオブジェクト（{\"sender\": …, \"message\": …}）で送ってください。")
    if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise Refused(400, "JSON の入れ子が深すぎます。")
    return value


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return number


def body_limit(path: str, limits: tuple[tuple[str, int], ...] = BODY_LIMITS) -> int:
    for prefix, limit in limits:
        if path.startswith(prefix):
            return limit
    return MAX_REQUEST_BYTES


def too_large(limit: int) -> str:
    """The refusal of a body over ``limit`` bytes, in the unit people read it in."""
    if limit == MAX_BODY_BYTES:
        return TOO_LARGE
    size = f"{limit // (1024 * 1024)}MB" if limit >= 1024 * 1024 else f"{limit // 1024}KB"
    return f"送信された内容が大きすぎます（{size}までです）。"


def check_head(path: str, content_lengths: list[str], transfer_encodings: list[str],
               limits: tuple[tuple[str, int], ...] = BODY_LIMITS) -> None:
    """The request head's body framing, or :class:`Refused`: a Transfer-Encoding other than exactly one
    ``chunked`` (Sanic 21.12 then looked for a Content-Length that was not there: 500), a Content-Length
    that is not one run of digits or comes with chunking (400), or one above the route's limit (413)."""
    if transfer_encodings and transfer_encodings != ["chunked"]:
        raise Refused(400, "Transfer-Encoding は chunked だけを受け付けます。")
    if not content_lengths:
        return
    if len(set(content_lengths)) != 1 or transfer_encodings:
        raise Refused(400, "Content-Length が正しくありません。")
    value = content_lengths[0].strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise Refused(400, "Content-Length が正しくありません。")
    limit = body_limit(path, limits)
    if int(value) > limit:
        raise Refused(413, too_large(limit))


class RateLimiter:
    """A token bucket per client address: ``burst`` tokens, refilled at ``rate`` per second.

    A message costs :data:`BASE_COST` plus the square of its length in units of :data:`CHARS_PER_UNIT`
    characters. People ask short questions and paste a long mail now and then, so with the defaults
    (20 tokens a second, 100 at once) one client asking questions back to back is never held back
    (a question of 30 characters costs 0.2: about 90 a second), a 300-character message costs 2.5,
    and a client sending the longest messages (2,000 characters: 100 tokens) gets one through every
    five seconds. One client cannot make the server spend its time on long messages while others wait.
    Thread-safe; the table of clients is bounded (the least recently seen are forgotten first).
    """

    BASE_COST = 0.2
    CHARS_PER_UNIT = 200
    MAX_CLIENTS = 100_000

    def __init__(self, rate: float, burst: float, clock=time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env=os.environ, clock=time.monotonic) -> "RateLimiter":
        """``MADOGUCHI_RATE`` (tokens per second, default 20; 0 turns the limit off) and
        ``MADOGUCHI_BURST`` (default 100); ValueError naming the variable for anything but a number ≥ 0."""
        values = {}
        for name, default in (("MADOGUCHI_RATE", 20.0), ("MADOGUCHI_BURST", 100.0)):
            raw = env.get(name)
            try:
                values[name] = float(raw) if raw not in (None, "") else default
            except ValueError:
                values[name] = -1.0
            if not values[name] >= 0:
                raise ValueError(f"{name} must be a number of at least 0 (got {raw!r})")
        return cls(values["MADOGUCHI_RATE"], values["MADOGUCHI_BURST"], clock)

    def cost(self, text: str) -> float:
        return self.BASE_COST + (len(text) / self.CHARS_PER_UNIT) ** 2

    def allow(self, client: str, text: str = "") -> bool:
        """Takes the message's tokens from ``client``'s bucket; False (nothing taken) when it has too few."""
        if self.rate <= 0:
            return True
        cost, now = min(self.cost(text), self.burst), self._clock()
        with self._lock:
            tokens, seen = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - seen) * self.rate)
            allowed = tokens >= cost
            self._buckets[client] = (tokens - cost if allowed else tokens, now)
            if len(self._buckets) > self.MAX_CLIENTS:
                del self._buckets[next(iter(self._buckets))]
        return allowed

    def check(self, client: str, text: str = "") -> None:
        if not self.allow(client, text):
            raise Refused(429, RATE_LIMITED)


_limiter: Optional[RateLimiter] = None


def limiter() -> RateLimiter:
    """The process's rate limiter (shared by REST and the web chat)."""
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter.from_env()
    return _limiter


def error_response(message: str, status: int = 400) -> Any:
    """The JSON answer ``{"error": message}`` every guarded route gives a request it does not take."""
    from sanic import response

    return response.json({"error": message}, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


def refusal_response(refused: Refused) -> Any:
    return error_response(refused.message, refused.status)


def protect(app: Any) -> None:
    """Adds to a Sanic app the checks that run while the request head is read, before any route.

    - ``REQUEST_MAX_SIZE`` becomes :data:`MAX_REQUEST_BYTES` (chunked bodies included);
    - a handler of Sanic's ``http.lifecycle.request`` signal checks Content-Length (:func:`check_head`);
      an error there closes the connection after the answer, so the unread body is never parsed as the
      next request;
    - :class:`Refused` raised by any route is answered as JSON ``{"error": …}`` with its status.

    The body limits by path are ``app.ctx.body_limits`` (:data:`BODY_LIMITS` unless the app sets its own:
    the staff desk's upload route allows 20 MB).

    ``MADOGUCHI_PROXIES_COUNT`` (default none) tells Sanic how many proxies in front (nginx: 1) add
    ``X-Forwarded-For``, so that the rate limit sees the client's address, not the proxy's.
    """
    app.config.REQUEST_MAX_SIZE = min(int(app.config.REQUEST_MAX_SIZE), MAX_REQUEST_BYTES)
    app.ctx.body_limits = BODY_LIMITS
    proxies = os.environ.get("MADOGUCHI_PROXIES_COUNT")
    if proxies:
        app.config.PROXIES_COUNT = int(proxies)

    limiter()  # MADOGUCHI_RATE / MADOGUCHI_BURST are read now: a bad value stops the start, not a message

    @app.signal("http.lifecycle.request")
    async def check_request_head(request: Any) -> None:
        check_head(request.path, request.headers.getall("content-length", []),
                   request.headers.getall("transfer-encoding", []), request.app.ctx.body_limits)

    @app.exception(Refused)
    async def refused(request: Any, exception: Refused) -> Any:
        return refusal_response(exception)


def client_address(request: Any) -> str:
    """The client, as the rate limit counts it: its address as Sanic sees it (behind MADOGUCHI_PROXIES_COUNT
    proxies, the forwarded one); an IPv6 address by its /64 network, which one subscriber is given whole
    (rotating addresses inside it would otherwise give one client as many buckets as it likes)."""
    return rate_key(str(getattr(request, "remote_addr", "") or getattr(request, "ip", "") or "unknown"))


def rate_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:203.0.113.7 is the IPv4 client 203.0.113.7
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
