"""The web chat's socket.io sessions belong to their owner (issue 16), against the real Rasa server.

Real python-socketio clients talk to the real server (its actions inside it, as `make run`). Each client
comes from its own address (``X-Forwarded-For``, honoured because the server runs with one proxy in
front: ``SANIC_PROXIES_COUNT`` / ``MADOGUCHI_PROXIES_COUNT``), so the per-address rate limit of one test
never touches another's. What the server stored is read from its SQLite tracker store.

Also, without a server: the session secret, the tokens, the allowed origins, the bindings.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import os
import re
import sqlite3
import stat
import urllib.error
import urllib.request
import uuid
from typing import ClassVar

import aiohttp
import pytest
import socketio
from servers import RasaStack

from bot.channels import socketio as channel
from bot.channels.guard import RATE_LIMITED, TOO_LONG

ALLOWED = "https://www.city.example.lg.jp"
EVIL = "https://evil.example"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ADDRESSES = (f"198.51.100.{n}" for n in itertools.count(10))


# ---- without a server -------------------------------------------------------------------------------

def test_the_secret_file_is_made_once_private_and_reused(tmp_path):
    path = tmp_path / "var" / "session_secret"
    env = {"MADOGUCHI_SESSION_SECRET_FILE": str(path)}
    first = channel.session_secret(env)
    assert len(first) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert channel.session_secret(env) == first  # a restart resumes conversations
    assert [p.name for p in path.parent.iterdir()] == ["session_secret"]  # no temporary file left


def test_the_environment_secret_wins_and_a_short_one_is_refused(tmp_path):
    path = tmp_path / "secret"
    secret = "s" * 40
    assert channel.session_secret({"MADOGUCHI_SESSION_SECRET": secret, "MADOGUCHI_SESSION_SECRET_FILE": str(path)}) \
        == secret.encode()
    assert not path.exists()
    with pytest.raises(channel.SessionSecretError) as refused:
        channel.session_secret({"MADOGUCHI_SESSION_SECRET": "short-secret"})
    assert "short-secret" not in str(refused.value)
    path.write_text("too short\n")
    with pytest.raises(channel.SessionSecretError):
        channel.session_secret({"MADOGUCHI_SESSION_SECRET_FILE": str(path)})


def test_a_token_verifies_only_for_its_session_and_secret():
    token = channel.session_token(b"k" * 32, "abcdef0123456789")
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert channel.token_matches(b"k" * 32, "abcdef0123456789", token)
    assert not channel.token_matches(b"k" * 32, "abcdef012345678X", token)
    assert not channel.token_matches(b"j" * 32, "abcdef0123456789", token)
    for wrong in (None, 12, token.upper(), token[:-1], [token], ""):
        assert not channel.token_matches(b"k" * 32, "abcdef0123456789", wrong)


@pytest.mark.parametrize(
    "value, env, expected",
    [
        ("https://a.example https://b.example/", {}, ["https://a.example", "https://b.example"]),
        (["https://a.example"], {}, ["https://a.example"]),
        (None, {"MADOGUCHI_CORS": "https://c.example"}, ["https://c.example"]),
        ("", {}, ["http://localhost:8080", "http://127.0.0.1:8080"]),
        (None, {"WEB_PORT": "9000"}, ["http://localhost:9000", "http://127.0.0.1:9000"]),
    ],
)
def test_allowed_origins(value, env, expected):
    assert channel.parse_origins(value, env) == expected


def test_the_credentials_pass_madoguchi_cors_to_the_web_chat():
    from bot.channels.credentials import credentials

    entry = credentials({"MADOGUCHI_CORS": "https://a.example"})["bot.channels.resilient.SocketIOInput"]
    assert entry["cors_allowed_origins"] == "${MADOGUCHI_CORS}"
    unset = credentials({})["bot.channels.resilient.SocketIOInput"]
    assert "cors_allowed_origins" not in unset  # the channel's default applies


def test_bindings_one_session_per_connection_several_connections_per_session():
    b = channel.SessionBindings()
    assert b.bind("sid1", "session-a") is None
    assert b.held_by_another("session-a", "sid2") and not b.held_by_another("session-a", "sid1")
    b.bind("sid2", "session-a")  # a second tab that showed the token
    assert b.bind("sid1", "session-b") == "session-a"
    assert b.session_of("sid1") == "session-b" and b.held_by_another("session-a", "sid1")
    b.disconnected("sid2")
    assert not b.held_by_another("session-a", "sid1") and b.session_of("sid2") is None and len(b) == 1


# ---- against the real server ----------------------------------------------------------------------

class SessionsStack(RasaStack):
    """The real server as `make run` starts it (``--cors`` from MADOGUCHI_CORS), behind one proxy."""

    def _spawn(self, name, args):
        if name == "rasa":
            args = [*args, "--cors", ALLOWED]
        return super()._spawn(name, args)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("socketio")
    env = {
        "MADOGUCHI_CORS": ALLOWED,
        "MADOGUCHI_SESSION_SECRET_FILE": str(workdir / "session_secret"),
        "SANIC_PROXIES_COUNT": "1",
        "MADOGUCHI_PROXIES_COUNT": "1",
        "MADOGUCHI_RATE": "1",
        "MADOGUCHI_BURST": "8",
    }
    from bot.kb.loader import load

    db_url = f"sqlite:///{workdir / 'kb.sqlite3'}"
    load(url=db_url)
    servers = SessionsStack(workdir, db_url, extra_env=env)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


class Client:
    """One browser tab's worth of socket.io: its own client address, the bot's messages in a queue.

    Long-polling only: python-engineio 4.15's websocket client needs aiohttp 3.10, and Rasa 3.6 pins
    3.9. (The widget test's Chromium upgrades to a websocket; the upgrade's Origin check is below.)
    """

    opened: ClassVar[list[Client]] = []

    def __init__(self, stack: RasaStack, address: str | None = None) -> None:
        self.url = stack.url
        self.address = address or next(ADDRESSES)
        self.http = aiohttp.ClientSession()
        self.sio = socketio.AsyncClient(reconnection=False, http_session=self.http)
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.confirms: asyncio.Queue = asyncio.Queue()
        self.sio.on("bot_uttered", self.inbox.put_nowait)
        self.sio.on("session_confirm", self.confirms.put_nowait)
        self.session_id: str | None = None
        Client.opened.append(self)

    async def connect(self, origin: str | None = ALLOWED, transports=("polling",)) -> Client:
        headers = {"X-Forwarded-For": self.address}
        if origin:
            headers["Origin"] = origin
        await self.sio.connect(self.url, headers=headers, transports=list(transports), socketio_path="/socket.io",
                               wait_timeout=15)
        return self

    async def session(self, session_id: str | None = None, token: str | None = None) -> dict:
        payload = {k: v for k, v in (("session_id", session_id), ("token", token)) if v is not None}
        await self.sio.emit("session_request", payload)
        confirmed = await asyncio.wait_for(self.confirms.get(), 15)
        if isinstance(confirmed, str):  # Rasa's own channel confirms the bare id (and no token)
            confirmed = {"session_id": confirmed, "token": None}
        self.session_id = confirmed["session_id"]
        return confirmed

    async def say(self, text, session_id: str | None = None) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id or self.session_id})

    async def replies(self, first: float = 60.0, quiet: float = 1.5) -> list[str]:
        """The bot's messages of one turn: the first within ``first`` s, then all until ``quiet`` s of silence."""
        out = [await asyncio.wait_for(self.inbox.get(), first)]
        while True:
            try:
                out.append(await asyncio.wait_for(self.inbox.get(), quiet))
            except asyncio.TimeoutError:
                return [m.get("text", "") for m in out]

    async def ask(self, text: str) -> str:
        await self.say(text)
        return "\n".join(await self.replies())

    async def received_within(self, seconds: float) -> list[str]:
        """The texts of every bot message that arrives within ``seconds``."""
        out = []
        try:
            while True:
                out.append((await asyncio.wait_for(self.inbox.get(), seconds)).get("text", ""))
        except asyncio.TimeoutError:
            return out

    async def nothing_within(self, seconds: float) -> bool:
        try:
            message = await asyncio.wait_for(self.inbox.get(), seconds)
        except asyncio.TimeoutError:
            return True
        raise AssertionError(f"unexpected bot message: {message!r}")

    async def close(self) -> None:
        """Disconnects (the server closes the socket at once) without waiting for the last long-poll GET,
        which the server only answers at its ping interval."""
        try:
            await asyncio.wait_for(self.sio.disconnect(), 1.5)
        except asyncio.TimeoutError:
            pass
        await self.http.close()


