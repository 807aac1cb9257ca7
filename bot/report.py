"""The staff report: what residents asked, what the guide could answer, what they thought of it.

Reads Rasa's SQL tracker store (table ``events``: sender_id, type_name, timestamp, intent_name,
action_name, data JSON — SQLite or PostgreSQL, any SQLAlchemy URL) and the answer feedback
(bot.kb.feedback). Figures:

- conversations (senders with at least one user message in the period) and user messages;
- questions: user messages other than greetings, thanks, goodbyes, feedback and hand-off requests;
- answered from data: questions whose turn set the ``answer_source`` slot (a factual answer, or a
  FAQ/presentation passage), as a share of questions;
- fallback rate: user messages handled by ``action_default_fallback``, as a share of user messages;
- 👎 share: bad ratings among all ratings; the most frequent unanswered or 👎 questions, grouped by
  similarity (character bigrams of the normalized text, Jaccard ≥ 0.5 to any wording of a group); per-intent and per-channel counts.

A conversation's channel is the ``input_channel`` of its first user message (rest, socketio, line, slack).

    madoguchi report [--since DATE] [--channel web|line|slack|rest] [--format text|csv|html] [--out FILE]
                     [--tracker-db URL] [--db URL]
"""
from __future__ import annotations

import datetime as dt
import html
import io
import json
import os
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from bot.kb import feedback as kb_feedback, spreadsheet

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TRACKER_DB = REPO_ROOT / "var" / "tracker.sqlite3"
NOT_QUESTIONS = {"greet", "goodbye", "thanks", "feedback_good", "feedback_bad", "handoff", "session_start"}
CHANNEL_ALIASES = {"web": ("socketio", "bot.channels.socketio.SocketIOInput"), "line": ("line",), "slack": ("slack",),
                   "rest": ("rest",)}
SIMILARITY = 0.5
TOP_GROUPS = 10


class NoTrackerStore(RuntimeError):
    """The tracker store holds no ``events`` table (no conversation stored yet, or a wrong URL)."""


def tracker_db_url(url: str | None = None) -> str:
    if url:
        return url
    env = os.environ.get("MADOGUCHI_TRACKER_DB_URL", "").strip()
    return env or f"sqlite:///{DEFAULT_TRACKER_DB}"


@dataclass
class Group:
    example: str
    count: int = 0
    bad: int = 0  # how many of them were rated 👎
    members: set = field(default_factory=set)  # the distinct normalized wordings in the group


@dataclass
class Report:
    since: dt.date | None
    channel: str | None
    conversations: int = 0
    messages: int = 0
    questions: int = 0
    answered: int = 0
    fallbacks: int = 0
    handoffs: int = 0
    ratings_good: int = 0
    ratings_bad: int = 0
    intents: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    days: Counter = field(default_factory=Counter)
    groups: list[Group] = field(default_factory=list)

    @property
    def answered_share(self) -> float:
        return self.answered / self.questions if self.questions else 0.0

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.messages if self.messages else 0.0

    @property
    def bad_share(self) -> float:
        total = self.ratings_good + self.ratings_bad
        return self.ratings_bad / total if total else 0.0


# -- reading --------------------------------------------------------------------------------------
def _channel_matches(channel: str, wanted: str | None) -> bool:
    if not wanted:
        return True
    return channel in CHANNEL_ALIASES.get(wanted, (wanted,))


def build(tracker_url: str | None = None, db_url: str | None = None, since: dt.date | None = None,
          channel: str | None = None) -> Report:
    since_ts = dt.datetime.combine(since, dt.time()).timestamp() if since else None
    report = Report(since=since, channel=channel)
    resolved = tracker_db_url(tracker_url)
    if resolved.startswith("sqlite:///") and not Path(resolved[len("sqlite:///"):]).exists():
        raise NoTrackerStore(f"トラッカーストアのファイルがありません: {resolved[len('sqlite:///'):]}")
    engine = create_engine(resolved, future=True)
    if not inspect(engine).has_table("events"):
        engine.dispose()
        raise NoTrackerStore("トラッカーストアに events テーブルがありません（まだ会話が保存されていません）")
    turns: dict[str, list[dict]] = defaultdict(list)  # sender → user turns in order
    first_channel: dict[str, str] = {}
    sql = "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events"
    params = {}
    if since_ts is not None:
        sql += " WHERE timestamp >= :since"
        params["since"] = since_ts
    sql += " ORDER BY sender_id, id"
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(sql), params)
            for sender, type_name, timestamp, intent, action, data in rows:
                current = turns[sender][-1] if turns[sender] else None
                if type_name == "user":
                    payload = json.loads(data or "{}")
                    first_channel.setdefault(sender, payload.get("input_channel") or "")
                    turns[sender].append({"text": payload.get("text") or "", "intent": intent or "",
                                          "timestamp": timestamp or 0.0, "answered": False, "fallback": False,
                                          "handoff": False})
                elif current is None:
                    continue
                elif type_name == "action" and action == "action_default_fallback":
                    current["fallback"] = True
                elif type_name == "action" and action == "action_handoff":
                    current["handoff"] = True
                elif type_name == "slot":
                    payload = json.loads(data or "{}")
                    if payload.get("name") == "answer_source" and payload.get("value"):
                        current["answered"] = True
    finally:
        engine.dispose()

    unanswered: list[str] = []
    for sender, user_turns in turns.items():
        conv_channel = first_channel.get(sender, "")
        if not user_turns or not _channel_matches(conv_channel, channel):
            continue
        report.conversations += 1
        report.channels[conv_channel or "不明"] += 1
        report.days[dt.date.fromtimestamp(user_turns[0]["timestamp"]).isoformat()] += 1
        for t in user_turns:
            report.messages += 1
            report.intents[t["intent"] or "（なし）"] += 1
            report.fallbacks += t["fallback"]
            report.handoffs += t["handoff"]
            if t["intent"] in NOT_QUESTIONS or t["text"].startswith("/"):
                continue
            report.questions += 1
            if t["answered"]:
                report.answered += 1
            else:
                unanswered.append(t["text"])

    bad_questions = []
    for f in kb_feedback.all_feedback(db_url, since=since_ts):
        if not _channel_matches(f.channel, channel):
            continue
        if f.rating == "good":
            report.ratings_good += 1
        else:
            report.ratings_bad += 1
            bad_questions.append(f.question)
    report.groups = group_questions(unanswered, bad_questions)[:TOP_GROUPS]
    return report


