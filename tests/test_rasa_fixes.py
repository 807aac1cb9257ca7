"""The fast check of action-server replies accepts exactly what Rasa's schema accepts, and a bad reply
still fails with Rasa's validation error (bot/rasa_fixes.py)."""
from __future__ import annotations

import copy

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from bot.rasa_fixes import ActionResponseCheck, close_kept_sessions, install

SCHEMA = RemoteAction.action_response_format_spec()
GOOD_EVENTS = [
    SlotSet("municipality", "吉川市").as_dict(),
    SlotSet("answer_source", None).as_dict(),
    BotUttered("吉川市は埼玉県の市です。", {"buttons": [{"title": "人口", "payload": "/ask_municipality"}]}).as_dict(),
    UserUttered("吉川市は?", {"intent": {"name": "ask_municipality", "confidence": 0.9}, "entities": []}).as_dict(),
    ActionExecuted("action_answer").as_dict(),
    FollowupAction("action_listen").as_dict(),
    ActiveLoop(None).as_dict(),
    AllSlotsReset().as_dict(),
    Restarted().as_dict(),
    SessionStarted().as_dict(),
]


def _reply(events):
    return {"events": events, "responses": [{"text": "吉川市は埼玉県の市です。", "buttons": []}]}


def _broken_replies():
    yield {"events": "slot"}  # not a list
    yield _reply([{"timestamp": None, "name": "x"}])  # no event name
    yield _reply([{"event": "teleport"}])  # no such event
    yield _reply([{"event": "slot", "name": 3, "value": "x"}])  # slot name not a string
    yield _reply([{"event": "user", "parse_data": {"entities": [{"start": 0}]}}])  # entity without name/value
    yield _reply([{**GOOD_EVENTS[0], "timestamp": "yesterday"}])
    yield {"events": [], "responses": "吉川市"}


def test_every_kind_of_valid_reply_is_accepted():
    check = ActionResponseCheck(SCHEMA)
    full = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    for event in GOOD_EVENTS:
        assert full.is_valid(_reply([event])), event  # the fixture itself is valid for Rasa
        assert check.accepts(_reply([event])), event
    assert check.accepts(_reply(GOOD_EVENTS))
    assert check.accepts({"events": [], "responses": []})


def test_the_check_agrees_with_the_full_schema_on_every_reply():
    check = ActionResponseCheck(SCHEMA)
    full = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    # Rasa's schema is lax about some events (a followup without a name, a bot text that is a list)
    lax = [_reply([{"event": "followup"}]), _reply([{"event": "bot", "text": ["a", "b"]}])]
    replies = [_reply([e]) for e in GOOD_EVENTS] + list(_broken_replies()) + lax
    assert [check.accepts(r) for r in replies] == [full.is_valid(r) for r in replies]


@pytest.mark.parametrize("reply", list(_broken_replies()))
def test_a_broken_reply_is_rejected_like_rasa_rejects_it(reply):
    check = ActionResponseCheck(SCHEMA)
    assert not check.accepts(reply)
    install()
    with pytest.raises(jsonschema.ValidationError) as raised:
        RemoteAction("action_answer", None)._validate_action_result(copy.deepcopy(reply))
    with pytest.raises(jsonschema.ValidationError) as rasa_error:
        jsonschema.validate(reply, SCHEMA)
    assert raised.value.message.startswith(rasa_error.value.message)
    assert "Failed to validate Action server response" in raised.value.message


def _serve_and_call(handler, calls):
    """Runs an aiohttp server on a free port, makes ``calls(endpoint)`` against it, returns the result."""
    import asyncio

    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    async def main():
        app = web.Application()
        app.router.add_post("/webhook", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            return await calls(EndpointConfig(url=f"http://127.0.0.1:{port}/webhook", headers={"X-Guide": "madoguchi"}))
        finally:
            await close_kept_sessions()
            await runner.cleanup()

    install()
    return asyncio.run(main())


def test_action_calls_reuse_one_connection_and_keep_rasas_headers():
    from aiohttp import web

    peers, headers = [], []

    async def handler(request):
        peers.append(request.transport.get_extra_info("peername"))
        headers.append(request.headers.get("X-Guide"))
        return web.json_response({"events": [], "responses": [{"text": f"{len(peers)}件目です。"}]})

    async def calls(endpoint):
        return [await endpoint.request(json={"next_action": "action_answer"}, method="post") for _ in range(3)]

    replies = _serve_and_call(handler, calls)
    assert [r["responses"][0]["text"] for r in replies] == ["1件目です。", "2件目です。", "3件目です。"]
    assert len(set(peers)) == 1, peers  # one kept-alive connection, not one per call
    assert headers == ["madoguchi"] * 3


def test_a_connection_the_action_server_closed_is_not_reused():
    from aiohttp import web

    peers = []

    async def handler(request):
        peers.append(request.transport.get_extra_info("peername"))
        # the server ends every connection after its reply, as a restarting action server would
        return web.json_response({"events": [], "responses": []}, headers={"Connection": "close"})

    async def calls(endpoint):
        return [await endpoint.request(json={}, method="post") for _ in range(3)]

    assert _serve_and_call(handler, calls) == [{"events": [], "responses": []}] * 3
    assert len(set(peers)) == 3


def test_an_error_status_still_raises_rasas_error():
    from aiohttp import web
    from rasa.utils.endpoints import ClientResponseError

    async def handler(request):
        return web.json_response({"action_name": "action_answer", "error": "no"}, status=400)

    async def calls(endpoint):
        with pytest.raises(ClientResponseError) as raised:
            await endpoint.request(json={}, method="post")
        return raised.value.status

    assert _serve_and_call(handler, calls) == 400
