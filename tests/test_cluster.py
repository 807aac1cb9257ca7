"""The deployment topology without Docker: PostgreSQL tracker store, Redis lock store, one action server
and two Rasa servers (devtools.cluster), with faults: a Rasa server restarted or killed, the action server
killed mid-conversation. Uses the real PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) with its
own database and lock-key prefix, both removed at the end.
"""
from __future__ import annotations

import json
import signal
import time
import uuid

import pytest
from servers import post_json

from bot.channels.conversations import conversation_key
from bot.channels.resilient import APOLOGY
from devtools.cluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

QUESTION = "墨田区の発表を教えて"
FOLLOW_UP = "今後どうするって言ってた？"
FOLLOW_UP_ANSWER = ("委託", "RPA")
SECRET_QUESTION = "保育所の選考は何秒で終わりますか"  # asked once; must never appear in a log


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    servers = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()
        servers.drop_database()
        servers.delete_redis_keys()


def ask(cluster: Cluster, replica: int, text: str, sender: str, timeout: float = 30.0) -> str:
    status, body = post_json(cluster.webhook(replica), {"sender": sender, "message": text}, timeout=timeout)
    assert status == 200, (status, body[:300])
    return "\n".join(m.get("text", "") for m in json.loads(body))


def sender() -> str:
    return f"cl-{uuid.uuid4().hex[:10]}"


def test_a_conversation_alternating_between_the_two_servers_keeps_its_context(cluster):
    who = sender()
    assert "墨田区" in ask(cluster, 0, QUESTION, who)
    reply = ask(cluster, 1, FOLLOW_UP, who)
    assert all(word in reply for word in FOLLOW_UP_ANSWER), reply
    # and back again: the subject is still the presentation
    assert "墨田区" in ask(cluster, 0, "発表者は誰？", who)


def test_the_conversation_is_in_the_postgresql_tracker_store_and_the_locks_in_redis(cluster):
    import psycopg2

    who = sender()
    ask(cluster, 0, QUESTION, who)
    with psycopg2.connect(host=cluster.pg_host, port=cluster.pg_port, user=cluster.pg_user,
                          dbname=cluster.database) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM events WHERE sender_id = %s AND type_name = 'user'",
                    (conversation_key("rest", who),))
        assert cur.fetchone()[0] == 1
    # Rasa deletes a conversation's lock when its last ticket is done: no stale lock is left behind
    assert cluster.redis().get(f"{cluster.key_prefix}:lock:{conversation_key('rest', who)}") is None


def test_info_logs_are_json_lines_without_message_texts(cluster):
    ask(cluster, 1, SECRET_QUESTION, sender())
    for name in ("rasa-1", "rasa-2", "actions"):
        text = cluster.log_text(name)
        assert SECRET_QUESTION not in text and "保育所の選考" not in text, name
    json_lines = [line for line in cluster.log_text("rasa-2").splitlines() if line.startswith("{")]
    assert json_lines and all(json.loads(line)["level"] for line in json_lines)
    assert any(json.loads(line)["logger"].startswith("rasa") for line in json_lines)


def test_stopping_and_restarting_a_server_loses_no_conversation(cluster):
    who = sender()
    assert "墨田区" in ask(cluster, 0, QUESTION, who)
    cluster.restart("rasa-1")
    reply = ask(cluster, 0, FOLLOW_UP, who)
    assert all(word in reply for word in FOLLOW_UP_ANSWER), reply


def test_killing_the_action_server_gets_a_polite_apology_quickly_and_answers_resume(cluster):
    who = sender()
    assert "墨田区" in ask(cluster, 0, QUESTION, who)
    cluster.stop_process("actions", sig=signal.SIGKILL)
    try:
        for replica in (0, 1):
            started = time.monotonic()
            reply = ask(cluster, replica, FOLLOW_UP, who, timeout=60)
            assert time.monotonic() - started < 15, "the apology must come within a few seconds"
            assert reply == APOLOGY
    finally:
        cluster.restart("actions")
    reply = ask(cluster, 1, FOLLOW_UP, who)
    assert all(word in reply for word in FOLLOW_UP_ANSWER), reply  # context survived the failed turns


def test_killing_one_replica_leaves_the_other_serving(cluster):
    who = sender()
    assert "墨田区" in ask(cluster, 0, QUESTION, who)
    cluster.stop_process("rasa-1", sig=signal.SIGKILL)
    try:
        status, _ = post_json(cluster.webhook(0), {"sender": who, "message": FOLLOW_UP}, timeout=5)
    except OSError:
        status = None
    assert status is None  # the killed replica is gone …
    reply = ask(cluster, 1, FOLLOW_UP, who)  # … the other one serves, with the conversation's context
    assert all(word in reply for word in FOLLOW_UP_ANSWER), reply
    assert "天空劇場" in ask(cluster, 1, "第7回総会の会場は？", sender())
    cluster.restart("rasa-1")
    assert "天空劇場" in ask(cluster, 0, "第7回総会の会場は？", sender())


def test_killing_the_action_server_under_load_gives_apologies_not_hangs_and_answers_resume(cluster):
    """Eight users keep asking (alternating replicas) while the action server is killed and restarted."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    question, answer = "第7回総会の会場は？", "天空劇場"
    results: list[tuple[float, float, int | None, str]] = []  # (sent, received, status, reply)
    lock, stop = threading.Lock(), threading.Event()

    def user(n: int) -> None:
        turn = 0
        while not stop.is_set():
            sent = time.monotonic()
            try:
                status, body = post_json(cluster.webhook(turn % 2), {"sender": f"load-{n}-{turn}", "message": question},
                                         timeout=60)
                reply = "\n".join(m.get("text", "") for m in json.loads(body)) if status == 200 else body[:200]
            except OSError as exc:
                status, reply = None, repr(exc)
            with lock:
                results.append((sent, time.monotonic(), status, reply))
            turn += 1

    def answered_since(t: float) -> int:
        with lock:
            return sum(1 for sent, _, status, reply in results if sent >= t and status == 200 and answer in reply)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for n in range(8):
            pool.submit(user, n)
        try:
            while answered_since(0) < 16:  # under load
                time.sleep(0.2)
            cluster.stop_process("actions", sig=signal.SIGKILL)
            killed = time.monotonic()
            time.sleep(5)
            outage_end = time.monotonic()
            cluster.restart("actions")
            back = time.monotonic()
            deadline = back + 60
            while answered_since(back) < 16 and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            stop.set()

    failed = [r for r in results if r[2] != 200]
    assert not failed, failed[:3]  # no transport errors, no 5xx: every user got a reply
    during = [r for r in results if killed <= r[0] and r[1] <= outage_end]
    assert during and all(reply == APOLOGY for *_, reply in during), during[:3]
    assert max(received - sent for sent, received, *_ in during) < 15, "apologies must come within seconds"
    after = [r for r in results if r[0] >= back]
    assert after and all(answer in reply for *_, reply in after), after[:3]
