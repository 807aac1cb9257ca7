"""A tracker store that masks personal data before any conversation reaches storage.

Rasa stores each user message (``UserUttered``) with the channel's text as received. This wrapper masks
phone numbers, e-mail addresses and マイナンバー-like numbers (bot.privacy.masking) in the user's text,
its parse data (text and entity values) and the bot's texts, then delegates to a real tracker store.
The running conversation is unchanged: the masked copy is what gets stored, and what later turns read
back. (Log records are masked by bot.privacy.logging, which the servers' start-up installs: bot.runtime.)

endpoints.yml — the keys supported::

    tracker_store:
      type: bot.privacy.tracker_store.MaskingTrackerStore
      inner_store: sql         # sql (default) | memory
      url: sqlite:////abs/path/var/tracker.sqlite3   # any SQLAlchemy URL (postgresql+psycopg2://user:pw@host:5432/db)
      # instead of url, Rasa's SQLTrackerStore keys: dialect, host, port, db, username, password, login_db, query
      # any other key is passed on to the inner store unchanged

Do NOT write ``store_type:`` in endpoints.yml: Rasa 3.6's EndpointConfig reads ``store_type`` as an alias
of ``type`` that wins over it (rasa/utils/endpoints.py), so ``type: <this class>`` plus ``store_type: sql``
silently starts Rasa's plain, unmasked SQLTrackerStore. (The constructor still accepts ``store_type``
as a synonym of ``inner_store`` for code that builds the store directly.)

With ``inner_store: sql`` the events go to Rasa's own ``SQLTrackerStore`` (table ``events``: sender_id,
type_name, timestamp, intent_name, action_name, data JSON) — the table `madoguchi report` reads — through
:class:`GuardedSQLTrackerStore`. A relative SQLite path is taken from the working directory; its folder is
created if missing.

Client metadata of a user message is masked like its text. Conversations are kept per channel
(``bot.channels.conversations``: the key ``rest:<sender>``); a conversation stored before that under
the bare sender id is resumed under its new key when all its messages came from that channel.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any, Iterable, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore, TrackerStore, ensure_schema_exists
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.conversations import split_key
from bot.privacy.masking import mask, mask_data

logger = logging.getLogger(__name__)

STORE_TYPES = ("sql", "memory")


def mask_event(event: Event) -> Event:
    """The event with personal data masked (the same object when there is nothing to mask)."""
    if isinstance(event, UserUttered):
        data = event.as_dict()
        masked = dict(data, text=mask(data.get("text")))
        if data.get("metadata"):
            masked["metadata"] = mask_data(data["metadata"])
        parse_data = dict(data.get("parse_data") or {})
        if parse_data:
            text = parse_data.get("text")
            parse_data["text"] = mask(text) if isinstance(text, str) else text
            parse_data["entities"] = [
                dict(e, value=mask(e["value"])) if isinstance(e.get("value"), str) else e
                for e in parse_data.get("entities") or []
            ]
            masked["parse_data"] = parse_data
    elif isinstance(event, BotUttered):
        data = event.as_dict()
        masked = dict(data, text=mask(data.get("text")), data=mask_data(data.get("data") or {}))
    else:
        return event
    return event if masked == data else Event.from_parameters(masked)


def masked_tracker(tracker: DialogueStateTracker, domain: Domain, start: int = 0) -> DialogueStateTracker:
    """``tracker`` itself when it holds no personal data, else a copy rebuilt from masked events.

    The events before ``start`` are taken as they are: they were read from the store, masked already.
    """
    events = list(tracker.events)
    masked = events[:start] + [mask_event(e) for e in events[start:]]
    if all(a is b for a, b in zip(events, masked)):
        return tracker
    copy = DialogueStateTracker.from_events(
        tracker.sender_id, masked, domain.slots, max_event_history=tracker._max_event_history  # noqa: SLF001
    )
    copy.model_id, copy.assistant_id = tracker.model_id, tracker.assistant_id
    return copy


class GuardedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store, except that an error while reading or writing a conversation is an error.

    Rasa 3.6's ``session_scope`` takes *any* ``ValueError`` raised inside it for "PostgreSQL schema not
    found" and exits the process (``print_error_and_exit``). A sender id or text the database cannot
    store (a lone surrogate on SQLite, a NUL byte on PostgreSQL) raises ValueError, so one request ended
    the server (issue 16). Here only the schema check itself can end it, as Rasa intends; a failure in
    the work inside is raised to the caller (the turn fails, the channel answers with its apology).
    """

    @contextlib.contextmanager
    def session_scope(self):  # type: ignore[no-untyped-def]
        session = self.sessionmaker()
        try:
            try:
                ensure_schema_exists(session)
            except ValueError as e:  # the schema Rasa was told to use is missing: Rasa's own exit
                import rasa.shared.utils.cli

                rasa.shared.utils.cli.print_error_and_exit(
                    f"Requested PostgreSQL schema '{e}' was not found in the database."
                )
            yield session
        finally:
            session.close()


