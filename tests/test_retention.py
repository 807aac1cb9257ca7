"""Tracker-store retention on SQLite and PostgreSQL, with events written by Rasa's own SQLTrackerStore."""
from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.ops.retention import main, prune

DAY = 86400.0


def rasa_store(url: str):
    from rasa.core.tracker_store import SQLTrackerStore

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return SQLTrackerStore(dialect="sqlite", db=u.database)
    return SQLTrackerStore(dialect="postgresql", host=u.host, port=u.port, db=u.database, username=u.username)


def write_conversation(store, sender: str, timestamps: list[float]) -> None:
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker(sender, slots=[])
    for ts in timestamps:
        tracker.update(UserUttered("第7回総会の会場は？", {"name": "ask_assembly", "confidence": 1.0}, timestamp=ts))
        tracker.update(ActionExecuted("action_answer", timestamp=ts + 0.5))
    asyncio.run(store.save(tracker))


def senders(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")).all()
        return {s: n for s, n in rows}
    finally:
        engine.dispose()


@pytest.fixture
def tracker_db(db_url):
    """The conftest's empty database (SQLite file or PostgreSQL), filled through Rasa's SQLTrackerStore."""
    now = time.time()
    store = rasa_store(db_url)
    write_conversation(store, "old", [now - 100 * DAY, now - 95 * DAY])
    write_conversation(store, "old-but-active", [now - 100 * DAY, now - 1 * DAY])  # latest event is recent
    write_conversation(store, "recent", [now - 2 * DAY])
    store.engine.dispose()
    return db_url, now


def test_prune_deletes_only_conversations_whose_latest_event_is_old(tracker_db):
    url, now = tracker_db
    before = senders(url)
    result = prune(url, 30, now=now)
    assert result.conversations == 1 and result.events == before["old"]
    after = senders(url)
    assert "old" not in after
    assert after == {k: v for k, v in before.items() if k != "old"}  # nothing else touched


def test_dry_run_counts_without_deleting(tracker_db):
    url, now = tracker_db
    before = senders(url)
    result = prune(url, 30, dry_run=True, now=now)
    assert (result.conversations, result.events) == (1, before["old"])
    assert senders(url) == before


def test_rasa_still_reads_the_remaining_conversations(tracker_db):
    url, now = tracker_db
    prune(url, 0.5, now=now)  # leaves only conversations active in the last 12 hours: none
    assert senders(url) == {}
    store = rasa_store(url)
    try:
        assert asyncio.run(store.retrieve("recent")) is None
    finally:
        store.engine.dispose()


def test_the_command_line(tracker_db, capsys):
    url, _ = tracker_db
    assert main(["prune", "--older-than-days", "30", "--tracker-url", url, "--dry-run"]) == 0
    assert "1 件" in capsys.readouterr().out and "old" in senders(url)
    assert main(["prune", "--older-than-days", "30", "--tracker-url", url]) == 0
    assert "old" not in senders(url)
    with pytest.raises(SystemExit):
        main(["prune", "--older-than-days", "-1", "--tracker-url", url])


def test_a_database_without_a_tracker_table_is_left_alone(db_url):
    result = prune(db_url, 30)
    assert (result.conversations, result.events) == (0, 0)
