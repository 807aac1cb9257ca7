"""Conversations belong to their channel: the tracker key of a message is ``<channel>:<sender id>``.

REST, the web chat, LINE and Slack used to share one space of sender ids, so a REST call that named a
web-chat or LINE user's id continued that conversation and could read its context (issue 16).
:func:`keyed_by_channel` wraps the handler Rasa gives a channel: the message goes to the tracker
``<channel>:<sender>``, and the replies go back to the channel under the sender id it knows (the prefix
is taken off again), so nothing changes for the client.

Conversations stored before this change are kept under the bare sender id. The tracker store
(bot.privacy.tracker_store) resumes such a conversation under its new key when every message in it came
from that same channel (:func:`split_key` names the old key to look for).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage

SEPARATOR = ":"
CHANNELS = ("rest", "socketio", "line", "slack")


def conversation_key(channel: str, sender_id: str) -> str:
    """The tracker key of ``sender_id`` on ``channel``."""
    return f"{channel}{SEPARATOR}{sender_id}"


def split_key(key: str) -> tuple[Optional[str], str]:
    """(channel, sender id) of a tracker key; (None, key) for a key stored before channels were kept apart."""
    channel, sep, sender = key.partition(SEPARATOR)
    if sep and channel in CHANNELS and sender:
        return channel, sender
    return None, key


class ChannelKeyedOutput(OutputChannel):
    """Passes everything to ``inner`` with the recipient's tracker key turned back into its sender id."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner

    def name(self) -> str:  # type: ignore[override]  # responses per channel follow the real channel
        return self.inner.name()

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)

    async def send_response(self, recipient_id: str, message: dict) -> None:
        await self.inner.send_response(split_key(recipient_id)[1], message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.inner.send_text_message(split_key(recipient_id)[1], text, **kwargs)


def keyed_by_channel(
    channel: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]
) -> Callable[[UserMessage], Awaitable[Any]]:
    """``on_new_message`` with each message's tracker key made ``<channel>:<sender>`` (see module doc)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; one of {CHANNELS}")

    async def handle(message: UserMessage) -> Any:
        message.sender_id = conversation_key(channel, message.sender_id)
        message.input_channel = channel  # never the client's word for it
        if message.output_channel is not None:
            message.output_channel = ChannelKeyedOutput(message.output_channel)
        return await on_new_message(message)

    return handle