def run(coro):
    async def main():
        try:
            return await coro
        finally:
            for client in Client.opened:
                if not client.http.closed:
                    await client.http.close()
            Client.opened.clear()

    return asyncio.run(main())


def stored_user_texts(stack: RasaStack) -> dict[str, list[str]]:
    """Every stored user message, by tracker key."""
    out: dict[str, list[str]] = {}
    with sqlite3.connect(stack.tracker_db) as db:
        for sender, data in db.execute("SELECT sender_id, data FROM events WHERE type_name = 'user'"):
            out.setdefault(sender, []).append(json.loads(data).get("text"))
    return out


def conversation_texts(stack: RasaStack, session_id: str) -> list[str]:
    """What is stored for a web-chat session (under ``socketio:<id>``; under the bare id on a server
    that does not keep channels apart yet)."""
    stored = stored_user_texts(stack)
    return stored.get(f"socketio:{session_id}", []) + stored.get(session_id, [])


def test_another_clients_session_id_without_its_token_gets_a_new_session_and_none_of_its_replies(stack):
    async def scenario():
        owner = await Client(stack).connect()
        confirmed = await owner.session()
        assert "天空劇場" in await owner.ask("第7回総会の会場は？")

        intruder = await Client(stack).connect()
        asked_without_token = await intruder.session(owner.session_id)
        asked_with_wrong_token = await intruder.session(owner.session_id, "0" * 64)
        asked_with_other_token = await intruder.session(owner.session_id, asked_without_token["token"])
        for got in (asked_without_token, asked_with_wrong_token, asked_with_other_token):
            assert got["session_id"] != owner.session_id and got["token"] != confirmed["token"]

        assert "192" in await owner.ask("第7回総会の参加者数は？")
        assert await intruder.nothing_within(2)

        # Once the owner is gone, its stored conversation still cannot be taken without the token.
        await owner.close()
        later = await Client(stack).connect()
        assert (await later.session(owner.session_id))["session_id"] != owner.session_id
        assert await later.nothing_within(1)
        await later.close()
        await intruder.close()

    run(scenario())


