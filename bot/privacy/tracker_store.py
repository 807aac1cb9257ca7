"""A tracker store that masks personal data before any conversation reaches storage.

Rasa stores each user message (``UserUttered``) with the channel's text as received. This wrapper masks
phone numbers, e-mail addresses and マイナンバー-like numbers (bot.privacy.masking) in the user's text,
its parse data (text and entity values) and the bot's texts, then delegates to a real tracker store.
The running conversation is unchanged: the masked copy is what gets stored, and what later turns read
back. Importing this module also masks personal data in every log record of the process.

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
type_name, timestamp, intent_name, action_name, data JSON) — the table `madoguchi report` reads. A
relative SQLite path is taken from the working directory; its folder is created if missing.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import logging as privacy_logging
from bot.privacy.masking import mask, mask_data

privacy_logging.install()
logger = logging.getLogger(__name__)

STORE_TYPES = ("sql", "memory")


def mask_event(event: Event) -> Event:
    """The event with personal data masked (the same object when there is nothing to mask)."""
    if isinstance(event, UserUttered):
        data = event.as_dict()
        masked = dict(data, text=mask(data.get("text")))
        parse_data = dict(data.get("parse_data") or {})
        if parse_data:
            parse_data["text"] = mask(parse_data.get("text"))
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


def masked_tracker(tracker: DialogueStateTracker, domain: Domain) -> DialogueStateTracker:
    """``tracker`` itself when it holds no personal data, else a copy rebuilt from masked events."""
    events = list(tracker.events)
    masked = [mask_event(e) for e in events]
    if all(a is b for a, b in zip(events, masked)):
        return tracker
    copy = DialogueStateTracker.from_events(
        tracker.sender_id, masked, domain.slots, max_event_history=tracker._max_event_history  # noqa: SLF001
    )
    copy.model_id, copy.assistant_id = tracker.model_id, tracker.assistant_id
    return copy


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
    return SQLTrackerStore(domain=domain, host=url or kwargs.pop("host", None), event_broker=event_broker, **kwargs)


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
        await self._store.save(masked_tracker(tracker, self.domain))

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        return await self._store.retrieve(sender_id)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        return await self._store.retrieve_full_tracker(conversation_id)

    async def keys(self) -> Iterable[Text]:
        return await self._store.keys()

    async def exists(self, conversation_id: Text) -> bool:
        return await self._store.exists(conversation_id)
