"""The Rasa custom actions run as the action server runs them: a real rasa_sdk Tracker and
CollectingDispatcher, the database found through MADOGUCHI_DB_URL (nothing mocked)."""
from __future__ import annotations

import logging
import re
import sqlite3

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswer, ActionDefaultFallback
from bot.dialogue.rating import BUTTONS as FEEDBACK_BUTTONS
from bot.kb import db, loader
from bot.kb.db import REPO_ROOT
from bot.nlp.normalize import normalize

CONTEXT_SLOTS = ("subject_type", "assembly_number", "presentation_id", "municipality_code", "pending")
_POLITE_END_RE = re.compile(r"(です|ます|ました|ません|でした|ください|ですか|ますか|でしょうか)$")
_QUOTE_RE = re.compile(r"「[^「」]*」")
_NOTE_RE = re.compile(r"（[^（）。]*）|\([^()。]*\)")


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def actions_db_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("actions_kb") / "madoguchi.sqlite3"
    url = f"sqlite:///{path}"
    db.dispose_all()
    loader.load(url=url)
    db.dispose_all()
    yield url
    db.dispose_all()


@pytest.fixture
def kb_env(actions_db_url, monkeypatch):
    """The action server's environment, pointed at the test knowledge base."""
    monkeypatch.setenv("MADOGUCHI_DB_URL", actions_db_url)
    db.dispose_all()
    yield actions_db_url
    db.dispose_all()


@pytest.fixture(scope="module")
def gazetteer():
    from bot.nlp.annotate import load_gazetteer

    return load_gazetteer()


# -- helpers ----------------------------------------------------------------------------------
def make_tracker(text: str, intent: str, entities=(), slots: dict | None = None) -> Tracker:
    """``entities``: (entity, surface, value) triples, located in ``text`` as the NLU reports them."""
    text = normalize(text)
    found = []
    for entity, surface, value in entities:
        start = text.index(surface)
        found.append({"entity": entity, "start": start, "end": start + len(surface), "value": value,
                      "extractor": "KBEntityExtractor"})
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.97},
        "intent_ranking": [{"name": intent, "confidence": 0.97}],
        "entities": found,
    }
    all_slots = {name: None for name in CONTEXT_SLOTS}
    all_slots.update(slots or {})
    return Tracker("test-user", all_slots, latest, [], False, None, {}, "action_listen")


def parsed_tracker(gazetteer, text: str, intent: str, slots: dict | None = None) -> Tracker:
    """A tracker whose entities are what the bot's extractor finds in ``text``."""
    from bot.nlp.entities import extract

    text = normalize(text)
    tracker = make_tracker(text, intent, slots=slots)
    tracker.latest_message["entities"] = extract(gazetteer, text)
    return tracker