# -- grouping -------------------------------------------------------------------------------------
_STRIP = re.compile(r"[\s、。,.!?！？「」『』（）()・…ー〜~]+")


def normalize(question: str) -> str:
    return _STRIP.sub("", unicodedata.normalize("NFKC", question or "").lower())


def bigrams(question: str) -> frozenset:
    s = normalize(question)
    return frozenset(s[i:i + 2] for i in range(len(s) - 1)) if len(s) > 1 else frozenset({s})


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if (a or b) else 1.0


def group_questions(unanswered: list[str], bad: list[str] = (), threshold: float = SIMILARITY,
                    max_wordings: int = 3000) -> list[Group]:
    """Single-link clustering of the distinct wordings (union-find over pairs with Jaccard ≥ threshold).

    Order does not matter: 「粗大ごみの出し方は？」 and 「粗大ごみの出し方を教えてください」 end in one group when a
    wording between them links them. Only the ``max_wordings`` most frequent wordings are clustered.
    """
    counts: Counter = Counter()
    bad_counts: Counter = Counter()
    example: dict[str, str] = {}
    for question, is_bad in [(q, False) for q in unanswered] + [(q, True) for q in bad]:
        key = normalize(question)
        if not key:
            continue
        counts[key] += 1
        bad_counts[key] += is_bad
        example.setdefault(key, question.strip())
    keys = [k for k, _ in counts.most_common(max_wordings)]
    grams = {k: bigrams(k) for k in keys}
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            if jaccard(grams[keys[i]], grams[keys[j]]) >= threshold:
                parent[find(j)] = find(i)
    clusters: dict[int, list[str]] = defaultdict(list)
    for i, k in enumerate(keys):
        clusters[find(i)].append(k)
    groups = []
    for members in clusters.values():
        top = max(members, key=lambda k: (counts[k], k))  # the most frequent wording is the example
        groups.append(Group(example=example[top], count=sum(counts[k] for k in members),
                            bad=sum(bad_counts[k] for k in members), members=set(members)))
    return sorted(groups, key=lambda g: (-g.count, g.example))


# -- rendering ------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def summary_rows(r: Report) -> list[tuple[str, str]]:
    return [
        ("期間", f"{r.since.isoformat()} 以降" if r.since else "全期間"),
        ("チャネル", r.channel or "すべて"),
        ("会話数", str(r.conversations)),
        ("メッセージ数（利用者）", str(r.messages)),
        ("質問数", str(r.questions)),
        ("データから回答した割合", f"{_pct(r.answered_share)}（{r.answered}/{r.questions}）"),
        ("フォールバック率", f"{_pct(r.fallback_rate)}（{r.fallbacks}/{r.messages}）"),
        ("よくない評価（👎）の割合", f"{_pct(r.bad_share)}（👎{r.ratings_bad} / 評価{r.ratings_good + r.ratings_bad}）"),
        ("職員への引き継ぎ", str(r.handoffs)),
    ]


def render_text(r: Report) -> str:
    lines = ["窓口 利用状況レポート", ""]
    lines += [f"{k}: {v}" for k, v in summary_rows(r)]
    lines += ["", "回答できなかった・👎の多い質問（類似の質問をまとめています）:"]
    lines += [f"  {i}. {g.example} … {g.count}件（うち👎 {g.bad}件）" for i, g in enumerate(r.groups, 1)] or ["  なし"]
    lines += ["", "意図別の件数:"]
    lines += [f"  {name}: {n}" for name, n in r.intents.most_common()]
    lines += ["", "チャネル別の会話数:"]
    lines += [f"  {name}: {n}" for name, n in r.channels.most_common()]
    return "\n".join(lines) + "\n"


