"""Input channels that always answer: when a turn produces no reply, the user gets a polite apology.

When the action server is down (killed, restarting, unreachable), Rasa 3.6's processor logs
"Encountered an exception while running action ..." and carries on with *no* events, so the user
gets nothing: an empty JSON list over REST, silence in the web chat. Rasa 3.6 also has no setting
for the action call's timeout (``RemoteAction.run`` passes ``DEFAULT_REQUEST_TIMEOUT`` = 300 s to
aiohttp, whatever endpoints.yml says). A killed action server refuses or resets the connection at
once, so the failure itself is fast; what was missing is the answer to the user.

Every turn of this guide produces at least one reply (greetings, answers, refusals and fallbacks
alike), so "no reply at all" means something failed. ``AlwaysAnswers`` wraps the handler Rasa gives
a channel: it counts what the turn sends and, if nothing was sent (or processing raised), sends
``APOLOGY`` through the same output channel. Nothing else changes; the message text is not logged.

Both also keep their conversations apart from other channels' (``bot.channels.conversations``: the
tracker key is ``rest:<sender>`` / ``socketio:<session id>``), and the REST channel checks every request
(``bot.channels.guard``) before Rasa sees it: a JSON object of at most 64 kB, a safe ``sender``, a
``message`` string of at most 2,000 characters, the client's rate; anything else is refused with 400,
413 or 429 and a Japanese ``{"error": …}``. Client-supplied ``metadata`` and ``input_channel`` are
dropped (they reached the tracker store unmasked and the staff report verbatim).

credentials.yml (instead of ``rest`` and ``bot.channels.socketio.SocketIOInput``):

    bot.channels.resilient.RestInput:
    bot.channels.resilient.SocketIOInput: {user_message_evt: user_uttered, ...}

Their ``name()`` stays ``rest`` / ``socketio``, so the URLs (/webhooks/rest/webhook, /socket.io) are
the same.
"""
from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import guard
from bot.channels.conversations import keyed_by_channel
from bot.channels.socketio import SocketIOInput as MadoguchiSocketIOInput
from bot.dialogue.reply import APOLOGY  # one wording for every failure

logger = logging.getLogger(__name__)



class CountingOutputChannel(OutputChannel):
    """Passes everything to ``inner`` and counts the replies sent through ``send_response``."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    def name(self) -> str:  # type: ignore[override]  # responses per channel follow the real channel
        return self.inner.name()

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)

    async def send_response(self, recipient_id: str, message: dict) -> None:
        self.sent += 1
        await self.inner.send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.sent += 1
        await self.inner.send_text_message(recipient_id, text, **kwargs)


def always_answers(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[Any]]:
    async def handle(message: UserMessage) -> Any:
        original = message.output_channel
        counter = CountingOutputChannel(original)
        message.output_channel = counter
        result = None
        try:
            result = await on_new_message(message)
        except Exception:  # noqa: BLE001 - the user gets an apology, the log gets the cause (no text)
            logger.exception("processing a message failed (channel=%s)", message.input_channel)
        if counter.sent == 0:
            logger.warning("no reply was produced for a message (channel=%s); sent the apology", message.input_channel)
            await original.send_response(message.sender_id, {"text": APOLOGY})
        return result

    return handle


def guarded_handler(channel: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]
                    ) -> Callable[[UserMessage], Awaitable[Any]]:
    """The handler a channel passes its messages to: keyed by channel, always answering."""
    return keyed_by_channel(channel, always_answers(on_new_message))


class AlwaysAnswers:
    """Mixin for an InputChannel: wraps the message handler with :func:`guarded_handler`."""

    def blueprint(self, on_new_message):  # type: ignore[no-untyped-def]
        handler = guarded_handler(self.name(), on_new_message)  # type: ignore[attr-defined]
        return super().blueprint(handler)  # type: ignore[misc]


class RestInput(RasaRestInput):
    """Rasa's REST channel (``/webhooks/rest/webhook``, same request and reply) that checks every request
    first and never answers with an empty list (see the module docstring)."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = guarded_handler(self.name(), on_new_message)
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", type(self).__module__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            try:
                payload = guard.json_object(request.body)
                sender = guard.check_sender(payload.get("sender"))
                text = guard.check_text(payload.get("message"))
                guard.limiter().check(guard.client_address(request), text)
            except guard.TooLong as refused:  # answered as the guide answers, neither read nor stored
                return response.json([{"recipient_id": sender, "text": refused.message}])
            except guard.Refused as refused:
                return guard.refusal_response(refused)
            if bool_arg(request, "stream", default=False):
                return response.stream(self.stream_response(handle, text, sender, self.name(), None),
                                       content_type="text/event-stream")
            collector = CollectingOutputChannel()
            try:
                await handle(UserMessage(text, collector, sender, input_channel=self.name()))
            except CancelledError:
                logger.error("a REST message timed out (channel=rest)")
            return response.json(collector.messages)

        return webhook


class SocketIOInput(AlwaysAnswers, MadoguchiSocketIOInput):
    """The web chat's socket.io channel (with Madoguchi's session fix) that never stays silent."""
