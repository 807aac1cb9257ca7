"""The masking tracker store masks what is new in a turn, not the whole conversation again (issue 16:
a long conversation made every later turn re-mask all of it, on the server's event loop)."""
from __future__ import annotations

import asyncio

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered

from bot.privacy import tracker_store
from bot.privacy.masking import PHONE
from bot.privacy.tracker_store import MaskingTrackerStore


def test_each_turn_masks_only_its_own_events_and_everything_stored_is_masked(tmp_path, monkeypatch):
    store = MaskingTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'tracker.sqlite3'}")
    seen: list[object] = []
    real = tracker_store.mask_event
    monkeypatch.setattr(tracker_store, "mask_event", lambda e: seen.append(e) or real(e))

    async def turns(n: int) -> list[int]:
        per_turn = []
        for i in range(n):
            tracker = await store.get_or_create_tracker("rest:long")
            seen.clear()
            tracker.update(UserUttered(f"電話は03-1234-{5000 + i}です" + "あ" * 1500, input_channel="rest"))
            tracker.update(BotUttered(f"承りました {i}"))
            await store.save(tracker)
            per_turn.append(len(seen))
        return per_turn

    per_turn = asyncio.run(turns(30))
    assert max(per_turn) <= 3, per_turn  # the two new events (and at most one more), whatever the length
    stored = asyncio.run(store.retrieve("rest:long"))
    texts = [e.text for e in stored.events if isinstance(e, UserUttered)]
    assert len(texts) == 30 and all(PHONE in t and "03-1234" not in t for t in texts)
