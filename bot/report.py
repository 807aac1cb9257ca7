"""The staff report: what residents asked, what the guide could answer, what they thought of it.

Reads Rasa's SQL tracker store (table ``events``: sender_id, type_name, timestamp, intent_name,
action_name, data JSON — SQLite or PostgreSQL, any SQLAlchemy URL) and the answer feedback
(bot.feedback.store). Figures:

- conversations (senders with at least one user message in the period) and user messages;
- questions: user messages other than greetings, thanks, goodbyes, feedback and hand-off requests (and
  other than small talk or help, when the bot's reply says so);
- answered from data: questions answered from the records, as a share of questions;
- why the others went unanswered (:data:`CAUSES`), each asking staff for different work: not understood
  (training or wording), understood but the records lack the detail (data), or a clarifying question the
  user left unanswered. A clarifying question the user answered (「府中市は複数あります」 → the user picks
  東京都府中市 and gets the code) is no failure: the pick is the question, answered, and the clarifying
  turn is counted only in ``clarified``;
- fallback rate: user messages handled by ``action_default_fallback``, as a share of user messages;
- 👎 share: bad ratings among all ratings; the most frequent unanswered or 👎 questions, grouped by
  similarity (character bigrams of the normalized text, Jaccard ≥ 0.5 to any wording of a group);
  per-intent and per-channel counts.

How a turn ended is read from the bot's message: the guide's actions store it as ``outcome`` in the
message's metadata (bot.dialogue.reply.Reply.outcome: answered, missing, clarify, not_understood,
neutral). Conversations stored before that marker existed are read from what they do hold: the
``answer_source`` slot (answered; 「…の記載がありません」 in the reply then means the detail is missing) and
the ``pending`` slot (the municipality question asked back).

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from bot.dialogue.reply import NOT_RECORDED  # details.not_recorded's wording: turns stored without ``outcome``
from bot.feedback import store as feedback_store
from bot.kb import spreadsheet

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TRACKER_DB = REPO_ROOT / "var" / "tracker.sqlite3"
NOT_QUESTIONS = {"greet", "goodbye", "thanks", "feedback_good", "feedback_bad", "handoff", "session_start"}
CHANNEL_ALIASES = {"web": ("socketio", "bot.channels.socketio.SocketIOInput"), "line": ("line",), "slack": ("slack",),
                   "rest": ("rest",)}
CHANNEL_LABELS = {"web": "ウェブチャット", "line": "LINE", "slack": "Slack", "rest": "REST API"}
SIMILARITY = 0.5
TOP_GROUPS = 10
# Why a question went unanswered, and what it asks of staff.
NOT_UNDERSTOOD, MISSING, CLARIFY = "not_understood", "missing", "clarify"
CAUSES = {
    NOT_UNDERSTOOD: "質問の意味を読み取れなかった（学習データ・言い回しの追加が必要）",
    MISSING: "質問は読み取れたが、データに記載がなかった（データの追加が必要）",
    CLARIFY: "確認の質問（候補の選択）に返事がなかった",
}
CAUSE_SHORT = {NOT_UNDERSTOOD: "読み取れず", MISSING: "データに記載なし", CLARIFY: "確認に返事なし"}
OUTCOMES = ("answered", MISSING, CLARIFY, NOT_UNDERSTOOD, "neutral")


class BadFilter(ValueError):
    """A period or channel that cannot be used; the message is Japanese and says what to enter."""


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
    causes: Counter = field(default_factory=Counter)  # cause → unanswered questions of the group
    lg_codes: Counter = field(default_factory=Counter)  # 団体コード of the conversations' municipality → questions
    wordings: Counter = field(default_factory=Counter)  # each wording as asked (the first spelling) → questions

    @property
    def cause(self) -> str:
        """The most frequent cause ("" for a group of 👎 questions only)."""
        return max(self.causes, key=lambda c: (self.causes[c], c)) if self.causes else ""

    @property
    def lg_code(self) -> str:
        """The one municipality its questions were asked about, or "" (none, or several)."""
        return next(iter(self.lg_codes)) if len(self.lg_codes) == 1 else ""

    def cause_text(self) -> str:
        parts = [f"{CAUSE_SHORT[c]} {self.causes[c]}" for c in CAUSES if self.causes[c]]
        if self.bad:
            parts.append(f"👎 {self.bad}")
        return "・".join(parts)


@dataclass(frozen=True)
class Question:
    """An unanswered (or 👎) question as grouped: its text, why it went unanswered, its municipality."""

    text: str
    cause: str = ""
    lg_code: str = ""


@dataclass
class Turn:
    """One user message and what the guide did with it (read from the events that follow it)."""

    text: str
    intent: str = ""
    timestamp: float = 0.0
    answer_source: bool = False  # the turn set the answer_source slot
    fallback: bool = False
    handoff: bool = False
    outcome: str = ""  # the bot's message metadata ``outcome`` ("" when stored without it)
    pending: bool = False  # the turn set the pending slot (a question asked back, before ``outcome``)
    bot_text: str = ""
    lg_code: str = ""  # the conversation's municipality_code slot after the turn

    @property
    def is_question(self) -> bool:
        if self.intent in NOT_QUESTIONS or self.text.startswith("/"):
            return False
        return self.outcome != "neutral"

    @property
    def result(self) -> str:
        """answered, missing, clarify or not_understood (neutral for a turn that is no question)."""
        if self.outcome in OUTCOMES:
            return self.outcome
        if self.answer_source:  # stored without ``outcome``
            return MISSING if NOT_RECORDED in self.bot_text else "answered"
        return CLARIFY if self.pending else NOT_UNDERSTOOD


def classify(turns: list[Turn]) -> list[tuple[Turn, str]]:
    """The questions of one conversation, in order, each with "answered" or why it went unanswered.

    A clarifying question the user answered with an answered pick is left out: the pick stands for it.
    """
    out = []
    for i, turn in enumerate(turns):
        if not turn.is_question:
            continue
        result = turn.result
        if result == CLARIFY:
            following = turns[i + 1] if i + 1 < len(turns) else None
            if following is not None and following.is_question and following.result == "answered":
                out.append((turn, "clarified"))
                continue
        out.append((turn, result))
    return out


@dataclass
class Report:
    since: dt.date | None
    channel: str | None
    until: dt.date | None = None
    conversations: int = 0
    messages: int = 0
    questions: int = 0
    answered: int = 0
    clarified: int = 0  # clarifying questions the user answered (not counted as questions)
    fallbacks: int = 0
    handoffs: int = 0
    ratings_good: int = 0
    ratings_bad: int = 0
    causes: Counter = field(default_factory=Counter)  # cause → unanswered questions
    intents: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    days: Counter = field(default_factory=Counter)
    groups: list[Group] = field(default_factory=list)

    @property
    def unanswered(self) -> int:
        return sum(self.causes.values())

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

    @property
    def period(self) -> str:
        if self.since and self.until:
            return f"{self.since.isoformat()} 〜 {self.until.isoformat()}"
        if self.since:
            return f"{self.since.isoformat()} 以降"
        if self.until:
            return f"{self.until.isoformat()} まで"
        return "全期間"


# -- filters ----------------------------------------------------------------------------------------
def parse_since(value: str) -> dt.date:
    return dt.date.fromisoformat(value.strip().replace("/", "-"))


def parse_period(since: str | None, until: str | None) -> tuple[dt.date | None, dt.date | None]:
    """The period from two dates as typed (YYYY-MM-DD or YYYY/MM/DD; either may be empty)."""
    dates: list[dt.date | None] = []
    for label, value in (("開始日", since), ("終了日", until)):
        value = (value or "").strip()
        if not value:
            dates.append(None)
            continue
        try:
            day = parse_since(value)
        except ValueError:
            raise BadFilter(f"{label}「{value[:40]}」を日付として読み取れませんでした。2026-01-31 のように、"
                            "年-月-日の形で入力してください。") from None
        if not 2000 <= day.year <= 2100:
            raise BadFilter(f"{label}「{value[:40]}」は対象外の年です。"
                            "2000年から2100年までの日付を入力してください。")
        dates.append(day)
    if dates[0] and dates[1] and dates[0] > dates[1]:
        raise BadFilter(f"開始日（{dates[0].isoformat()}）が終了日（{dates[1].isoformat()}）より後になっています。"
                        "期間の開始と終了を入れ替えてください。")
    return dates[0], dates[1]


def check_channel(value: str | None) -> str | None:
    """``value`` as a channel filter (None for every channel)."""
    value = (value or "").strip()
    if not value:
        return None
    if value not in CHANNEL_ALIASES:
        names = "・".join(f"{k}（{v}）" for k, v in CHANNEL_LABELS.items())
        raise BadFilter(f"チャネル「{value[:40]}」はありません。{names}のいずれかを選んでください。")
    return value


# -- reading --------------------------------------------------------------------------------------
def _channel_matches(channel: str, wanted: str | None) -> bool:
    if not wanted:
        return True
    return channel in CHANNEL_ALIASES.get(wanted, (wanted,))


def _start(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time()).timestamp()


def read_turns(tracker_url: str | None = None, since: dt.date | None = None, until: dt.date | None = None
               ) -> tuple[dict[str, list[Turn]], dict[str, str]]:
    """(sender → user turns in order, sender → channel of its first user message) in the period."""
    resolved = tracker_db_url(tracker_url)
    if resolved.startswith("sqlite:///") and not Path(resolved[len("sqlite:///"):]).exists():
        raise NoTrackerStore(f"トラッカーストアのファイルがありません: {resolved[len('sqlite:///'):]}")
    engine = create_engine(resolved, future=True)
    if not inspect(engine).has_table("events"):
        engine.dispose()
        raise NoTrackerStore("トラッカーストアに events テーブルがありません（まだ会話が保存されていません）")
    turns: dict[str, list[Turn]] = defaultdict(list)
    first_channel: dict[str, str] = {}
    municipality: dict[str, str] = {}  # sender → municipality_code slot
    sql = "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events"
    where, params = [], {}
    if since is not None:
        where.append("timestamp >= :since")
        params["since"] = _start(since)
    if until is not None:
        where.append("timestamp < :until")
        params["until"] = _start(until + dt.timedelta(days=1))
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY sender_id, id"
    try:
        with engine.connect() as conn:
            for sender, type_name, timestamp, intent, action, data in conn.execute(text(sql), params):
                current = turns[sender][-1] if turns[sender] else None
                if type_name == "user":
                    payload = json.loads(data or "{}")
                    first_channel.setdefault(sender, payload.get("input_channel") or "")
                    turns[sender].append(Turn(payload.get("text") or "", intent or "", timestamp or 0.0,
                                              lg_code=municipality.get(sender, "")))
                elif type_name == "slot":
                    payload = json.loads(data or "{}")
                    name, value = payload.get("name"), payload.get("value")
                    if name == "municipality_code":
                        municipality[sender] = value or ""
                        if current is not None:
                            current.lg_code = value or ""
                    if current is None:
                        continue
                    if name == "answer_source" and value:
                        current.answer_source = True
                    elif name == "pending" and value:
                        current.pending = True
                elif current is None:
                    continue
                elif type_name == "action" and action == "action_default_fallback":
                    current.fallback = True
                elif type_name == "action" and action == "action_handoff":
                    current.handoff = True
                elif type_name == "bot":
                    payload = json.loads(data or "{}")
                    outcome = (payload.get("metadata") or {}).get("outcome")
                    if outcome and not current.outcome:
                        current.outcome = str(outcome)
                    if not current.bot_text:
                        current.bot_text = payload.get("text") or ""
    finally:
        engine.dispose()
    return turns, first_channel


def build(tracker_url: str | None = None, db_url: str | None = None, since: dt.date | None = None,
          channel: str | None = None, until: dt.date | None = None, top: int = TOP_GROUPS) -> Report:
    report = Report(since=since, channel=channel, until=until)
    turns, first_channel = read_turns(tracker_url, since, until)
    unanswered: list[Question] = []
    asked_about: dict[tuple[str, str], str] = {}  # (sender, wording) → municipality, for 👎 questions
    for sender, user_turns in turns.items():
        conv_channel = first_channel.get(sender, "")
        if not user_turns or not _channel_matches(conv_channel, channel):
            continue
        report.conversations += 1
        report.channels[conv_channel or "不明"] += 1
        report.days[dt.date.fromtimestamp(user_turns[0].timestamp).isoformat()] += 1
        for t in user_turns:
            report.messages += 1
            report.intents[t.intent or "（なし）"] += 1
            report.fallbacks += t.fallback
            report.handoffs += t.handoff
            if t.lg_code:
                asked_about[(sender, normalize(t.text))] = t.lg_code
        for t, result in classify(user_turns):
            if result == "clarified":
                report.clarified += 1
                continue
            report.questions += 1
            if result == "answered":
                report.answered += 1
            else:
                report.causes[result] += 1
                unanswered.append(Question(t.text, result, t.lg_code))

    bad_questions = []
    for f in feedback_store.all_feedback(db_url, since=_start(since) if since else None):
        if until is not None and f.created_at >= _start(until + dt.timedelta(days=1)):
            continue
        if not _channel_matches(f.channel, channel):
            continue
        if f.rating == "good":
            report.ratings_good += 1
        else:
            report.ratings_bad += 1
            bad_questions.append(Question(f.question, "", asked_about.get((f.sender_id, normalize(f.question)), "")))
    report.groups = group_questions(unanswered, bad_questions)[:top]
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


def group_questions(unanswered, bad=(), threshold: float = SIMILARITY, max_wordings: int = 3000) -> list[Group]:
    """Single-link clustering of the distinct wordings (union-find over pairs with Jaccard ≥ threshold).

    ``unanswered`` and ``bad`` hold texts or :class:`Question` records. Order does not matter:
    「粗大ごみの出し方は？」 and 「粗大ごみの出し方を教えてください」 end in one group when a wording between
    them links them. Only the ``max_wordings`` most frequent wordings are clustered.
    """
    counts: Counter = Counter()
    bad_counts: Counter = Counter()
    causes: dict[str, Counter] = defaultdict(Counter)
    codes: dict[str, Counter] = defaultdict(Counter)
    example: dict[str, str] = {}
    for item, is_bad in [(q, False) for q in unanswered] + [(q, True) for q in bad]:
        q = item if isinstance(item, Question) else Question(item)
        key = normalize(q.text)
        if not key:
            continue
        counts[key] += 1
        bad_counts[key] += is_bad
        if q.cause and not is_bad:
            causes[key][q.cause] += 1
        if q.lg_code:
            codes[key][q.lg_code] += 1
        example.setdefault(key, q.text.strip())
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
        groups.append(Group(
            example=example[top], count=sum(counts[k] for k in members), bad=sum(bad_counts[k] for k in members),
            members=set(members), causes=sum((causes[k] for k in members), Counter()),
            lg_codes=sum((codes[k] for k in members), Counter()),
            wordings=Counter({example[k]: counts[k] for k in members}),
        ))
    return sorted(groups, key=lambda g: (-g.count, g.example))


# -- rendering ------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def summary_rows(r: Report) -> list[tuple[str, str]]:
    rows = [
        ("期間", r.period),
        ("チャネル", f"{CHANNEL_LABELS.get(r.channel, r.channel)}（{r.channel}）" if r.channel else "すべて"),
        ("会話数", str(r.conversations)),
        ("メッセージ数（利用者）", str(r.messages)),
        ("質問数", str(r.questions)),
        ("データから回答した割合", f"{_pct(r.answered_share)}（{r.answered}/{r.questions}）"),
        ("回答できなかった質問", str(r.unanswered)),
    ]
    rows += [(f"　うち {CAUSES[c]}", str(r.causes[c])) for c in CAUSES]
    rows += [
        ("確認の質問に答えていただき回答できた件数", str(r.clarified)),
        ("フォールバック率", f"{_pct(r.fallback_rate)}（{r.fallbacks}/{r.messages}）"),
        ("よくない評価（👎）の割合",
         f"{_pct(r.bad_share)}（👎{r.ratings_bad} / 評価{r.ratings_good + r.ratings_bad}）"),
        ("職員への引き継ぎ", str(r.handoffs)),
    ]
    return rows


def cause_items(r: Report) -> list[tuple[str, int]]:
    return [(CAUSE_SHORT[c], r.causes[c]) for c in CAUSES]


def render_text(r: Report) -> str:
    lines = ["窓口 利用状況レポート", ""]
    lines += [f"{k}: {v}" for k, v in summary_rows(r)]
    lines += ["", "回答できなかった・👎の多い質問（類似の質問をまとめています）:"]
    lines += [
        f"  {i}. {g.example} … {g.count}件（{g.cause_text()}）" for i, g in enumerate(r.groups, 1)
    ] or ["  なし"]
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
    w.writerow(["概要", "回答できなかった質問", r.unanswered, ""])
    w.writerow(["概要", "確認の質問で回答できた", r.clarified, ""])
    w.writerow(["概要", "フォールバック", r.fallbacks, f"{r.fallback_rate:.4f}"])
    w.writerow(["概要", "👍", r.ratings_good, ""])
    w.writerow(["概要", "👎", r.ratings_bad, f"{r.bad_share:.4f}"])
    w.writerow(["概要", "職員への引き継ぎ", r.handoffs, ""])
    for c, label in CAUSES.items():
        w.writerow(["回答できなかった理由", label, r.causes[c], c])
    for g in r.groups:
        w.writerow(["未回答・👎の質問", g.example, g.count, f"👎{g.bad}" + (f" {g.cause_text()}" if g.causes else "")])
    for name, n in r.intents.most_common():
        w.writerow(["意図", name, n, ""])
    for name, n in r.channels.most_common():
        w.writerow(["チャネル", name, n, ""])
    return out.getvalue()


def chart_svg(title: str, items: Sequence[tuple[str, int | float]], color: str = "#2b6cb0") -> str:
    """A horizontal bar chart as an SVG element (no script, no style attribute, no external asset):
    what the desk shows under the Content-Security-Policy, and what the HTML report embeds."""
    top = max((n for _, n in items), default=0) or 1
    row, label_w, bar_w = 24, 220, 420
    height = row * len(items) + 10
    bars = []
    for i, (name, n) in enumerate(items):
        y = i * row + 5
        w = max(1, round(bar_w * n / top)) if n else 0
        bars.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{html.escape(str(name))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 8}" fill="{color}">'
            f'<title>{html.escape(str(name))}: {n}</title></rect>'
            f'<text x="{label_w + w + 6}" y="{y + 16}">{n}</text>'
        )
    return (f'<svg role="img" aria-label="{html.escape(title)}" width="{label_w + bar_w + 60}" height="{height}" '
            f'viewBox="0 0 {label_w + bar_w + 60} {height}" xmlns="http://www.w3.org/2000/svg" font-size="13">'
            f'{"".join(bars)}</svg>')


def charts(r: Report) -> list[tuple[str, str]]:
    """(title, SVG) of every chart of the report."""
    shares = [("データから回答", round(r.answered_share * 1000) / 10),
              ("フォールバック", round(r.fallback_rate * 1000) / 10),
              ("よくない評価（👎）", round(r.bad_share * 1000) / 10)]
    specs: list[tuple[str, Sequence[tuple[str, int | float]], str]] = [
        ("割合（%）", shares, "#2f855a"),
        ("回答できなかった理由（件）", cause_items(r), "#c53030"),
        ("意図別の件数", r.intents.most_common(), "#2b6cb0"),
        ("チャネル別の会話数", r.channels.most_common(), "#805ad5"),
        ("日別の会話数", sorted(r.days.items())[-31:], "#dd6b20"),
    ]
    return [(title, chart_svg(title, items, color)) for title, items, color in specs if items]


def _bar_chart(title: str, items: list[tuple[str, int]], color: str = "#2b6cb0") -> str:
    if not items:
        return f"<h2>{html.escape(title)}</h2><p>データがありません。</p>"
    return f"<h2>{html.escape(title)}</h2>" + chart_svg(title, items, color)


def render_html(r: Report) -> str:
    summary = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in summary_rows(r))
    groups = "".join(
        f"<tr><td>{i}</td><td>{html.escape(g.example)}</td><td>{g.count}</td><td>{g.bad}</td>"
        f"<td>{html.escape(g.cause_text())}</td></tr>"
        for i, g in enumerate(r.groups, 1)
    ) or '<tr><td colspan="5">なし</td></tr>'
    causes = "".join(f"<li>{html.escape(label)}: {r.causes[c]}件</li>" for c, label in CAUSES.items())
    drawn = "".join(f"<h2>{html.escape(title)}</h2>{svg}" for title, svg in charts(r))
    generated = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    clarified_note = ("確認の質問（「府中市は複数あります」など）に答えていただき回答できたものは、"
                      "回答できなかった質問に数えていません。")
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
<h2>回答できなかった理由</h2>
<ul>{causes}</ul>
<p class="note">{clarified_note}</p>
<h2>回答できなかった・よくない評価（👎）の多い質問（類似の質問をまとめています）</h2>
<table><tr><th>#</th><th>質問の例</th><th>件数</th><th>うち よくない評価</th><th>理由</th></tr>{groups}</table>
{drawn}
</body></html>
"""


RENDERERS = {"text": render_text, "csv": render_csv, "html": render_html}
