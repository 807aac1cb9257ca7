"""Custom actions run inside the Rasa process (bot/action_runner.py): the same replies as the real action
server for the same calls, and every kind of failure handled as Rasa handles the action server's."""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
import urllib.request

import faulty_actions
import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from servers import BIN, REPO, free_port, post_json

from bot import action_runner
from bot.kb import db, loader
from bot.nlp.normalize import normalize

DOMAIN = Domain.load(str(REPO / "domain.yml"))
INPROCESS = EndpointConfig("inprocess:actions")
FAULTY = EndpointConfig("inprocess:faulty_actions")  # tests/faulty_actions.py

# (action, intent, message): two conversations of several turns, each turn on the previous turns' slots.
CONVERSATIONS = [
    [("action_answer", "ask_presentation", "吉川市の発表について教えて"),
     ("action_answer", "ask_presentation", "その発表者は？"),
     ("action_answer", "ask_presentation", "他には？"),
     ("action_answer", "ask_assembly", "第7回総会の会場はどこですか")],
    [("action_answer", "ask_municipality", "府中市の人口は？"),
     ("action_out_of_scope", "out_of_scope", "明日の天気は？"),
     ("action_help", "help", "何が聞けますか"),
     ("action_default_fallback", "nlu_fallback", "マイナンバーカードの申請方法")],
]


@pytest.fixture(scope="module")
def kb_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('runner_kb') / 'kb.sqlite3'}"
    loader.load(url=url)
    db.dispose_all()
    return url


@pytest.fixture
def kb_env(kb_url, monkeypatch):
    """This process's actions (the in-process runner) read the test knowledge base."""
    monkeypatch.setenv("MADOGUCHI_DB_URL", kb_url)
    db.dispose_all()
    action_runner.install()
    yield kb_url
    db.dispose_all()


