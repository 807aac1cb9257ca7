"""Writes a synthetic tracker store with known figures, for `madoguchi report` tests and demos.

Conversations go through the guide's own tracker store (bot.privacy.tracker_store.MaskingTrackerStore
over Rasa's SQLTrackerStore), so the ``events`` table has Rasa's real schema and masked texts; the
answer feedback goes through bot.feedback.store. The returned ``Expected`` holds every figure the report
must show.

    .venv/bin/python bench/gen_tracker.py --tracker-db sqlite:///var/demo_tracker.sqlite3 \
        --db sqlite:///var/demo_feedback.sqlite3 --conversations 1200
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from bot.feedback import store as feedback_store  # noqa: E402
from bot.privacy.tracker_store import MaskingTrackerStore  # noqa: E402

START = dt.datetime(2026, 1, 5, 9, 0)
DAYS = 60
CHANNELS = ("rest", "socketio", "line", "slack")
ANSWERED = [
    ("ask_assembly", "総会の会場はどこですか"),
    ("ask_assembly", "第7回総会はいつでしたか"),
    ("ask_presentation", "富士通の発表内容を教えて"),
    ("ask_program", "プログラムを教えてください"),
    ("ask_society", "事務局はどこですか"),
    ("ask_municipality", "札幌市の団体コードは"),
]
BAD_QUESTION = ("ask_assembly", "第7回総会の参加者数は何人でしたか")
# Unanswered questions: three groups of near-identical wordings (the report must group each as one).
UNANSWERED_GROUPS = {
    "粗大ごみ": ["粗大ごみの出し方を教えてください", "粗大ごみの出し方を教えて", "粗大ごみの出し方は？",
             "粗大ごみの出し方を教えてください。"],
    "図書館": ["図書館の開館時間は何時ですか", "図書館の開館時間は何時から", "図書館の開館時間は？"],
    "駐車場": ["市役所に駐車場はありますか", "市役所に駐車場ってありますか", "市役所の駐車場はありますか"],
}
PII_TEXT = "折り返しは090-1234-5678かtaro@example.jpへ、番号は1234 5678 9012です"


@dataclass
class Expected:
    conversations: int = 0
    messages: int = 0
    questions: int = 0
    answered: int = 0
    fallbacks: int = 0
    handoffs: int = 0
    good: int = 0
    bad: int = 0
    intents: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    groups: Counter = field(default_factory=Counter)  # group key (or "bad") → questions
    conversations_since: dict = field(default_factory=dict)  # ISO date → conversations starting that day or later
    by_channel: dict = field(default_factory=dict)  # channel → Expected of that channel only
    pii_senders: list = field(default_factory=list)


def _turn(events, expected_list, ts, channel, intent, text, confidence=0.9):
    events.append(UserUttered(text, {"name": intent, "confidence": confidence},
                              parse_data={"text": text, "intent": {"name": intent, "confidence": confidence},
                                          "entities": []},
                              input_channel=channel, timestamp=ts))
    for e in expected_list:
        e.messages += 1
        e.intents[intent] += 1


def _bot(events, ts, action, text, slots=()):
    events.append(ActionExecuted(action, timestamp=ts + 0.1))
    events.append(BotUttered(text, timestamp=ts + 0.2))
    for name, value in slots:
        events.append(SlotSet(name, value, timestamp=ts + 0.3))
    events.append(ActionExecuted("action_listen", timestamp=ts + 0.4))


async def _generate(tracker_url: str, db_url: str, n: int, seed: int) -> Expected:
    rng = random.Random(seed)
    domain = Domain.load(str(REPO / "domain.yml"))
    store = MaskingTrackerStore(domain=domain, url=tracker_url)
    feedback_store.ensure_table(db_url)
    total = Expected()
    day_starts: Counter = Counter()
    for i in range(n):
        channel = CHANNELS[i % len(CHANNELS)]
        per = total.by_channel.setdefault(channel, Expected())
        both = (total, per)
        start = START + dt.timedelta(days=i * DAYS // n, minutes=rng.randrange(600))
        ts = start.timestamp()
        day_starts[start.date()] += 1
        sender = f"gen-{i:05d}"
        events = [ActionExecuted("action_session_start", timestamp=ts - 1), SessionStarted(timestamp=ts - 1),
                  ActionExecuted("action_listen", timestamp=ts - 1)]
        for e in both:
            e.conversations += 1
            e.channels[channel] += 1
        if rng.random() < 0.5:
            _turn(events, both, ts, channel, "greet", "こんにちは")
            _bot(events, ts, "utter_greet", "こんにちは。ご質問をどうぞ。")
            ts += 5
        for _ in range(rng.randint(1, 3)):
            kind = rng.random()
            if kind < 0.55:  # answered from data, sometimes rated
                intent, text = BAD_QUESTION if rng.random() < 0.15 else rng.choice(ANSWERED)
                _turn(events, both, ts, channel, intent, text)
                _bot(events, ts, "action_answer", f"{text}への回答です。（出典：第7回総会報告）",
                     [("answer_source", "第7回総会報告"), ("failed_turns", "0")])
                for e in both:
                    e.questions += 1
                    e.answered += 1
                ts += 5
                rating = None
                if (intent, text) == BAD_QUESTION:
                    rating = "bad"
                elif rng.random() < 0.3:
                    rating = "good"
                if rating:
                    _turn(events, both, ts, channel, f"feedback_{rating}", f"/feedback_{rating}", 1.0)
                    _bot(events, ts, "action_feedback", "ご評価ありがとうございます。")
                    feedback_store.record(sender_id=sender, channel=channel, question=text, answer="…", intent=intent,
                                       confidence=0.9, source="第7回総会報告", rating=rating, created_at=ts, url=db_url)
                    for e in both:
                        if rating == "good":
                            e.good += 1
                        else:
                            e.bad += 1
                            e.groups["bad"] += 1
                    ts += 5
            elif kind < 0.85:  # unanswered: out of scope or not understood
                key = rng.choice(sorted(UNANSWERED_GROUPS))
                text = rng.choice(UNANSWERED_GROUPS[key])
                fallback = rng.random() < 0.4
                intent = "nlu_fallback" if fallback else "out_of_scope"
                _turn(events, both, ts, channel, intent, text, 0.3 if fallback else 0.8)
                _bot(events, ts, "action_default_fallback" if fallback else "action_out_of_scope",
                     "申し訳ありません、お答えできません。", [("failed_turns", "1")])
                for e in both:
                    e.questions += 1
                    e.fallbacks += fallback
                    e.groups[key] += 1
                ts += 5
            else:  # hand-off to a person
                _turn(events, both, ts, channel, "handoff", "職員と話したい")
                _bot(events, ts, "action_handoff", "職員へのお問い合わせは、次の窓口へお願いいたします。")
                for e in both:
                    e.handoffs += 1
                ts += 5
        if i % 97 == 0:  # some residents type personal data; the store must hold it masked
            _turn(events, both, ts, channel, "out_of_scope", PII_TEXT, 0.7)
            _bot(events, ts, "action_out_of_scope", "申し訳ありません、お答えできません。", [("failed_turns", "1")])
            for e in both:
                e.questions += 1
                e.groups["pii"] += 1
            total.pii_senders.append(sender)
        tracker = DialogueStateTracker.from_events(sender, events, domain.slots)
        await store.save(tracker)
    running = 0
    for day in sorted(day_starts, reverse=True):
        running += day_starts[day]
        total.conversations_since[day.isoformat()] = running
    return total


def generate(tracker_url: str, db_url: str, conversations: int = 1000, seed: int = 7) -> Expected:
    return asyncio.run(_generate(tracker_url, db_url, conversations, seed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracker-db", required=True, help="SQLAlchemy URL of the tracker store to fill")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of the feedback database")
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    expected = generate(args.tracker_db, args.db, args.conversations, args.seed)
    print(f"conversations={expected.conversations} messages={expected.messages} questions={expected.questions} "
          f"answered={expected.answered} fallbacks={expected.fallbacks} good={expected.good} bad={expected.bad} "
          f"handoffs={expected.handoffs} groups={dict(expected.groups)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