def test_a_message_into_another_connections_session_is_refused_and_not_stored(stack):
    marker = "伊達市の団体コードは？"

    async def scenario():
        owner = await Client(stack).connect()
        await owner.session()
        assert "天空劇場" in await owner.ask("第7回総会の会場は？")

        intruder = await Client(stack).connect()
        await intruder.session()
        await intruder.say(marker, session_id=owner.session_id)
        stranger = await Client(stack).connect()  # never asked for a session at all
        await stranger.say(marker, session_id=owner.session_id)

        on_owners_screen = await owner.received_within(5)
        to_intruder, to_stranger = await intruder.received_within(0.5), await stranger.received_within(0.5)
        for client in (owner, intruder, stranger):
            await client.close()
        return owner.session_id, on_owners_screen, to_intruder, to_stranger

    owner_session, on_owners_screen, to_intruder, to_stranger = run(scenario())
    assert conversation_texts(stack, owner_session) == ["第7回総会の会場は？"]
    assert not any(marker in (text or "") for texts in stored_user_texts(stack).values() for text in texts)
    assert on_owners_screen == []
    assert to_intruder == [channel.NOT_YOURS] and to_stranger == [channel.NOT_YOURS]


def test_the_token_resumes_the_conversation_after_a_reload(stack):
    async def scenario():
        address = next(ADDRESSES)
        tab = await Client(stack, address).connect()
        first = await tab.session()
        assert re.fullmatch(r"[0-9a-f]{64}", first["token"] or ""), first
        assert "墨田区" in await tab.ask("墨田区の発表を教えて")
        await tab.close()

        reloaded = await Client(stack, address).connect()
        assert await reloaded.session(first["session_id"], first["token"]) == first
        follow_up = await reloaded.ask("今後どうするって言ってた？")
        assert "墨田区" in follow_up, follow_up

        # a second tab with the same storage joins the same conversation and sees its replies
        other_tab = await Client(stack, address).connect()
        assert await other_tab.session(first["session_id"], first["token"]) == first
        await reloaded.say("第7回総会の会場は？")
        assert any("天空劇場" in text for text in await other_tab.replies())
        for client in (reloaded, other_tab):
            await client.close()
        return first["session_id"]

    session_id = run(scenario())
    assert conversation_texts(stack, session_id) == [
        "墨田区の発表を教えて", "今後どうするって言ってた？", "第7回総会の会場は？"]


