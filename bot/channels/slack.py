"""Slack: Rasa's own Slack channel, hardened for the Events API and pointed at a configurable API base.

Credentials (written by ``bot.channels.credentials`` from SLACK_TOKEN, SLACK_SIGNING_SECRET and
SLACK_API_BASE)::

    bot.channels.slack.SlackInput:
      slack_token: ${SLACK_TOKEN}                    # Bot User OAuth Token (xoxb-...), required
      slack_signing_secret: ${SLACK_SIGNING_SECRET}  # required: unsigned requests are never accepted
      api_base: ${SLACK_API_BASE}                    # optional, default https://slack.com/api/

Rasa's ``SlackInput``/``SlackBot`` do the Slack-specific work (mention stripping, which events are
user messages, buttons as Block Kit ``actions`` blocks, interactive button clicks). This subclass
replaces the webhook handler, because Rasa's handler answers some bad input with a 500 (malformed JSON, a
JSON body that is not an object, unsupported interactive payloads) and processes a redelivered event
a second time; its output channel only gets the API base and drops ``as_user`` (classic apps only).
What ``POST /webhooks/slack/webhook`` answers, in this order:

=====  ===================================================================================
413    body larger than ``MAX_BODY_BYTES`` (checked before the signature, nothing is parsed)
401    ``X-Slack-Signature`` missing or wrong, or ``X-Slack-Request-Timestamp`` more than
       five minutes away from the server's clock (replay protection)
415    signed, but neither ``application/json`` (Events API) nor form-encoded (interactivity)
400    signed, but not what Slack sends: malformed JSON or form, a body that is not a JSON
       object, an envelope without ``type``, an ``event_callback`` without an ``event`` object,
       a ``url_verification`` without ``challenge``, an interaction without ``user.id``
200    ``url_verification``: ``{"challenge": ...}``
200    everything else Slack sends, handled or deliberately ignored: Slack redelivers
       anything that does not get a 2xx, so events the bot does not act on (unknown event
       types, other envelope types, edits and other message subtypes, messages from bots,
       channels the bot was not addressed in, link-button clicks) are acknowledged, not refused
200    a redelivery (``X-Slack-Retry-Num``) of an event this process has already accepted,
       recognised by ``event_id``: acknowledged with ``X-Slack-No-Retry: 1``, not processed again.
       A retry of an event this process never saw (its first delivery was lost) is processed
       once, unless its ``X-Slack-Retry-Reason`` is in ``errors_ignore_retry`` (Rasa's option,
       default ``http_timeout``: the first delivery probably arrived).
=====  ===================================================================================

The size limit is checked once Sanic has read the body (its own limit, REQUEST_MAX_SIZE, is 100 MB).
No request ends in a 500: an unexpected error is logged by type only and answered 400 with
``X-Slack-No-Retry: 1``. Log lines at info level and above name the event id and type, never
message text, user ids, the token or the signing secret. The memory of seen event ids is per
process: with several Rasa replicas, route Slack to one of them (as the lock store needs anyway).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections import OrderedDict
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, Optional, Text
from urllib.parse import parse_qs, urlsplit

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot as RasaSlackBot
from rasa.core.channels.slack import SlackInput as RasaSlackInput
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels import guard
from bot.channels.conversations import keyed_by_channel

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://slack.com/api/"
MAX_BODY_BYTES = 1024 * 1024  # Slack's event payloads are a few KB; a message holds at most 40,000 characters
REPLAY_WINDOW_SECONDS = 5 * 60
NO_RETRY = {"X-Slack-No-Retry": "1"}
# message subtypes that still are a person writing to the bot; every other subtype (bot_message,
# message_changed, message_deleted, channel_join, ...) is not a new question
USER_SUBTYPES = frozenset({"file_share", "thread_broadcast", "me_message"})


class BadRequest(Exception):
    """The request is authentic but not something Slack sends (answered 400)."""


class SlackBot(RasaSlackBot):
    """Rasa's Slack output channel, talking to a configurable Web API base URL (a local fake in tests)."""

    def __init__(
        self,
        token: Text,
        slack_channel: Optional[Text] = None,
        thread_id: Optional[Text] = None,
        proxy: Optional[Text] = None,
        api_base: Text = DEFAULT_API_BASE,
    ) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token=token, base_url=api_base, proxy=proxy)

    async def _post_message(self, channel: Text, **kwargs: Any) -> None:
        # Rasa passes as_user=True, which chat.postMessage accepts only from classic apps (a new app's bot
        # token gets invalid_arguments), and type="mrkdwn", which is no argument of chat.postMessage
        kwargs.pop("as_user", None)
        kwargs.pop("type", None)
        await super()._post_message(channel, **kwargs)