@pytest.fixture(scope="module")
def action_server(kb_url, tmp_path_factory):
    """The real action server (`rasa run actions`) on the same knowledge base."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("action_server") / "actions.log", "wb")
    proc = subprocess.Popen(
        [str(BIN / "python"), "-m", "bot.serve", "run", "actions", "--actions", "actions", "--port", str(port)],
        cwd=REPO, env={**os.environ, "MADOGUCHI_DB_URL": kb_url}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, f"action server exited; see {log.name}"
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).status == 200:
                break
        except OSError:
            assert time.monotonic() < deadline, f"action server not up; see {log.name}"
            time.sleep(0.5)
    yield f"http://127.0.0.1:{port}/webhook"
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def gazetteer():
    from bot.nlp.annotate import load_gazetteer

    return load_gazetteer()


def user_turn(gazetteer, intent: str, text: str) -> list:
    from bot.nlp.entities import extract

    text = normalize(text)
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.95},
             "intent_ranking": [{"name": intent, "confidence": 0.95}], "entities": extract(gazetteer, text)}
    return [ActionExecuted("action_listen"), UserUttered(text, parse["intent"], parse["entities"], parse)]


def call_for(action: str, events: list) -> dict:
    tracker = DialogueStateTracker.from_events("runner-test", events, slots=DOMAIN.slots)
    return RemoteAction(action, INPROCESS)._action_call_format(tracker, DOMAIN)


def test_the_in_process_runner_replies_exactly_as_the_action_server(kb_env, action_server, gazetteer):
    for conversation in CONVERSATIONS:
        events: list = []
        for action, intent, text in conversation:
            events += user_turn(gazetteer, intent, text)
            call = call_for(action, events)
            status, body = post_json(action_server, call)
            assert status == 200, body[:300]
            over_http = json.loads(body)
            in_process = asyncio.run(action_runner.run("actions", call))
            assert in_process == over_http, text
            assert any(r.get("text") or r.get("response") for r in in_process["responses"]), text
            events += deserialise_events(in_process["events"])
            events += [BotUttered(r.get("text"), {k: v for k, v in r.items() if k != "text"})
                       for r in in_process["responses"]]
            events.append(ActionExecuted(action))


def test_follow_ups_keep_their_subject_through_the_runner(kb_env, gazetteer):
    events = user_turn(gazetteer, "ask_presentation", "吉川市の発表について教えて")
    first = asyncio.run(action_runner.run("actions", call_for("action_answer", events)))
    events += deserialise_events(first["events"]) + [ActionExecuted("action_answer")]
    events += user_turn(gazetteer, "ask_presentation", "その発表者は？")
    second = asyncio.run(action_runner.run("actions", call_for("action_answer", events)))
    first_text, second_text = first["responses"][0]["text"], second["responses"][0]["text"]
    assert "吉川市" in first_text
    assert "吉川市" in second_text and second_text != first_text  # the speaker of that same presentation


async def _run_remote(name: str, endpoint: EndpointConfig, text: str = "こんにちは", intent: str = "greet") -> list:
    events = [ActionExecuted("action_listen"), UserUttered(text, {"name": intent, "confidence": 0.9})]
    tracker = DialogueStateTracker.from_events("runner-faults", events, slots=DOMAIN.slots)
    return await RemoteAction(name, endpoint).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(DOMAIN.responses), tracker, DOMAIN)


def test_an_action_that_raises_fails_the_turn_as_an_action_server_error_would(kb_env, caplog):
    with pytest.raises(RasaException, match="action_explodes"):
        asyncio.run(_run_remote("action_explodes", FAULTY))
    assert "データベースに接続できません" in caplog.text  # the cause is logged, with the traceback


def test_a_rejected_action_is_rasas_rejection(kb_env):
    with pytest.raises(ActionExecutionRejection, match="この場面では実行できません"):
        asyncio.run(_run_remote("action_rejects", FAULTY))


def test_an_action_the_package_does_not_have_and_a_reply_that_is_not_json_fail_the_turn(kb_env, caplog):
    with pytest.raises(RasaException, match="action_nobody_wrote"):
        asyncio.run(_run_remote("action_nobody_wrote", FAULTY))
    assert "No registered action found for name 'action_nobody_wrote'" in caplog.text
    with pytest.raises(RasaException, match="action_sets_a_set"):
        asyncio.run(_run_remote("action_sets_a_set", FAULTY))


def test_after_failures_the_runner_still_answers(kb_env):
    for name in ("action_explodes", "action_rejects", "action_sets_a_set"):
        with pytest.raises(RasaException):
            asyncio.run(_run_remote(name, FAULTY))
    events = asyncio.run(_run_remote("action_echoes", FAULTY, "府中市の人口"))
    assert [e.text for e in events if isinstance(e, BotUttered)] == ["「府中市の人口」を受け取りました。"]


def test_a_package_that_cannot_be_loaded_fails_the_turn_not_the_server(kb_env, caplog):
    # rasa_sdk ends the process (sys.exit) when a package fails to import; here only the turn fails
    with pytest.raises(RasaException, match="action_answer"):
        asyncio.run(_run_remote("action_answer", EndpointConfig("inprocess:no_such_actions_package")))
    assert "no_such_actions_package" in caplog.text
    events = asyncio.run(_run_remote("action_echoes", FAULTY, "次の質問"))
    assert [e.text for e in events if isinstance(e, BotUttered)] == ["「次の質問」を受け取りました。"]


def _faulty_call(name: str) -> dict:
    events = [ActionExecuted("action_listen"),
              UserUttered("府中市の人口", {"name": "ask_municipality", "confidence": 0.9},
                          [{"entity": "municipality", "value": "府中市", "start": 0, "end": 3}])]
    return call_for(name, events)


def test_actions_run_side_by_side_so_one_waiting_action_does_not_hold_up_the_next(kb_env):
    faulty_actions.SIGNAL.clear()

    async def both():  # the first blocks its thread until the second has run
        return await asyncio.gather(action_runner.run("faulty_actions", _faulty_call("action_waits_for_signal")),
                                    action_runner.run("faulty_actions", _faulty_call("action_signals")))

    waited, signalled = asyncio.run(both())
    assert waited["responses"][0]["text"] == "合図を受けました。"
    assert signalled["responses"][0]["text"] == "合図しました。"


def test_an_action_with_no_reply_in_time_ends_the_turn_as_rasas_timeout_would(kb_env):
    faulty_actions.SIGNAL.clear()
    try:
        with pytest.raises(ClientResponseError) as raised:
            asyncio.run(action_runner.run("faulty_actions", _faulty_call("action_waits_for_signal"), timeout=0.5))
        assert raised.value.status == 504
    finally:
        faulty_actions.SIGNAL.set()  # lets the worker thread finish the action


def test_an_action_cannot_change_rasas_tracker_or_domain(kb_env):
    call = _faulty_call("action_mutates_its_call")
    before = json.dumps(call, sort_keys=True)
    intents = list(DOMAIN.as_dict()["intents"])
    reply = asyncio.run(action_runner.run("faulty_actions", call))
    assert reply == {"events": [], "responses": []}
    assert json.dumps(call, sort_keys=True) == before
    assert DOMAIN.as_dict()["intents"] == intents


def test_an_endpoint_that_names_no_package_is_refused_with_the_form_to_use():
    with pytest.raises(ValueError, match="inprocess:actions"):
        action_runner.package_of("inprocess:")
    assert action_runner.package_of("http://localhost:5055/webhook") is None
    assert action_runner.package_of("inprocess:actions") == "actions"


def test_other_endpoints_still_go_over_http(kb_env, action_server):
    events = asyncio.run(_remote_over_http(action_server))
    assert any(isinstance(e, BotUttered) and e.text for e in events)


async def _remote_over_http(url: str) -> list:
    from bot.rasa_fixes import close_kept_sessions

    try:
        return await _run_remote("action_help", EndpointConfig(url), "何が聞けますか", "help")
    finally:
        await close_kept_sessions()


def test_the_actions_package_is_loaded_at_start_up_and_a_broken_one_only_logs(kb_env, caplog):
    caplog.set_level("INFO", logger="bot.action_runner")
    asyncio.run(action_runner.preload("inprocess:faulty_actions"))
    assert re.search(r"custom actions run in this process: \d+ actions from 'faulty_actions'", caplog.text)
    caplog.clear()
    asyncio.run(action_runner.preload("inprocess:no_such_actions_package"))  # does not raise
    assert "custom actions cannot run in this process" in caplog.text and "no_such_actions_package" in caplog.text
    caplog.clear()
    asyncio.run(action_runner.preload("http://127.0.0.1:5055/webhook"))  # an action server: nothing to load
    asyncio.run(action_runner.preload(None))
    assert caplog.text == ""


def test_the_action_server_survives_a_negative_content_length(action_server):
    """The action server is Sanic 21.12 too: bot.serve guards its app as it does Rasa's (issue 16 review)."""
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(action_server).port
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{\"next_action\": 1}")
        answer = sock.recv(4096)
    assert answer.split(b" ", 2)[1] == b"400"
    assert urllib.request.urlopen(action_server.replace("/webhook", "/health"), timeout=10).status == 200