def test_a_session_id_kept_from_before_tokens_resumes_its_conversation(stack):
    """A widget that stored its session id before tokens existed asks for it without a token. Its
    conversation is stored under the bare id (channels were not kept apart then): it keeps its id, the
    conversation goes on (the tracker store moves it to socketio:<id>), and from then on the token holds."""
    legacy_id = uuid.uuid4().hex

    async def earlier_conversation():
        tab = await Client(stack).connect()
        await tab.session()
        assert "墨田区" in await tab.ask("墨田区の発表を教えて")
        await tab.close()
        return tab.session_id

    template = run(earlier_conversation())
    with sqlite3.connect(stack.tracker_db) as db:  # the same events, as the old channel stored them
        columns = [row[1] for row in db.execute("PRAGMA table_info(events)") if row[1] != "id"]
        listed = ", ".join(columns)
        picked = ", ".join("?" if c == "sender_id" else c for c in columns)
        db.execute(f"INSERT INTO events ({listed}) SELECT {picked} FROM events WHERE sender_id = ? ORDER BY id",
                   (legacy_id, f"socketio:{template}"))
    assert conversation_texts(stack, legacy_id) == ["墨田区の発表を教えて"]

    async def scenario():
        tab = await Client(stack).connect()
        confirmed = await tab.session(legacy_id)
        assert confirmed["session_id"] == legacy_id
        secret = (stack.workdir / "session_secret").read_text().strip().encode()
        assert confirmed["token"] == hmac.new(secret, legacy_id.encode(), hashlib.sha256).hexdigest()
        follow_up = await tab.ask("今後どうするって言ってた？")
        assert "墨田区" in follow_up, follow_up
        await tab.close()
        later = await Client(stack).connect()  # now stored under socketio:<id>: the token is needed
        assert (await later.session(legacy_id))["session_id"] != legacy_id
        assert (await later.session(legacy_id, confirmed["token"]))["session_id"] == legacy_id
        await later.close()

    run(scenario())
    assert stored_user_texts(stack).get(f"socketio:{legacy_id}", [])[-1:] == ["今後どうするって言ってた？"]