def render_csv(r: Report) -> str:
    """The figures as CSV; cells a spreadsheet would run as formulas (a resident's ``=…`` question, a
    client-supplied channel name) get a leading ``'`` (bot.kb.spreadsheet)."""
    out = io.StringIO()
    w = spreadsheet.writer(out)
    w.writerow(["区分", "項目", "値", "補足"])
    w.writerow(["概要", "会話数", r.conversations, ""])
    w.writerow(["概要", "メッセージ数", r.messages, ""])
    w.writerow(["概要", "質問数", r.questions, ""])
    w.writerow(["概要", "データから回答", r.answered, f"{r.answered_share:.4f}"])
    w.writerow(["概要", "フォールバック", r.fallbacks, f"{r.fallback_rate:.4f}"])
    w.writerow(["概要", "👍", r.ratings_good, ""])
    w.writerow(["概要", "👎", r.ratings_bad, f"{r.bad_share:.4f}"])
    w.writerow(["概要", "職員への引き継ぎ", r.handoffs, ""])
    for g in r.groups:
        w.writerow(["未回答・👎の質問", g.example, g.count, f"👎{g.bad}"])
    for name, n in r.intents.most_common():
        w.writerow(["意図", name, n, ""])
    for name, n in r.channels.most_common():
        w.writerow(["チャネル", name, n, ""])
    return out.getvalue()


def _bar_chart(title: str, items: list[tuple[str, int]], color: str = "#2b6cb0") -> str:
    """A horizontal bar chart as inline SVG (no script, no external asset)."""
    if not items:
        return f"<h2>{html.escape(title)}</h2><p>データがありません。</p>"
    top = max(n for _, n in items) or 1
    row, label_w, bar_w = 24, 220, 420
    height = row * len(items) + 10
    bars = []
    for i, (name, n) in enumerate(items):
        y = i * row + 5
        w = max(1, round(bar_w * n / top))
        bars.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{html.escape(str(name))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 8}" fill="{color}"><title>{html.escape(str(name))}: {n}</title></rect>'
            f'<text x="{label_w + w + 6}" y="{y + 16}">{n}</text>'
        )
    return (f"<h2>{html.escape(title)}</h2>"
            f'<svg role="img" aria-label="{html.escape(title)}" width="{label_w + bar_w + 60}" height="{height}" '
            f'xmlns="http://www.w3.org/2000/svg" font-size="13">{"".join(bars)}</svg>')


def render_html(r: Report) -> str:
    summary = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in summary_rows(r))
    groups = "".join(
        f"<tr><td>{i}</td><td>{html.escape(g.example)}</td><td>{g.count}</td><td>{g.bad}</td></tr>"
        for i, g in enumerate(r.groups, 1)
    ) or '<tr><td colspan="4">なし</td></tr>'
    shares = [("データから回答", round(r.answered_share * 1000) / 10), ("フォールバック", round(r.fallback_rate * 1000) / 10),
              ("よくない評価（👎）", round(r.bad_share * 1000) / 10)]
    charts = [
        _bar_chart("割合（%）", shares, "#2f855a"),
        _bar_chart("意図別の件数", r.intents.most_common()),
        _bar_chart("チャネル別の会話数", r.channels.most_common(), "#805ad5"),
        _bar_chart("日別の会話数", sorted(r.days.items())[-31:], "#dd6b20"),
    ]
    generated = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>窓口 利用状況レポート</title>
<style>
body{{font-family:"Hiragino Sans","Noto Sans JP","Yu Gothic",sans-serif;margin:2em auto;max-width:960px;color:#1a202c}}
table{{border-collapse:collapse;margin:1em 0}}th,td{{border:1px solid #cbd5e0;padding:.35em .7em;text-align:left}}
th{{background:#edf2f7}}h1{{font-size:1.5em}}h2{{font-size:1.15em;margin-top:1.6em}}svg text{{fill:#1a202c}}
.note{{color:#4a5568;font-size:.9em}}
</style></head><body>
<h1>窓口 利用状況レポート</h1>
<p class="note">作成: {generated}。利用者の文章は電話番号・メールアドレス・個人番号を伏せて保存しています。</p>
<table>{summary}</table>
<h2>回答できなかった・よくない評価（👎）の多い質問（類似の質問をまとめています）</h2>
<table><tr><th>#</th><th>質問の例</th><th>件数</th><th>うち よくない評価</th></tr>{groups}</table>
{"".join(charts)}
</body></html>
"""


RENDERERS = {"text": render_text, "csv": render_csv, "html": render_html}


def parse_since(value: str) -> dt.date:
    return dt.date.fromisoformat(value.replace("/", "-"))
