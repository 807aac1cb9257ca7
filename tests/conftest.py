"""Shared fixtures: databases on both backends, the shipped knowledge base, a scratch copy of it.

Every fixture that hands out a database URL is parametrized over SQLite (a file under tmp) and
PostgreSQL (127.0.0.1:5432, trust auth). The PostgreSQL databases are created by this test session
with random names ``madoguchi_test_<hex>`` and dropped again. If the server cannot be reached, the
PostgreSQL cases fail at set-up with the reason (they are never skipped); ``-m "not postgres"``
deselects them.
"""
from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from bot.kb import db as kb_db
from bot.kb.loader import load

SHIPPED_KB_DIR = Path(__file__).resolve().parents[1] / "data" / "kb"
PG_HOST, PG_PORT, PG_USERS = "127.0.0.1", 5432, ("postgres", "root")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


class Databases:
    """Creates and drops the session's test databases.

    ``new(backend)`` gives an empty database; ``new_loaded(backend)`` a database holding the shipped
    data/kb, cloned from a template that is loaded once per backend (a file copy for SQLite,
    ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL), so tests that need loaded data stay fast.
    """

    def __init__(self, tmp_path_factory) -> None:
        self._tmp = tmp_path_factory
        self._admin = None  # autocommit connection to PostgreSQL's "postgres" database, opened on first use
        self._pg_user = ""
        self._pg_error = ""
        self._pg_urls: list[str] = []
        self._templates: dict[str, str] = {}

    def new(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self._tmp.mktemp('db') / 'kb.sqlite3'}"
        return self._create_pg()

    def new_loaded(self, backend: str) -> str:
        template = self._templates.get(backend)
        if template is None:
            template = self.new(backend)
            load(SHIPPED_KB_DIR, url=template)
            kb_db.get_engine(template).dispose()  # PostgreSQL copies a template only while nobody is connected
            self._templates[backend] = template
        if backend == "sqlite":
            url = self.new(backend)
            shutil.copyfile(make_url(template).database, make_url(url).database)
            return url
        return self._create_pg(template=make_url(template).database)

    def drop(self, url: str) -> None:
        kb_db.dispose_all()  # cached engines keep connections open
        if url in self._pg_urls:
            name = make_url(url).database
            with self._admin.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            self._pg_urls.remove(url)

    def close(self) -> None:
        for url in list(self._pg_urls):
            self.drop(url)
        if self._admin is not None:
            self._admin.close()

    def _create_pg(self, template: str | None = None) -> str:
        admin = self._postgres()
        name = f"madoguchi_test_{secrets.token_hex(6)}"
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        url = f"postgresql+psycopg2://{self._pg_user}@{PG_HOST}:{PG_PORT}/{name}"
        self._pg_urls.append(url)
        return url

    def _postgres(self):
        if self._admin is None and not self._pg_error:
            errors = []
            for user in PG_USERS:
                try:
                    self._admin = psycopg2.connect(
                        host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", connect_timeout=5
                    )
                except psycopg2.OperationalError as exc:
                    errors.append(f"user {user!r}: {' '.join(str(exc).split())}")
                    continue
                self._admin.autocommit = True
                self._pg_user = user
                break
            else:
                self._pg_error = (
                    f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} ({'; '.join(errors)}). The postgres-marked "
                    "tests need it (CI has it): start it, or deselect them with -m 'not postgres'."
                )
        if self._pg_error:
            pytest.fail(self._pg_error, pytrace=False)
        return self._admin


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    """The session's database maker (see Databases); everything it created is dropped at the end."""
    dbs = Databases(tmp_path_factory)
    yield dbs
    dbs.close()


@pytest.fixture(params=BACKENDS)
def db_url(request, databases):
    """URL of a new, empty database of one backend, for this test only."""
    url = databases.new(request.param)
    yield url
    databases.drop(url)


@pytest.fixture(params=BACKENDS)
def loaded_db_url(request, databases):
    """URL of a new database of one backend holding the shipped data/kb, for this test only."""
    url = databases.new_loaded(request.param)
    yield url
    databases.drop(url)


@pytest.fixture(scope="session", params=BACKENDS)
def shipped_db_url(request, databases):
    """One database per backend holding the shipped data/kb, shared by the whole session. Do not write to it."""
    url = databases.new_loaded(request.param)
    yield url
    databases.drop(url)


@pytest.fixture
def kb_session(shipped_db_url):
    """A session on the shared, loaded database (for read-only query tests)."""
    with kb_db.open_session(shipped_db_url) as session:
        yield session


@pytest.fixture(scope="session")
def shipped_kb_dir() -> Path:
    """The knowledge-base files as shipped in data/kb (read-only: use kb_copy to edit)."""
    return SHIPPED_KB_DIR


@pytest.fixture
def kb_copy(tmp_path) -> Path:
    """A scratch copy of data/kb that a test may edit."""
    return Path(shutil.copytree(SHIPPED_KB_DIR, tmp_path / "kb"))