def _polling_handshake(stack: RasaStack, origin: str | None):
    headers = {"Origin": origin} if origin else {}
    request = urllib.request.Request(f"{stack.url}/socket.io/?EIO=4&transport=polling", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode(), response.headers.get_all("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers.get_all("Access-Control-Allow-Origin")


def test_polling_and_websocket_handshakes_from_other_origins_are_refused(stack):
    status, body, _ = _polling_handshake(stack, EVIL)
    assert status == 400 and "not an accepted origin" in body
    status, body, allow = _polling_handshake(stack, ALLOWED)
    assert status == 200 and body.startswith("0{") and allow == [ALLOWED]  # one header, not two
    status, body, _ = _polling_handshake(stack, None)  # no Origin: not a browser; engine.io allows it
    assert status == 200 and body.startswith("0{")

    async def scenario():
        url = f"{stack.url}/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(url, origin=EVIL)
            assert refused.value.status == 400
            async with http.ws_connect(url, origin=ALLOWED) as ws:
                opening = await ws.receive(timeout=15)
                assert opening.type == aiohttp.WSMsgType.TEXT and opening.data.startswith("0{")

        with pytest.raises(socketio.exceptions.ConnectionError):
            await Client(stack).connect(origin=EVIL)
        fine = await Client(stack).connect(origin=ALLOWED)
        await fine.session()
        assert "天空劇場" in await fine.ask("第7回総会の会場は？")
        await fine.close()

    run(scenario())


def test_malformed_payloads_get_a_japanese_refusal_and_the_conversation_goes_on(stack):
    async def scenario():
        client = await Client(stack).connect()
        await client.session()
        sid = client.session_id
        not_an_object = "形式が正しくありません"
        cases = [
            ("user_uttered", ("a string instead of an object",), not_an_object),
            ("user_uttered", (["a", "list"],), not_an_object),
            ("user_uttered", (), not_an_object),
            ("user_uttered", ({"message": "a", "session_id": sid}, "two arguments"), not_an_object),
            ("user_uttered", ({"message": 12345, "session_id": sid},), "文字列"),
            ("user_uttered", ({"session_id": sid},), "文字列"),
            ("user_uttered", ({"message": "あ" * 2001, "session_id": sid},), TOO_LONG),
            ("user_uttered", ({"message": "総会\ud800", "session_id": sid},), "読み取れない"),
            ("user_uttered", ({"message": "こんにちは", "session_id": sid, "metadata": [1, 2]},), "metadata"),
            ("user_uttered", ({"message": "こんにちは", "session_id": 12345},), "この接続では"),
            ("session_request", ("a string",), not_an_object),
            ("session_request", (12345,), not_an_object),
        ]
        for event, args, expected in cases:
            await client.sio.emit(event, args)  # a tuple: its items are the event's arguments
            refusal = await client.replies(first=15, quiet=0.5)
            assert len(refusal) == 1 and expected in refusal[0] and JAPANESE.search(refusal[0]), (event, args, refusal)

        # a client's metadata is dropped, and the conversation goes on in the same session
        await client.sio.emit("user_uttered", {"message": "第7回総会の会場は？", "session_id": sid,
                                               "metadata": {"injected": "yes"}})
        assert any("天空劇場" in text for text in await client.replies())
        await client.close()
        return sid

    sid = run(scenario())
    assert conversation_texts(stack, sid) == ["第7回総会の会場は？"]
    with sqlite3.connect(stack.tracker_db) as db:
        stored = [json.loads(d) for (d,) in db.execute(
            "SELECT data FROM events WHERE type_name = 'user' AND sender_id IN (?, ?)", (f"socketio:{sid}", sid))]
    assert all("injected" not in json.dumps(event.get("metadata") or {}) for event in stored)
    assert "Traceback" not in stack.log_texts()["rasa.log"]


def test_a_client_sending_too_much_is_slowed_down_and_others_are_not(stack):
    # MADOGUCHI_BURST=8, MADOGUCHI_RATE=1: eight 300-character messages at once are far more than one
    # client may send (bot.channels.guard.RateLimiter charges by length), the first is well within it.
    async def scenario():
        flood = await Client(stack).connect()
        await flood.session()
        for n in range(8):
            await flood.say(f"{n}番目の質問です。" + "総会の会場について教えてください。" * 18)
        texts = []
        try:
            while True:
                texts.append((await asyncio.wait_for(flood.inbox.get(), 5 if texts else 60)).get("text", ""))
        except asyncio.TimeoutError:
            pass
        assert RATE_LIMITED in texts and any(t != RATE_LIMITED for t in texts), texts

        other = await Client(stack).connect()
        await other.session()
        assert "天空劇場" in await other.ask("第7回総会の会場は？")
        for client in (flood, other):
            await client.close()

    run(scenario())


def test_the_secret_file_was_made_private_by_the_server(stack):
    path = stack.workdir / "session_secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    secret = path.read_text().strip()
    assert secret not in "\n".join(stack.log_texts().values())