class SeenEvents:
    """The event ids this process has accepted recently (bounded, oldest forgotten first)."""

    def __init__(self, size: int = 10_000, ttl: float = 3600.0) -> None:
        self._ids: "OrderedDict[str, float]" = OrderedDict()
        self._size, self._ttl = size, ttl

    def add(self, event_id: str) -> bool:
        """Remembers ``event_id``; False if it was already there."""
        if event_id in self:
            return False
        now = time.monotonic()
        self._ids.pop(event_id, None)
        while self._ids and (len(self._ids) >= self._size or next(iter(self._ids.values())) < now - self._ttl):
            self._ids.popitem(last=False)
        self._ids[event_id] = now
        return True

    def __contains__(self, event_id: object) -> bool:
        if not isinstance(event_id, str):
            return False
        seen = self._ids.get(event_id)
        return seen is not None and seen >= time.monotonic() - self._ttl


def normalize_api_base(api_base: Optional[Text]) -> Text:
    base = (api_base or "").strip() or DEFAULT_API_BASE
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidConfigException(f"Slack: api_base (SLACK_API_BASE) must be an http(s) URL, got {base!r}")
    return base if base.endswith("/") else base + "/"


class SlackInput(RasaSlackInput):
    """Slack Events API + interactivity on ``/webhooks/slack/webhook``."""

    @classmethod
    def name(cls) -> Text:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        assert credentials is not None  # the call above raises (Rasa's channel API is untyped)
        missing = [
            f"{key} ({var})"
            for key, var in (("slack_signing_secret", "SLACK_SIGNING_SECRET"), ("slack_token", "SLACK_TOKEN"))
            if not str(credentials.get(key) or "").strip()
        ]
        if missing:
            raise InvalidConfigException(
                "Slack channel: missing " + ", ".join(missing) + ". The signing secret is required: without it "
                "anyone could post to the webhook as Slack. Set the variables, or unset both to turn Slack off."
            )
        return cls(
            str(credentials["slack_token"]).strip(),
            credentials.get("slack_channel"),
            credentials.get("proxy"),
            credentials.get("slack_retry_reason_header", "x-slack-retry-reason"),
            credentials.get("slack_retry_number_header", "x-slack-retry-num"),
            credentials.get("errors_ignore_retry", None),
            credentials.get("use_threads", False),
            str(credentials["slack_signing_secret"]).strip(),
            credentials.get("conversation_granularity", "sender"),
            api_base=credentials.get("api_base"),
        )

    def __init__(self, *args: Any, api_base: Optional[Text] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api_base = normalize_api_base(api_base)
        self.seen_events = SeenEvents()

    def __repr__(self) -> str:  # never show the token or the secret
        return f"<SlackInput api_base={self.api_base!r}>"

    def get_output_channel(self, channel: Optional[Text] = None, thread_id: Optional[Text] = None) -> OutputChannel:
        return SlackBot(self.slack_token, channel or self.slack_channel, thread_id, self.proxy, api_base=self.api_base)

    @staticmethod
    def _sanitize_user_message(text: Text, uids_to_remove: Optional[list]) -> Text:
        # Slack escapes &, < and > in what the user typed; its own markup (<@U…>, <http…|…>) is handled first
        text = RasaSlackInput._sanitize_user_message(text, uids_to_remove)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    # -- request checks ------------------------------------------------------------------------------

    def signature_problem(self, request: Request) -> Optional[str]:
        """Why the request is not from Slack (None if it is): Slack's v0 HMAC-SHA256 scheme."""
        signature = request.headers.get("X-Slack-Signature", "")
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not signature or not timestamp:
            return "signature headers missing"
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            return "timestamp not a number"
        if age > REPLAY_WINDOW_SECONDS:
            return "timestamp outside the five-minute window"
        base = b"v0:" + timestamp.encode("ascii", "replace") + b":" + request.body
        digest = hmac.new(self.slack_signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(f"v0={digest}".encode(), signature.encode("utf-8", "replace")):
            return "signature does not match"
        return None

    @staticmethod
    def _body_too_large(request: Request) -> bool:
        declared = request.headers.get("content-length", "")
        return (declared.isdigit() and int(declared) > MAX_BODY_BYTES) or len(request.body or b"") > MAX_BODY_BYTES

    @staticmethod
    def _parse_json(body: bytes) -> Dict[Text, Any]:
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("malformed JSON") from None
        if not isinstance(payload, dict):
            raise BadRequest("JSON body is not an object")
        return payload

    # -- the webhook ---------------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack_webhook = Blueprint("slack_webhook", __name__)
        guarded = self._guarded(keyed_by_channel(self.name(), on_new_message))  # conversations kept per channel

        @slack_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @slack_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                return await self._handle(request, guarded)
            except BadRequest as exc:
                logger.warning("Slack: rejected a signed request (400): %s", exc)
                return response.json({"ok": False, "error": str(exc)}, status=HTTPStatus.BAD_REQUEST, headers=NO_RETRY)
            except Exception as exc:  # never a 500; the type is safe to log, the message may quote user text
                logger.error("Slack: unexpected %s while handling a request (answered 400)", type(exc).__name__)
                logger.debug("Slack: traceback", exc_info=True)
                return response.json(
                    {"ok": False, "error": "could not process"}, status=HTTPStatus.BAD_REQUEST, headers=NO_RETRY
                )

        return slack_webhook

    @staticmethod
    def _guarded(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[Any]]:
        async def handle(message: UserMessage) -> None:
            try:
                if len(message.text or "") > guard.MAX_MESSAGE_CHARS:  # answered, neither read nor stored
                    await message.output_channel.send_text_message(message.sender_id, guard.TOO_LONG)
                    return
                await on_new_message(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.error("Slack: handling a message failed with %s", type(exc).__name__)
                logger.debug("Slack: traceback", exc_info=True)

        return handle

    async def _handle(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        if self._body_too_large(request):
            logger.warning("Slack: rejected a request body over %d bytes (413)", MAX_BODY_BYTES)
            return response.json(
                {"ok": False, "error": "body too large"}, status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE, headers=NO_RETRY
            )
        problem = self.signature_problem(request)
        if problem:
            logger.warning("Slack: rejected a request (401): %s", problem)
            return response.json({"ok": False, "error": "invalid signature"}, status=HTTPStatus.UNAUTHORIZED)

        media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if media_type == "application/json":
            return await self._handle_event(request, self._parse_json(request.body), on_new_message)
        if media_type == "application/x-www-form-urlencoded":
            return await self._handle_interaction(request, on_new_message)
        logger.warning("Slack: rejected a signed request with content type %r (415)", media_type[:60])
        return response.json(
            {"ok": False, "error": "unsupported content type"},
            status=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            headers=NO_RETRY,
        )

    async def _handle_event(
        self, request: Request, payload: Dict[Text, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        kind = payload.get("type")
        if not isinstance(kind, str) or not kind:
            raise BadRequest("no envelope type")
        if kind == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str) or not challenge:
                raise BadRequest("url_verification without challenge")
            logger.info("Slack: answered the url_verification challenge")
            return response.json({"challenge": challenge})
        if kind != "event_callback":
            logger.info("Slack: ignored envelope type %r", kind[:60])
            return response.json({"ok": True, "ignored": "envelope type"})
        event = payload.get("event")
        if not isinstance(event, dict):
            raise BadRequest("event_callback without an event object")

        event_id = payload.get("event_id") if isinstance(payload.get("event_id"), str) else None
        event_type = str(event.get("type") or "")[:60]
        retry_num = request.headers.get(self.retry_num_header)
        retry_reason = request.headers.get(self.retry_reason_header)
        if event_id and event_id in self.seen_events:
            logger.info("Slack: event %s redelivered (retry %s), already accepted: not processed", event_id, retry_num)
            return response.json({"ok": True, "ignored": "duplicate"}, headers=NO_RETRY)
        if retry_num and (not event_id or retry_reason in self.errors_ignore_retry):
            logger.info("Slack: retry %s (%s) of event %s acknowledged only", retry_num, retry_reason, event_id)
            return response.json({"ok": True, "ignored": "retry"}, headers=NO_RETRY)
        if event_id:
            self.seen_events.add(event_id)

        metadata = self._event_metadata(payload, event)
        reason = self._ignore_reason(payload, event, metadata)
        if reason:
            logger.info("Slack: event %s (%s) ignored: %s", event_id, event_type, reason)
            return response.json({"ok": True, "ignored": reason})

        sender = self._get_conversation_id(str(event["user"]), metadata["out_channel"], metadata["thread_id"])
        text = self._sanitize_user_message(event["text"], metadata["users"])
        logger.info("Slack: event %s (%s) accepted", event_id, event_type)
        await self.process_message(request, on_new_message, text=text, sender_id=sender, metadata=metadata)
        return response.json({"ok": True})

    def _ignore_reason(self, payload: Dict[Text, Any], event: Dict[Text, Any], metadata: Dict[Text, Any]) -> str:
        if event.get("type") not in ("message", "app_mention"):
            return "event type not handled"
        if event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("bot_profile"):
            return "message from a bot"
        if event.get("subtype") and event.get("subtype") not in USER_SUBTYPES:
            return "message subtype not handled"
        if not isinstance(event.get("text"), str) or not event["text"].strip():
            return "no text"
        if not isinstance(event.get("user"), str) or not event["user"]:
            return "no user"
        if not isinstance(metadata.get("out_channel"), str) or not metadata["out_channel"]:
            return "no channel"
        if not self._is_supported_channel(payload, metadata):
            return "channel not addressed to the bot"
        return ""

    @staticmethod
    def _event_metadata(payload: Dict[Text, Any], event: Dict[Text, Any]) -> Dict[Text, Any]:
        """Rasa's ``get_metadata`` for an already parsed Events API payload."""
        users: list = []
        if isinstance(payload.get("authed_users"), list):
            users = [u for u in payload["authed_users"] if isinstance(u, str)]
        elif isinstance(payload.get("authorizations"), list) and payload["authorizations"]:
            first = payload["authorizations"][0]
            if isinstance(first, dict) and isinstance(first.get("user_id"), str):
                users = [first["user_id"]]
        thread_id = event.get("thread_ts", event.get("ts"))
        return {"out_channel": event.get("channel"), "thread_id": thread_id, "users": users}

    async def _handle_interaction(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        """A click on one of the bot's buttons (Slack's interactivity request URL may be this webhook)."""
        try:
            form = parse_qs(request.body.decode("utf-8"), strict_parsing=bool(request.body))
            payload = json.loads(form["payload"][0])
        except (UnicodeDecodeError, ValueError, KeyError):
            raise BadRequest("malformed interaction payload") from None
        if not isinstance(payload, dict):
            raise BadRequest("interaction payload is not an object")
        user = payload.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            raise BadRequest("interaction without user.id")
        actions = payload.get("actions")
        usable = isinstance(actions, list) and bool(actions) and isinstance(actions[0], dict)
        if not usable or not isinstance(actions, list) or not self._is_interactive_message(payload):
            logger.info("Slack: interaction of type %r ignored", str(payload.get("type"))[:60])
            return response.json({"ok": True, "ignored": "interaction not handled"})
        text = self._get_interactive_response(actions[0])
        found_channel, found_message = payload.get("channel"), payload.get("message")
        channel: dict = found_channel if isinstance(found_channel, dict) else {}
        message: dict = found_message if isinstance(found_message, dict) else {}
        if not isinstance(text, str) or not text or not channel.get("id"):
            return response.json({"ok": True, "ignored": "no value"})  # e.g. a link button
        metadata = {
            "out_channel": channel.get("id"),
            "thread_id": message.get("thread_ts", message.get("ts")),
            "users": [user["id"]],
        }
        sender = self._get_conversation_id(user["id"], metadata["out_channel"], metadata["thread_id"])
        logger.info("Slack: interaction (%s) accepted", actions[0].get("type"))
        await self.process_message(request, on_new_message, text=text, sender_id=sender, metadata=metadata)
        return response.json({"ok": True})
