"""LINE Messaging API input channel for Rasa (``/webhooks/line/webhook``), built on sanic and aiohttp.

No released ``line-bot-sdk`` installs beside Rasa 3.6 (3.x needs pydantic 2, 2.4.x pins an old
aiohttp), so this speaks the documented webhook and reply API directly:

* the body is read up to ``MAX_BODY_BYTES`` (larger: 413, before any hashing), then its
  ``X-Line-Signature`` (base64 HMAC-SHA256 of the raw body with the channel secret) is checked with a
  constant-time compare (missing or wrong: 401), and only then parsed (malformed JSON, missing or
  ill-typed fields: 400);
* the webhook answers 200 at once and handles the events in a background task, so LINE's webhook
  timeout is never reached however slow the dialogue is;
* every ``webhookEventId`` handled is remembered in a bounded in-memory LRU and a redelivered event is
  ignored. The memory is per process: with several replicas behind a load balancer a redelivery that
  reaches another replica is answered again (its reply token was already used, so LINE refuses the
  second reply; nobody receives two answers, but the second dialogue turn is recorded);
* each event gets exactly one reply-API call: at most 5 messages (further texts are merged into the
  5th), texts cut to LINE's 5,000 characters, the bot's buttons turned into at most 13 quick-reply
  items (message actions) on the last message;
* stickers, images, video, audio, files and locations get a polite Japanese note that only text is
  understood; a ``follow`` (friend added) gets a thank-you and the bot's own greeting; unfollow, join,
  leave, postback, standby-mode and unknown event types are acknowledged and ignored.

Logs name event types and ids only: never message texts, user ids, reply tokens or the secrets.
Credentials (``credentials.yml``, written by ``bot.channels.credentials`` from the environment)::

    bot.channels.line.LineInput:
      channel_secret: ${LINE_CHANNEL_SECRET}
      channel_access_token: ${LINE_CHANNEL_ACCESS_TOKEN}
      api_base: ${LINE_API_BASE}        # optional, default https://api.line.me
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Iterable, Optional

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import guard
from bot.channels.conversations import keyed_by_channel

logger = logging.getLogger(__name__)
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

DEFAULT_API_BASE = "https://api.line.me"
REPLY_PATH = "/v2/bot/message/reply"
MAX_BODY_BYTES = 1_000_000  # LINE's webhook bodies are a few kB; anything near this is not LINE
MAX_MESSAGES = 5  # per reply-API call
MAX_TEXT_CHARS = 5000  # per text message (LINE counts UTF-16 code units)
MAX_QUICK_REPLIES = 13
MAX_LABEL_CHARS = 20  # quick-reply action label
MAX_ACTION_TEXT_CHARS = 300  # message action text
SEEN_EVENT_CAPACITY = 10_000
REPLY_TIMEOUT_SECONDS = 10.0

NON_TEXT_MESSAGE_TYPES = frozenset({"sticker", "image", "video", "audio", "file", "location"})
IGNORED_EVENT_TYPES = frozenset(
    {"unfollow", "join", "leave", "memberJoined", "memberLeft", "postback", "beacon", "accountLink",
     "things", "unsend", "videoPlayComplete", "membership", "module", "activated", "deactivated",
     "botSuspended", "botResumed"}
)
SOURCE_ID_KEY = {"user": "userId", "group": "groupId", "room": "roomId"}

NON_TEXT_REPLY = (
    "申し訳ありません、文字のご質問にのみお答えしています。"
    "スタンプや画像、位置情報などの内容は読み取れませんので、お知りになりたいことを文章でお送りください。"
)
FOLLOW_THANKS = "友だち追加ありがとうございます。"
FOLLOW_FALLBACK = ("文章でご質問をお送りいただくと、データにもとづいてお答えします。「何ができますか」"
                   "とお送りいただくと、お答えできる内容をご案内します。")
NO_ANSWER_REPLY = "申し訳ありません、ただいまお答えを用意できませんでした。少し時間をおいて、もう一度お送りください。"
GREET_PAYLOAD = "/greet"  # a follow event is the user's first hello: the bot's own utter_greet answers it


# ---------------------------------------------------------------------------------------------------
# Pure helpers (no I/O)


def signature(channel_secret: str, body: bytes) -> str:
    """The X-Line-Signature LINE sends for ``body``: base64 of HMAC-SHA256 keyed by the channel secret."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_is_valid(channel_secret: str, body: bytes, header: Optional[str]) -> bool:
    if not header:
        return False
    expected = signature(channel_secret, body).encode("ascii")
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


