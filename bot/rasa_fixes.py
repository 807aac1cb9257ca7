"""Fixes to Rasa 3.6 applied inside the Rasa server process (installed on import of our NLU components).

Action-response validation: ``RemoteAction._validate_action_result`` calls ``jsonschema.validate``
on every custom-action reply, and jsonschema 4.17 (Rasa's pin) re-validates the *schema* against the
2020-12 meta-schema on each call. Profiling a knowledge question with py-spy showed 62% of the Rasa
server's CPU in that meta-schema check (~60 ms of a 135 ms reply). The replacement checks the schema
once, keeps one validator, and still validates every reply with the same error Rasa raises.

Even with one validator, a reply of four events took ~3 ms: each event is tried against every branch
of the schema's ``oneOf`` (one per event type, ~20). :class:`ActionResponseCheck` tries each event
against the branches for its own ``event`` name only, which accepts exactly the replies the schema
accepts (a branch whose ``const`` names another event cannot match); a reply it does not accept goes
through the full validator, so the error raised is Rasa's.

Action-server connections: ``EndpointConfig.request`` opens a new ``aiohttp.ClientSession`` (and so a
new TCP connection) for every custom-action call and closes it after the reply, ~2 ms of each answer.
:func:`kept_session` hands ``request`` one session per endpoint settings and event loop that stays
open, so calls reuse a kept-alive connection. The client lets an idle connection go after
``KEEPALIVE_SECONDS``, before the action server (Sanic, 5 s) closes its end.
"""
from __future__ import annotations

import asyncio
import copy
import weakref
from typing import Any, Dict, List, Optional, Text, Tuple

import aiohttp
import jsonschema
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.constants import DOCS_BASE_URL
from rasa.utils.endpoints import EndpointConfig

_validator: Optional[Any] = None


def action_response_validator() -> Any:
    """One validator for Rasa's action-server response schema (the schema is checked once)."""
    global _validator
    if _validator is None:
        schema = RemoteAction.action_response_format_spec()
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    return _validator


class ActionResponseCheck:
    """Fast acceptance of a valid action-server reply (see module docstring)."""

    def __init__(self, schema: Dict[Text, Any]) -> None:
        cls = jsonschema.validators.validator_for(schema)
        shell = copy.deepcopy(schema)
        item = shell["properties"]["events"]["items"]
        branches: List[Dict[Text, Any]] = item.pop("oneOf")
        self._shell = cls(shell)
        self._branches: Dict[Optional[str], List[Any]] = {}
        for branch in branches:
            name = branch.get("properties", {}).get("event", {}).get("const")
            self._branches.setdefault(name, []).append(cls(branch))
        self._any = self._branches.pop(None, [])  # branches without a const apply to every event

    def accepts(self, result: Any) -> bool:
        if not self._shell.is_valid(result):
            return False
        for event in result.get("events") or []:
            candidates = self._branches.get(event["event"], []) + self._any
            if sum(1 for validator in candidates if validator.is_valid(event)) != 1:
                return False
        return True


_check: Optional[ActionResponseCheck] = None


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    global _check
    if _check is None:
        _check = ActionResponseCheck(RemoteAction.action_response_format_spec())
    if _check.accepts(result):
        return True
    error: Optional[ValidationError] = best_match(action_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


KEEPALIVE_SECONDS = 3.0
_rasa_session = EndpointConfig.session
_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[Tuple[Any, ...], aiohttp.ClientSession]]" = (
    weakref.WeakKeyDictionary())


class _KeptOpen:
    """``async with`` yields the shared session and leaves it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def kept_session(self: EndpointConfig) -> Any:
    """One open client session per event loop and endpoint settings (see module docstring)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not called from a coroutine: Rasa's own session, closed by its caller
        return _rasa_session(self)
    key = (tuple(sorted((k, str(v)) for k, v in self.headers.items())),
           tuple(sorted(self.basic_auth.items())))
    sessions = _sessions.setdefault(loop, {})
    session = sessions.get(key)
    if session is None or session.closed:
        auth = (aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                if self.basic_auth else None)
        session = aiohttp.ClientSession(  # as Rasa's, with a connector that keeps connections
            headers=self.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
        )
        sessions[key] = session
    return _KeptOpen(session)


async def close_kept_sessions() -> None:
    """Closes the sessions kept for the running event loop (before the loop itself is closed)."""
    for session in _sessions.pop(asyncio.get_running_loop(), {}).values():
        await session.close()


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    EndpointConfig.session = kept_session  # type: ignore[method-assign]
