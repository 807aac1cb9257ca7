"""Tracker-store retention: delete conversations whose latest event is older than N days.

    madoguchi tracker prune --older-than-days 90 [--tracker-url URL] [--dry-run]
    python -m bot.ops.retention prune --older-than-days 90 [--tracker-url URL] [--dry-run]

Works on Rasa's SQL tracker store (table ``events``: id, sender_id, type_name, timestamp, …), which is
what ``tracker_store: {type: SQL}`` and bot.privacy.tracker_store.MaskingTrackerStore (inner_store: sql)
write. A conversation is judged by its *latest* event, so one that is still going on keeps all its
history; an old one loses all its events at once. One transaction: nothing is deleted on error.
The URL is any SQLAlchemy URL (sqlite:///var/tracker.sqlite3, postgresql+psycopg2://user@host/db);
default MADOGUCHI_TRACKER_DB_URL, else var/tracker.sqlite3. Run it daily from cron or a systemd timer.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TRACKER_DB = REPO / "var" / "tracker.sqlite3"
BATCH = 500

_metadata = sa.MetaData()
EVENTS = sa.Table(
    "events", _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("timestamp", sa.Float),
)


@dataclass(frozen=True)
class PruneResult:
    conversations: int
    events: int
    cutoff: float
    dry_run: bool


def tracker_url(url: str | None = None) -> str:
    if url:
        return url
    env = os.environ.get("MADOGUCHI_TRACKER_DB_URL", "").strip()
    return env or f"sqlite:///{DEFAULT_TRACKER_DB}"


def prune(url: str, older_than_days: float, dry_run: bool = False, now: float | None = None) -> PruneResult:
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")
    cutoff = (time.time() if now is None else now) - older_than_days * 86400
    engine = sa.create_engine(url, future=True)
    try:
        if not sa.inspect(engine).has_table("events"):
            return PruneResult(0, 0, cutoff, dry_run)
        stale = (
            sa.select(EVENTS.c.sender_id)
            .group_by(EVENTS.c.sender_id)
            .having(sa.func.max(EVENTS.c.timestamp) < cutoff)
        )
        with engine.begin() as conn:
            senders = [row[0] for row in conn.execute(stale)]
            events = 0
            for start in range(0, len(senders), BATCH):
                chunk = senders[start:start + BATCH]
                where = EVENTS.c.sender_id.in_(chunk)
                if dry_run:
                    events += conn.execute(sa.select(sa.func.count()).select_from(EVENTS).where(where)).scalar_one()
                else:
                    events += conn.execute(sa.delete(EVENTS).where(where)).rowcount
        return PruneResult(len(senders), events, cutoff, dry_run)
    finally:
        engine.dispose()


def _days(value: str) -> float:
    try:
        days = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"「{value}」は数ではありません") from None
    if days < 0:
        raise argparse.ArgumentTypeError("0 以上の日数にしてください")
    return days


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--older-than-days", type=_days, required=True,
                        help="delete conversations whose latest event is older than this many days")
    parser.add_argument("--tracker-url", default=None,
                        help="tracker store SQLAlchemy URL (default: MADOGUCHI_TRACKER_DB_URL or var/tracker.sqlite3)")
    parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    parser.set_defaults(fn=run)
    return parser


def run(args: argparse.Namespace) -> int:
    result = prune(tracker_url(args.tracker_url), args.older_than_days, dry_run=args.dry_run)
    cutoff = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(result.cutoff))
    verb = "削除対象" if result.dry_run else "削除しました"
    print(f"{cutoff} より前に最後の発話がある会話: {result.conversations} 件、イベント {result.events} 件を{verb}"
          + ("（--dry-run: 変更していません）" if result.dry_run else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.ops.retention", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add_arguments(sub.add_parser("prune", help="delete old conversations from the tracker store"))
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
