"""Rasa's socket.io channel (the web widget's), with session persistence that works on python-socketio 5.18.

Rasa 3.6.21's ``session_request`` handler calls ``sio.enter_room(sid, session_id)`` without
``await``; python-socketio made ``AsyncServer.enter_room`` a coroutine, so the call never runs
("coroutine 'AsyncServer.enter_room' was never awaited"), the socket never joins the room named
after its session, and every bot reply — emitted to that room — reaches nobody. This subclass
registers a ``session_request`` handler that awaits it (and still works where it is a plain method),
and accepts only a sane client-chosen session id (else it makes a new one).

credentials.yml:  bot.channels.socketio.SocketIOInput: {user_message_evt: user_uttered, ...}
Its ``name()`` stays ``socketio`` (``?output_channel=socketio`` keeps working).
"""
from __future__ import annotations

import inspect
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def session_id_from(data: Any) -> str:
    """The client's session id if it is a plausible one, else a new random id."""
    value = data.get("session_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and SESSION_ID.match(value) else uuid.uuid4().hex


class SocketIOInput(RasaSocketIOInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict | None) -> None:
            session_id = session_id_from(data)
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            logger.debug("socket.io session confirmed for a client")

        return socketio_webhook