def parse_events(body: bytes) -> list[dict]:
    """The events of a webhook body; ``ValueError`` (with a reason safe to log) if it is not one."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"body is not JSON ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise ValueError("body has no 'events' list")
    for index, event in enumerate(payload["events"]):
        problem = event_problem(event)
        if problem:
            raise ValueError(f"events[{index}]: {problem}")
    return payload["events"]


def event_problem(event: Any) -> Optional[str]:
    """Why ``event`` cannot be handled (a missing or ill-typed field), or None. Unknown types are fine."""
    if not isinstance(event, dict):
        return "not an object"
    if not isinstance(event.get("type"), str) or not event["type"]:
        return "no 'type'"
    event_id = event.get("webhookEventId")
    if event_id is not None and (not isinstance(event_id, str) or not event_id):
        return "'webhookEventId' is not a string"
    if event.get("mode", "active") != "active" or event["type"] not in ("message", "follow"):
        return None  # acknowledged and ignored: only its type matters
    if not isinstance(event.get("replyToken"), str) or not event["replyToken"]:
        return "no 'replyToken'"
    if sender_id(event) is None:
        return "no usable 'source'"
    if event["type"] == "message":
        message = event.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return "no 'message' with a 'type'"
        if message["type"] == "text" and not isinstance(message.get("text"), str):
            return "text message without 'text'"
    return None


def sender_id(event: dict) -> Optional[str]:
    """The conversation a reply belongs to: the user, or the whole group or room the bot is in."""
    source = event.get("source")
    if not isinstance(source, dict):
        return None
    kind: Any = source.get("type")  # any JSON value
    key = SOURCE_ID_KEY.get(kind)
    value = source.get(key) if key else None
    return value if isinstance(value, str) and value else None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 code units (as LINE counts), ending in … when cut."""
    if utf16_len(text) <= limit:
        return text
    out, used = [], 1  # room for the ellipsis
    for char in text:
        width = utf16_len(char)
        if used + width > limit:
            break
        out.append(char)
        used += width
    return "".join(out) + "…"


def text_message(text: str) -> dict:
    return {"type": "text", "text": truncate(text, MAX_TEXT_CHARS)}


