"""The report page of the staff desk over plain HTTP: a real ``python -m bot.staff`` on SQLite, a tracker
store written through the guide's own tracker store with the bot's messages made by the real actions
(issue 18, section 4).

The conversations (:func:`write_conversations`) hold each way a question can end: answered; a
clarifying question (「府中市は複数あります」) the user answered with a pick, and one the user left; a
detail the records lack (「…の記載がありません」); a message not understood; a 👎; and questions full of
markup and formula characters. The page must show the figures of `madoguchi report` for the same
period and channel, tell the causes apart, link each group to the prefilled FAQ form, and refuse bad
filters with a Japanese message.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import html
import os
import re
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from staff_desk import REPO, add_account, staff_server

from bot import report
from bot.kb.db import dispose_all
from bot.kb.loader import load

DAY = dt.date(2026, 3, 2)
HOSTILE = '<script>window.__x=1</script>=cmd|" /C calc"!A0 の予約'


@dataclass(frozen=True)
class Asked:
    text: str
    intent: str
    entities: tuple = ()  # (entity, surface, value)


# One conversation: (sender, channel, day offset, turns). A turn is what the user sends.
FUCHU = Asked("府中市の団体コードは？", "ask_municipality",
              (("municipality", "府中市", "府中市"), ("attribute", "団体コード", "code")))
FUCHU_PICK = Asked("東京都府中市の団体コードは？", "ask_municipality",
                   (("municipality", "東京都府中市", "東京都府中市"), ("attribute", "団体コード", "code")))
VENUE = Asked("第7回総会の会場はどこですか", "ask_assembly",
              (("assembly_number", "第7回", "7"), ("attribute", "会場", "where")))
SOCIAL = Asked("第7回総会の懇親会はありましたか", "ask_assembly",
               (("assembly_number", "第7回", "7"), ("attribute", "懇親会", "social")))
GIBBERISH = Asked("ぬるぽがっとほげほげ", "nlu_fallback")
GIBBERISH2 = Asked("ぬるぽがっとほげほげ？", "nlu_fallback")
MARKUP = Asked(HOSTILE, "nlu_fallback")
SUMIDA = Asked("墨田区の団体コードは？", "ask_municipality",
               (("municipality", "墨田区", "墨田区"), ("attribute", "団体コード", "code")))
PIYO = Asked("ぴよぴよぱよぱよ", "nlu_fallback")
CONVERSATIONS = [
    ("c-clarified", "rest", 0, [FUCHU, FUCHU_PICK]),
    ("c-left", "socketio", 1, [FUCHU]),
    ("c-left-2", "line", 2, [FUCHU, GIBBERISH]),
    ("c-missing", "socketio", 3, [VENUE, SOCIAL]),
    ("c-missing-2", "rest", 4, [SOCIAL]),
    ("c-fallback", "line", 5, [GIBBERISH, GIBBERISH2]),
    ("c-markup", "rest", 6, [MARKUP]),
    ("c-sumida", "socketio", 7, [SUMIDA, PIYO]),
    ("c-venue", "line", 10, [VENUE]),
]
BAD_RATED = ("c-venue", VENUE.text)


def _tracker(sender: str, asked: Asked, slots: dict):
    from rasa_sdk import Tracker

    from bot.nlp.normalize import normalize

    text = normalize(asked.text)
    entities = []
    for entity, surface, value in asked.entities:
        start = text.index(surface)
        entities.append({"entity": entity, "start": start, "end": start + len(surface), "value": value})
    latest = {"text": text, "intent": {"name": asked.intent, "confidence": 0.9},
              "intent_ranking": [{"name": asked.intent, "confidence": 0.9}], "entities": entities}
    return Tracker(sender, dict(slots), latest, [], False, None, {}, "action_listen")


async def _write(tracker_url: str, db_url: str) -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ActionAnswer
    from bot.feedback import store as feedback_store
    from bot.privacy.tracker_store import MaskingTrackerStore

    domain = Domain.load(str(REPO / "domain.yml"))
    store = MaskingTrackerStore(domain=domain, url=tracker_url)
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    feedback_store.ensure_table(db_url)
    for sender, channel, offset, turns in CONVERSATIONS:
        ts = dt.datetime.combine(DAY + dt.timedelta(days=offset), dt.time(10, 0)).timestamp()
        events = [ActionExecuted("action_session_start", timestamp=ts - 1), SessionStarted(timestamp=ts - 1),
                  ActionExecuted("action_listen", timestamp=ts - 1)]
        slots: dict = {}
        for asked in turns:
            rasa_tracker = DialogueStateTracker.from_events(sender, events, domain.slots)
            dispatcher = CollectingDispatcher()
            action_events = ActionAnswer().run(dispatcher, _tracker(sender, asked, slots), domain.as_dict())
            parse = {"text": asked.text, "intent": {"name": asked.intent, "confidence": 0.9}, "entities": []}
            events.append(UserUttered(asked.text, parse["intent"], parse_data=parse, input_channel=channel,
                                      timestamp=ts))
            events.append(ActionExecuted("action_answer", timestamp=ts + 0.1))
            # the bot's messages as Rasa makes them from the action server's reply (metadata included)
            for bot in await RemoteAction._utter_responses(dispatcher.messages, CollectingOutputChannel(), nlg,
                                                           rasa_tracker):
                bot.timestamp = ts + 0.2
                events.append(bot)
            for e in action_events:
                event = Event.from_parameters(e)
                event.timestamp = ts + 0.3
                events.append(event)
                if isinstance(event, SlotSet):
                    slots[event.key] = event.value
            events.append(ActionExecuted("action_listen", timestamp=ts + 0.4))
            if (sender, asked.text) == BAD_RATED:
                feedback_store.record(sender_id=sender, channel=channel, question=asked.text, answer="…",
                                      intent=asked.intent, confidence=0.9, source="第7回総会報告", rating="bad",
                                      created_at=ts + 1, url=db_url)
            ts += 30
        await store.save(DialogueStateTracker.from_events(sender, events, domain.slots))


@contextmanager
def _env(name: str, value: str):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def write_conversations(tracker_url: str, db_url: str) -> None:
    """The conversations of :data:`CONVERSATIONS` into the tracker store at ``tracker_url`` (the bot's
    answers from the knowledge base at ``db_url``, which also keeps the 👎)."""
    with _env("MADOGUCHI_DB_URL", db_url):
        asyncio.run(_write(tracker_url, db_url))
    dispose_all()


# -- the desk -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("staff_report")
    db_url = f"sqlite:///{workdir / 'kb.sqlite3'}"
    tracker_url = f"sqlite:///{workdir / 'tracker.sqlite3'}"
    load(url=db_url)
    write_conversations(tracker_url, db_url)
    for name, role in (("editor1", "editor"), ("viewer1", "viewer")):
        done = add_account(db_url, name, role)
        assert done.returncode == 0, done.stderr
    dispose_all()
    with staff_server(db_url, workdir, {"MADOGUCHI_TRACKER_DB_URL": tracker_url}) as server:
        yield server, db_url, tracker_url


def logged_in(server, name: str):
    client = server.client()
    assert client.login(name).status == 303
    return client


def page_rows(page: str) -> list[tuple[str, str]]:
    """The figures table of the report page, as (label, value) texts."""
    table = re.search(r'<table class="report-figures">(.*?)</table>', page, re.S).group(1)
    return [(html.unescape(k), html.unescape(v)) for k, v in
            re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', table)]


def faq_links(page: str) -> list[dict]:
    return [urllib.parse.parse_qs(urllib.parse.urlsplit(html.unescape(h)).query, keep_blank_values=True)
            | {"path": [urllib.parse.urlsplit(html.unescape(h)).path]}
            for h in re.findall(r'<a class="button faq-add" href="([^"]*)"', page)]


def test_the_report_needs_a_login(desk):
    server, _, _ = desk
    reply = server.client().get("/report?channel=line")
    assert reply.status == 303
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(reply.location).query)["next"] == ["/report?channel=line"]


def test_a_viewer_reads_the_figures_of_madoguchi_report(desk):
    server, db_url, tracker_url = desk
    reply = logged_in(server, "viewer1").get("/report")
    assert reply.status == 200, reply.text[:500]
    built = report.build(tracker_url, db_url)
    assert page_rows(reply.text) == report.summary_rows(built)
    # the causes, as the conversations were written: a clarification answered is no failure
    assert (built.causes[report.NOT_UNDERSTOOD], built.causes[report.MISSING],
            built.causes[report.CLARIFY]) == (5, 2, 2)
    assert (built.clarified, built.answered, built.questions, built.ratings_bad) == (1, 4, 13, 1)
    text = html.unescape(reply.text)
    for label in report.CAUSES.values():
        assert label in text
    assert re.search(r'cause-clarify"><span class="cause-count">2件</span>', reply.text)
    assert re.search(r'cause-missing"><span class="cause-count">2件</span>', reply.text)
    assert reply.text.count("<svg") == len(report.charts(built)) >= 4
    assert 'class="button faq-add"' not in reply.text  # viewers do not add FAQ entries
    assert "FAQ への追加は、編集者（editor）のアカウントで行えます。" in reply.text
    assert '<a href="/report" aria-current="page">レポート</a>' in reply.text


def test_the_page_holds_no_inline_script_or_style_and_escapes_questions(desk):
    server, _, _ = desk
    reply = logged_in(server, "editor1").get("/report")
    csp = reply.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert not re.search(r"<style|\sstyle=|<script(?![^>]*\ssrc=\"/static/)|\son[a-z]+=", reply.text)
    assert "<script>window.__x=1</script>" not in reply.text
    assert "&lt;script&gt;window.__x=1&lt;/script&gt;" in reply.text
    assert not re.search(r"(src|href)=\"(https?:)?//", reply.text)  # nothing from elsewhere


def test_each_group_links_to_the_prefilled_faq_form(desk):
    server, db_url, tracker_url = desk
    from bot.staff import report_page

    reply = logged_in(server, "editor1").get("/report")
    links = faq_links(reply.text)
    built = report.build(tracker_url, db_url, top=report_page.TOP_GROUPS)
    assert len(links) == len(built.groups) == 6
    for link, group in zip(links, built.groups):
        assert link["path"] == ["/data/faq/new"]
        assert link["question"] == [group.example]
        assert link["lg_code"] == [group.lg_code]
        assert link["category"] == [report_page._category(group.example, db_url)]
    by_question = {link["question"][0]: link for link in links}
    assert by_question["ぴよぴよぱよぱよ"]["lg_code"] == ["131075"]  # asked after 墨田区 in that conversation
    assert by_question[FUCHU.text]["lg_code"] == [""]
    assert HOSTILE in by_question  # the text as asked (the link is escaped, the form shows text)
    groups = re.findall(r'<li class="group" id="group-\d+">\s*<details>\s*'
                        r'<summary><span class="group-example">(.*?)</span>',
                        reply.text)
    assert [html.unescape(g) for g in groups] == [g.example for g in built.groups]


@pytest.mark.parametrize("query, expected", [
    ({"since": (DAY + dt.timedelta(days=10)).isoformat()}, {"since": DAY + dt.timedelta(days=10)}),
    ({"until": DAY.isoformat(), "since": DAY.isoformat()}, {"since": DAY, "until": DAY}),
    ({"channel": "line"}, {"channel": "line"}),
    ({"channel": "web", "since": "2026/03/03", "until": "2026/03/05"},
     {"channel": "web", "since": dt.date(2026, 3, 3), "until": dt.date(2026, 3, 5)}),
])
def test_period_and_channel_filter_the_figures(desk, query, expected):
    server, db_url, tracker_url = desk
    reply = logged_in(server, "viewer1").get("/report?" + urllib.parse.urlencode(query))
    assert reply.status == 200
    built = report.build(tracker_url, db_url, **expected)
    assert page_rows(reply.text) == report.summary_rows(built)
    assert 0 < built.conversations < len(CONVERSATIONS)
    if query == {"until": DAY.isoformat(), "since": DAY.isoformat()}:  # only the clarification answered
        assert (built.questions, built.answered, built.clarified, built.unanswered) == (1, 1, 1, 0)


@pytest.mark.parametrize("query, message", [
    ({"since": "2026-13-01"},
     "開始日「2026-13-01」を日付として読み取れませんでした。2026-01-31 のように、年-月-日の形で入力してください。"),
    ({"until": "きのう"}, "終了日「きのう」を日付として読み取れませんでした。"),
    ({"since": "1066-10-14"}, "開始日「1066-10-14」は対象外の年です。"),
    ({"since": "2026-03-10", "until": "2026-03-01"},
     "開始日（2026-03-10）が終了日（2026-03-01）より後になっています。期間の開始と終了を入れ替えてください。"),
    ({"channel": "fax"},
     "チャネル「fax」はありません。web（ウェブチャット）・line（LINE）・slack（Slack）・rest（REST API）"
     "のいずれかを選んでください。"),
    ({"channel": "<b>x</b>"}, "チャネル「&lt;b&gt;x&lt;/b&gt;」はありません。"),
])
def test_bad_filters_get_a_clear_japanese_message(desk, query, message):
    server, _, _ = desk
    reply = logged_in(server, "viewer1").get("/report?" + urllib.parse.urlencode(query))
    assert reply.status == 400
    assert message in reply.text
    assert 'role="alert" id="filter-error"' in reply.text
    assert 'class="report-figures"' not in reply.text


def test_a_desk_without_conversations_says_so(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    load(url=db_url)
    assert add_account(db_url, "viewer1", "viewer").returncode == 0
    dispose_all()
    missing = f"sqlite:///{tmp_path / 'no_tracker.sqlite3'}"
    with staff_server(db_url, tmp_path / "desk", {"MADOGUCHI_TRACKER_DB_URL": missing}) as server:
        reply = logged_in(server, "viewer1").get("/report")
    assert reply.status == 200
    assert "まだ会話の記録がありません。" in reply.text
    assert not (tmp_path / "no_tracker.sqlite3").exists()