def run(action, tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def slots_set(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def next_slots(previous: dict, events) -> dict:
    slots = dict(previous)
    slots.update(slots_set(events))
    return slots


def assert_polite(text: str) -> None:
    sentences = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("（出典：") or re.match(r"^\(\d+\) ", line):
            continue
        previous = None
        while previous != line:
            previous, line = line, _NOTE_RE.sub("", _QUOTE_RE.sub("「」", line))
        # a fragment ending in a quotation is an example (例：「…」), not a sentence of the bot
        sentences += [p.strip().rstrip("）)") for p in re.split(r"[。?？!！]", line)
                      if p.strip() and not p.strip().endswith("「」")]
    impolite = [s for s in sentences if s and not _POLITE_END_RE.search(s)]
    assert not impolite, f"sentences without a polite ending {impolite} in:\n{text}"


def only_text(messages) -> str:
    assert len(messages) == 1, messages
    return messages[0]["text"]


# -- names --------------------------------------------------------------------------------------
def test_action_names_are_the_domain_entries():
    domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert ActionAnswer().name() == "action_answer"
    assert ActionDefaultFallback().name() == "action_default_fallback"
    assert {"action_answer", "action_default_fallback"} <= set(domain["actions"])
    assert set(CONTEXT_SLOTS) <= set(domain["slots"])


# -- ActionAnswer -------------------------------------------------------------------------------
def test_presentation_answer_sets_context_and_a_follow_up_uses_it(kb_env):
    tracker = make_tracker("墨田区の発表について教えてください", "ask_presentation",
                           [("municipality", "墨田区", "墨田区")])
    messages, events = run(ActionAnswer(), tracker)
    text = only_text(messages)
    assert "業務量調査" in text and "（出典：" in text
    assert messages[0]["buttons"] == list(FEEDBACK_BUTTONS)  # a factual answer offers 👍/👎
    assert_polite(text)
    assert slots_set(events)["answer_source"]  # set on every factual answer: the usage report counts it
    slots = next_slots(tracker.slots, events)
    assert set(CONTEXT_SLOTS) <= set(slots)
    assert slots["subject_type"] == "presentation"
    assert slots["assembly_number"] == "7"
    assert slots["presentation_id"] is not None and re.fullmatch(r"\d+-\d+", slots["presentation_id"])
    assert slots["municipality_code"] is None

    follow = make_tracker("今後はどうされるのですか", "ask_presentation", [("attribute", "今後", "plan")],
                          slots=next_slots(tracker.slots, events))
    messages, events2 = run(ActionAnswer(), follow)
    text = only_text(messages)
    assert "委託" in text or "RPA" in text, text
    assert "墨田区" in text
    assert_polite(text)
    assert next_slots(follow.slots, events2)["presentation_id"] == slots["presentation_id"]


def test_follow_up_on_fujitsu_trial_site(kb_env):
    first = make_tracker("富士通の発表は", "ask_presentation", [("organization", "富士通", "富士通株式会社")])
    messages, events = run(ActionAnswer(), first)
    assert "保育所" in only_text(messages)
    follow = make_tracker("どこで実証したのですか", "ask_presentation", [("attribute", "どこ", "where")],
                          slots=next_slots(first.slots, events))
    messages, _ = run(ActionAnswer(), follow)
    assert "さいたま市" in only_text(messages)


def test_assembly_answer_sets_context_and_people_follow_up(kb_env):
    tracker = make_tracker("第7回総会について知りたいです", "ask_assembly", [("assembly_number", "第7回", "7")])
    messages, events = run(ActionAnswer(), tracker)
    text = only_text(messages)
    assert "2月7日" in text and "天空劇場" in text
    assert_polite(text)
    slots = next_slots(tracker.slots, events)
    assert slots["subject_type"] == "assembly" and slots["assembly_number"] == "7"
    assert slots["presentation_id"] is None

    follow = make_tracker("何名来ましたか", "ask_assembly", [("attribute", "何名", "people")],
                          slots=next_slots(tracker.slots, events))
    messages, _ = run(ActionAnswer(), follow)
    assert "192" in only_text(messages)


def test_assembly_question_after_a_presentation(kb_env):
    slots = {"subject_type": "presentation", "assembly_number": "7", "presentation_id": None, "municipality_code": None}
    first = make_tracker("三菱総研の発表", "ask_presentation", [("organization", "三菱総研", "株式会社三菱総合研究所")])
    _, events = run(ActionAnswer(), first)
    slots = next_slots(slots, events)
    assert slots["presentation_id"] is not None
    follow = make_tracker("総会の参加人数は", "ask_assembly", [("attribute", "参加人数", "people")], slots=slots)
    messages, _ = run(ActionAnswer(), follow)
    text = only_text(messages)
    assert "192" in text and "103" in text


def test_municipality_answer_sets_code_slot(kb_env):
    tracker = make_tracker("足立区の団体コードは", "ask_municipality",
                           [("municipality", "足立区", "足立区"), ("attribute", "団体コード", "code")])
    messages, events = run(ActionAnswer(), tracker)
    assert "131211" in only_text(messages)
    slots = next_slots(tracker.slots, events)
    assert slots["subject_type"] == "municipality" and slots["municipality_code"] == "131211"

    follow = make_tracker("何県ですか", "ask_municipality", [("attribute", "何県", "prefecture")],
                          slots=next_slots(tracker.slots, events))
    messages, _ = run(ActionAnswer(), follow)
    assert "東京都" in only_text(messages)


def test_ambiguous_municipality_sends_buttons_whose_payloads_resolve(kb_env, gazetteer):
    tracker = make_tracker("府中市の団体コードを知りたい", "ask_municipality",
                           [("municipality", "府中市", "府中市"), ("attribute", "団体コード", "code")])
    messages, events = run(ActionAnswer(), tracker)
    text = only_text(messages)
    assert_polite(text)
    buttons = messages[0]["buttons"]
    assert [b["title"] for b in buttons] == ["東京都府中市", "広島県府中市"]
    assert all(b["payload"] for b in buttons)
    assert "132063" not in text and "342084" not in text
    assert next_slots(tracker.slots, events).get("municipality_code") is None
    codes = {}
    for button in buttons:
        chosen = parsed_tracker(gazetteer, button["payload"], "ask_municipality",
                                slots=next_slots(tracker.slots, events))
        answer_messages, answer_events = run(ActionAnswer(), chosen)
        assert answer_messages[0]["buttons"] == list(FEEDBACK_BUTTONS)
        codes[button["title"]] = next_slots(chosen.slots, answer_events)["municipality_code"]
        assert codes[button["title"]] in only_text(answer_messages)
    assert codes == {"東京都府中市": "132063", "広島県府中市": "342084"}


def test_unknown_assembly_via_action(kb_env):
    tracker = make_tracker("第3回総会の会場はどこでしたか", "ask_assembly",
                           [("assembly_number", "第3回", "3"), ("attribute", "会場", "where"),
                            ("attribute", "どこ", "where")])
    messages, events = run(ActionAnswer(), tracker)
    text = only_text(messages)
    assert "第3回" in text and "ありません" in text
    for fact in ("天空劇場", "2月7日", "192"):
        assert fact not in text
    assert next_slots(tracker.slots, events).get("assembly_number") != "7"


@pytest.mark.parametrize("bad_slot", ["abc", "", "7.5"])
def test_unparseable_context_slots_are_ignored(kb_env, bad_slot):
    tracker = make_tracker("会場はどこですか", "ask_assembly", [("attribute", "会場", "where")],
                           slots={"assembly_number": bad_slot, "presentation_id": bad_slot})
    messages, _ = run(ActionAnswer(), tracker)
    assert "天空劇場" in only_text(messages)


def test_slot_values_from_rasa_are_strings(kb_env):
    # Rasa keeps the context in text slots; a presentation id arrives as a string
    first = make_tracker("京都府の発表", "ask_presentation", [("municipality", "京都府", "京都府")])
    _, events = run(ActionAnswer(), first)
    slots = next_slots(first.slots, events)
    follow = make_tracker("話したのはどなたですか", "ask_presentation", [("attribute", "どなた", "speaker")],
                          slots=slots)
    messages, _ = run(ActionAnswer(), follow)
    assert "原田" in only_text(messages)
    assert all(v is None or isinstance(v, str) for v in slots.values())


# -- a broken database --------------------------------------------------------------------------
def _empty_sqlite(tmp_path) -> str:
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()  # a database file with no tables
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    "make_url",
    [
        _empty_sqlite,
        lambda tmp_path: f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'kb.sqlite3'}",
        lambda tmp_path: "nosuchdialect://user@localhost/kb",
    ],
    ids=["no-tables", "missing-directory", "unknown-dialect"],
)
def test_broken_database_gives_a_polite_apology(tmp_path, monkeypatch, caplog, make_url):
    monkeypatch.setenv("MADOGUCHI_DB_URL", make_url(tmp_path))
    db.dispose_all()
    try:
        text_asked = "第7回総会の会場はどこですか"
        tracker = make_tracker(text_asked, "ask_assembly",
                               [("assembly_number", "第7回", "7"), ("attribute", "会場", "where")])
        with caplog.at_level(logging.ERROR):
            messages, events = run(ActionAnswer(), tracker)
    finally:
        db.dispose_all()
    text = only_text(messages)
    assert "申し訳ありません" in text
    assert_polite(text)
    for leak in ("Traceback", "sqlite", "OperationalError", "Error", "天空劇場"):
        assert leak not in text
    assert events == []  # the context is left as it was
    assert caplog.records, "the failure is logged for the operator"
    assert all(text_asked not in r.getMessage() for r in caplog.records)  # the user's words are not logged