def quick_reply_items(buttons: Iterable[dict]) -> list[dict]:
    """Rasa buttons ({title, payload}) as LINE quick-reply message actions, at most 13, no repeats."""
    items, seen = [], set()
    for button in buttons:
        if not isinstance(button, dict):
            continue
        title = str(button.get("title") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if not title or not payload:
            continue
        action = {
            "type": "message",
            "label": truncate(title, MAX_LABEL_CHARS),
            "text": truncate(payload, MAX_ACTION_TEXT_CHARS),
        }
        key = (action["label"], action["text"])
        if key in seen:
            continue
        seen.add(key)
        items.append({"type": "action", "action": action})
        if len(items) == MAX_QUICK_REPLIES:
            break
    return items


def line_messages(bot_messages: Iterable[dict]) -> list[dict]:
    """The bot's collected messages as the ``messages`` of one reply-API call (1 to 5 LINE messages).

    Texts (and image/attachment URLs, as text) become text messages; from the 5th on they are merged
    into the 5th. All buttons become quick-reply items on the last message.
    """
    texts: list[str] = []
    buttons: list[dict] = []
    for message in bot_messages:
        for key in ("text", "image", "attachment"):
            value = message.get(key)
            if isinstance(value, str) and value.strip():
                texts.append(value.strip())
        buttons.extend(message.get("buttons") or [])
    if len(texts) > MAX_MESSAGES:
        texts = texts[: MAX_MESSAGES - 1] + ["\n\n".join(texts[MAX_MESSAGES - 1 :])]
    messages = [text_message(t) for t in texts] or [text_message(NO_ANSWER_REPLY)]
    items = quick_reply_items(buttons)
    if items:
        messages[-1]["quickReply"] = {"items": items}
    return messages


class SeenEvents:
    """The last ``capacity`` webhook event ids, oldest forgotten first (in memory, per process)."""

    def __init__(self, capacity: int = SEEN_EVENT_CAPACITY) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def add(self, event_id: str) -> bool:
        """Remember ``event_id``; False if it was already known."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True


# ---------------------------------------------------------------------------------------------------
# The channel


class LineCollector(CollectingOutputChannel):
    """Collects the bot's messages for one event; one utterance stays one message (no split on blank lines)."""

    @classmethod
    def name(cls) -> str:
        return "line"

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        if text and text.strip():
            await self._persist_message(self._message(recipient_id, text=text.strip()))


class LineInput(InputChannel):
    """LINE Messaging API webhook: ``POST /webhooks/line/webhook``, health at ``GET /webhooks/line/``."""

    @classmethod
    def name(cls) -> str:
        return "line"

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> "LineInput":
        if not credentials:
            cls.raise_missing_credentials_exception()
        assert credentials is not None  # the call above raises (Rasa's channel API is untyped)
        return cls(
            channel_secret=str(credentials.get("channel_secret") or ""),
            channel_access_token=str(credentials.get("channel_access_token") or ""),
            api_base=str(credentials.get("api_base") or DEFAULT_API_BASE),
        )

    def __init__(self, channel_secret: str, channel_access_token: str, api_base: str = DEFAULT_API_BASE) -> None:
        if not channel_secret.strip() or not channel_access_token.strip():
            raise ValueError("LINE channel: channel_secret and channel_access_token are required")
        self._secret = channel_secret.strip()
        self._token = channel_access_token.strip()
        self.api_base = (api_base or DEFAULT_API_BASE).strip().rstrip("/")
        self.seen = SeenEvents()
        self._tasks: set[asyncio.Task] = set()

    def __repr__(self) -> str:  # never show the secrets
        return f"LineInput(api_base={self.api_base!r})"

    # -- webhook ------------------------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        line_webhook = Blueprint("line_webhook", __name__)
        on_new_message = keyed_by_channel(self.name(), on_new_message)  # conversations kept per channel

        @line_webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @line_webhook.route("/webhook", methods=["POST"], stream=True)
        async def webhook(request: Request) -> HTTPResponse:
            try:
                return await self._receive(request, on_new_message)
            except Exception as exc:  # never a 500: LINE would redeliver, and it is bad input anyway
                logger.warning("LINE webhook rejected: %s", type(exc).__name__)
                return response.json({"error": "bad request"}, status=400)

        return line_webhook

    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        body = await self._read_body(request)
        if body is None:
            logger.warning("LINE webhook rejected: body over %d bytes", MAX_BODY_BYTES)
            return response.json({"error": "payload too large"}, status=413)
        if not signature_is_valid(self._secret, body, request.headers.get("x-line-signature")):
            missing = not request.headers.get("x-line-signature")
            logger.warning("LINE webhook rejected: %s signature", "missing" if missing else "invalid")
            return response.json({"error": "invalid signature"}, status=401)
        try:
            events = parse_events(body)
        except ValueError as exc:
            logger.warning("LINE webhook rejected: %s", exc)
            return response.json({"error": str(exc)}, status=400)

        accepted, duplicates = [], 0
        for event in events:
            event_id = event.get("webhookEventId")
            if event_id is not None and not self.seen.add(event_id):
                duplicates += 1
                logger.info("LINE event %s (%s) already handled: ignored", event_id, event["type"])
                continue
            accepted.append(event)
        logger.info(
            "LINE webhook: %d event(s) %s, %d duplicate(s)",
            len(accepted), [(e.get("webhookEventId"), e["type"]) for e in accepted], duplicates,
        )
        if accepted:
            task = asyncio.get_running_loop().create_task(self._handle_events(accepted, on_new_message))
            self._tasks.add(task)  # keep a reference until done
            task.add_done_callback(self._tasks.discard)
        return response.json({"status": "ok", "accepted": len(accepted), "duplicates": duplicates})

    @staticmethod
    async def _read_body(request: Request) -> Optional[bytes]:
        """The raw body, or None when it is over MAX_BODY_BYTES (stops reading there; sanic drains the rest)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return None
        assert request.stream is not None  # the webhook route streams (stream=True)
        body = bytearray()
        while True:
            chunk = await request.stream.read()
            if chunk is None:
                return bytes(body)
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return None

    # -- events ---------------------------------------------------------------------------------------

    async def _handle_events(self, events: list[dict], on_new_message: OnNewMessage) -> None:
        for event in events:  # in order: one conversation's messages are answered as they were sent
            try:
                await self._handle_event(event, on_new_message)
            except Exception as exc:  # one bad event must not stop the others
                logger.error(
                    "LINE event %s (%s) failed: %s", event.get("webhookEventId"), event.get("type"), type(exc).__name__
                )
                logger.debug("LINE event failure", exc_info=True)

    async def _handle_event(self, event: dict, on_new_message: OnNewMessage) -> None:
        kind, event_id = event["type"], event.get("webhookEventId")
        if event.get("mode", "active") != "active":
            logger.info("LINE event %s (%s) in %s mode: ignored", event_id, kind, event.get("mode"))
            return
        if kind == "message":
            message = event["message"]
            if message["type"] == "text":
                messages = line_messages(await self._ask_rasa(on_new_message, message["text"], event))
            else:
                messages = [text_message(NON_TEXT_REPLY)]
            logger.info("LINE event %s (message/%s)", event_id, message["type"])
        elif kind == "follow":
            greeting = await self._ask_rasa(on_new_message, GREET_PAYLOAD, event)
            messages = line_messages([{"text": FOLLOW_THANKS}] + (greeting or [{"text": FOLLOW_FALLBACK}]))
            logger.info("LINE event %s (follow)", event_id)
        else:
            if kind not in IGNORED_EVENT_TYPES:
                logger.info("LINE event %s of unknown type %r: ignored", event_id, kind[:40])
            return
        await self._reply(event["replyToken"], messages, event_id)

    async def _ask_rasa(self, on_new_message: OnNewMessage, text: str, event: dict) -> list[dict]:
        if len(text) > guard.MAX_MESSAGE_CHARS:  # answered, neither read nor stored
            return [{"text": guard.TOO_LONG}]
        collector = LineCollector()
        metadata = {
            "line": {
                "webhookEventId": event.get("webhookEventId"),
                "eventType": event["type"],
                "sourceType": (event.get("source") or {}).get("type"),
                "messageId": (event.get("message") or {}).get("id"),
            }
        }
        try:
            message = UserMessage(
                text, collector, sender_id=sender_id(event), input_channel=self.name(), metadata=metadata
            )
            await on_new_message(message)
        except Exception as exc:
            logger.error("LINE event %s: the dialogue failed (%s)", event.get("webhookEventId"), type(exc).__name__)
            logger.debug("LINE dialogue failure", exc_info=True)
        return collector.messages

    async def _reply(self, reply_token: str, messages: list[dict], event_id: Optional[str]) -> None:
        url = self.api_base + REPLY_PATH
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        payload = {"replyToken": reply_token, "messages": messages[:MAX_MESSAGES]}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT_SECONDS)) as session:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                async with session.post(url, data=data, headers=headers) as resp:
                    if resp.status < 300:
                        logger.info("LINE reply for event %s: %d message(s) sent", event_id, len(payload["messages"]))
                        return
                    detail = ""
                    try:
                        detail = str((await resp.json(content_type=None)).get("message", ""))[:200]
                    except Exception:
                        pass
                    logger.warning("LINE reply for event %s refused: HTTP %d %s", event_id, resp.status, detail)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            logger.warning("LINE reply for event %s failed: %s", event_id, type(exc).__name__)
