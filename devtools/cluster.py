"""The deployment topology on one machine, without Docker: PostgreSQL + Redis + action server + N Rasa servers.

    python -m devtools.cluster [--replicas 2] [--rasa-ports 5005,5006] [--action-port 5055]
                              [--database madoguchi_cluster] [--redis-db 3] [--key-prefix madoguchi]
                              [--pg-host 127.0.0.1 --pg-port 5432 --pg-user postgres]
                              [--redis-host 127.0.0.1 --redis-port 6379] [--drop-on-exit]

It creates its own PostgreSQL database (unless it exists), builds the knowledge base into it
(``madoguchi kb build`` with MADOGUCHI_DB_URL), writes ``var/cluster/endpoints.yml`` with Rasa's SQL
tracker store in that database and the Redis lock store (its own db number and key prefix), starts
the action server and the Rasa servers, prints their URLs and waits; Ctrl-C stops them all.

Every Rasa server shares the tracker store and the lock store, so a conversation may move between
them. Rasa's OSS RedisLockStore has a race when two replicas handle one sender at the same moment:
in front of several replicas, route each sender to one replica (deploy/nginx.conf does).

``Cluster`` is also what tests/test_cluster.py and bench/load.py start.
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODEL = REPO / "models" / "madoguchi.tar.gz"
LOGGING_CONFIG = REPO / "deploy" / "logging.yml"
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Channels of the cluster's Rasa servers: REST and web chat that always answer (bot.channels.resilient).
CREDENTIALS = {
    "bot.channels.resilient.RestInput": None,
    "bot.channels.resilient.SocketIOInput": {
        "user_message_evt": "user_uttered",
        "bot_message_evt": "bot_uttered",
        "session_persistence": True,
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


@dataclass
class Cluster:
    workdir: Path
    database: str = field(default_factory=lambda: f"madoguchi_cluster_{secrets.token_hex(4)}")
    replicas: int = 2
    rasa_ports: list[int] = field(default_factory=list)
    action_port: int = field(default_factory=free_port)
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "postgres"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 3
    key_prefix: str = field(default_factory=lambda: f"madoguchi{secrets.token_hex(4)}")
    json_logs: bool = True
    tracker_store: dict | None = None  # overrides the SQL tracker store entry (e.g. the masking wrapper)
    procs: dict = field(default_factory=dict)
    _logs: list = field(default_factory=list)

    def __post_init__(self) -> None:
        if not NAME.match(self.database):
            raise ValueError(f"database name {self.database!r}: lower-case letters, digits and _ only")
        if not self.key_prefix.isalnum():
            raise ValueError("the Redis key prefix must be alphanumeric (Rasa ignores any other)")
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        while len(self.rasa_ports) < self.replicas:
            self.rasa_ports.append(free_port())

    # --- URLs -------------------------------------------------------------------------------------
    @property
    def db_url(self) -> str:
        return f"postgresql+psycopg2://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.database}"

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.rasa_ports[i]}"

    def webhook(self, i: int) -> str:
        return f"{self.url(i)}/webhooks/rest/webhook"

    @property
    def action_health(self) -> str:
        return f"http://127.0.0.1:{self.action_port}/health"

    # --- databases ----------------------------------------------------------------------------------
    def _admin(self):
        import psycopg2

        conn = psycopg2.connect(host=self.pg_host, port=self.pg_port, user=self.pg_user, dbname="postgres",
                                connect_timeout=5)
        conn.autocommit = True
        return conn

    def create_database(self) -> bool:
        """Creates the cluster's database if missing; True when it was created."""
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cur.fetchone():
                    return False
                cur.execute(f'CREATE DATABASE "{self.database}"')
                return True
        finally:
            conn.close()

    def load_kb(self) -> dict:
        from bot.kb import db as kb_db
        from bot.kb.loader import load

        stats = load(url=self.db_url)
        kb_db.get_engine(self.db_url).dispose()
        return stats

    def drop_database(self) -> None:
        from bot.kb import db as kb_db

        kb_db.dispose_all()
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                            " AND pid <> pg_backend_pid()", (self.database,))
                cur.execute(f'DROP DATABASE IF EXISTS "{self.database}"')
        finally:
            conn.close()

    def redis(self):
        import redis

        return redis.StrictRedis(host=self.redis_host, port=self.redis_port, db=self.redis_db, socket_timeout=5)

    def delete_redis_keys(self) -> int:
        client = self.redis()
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=500))
        if keys:
            client.delete(*keys)
        return len(keys)

    # --- configuration files ------------------------------------------------------------------------
    def endpoints(self) -> dict:
        tracker = self.tracker_store or {  # personal data masked before it is stored (bot.privacy)
            "type": "bot.privacy.tracker_store.MaskingTrackerStore", "inner_store": "sql",
            "dialect": "postgresql", "url": self.pg_host, "port": self.pg_port,  # Rasa passes url on as host
            "db": self.database, "username": self.pg_user,
        }
        return {
            "action_endpoint": {"url": f"http://127.0.0.1:{self.action_port}/webhook"},
            "tracker_store": tracker,
            "lock_store": {"type": "redis", "url": self.redis_host, "port": self.redis_port, "db": self.redis_db,
                           "key_prefix": self.key_prefix},
        }

    def write_config(self) -> tuple[Path, Path]:
        endpoints = self.workdir / "endpoints.yml"
        endpoints.write_text(yaml.safe_dump(self.endpoints(), sort_keys=False), encoding="utf-8")
        credentials = self.workdir / "credentials.yml"
        credentials.write_text(yaml.safe_dump(CREDENTIALS, sort_keys=False), encoding="utf-8")
        return endpoints, credentials

    # --- processes ------------------------------------------------------------------------------------
    def _env(self) -> dict:
        env = dict(os.environ)
        env.update({"MADOGUCHI_DB_URL": self.db_url, "PYTHONUNBUFFERED": "1"})
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        if self.json_logs:
            args = [*args, "--logging-config-file", str(LOGGING_CONFIG)]
        log = open(self.workdir / f"{name}.log", "ab")
        self._logs.append(log)
        proc = subprocess.Popen(args, cwd=REPO, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_actions(self) -> subprocess.Popen:
        return self._spawn("actions", [str(BIN / "python"), "-m", "bot.serve", "run", "actions", "--actions", "actions",
                                       "--port", str(self.action_port)])

    def start_rasa(self, i: int) -> subprocess.Popen:
        endpoints, credentials = self.workdir / "endpoints.yml", self.workdir / "credentials.yml"
        return self._spawn(f"rasa-{i + 1}", [
            str(BIN / "python"), "-m", "bot.serve", "run", "--port", str(self.rasa_ports[i]), "--model", str(MODEL),
            "--endpoints", str(endpoints), "--credentials", str(credentials),
        ])

    def log_text(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def pid(self, name: str) -> int | None:
        proc = self.procs.get(name)
        return proc.pid if proc and proc.poll() is None else None

    def start(self, timeout: float = 300.0) -> "Cluster":
        if not MODEL.exists():
            raise RuntimeError(f"{MODEL} がありません。`make train` で学習してください")
        self.create_database()
        self.load_kb()
        self.write_config()
        self.start_actions()
        for i in range(self.replicas):
            self.start_rasa(i)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float, names: list[str] | None = None) -> None:
        names = names or list(self.procs)
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited early (code {proc.returncode}); see {self.workdir / name}.log")
                if name == "actions":
                    url = self.action_health
                else:
                    url = self.url(int(name.split("-")[1]) - 1) + "/"
                if http_ok(url):
                    pending.discard(name)
            if pending:
                time.sleep(0.5)
        if pending:
            raise RuntimeError(f"not ready after {timeout:.0f}s: {sorted(pending)}; logs in {self.workdir}")

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)  # the process group: `rasa` and anything it forked
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def restart(self, name: str, timeout: float = 300.0) -> None:
        self.stop_process(name)
        if name == "actions":
            self.start_actions()
        else:
            self.start_rasa(int(name.split("-")[1]) - 1)
        self.wait_ready(timeout, [name])

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop_process(name)
        for log in self._logs:
            log.close()
        self._logs.clear()

    def describe(self) -> str:
        lines = [f"PostgreSQL database: {self.database} ({self.pg_host}:{self.pg_port}, "
                 "tracker store + knowledge base)",
                 f"Redis lock store: {self.redis_host}:{self.redis_port} db {self.redis_db}, "
                 f"key prefix {self.key_prefix}:",
                 f"action server: {self.action_health}"]
        for i in range(self.replicas):
            lines.append(f"rasa-{i + 1}: {self.webhook(i)} (health: {self.url(i)}/)")
        lines.append(f"logs: {self.workdir}")
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--rasa-ports", default="", help="comma-separated, one per replica (default 5005,5006,…)")
    parser.add_argument("--action-port", type=int, default=5055)
    parser.add_argument("--database", default="madoguchi_cluster")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--redis-host", default="127.0.0.1")
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--redis-db", type=int, default=3)
    parser.add_argument("--key-prefix", default="madoguchicluster")
    parser.add_argument("--workdir", default=str(REPO / "var" / "cluster"))
    parser.add_argument("--plain-logs", action="store_true", help="Rasa's own log format instead of JSON lines")
    parser.add_argument("--drop-on-exit", action="store_true", help="drop the database and the lock keys at exit")
    args = parser.parse_args(argv)
    ports = [int(p) for p in args.rasa_ports.split(",") if p.strip()] or [5005 + i for i in range(args.replicas)]
    cluster = Cluster(
        Path(args.workdir), database=args.database, replicas=args.replicas, rasa_ports=ports,
        action_port=args.action_port, pg_host=args.pg_host, pg_port=args.pg_port, pg_user=args.pg_user,
        redis_host=args.redis_host, redis_port=args.redis_port, redis_db=args.redis_db, key_prefix=args.key_prefix,
        json_logs=not args.plain_logs,
    )
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        print("Madoguchi cluster: starting (model loading takes a while)…", flush=True)
        cluster.start()
        print(cluster.describe(), flush=True)
        print("Ctrl-C stops everything.", flush=True)
        while True:
            for name, proc in cluster.procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited (code {proc.returncode}); see {cluster.workdir / name}.log", flush=True)
                    return 1
            time.sleep(1.0)
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cluster.stop()
        if args.drop_on_exit:
            cluster.drop_database()
            cluster.delete_redis_keys()


if __name__ == "__main__":
    sys.exit(main())
