"""Runs the custom actions inside the Rasa server process, for an action endpoint ``inprocess:<package>``.

`make run` points Rasa's action endpoint at ``inprocess:actions`` instead of a separate action server
(``rasa run actions``). Rasa's ``RemoteAction`` still builds the call it would POST; :func:`request` hands
it to rasa_sdk's ``ActionExecutor`` (the action server's own code, with the package loaded once) and
returns the executor's reply, as plain JSON like the action server's. Profiling showed the HTTP hop
(payload JSON, request, response JSON, the action server's own handling) to be most of what a knowledge
answer costs beyond a fixed response; run in the process, the same actions answer without it.

The actions run on a few worker threads, each with its own event loop (rasa_sdk's executor, as in the
action server), never on Rasa's: an action waiting on its database (a knowledge base locked by a
rebuild, a slow PostgreSQL) holds up only its own conversation, while Rasa goes on serving the others.

Errors take the action server's form, so Rasa handles them as it handles the server's: an action that
rejects its execution is a 400 (Rasa raises ``ActionExecutionRejection``), an action the package does not
have a 404, any other exception in an action (or an actions package that cannot be loaded) a 500, and
an action with no reply after Rasa's request timeout (300 s) a 504: Rasa logs it and the turn ends
without a reply, which ``bot.channels.resilient`` answers with its apology. Nothing of the failed turn
is stored but what Rasa stores for a failed action-server call.

An action gets the call as JSON (a copy, as over HTTP) and its reply goes back through JSON, so the
tracker store receives only plain JSON values.

Every other endpoint URL goes to Rasa's own ``EndpointConfig.request`` unchanged.
"""
from __future__ import annotations

import asyncio
import atexit
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Optional, Text

from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

SCHEME = "inprocess:"
WORKERS = 4  # actions running at once; more wait their turn (the action server ran one at a time)
logger = logging.getLogger(__name__)
_executors: Dict[Text, ActionExecutor] = {}
_registering = threading.Lock()
_workers = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="madoguchi-actions")
_worker_state = threading.local()
atexit.register(_workers.shutdown, wait=False, cancel_futures=True)  # queued actions are not started at exit
_rasa_request = EndpointConfig.request


def package_of(url: Optional[Text]) -> Optional[Text]:
    """The actions package an ``inprocess:<package>`` URL names (None for any other URL)."""
    if not url or not url.startswith(SCHEME):
        return None
    package = url[len(SCHEME):].strip("/")
    if not package:
        raise ValueError(f"action endpoint {url!r}: name the actions package, e.g. {SCHEME}actions")
    return package


def executor_for(package: Text) -> ActionExecutor:
    """The executor with ``package``'s actions, loaded on first use (a package that cannot be loaded
    raises ``RuntimeError``: rasa_sdk would end the whole process with ``sys.exit``)."""
    with _registering:
        executor = _executors.get(package)
        if executor is None:
            executor = ActionExecutor()
            try:
                executor.register_package(package)
            except (Exception, SystemExit) as e:
                raise RuntimeError(f"the actions package {package!r} cannot be loaded: {e!r}") from None
            if not executor.actions:
                raise RuntimeError(f"the package {package!r} holds no rasa_sdk actions")
            _executors[package] = executor
    return executor


def _error(status: int, reason: Text, body: Dict[Text, Any]) -> ClientResponseError:
    return ClientResponseError(status, reason, json.dumps(body, ensure_ascii=False))


async def run(package: Text, action_call: Dict[Text, Any],
              timeout: float = DEFAULT_REQUEST_TIMEOUT) -> Dict[Text, Any]:
    """The action server's reply to ``action_call``, or its error as a ``ClientResponseError``, computed
    on a worker thread. After ``timeout`` seconds the turn ends as Rasa's own timeout would end it (the
    worker thread finishes the action in the background)."""
    # Over HTTP an action received its own copy of the call; here, too, it gets JSON, never Rasa's live
    # tracker and domain objects (which it could otherwise change from another thread).
    call = json.loads(json.dumps(action_call))
    work = asyncio.get_running_loop().run_in_executor(_workers, _run_on_worker, package, call)
    try:
        return await asyncio.wait_for(work, timeout)
    except asyncio.TimeoutError:
        logger.error("custom action %r gave no reply within %.0f s", call.get("next_action"), timeout)
        raise _error(504, "Gateway Timeout", {"error": f"no reply within {timeout:.0f} s"}) from None


def _run_on_worker(package: Text, action_call: Dict[Text, Any]) -> Dict[Text, Any]:
    loop = getattr(_worker_state, "loop", None)
    if loop is None:
        loop = _worker_state.loop = asyncio.new_event_loop()
    return loop.run_until_complete(_execute(package, action_call))


async def _execute(package: Text, action_call: Dict[Text, Any]) -> Dict[Text, Any]:
    try:
        result = await executor_for(package).run(action_call)
    except ActionExecutionRejection as e:
        raise _error(400, "Bad Request", {"error": e.message, "action_name": e.action_name}) from e
    except ActionNotFoundException as e:
        logger.error(e)
        raise _error(404, "Not Found", {"error": e.message, "action_name": e.action_name}) from e
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # an action's bug, a package that cannot be loaded, a cancelled
        # coroutine in an action, its sys.exit: each ends this turn as the action server's 500 did
        logger.exception("custom action %r failed", action_call.get("next_action"))
        raise _error(500, "Internal Server Error", {"error": str(e)}) from None
    # A round trip through JSON, as over HTTP: the tracker store receives only plain JSON values, and a
    # reply that cannot be sent (a set, a date) fails here as the action server's would.
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as e:
        logger.error("custom action %r replied with non-JSON values: %s", action_call.get("next_action"), e)
        raise _error(500, "Internal Server Error", {"error": str(e)}) from None


async def request(self: EndpointConfig, method: Text = "post", subpath: Optional[Text] = None,
                  content_type: Optional[Text] = "application/json", compress: bool = False,
                  **kwargs: Any) -> Optional[Any]:
    package = package_of(self.url)
    if package is None:
        return await _rasa_request(self, method, subpath, content_type, compress, **kwargs)
    timeout = kwargs.get("timeout")  # Rasa passes seconds; an aiohttp.ClientTimeout has them as .total
    timeout = timeout if isinstance(timeout, (int, float)) else getattr(timeout, "total", None)
    return await run(package, kwargs.get("json") or {}, timeout or DEFAULT_REQUEST_TIMEOUT)


async def preload(url: Optional[Text]) -> None:
    """Loads the actions package of an ``inprocess:`` endpoint (on a worker thread), so the first user
    does not wait for the import and a package that cannot be loaded shows in the log at start-up.
    The server starts either way: its turns that need the actions then end with the apology."""
    try:
        package = package_of(url)
        if package is None:
            return
        executor = await asyncio.get_running_loop().run_in_executor(_workers, executor_for, package)
    except (ValueError, RuntimeError) as e:
        logger.error("custom actions cannot run in this process: %s", e)
        return
    logger.info("custom actions run in this process: %d actions from %r", len(executor.actions), package)


def preload_on_start(app: Any) -> Any:
    """Adds :func:`preload` to the server start of ``app`` (a Sanic app or blueprint; Rasa's agent, with
    its endpoints, is loaded by then). bot.runtime adds it to the app ``rasa run`` builds."""
    async def load(app: Any, _loop: Any) -> None:
        endpoint = getattr(getattr(app.ctx, "agent", None), "action_endpoint", None)
        await preload(getattr(endpoint, "url", None))

    app.after_server_start(load)
    return app


def install() -> None:
    EndpointConfig.request = request  # type: ignore[method-assign]