def _inner_store(
    store_type: str, domain: Domain, event_broker: Optional[EventBroker], url: Optional[str], kwargs: dict
) -> TrackerStore:
    if store_type == "memory":
        return InMemoryTrackerStore(domain, event_broker)
    if store_type != "sql":
        raise ValueError(f"MaskingTrackerStore: inner_store must be one of {STORE_TYPES}, not {store_type!r}")
    if url and url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return GuardedSQLTrackerStore(domain=domain, host=url or kwargs.pop("host", None), event_broker=event_broker,
                                  **kwargs)


_STORED = "_madoguchi_events_stored"  # on a tracker read or saved here: how many of its events are stored, masked


def _read(tracker: Optional[DialogueStateTracker]) -> Optional[DialogueStateTracker]:
    if tracker is not None:
        setattr(tracker, _STORED, len(tracker.events))
    return tracker


class MaskingTrackerStore(TrackerStore):
    """Masks personal data in user and bot texts, then delegates to the inner store (see module doc)."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        inner_store: Text = "sql",
        url: Optional[Text] = None,
        store_type: Optional[Text] = None,
        **kwargs: Any,
    ) -> None:
        # Rasa passes the endpoint's `url:` as `host`; a bare host name (with dialect/db keys) also works.
        full_url = url or (host if host and "://" in host else None)
        if host and not full_url:
            kwargs["host"] = host
        kind = str(store_type or inner_store or "sql").lower()
        self._store = _inner_store(kind, domain or Domain.empty(), event_broker, full_url, kwargs)
        super().__init__(domain, event_broker)

    @property
    def inner(self) -> TrackerStore:
        return self._store

    @property
    def domain(self) -> Domain:
        return self._store.domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        self._store.domain = domain or Domain.empty()

    async def save(self, tracker: DialogueStateTracker) -> None:
        # Only what the SQL store has not got yet is masked: before, every turn masked the whole
        # conversation again, on the event loop (issue 16). The memory store keeps whole trackers.
        start = 0
        if isinstance(self._store, SQLTrackerStore) and tracker._max_event_history is None:  # noqa: SLF001
            start = min(getattr(tracker, _STORED, 0), len(tracker.events))
        await self._store.save(masked_tracker(tracker, self.domain, start))
        setattr(tracker, _STORED, len(tracker.events))

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        tracker = await self._store.retrieve(sender_id)
        if tracker is None:
            tracker = await self._stored_before_channels(sender_id, full=False)
        return _read(tracker)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        tracker = await self._store.retrieve_full_tracker(conversation_id)
        if tracker is None:
            tracker = await self._stored_before_channels(conversation_id, full=True)
        return _read(tracker)

    async def _stored_before_channels(self, key: Text, full: bool) -> Optional[DialogueStateTracker]:
        """The conversation stored under the bare sender id of a channel key, when all its messages came
        from that channel, as a tracker under the new key (its next save stores it there)."""
        channel, old_key = split_key(key)
        if channel is None:
            return None
        old = await (self._store.retrieve_full_tracker(old_key) if full else self._store.retrieve(old_key))
        if old is None:
            return None
        events = [e.as_dict() for e in old.events]
        channels = {e.get("input_channel") for e in events if e.get("event") == "user"}
        if channels != {channel}:
            return None
        logger.info("a conversation stored before channels were kept apart resumes under its channel key")
        return DialogueStateTracker.from_dict(key, events, self.domain.slots)

    async def keys(self) -> Iterable[Text]:
        return await self._store.keys()

    async def exists(self, conversation_id: Text) -> bool:
        return await self._store.exists(conversation_id)