def test_fallback_is_polite_and_suggests_questions(kb_env):
    tracker = make_tracker("ぴよぴよ", "nlu_fallback")
    messages, events = run(ActionDefaultFallback(), tracker)
    text = only_text(messages)
    assert "申し訳ありません" in text
    assert "総会" in text and "団体コード" in text  # says what can be asked
    assert_polite(text)
    assert events == [{"event": "slot", "name": "failed_turns", "timestamp": None, "value": "1"}]  # 1st failed turn


def test_fallback_without_words_uses_the_empty_message_response(kb_env):
    # a sticker, emoji or punctuation only: the domain's utter_empty asks for a written question
    domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for text in ("???", "", "👍"):
        messages, events = run(ActionDefaultFallback(), make_tracker(text, "nlu_fallback"))
        assert len(messages) == 1 and messages[0]["response"] == "utter_empty", messages
        assert events == []
    assert "utter_empty" in domain["responses"]
    assert_polite(domain["responses"]["utter_empty"][0]["text"])


def test_fallback_needs_no_database(tmp_path, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_DB_URL", f"sqlite:///{tmp_path / 'missing' / 'kb.sqlite3'}")
    db.dispose_all()
    try:
        messages, _ = run(ActionDefaultFallback(), make_tracker("ぴよぴよ", "nlu_fallback"))
    finally:
        db.dispose_all()
    assert "申し訳ありません" in only_text(messages)


def test_an_answer_stores_only_the_context_slots_that_change(kb_env):
    # every event is written to the tracker store on each turn: a follow-up on the same presentation
    # changes no context slot, so it sets none (but still marks the turn as answered)
    first = make_tracker("墨田区の発表について教えてください", "ask_presentation",
                         [("municipality", "墨田区", "墨田区")])
    _, events = run(ActionAnswer(), first)
    follow = make_tracker("今後はどうされるのですか", "ask_presentation", [("attribute", "今後", "plan")],
                          slots=next_slots(first.slots, events))
    _, events2 = run(ActionAnswer(), follow)
    assert set(slots_set(events2)) == {"answer_source"}
