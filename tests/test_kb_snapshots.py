"""Knowledge answers come from snapshots kept per knowledge-base version (bot/kb/queries.py): on a
SQLite file that nobody has written since, they need no database round trip; any commit, from this
process or another, is seen by the next session, on both backends."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from sqlalchemy import event, text

from bot.kb import queries
from bot.kb.db import get_engine, open_session


def statements_while(url: str, work) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def seventh(url: str):
    with open_session(url) as session:
        return next(a for a in queries.all_assemblies(session) if a.number == 7)


def test_an_unchanged_sqlite_knowledge_base_answers_without_a_round_trip(databases):
    url = databases.new_loaded("sqlite")

    def answers():
        for _ in range(5):
            with open_session(url) as session:
                assert queries.society(session) is not None
                assert [a.number for a in queries.all_assemblies(session)] == [7]

    assert statements_while(url, answers)  # the first session reads the version and builds the snapshots
    assert statements_while(url, answers) == []


def test_a_commit_from_another_connection_is_seen_by_the_next_session(loaded_db_url):
    before = seventh(loaded_db_url)
    with get_engine(loaded_db_url).begin() as conn:  # a connection of its own, as another process's
        conn.execute(text("UPDATE assembly SET description = :d WHERE number = 7"), {"d": "更新された説明"})
        conn.execute(text("UPDATE kb_version SET version = :v WHERE id = 1"), {"v": "other-writer"})
    after = seventh(loaded_db_url)
    assert before.description != "更新された説明"
    assert after.description == "更新された説明"


def test_a_sqlite_commit_by_another_process_is_seen_even_within_the_same_second(databases):
    url = databases.new_loaded("sqlite")
    path = url.removeprefix("sqlite:///")
    for n in range(3):  # commits in quick succession, each read back at once
        seventh(url)
        with sqlite3.connect(path) as conn:  # the sqlite3 module: not this process's engine
            conn.execute("UPDATE assembly SET description = ? WHERE number = 7", (f"説明{n}",))
            conn.execute("UPDATE kb_version SET version = ? WHERE id = 1", (f"v{n}",))
        assert seventh(url).description == f"説明{n}"


def test_a_sqlite_file_in_wal_mode_falls_back_to_reading_the_version(databases):
    url = databases.new_loaded("sqlite")
    path = url.removeprefix("sqlite:///")
    get_engine(url).dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode=wal").fetchone()[0] == "wal"  # no change counter then
    seventh(url)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE assembly SET description = '追記' WHERE number = 7")
        conn.execute("UPDATE kb_version SET version = 'wal-writer' WHERE id = 1")
    assert seventh(url).description == "追記"


def test_a_knowledge_base_deleted_and_built_again_at_the_same_path_is_read_afresh(databases, kb_copy):
    from bot.kb.db import dispose_all
    from bot.kb.loader import load

    url = databases.new_loaded("sqlite")
    path = url.removeprefix("sqlite:///")
    assert "第7回総会" in seventh(url).description
    assembly = kb_copy / "assemblies" / "007.yml"
    text = assembly.read_text(encoding="utf-8")
    assembly.write_text(text.replace("発足した日本公共サービス研究会の第7回総会", "発足した研究会の総会（改訂版）", 1),
                        encoding="utf-8")
    dispose_all()
    os.remove(path)
    load(kb_copy, url=url)  # built the same way: possibly the same inode and the same change counter
    assert "改訂版" in seventh(url).description


def test_reading_the_stamp_keeps_this_processs_locks_on_the_database(databases):
    """Closing any descriptor of a SQLite file drops the process's POSIX locks on it: while one session
    holds a read transaction, another session's stamp must not let another process take the file."""
    url = databases.new_loaded("sqlite")
    path = url.removeprefix("sqlite:///")
    seventh(url)
    take_exclusive = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
        "try:\n    conn.execute('BEGIN EXCLUSIVE')\nexcept sqlite3.OperationalError as e:\n    print(e)\n"
        "else:\n    print('taken')\n"
    )
    with get_engine(url).connect() as reader:
        reader.exec_driver_sql("SELECT count(*) FROM assembly").all()  # inside BEGIN: holds a SHARED lock
        for _ in range(3):
            with open_session(url) as session:
                queries.society(session)  # reads the stamp
        other = subprocess.run([sys.executable, "-c", take_exclusive, path], capture_output=True, text=True)
    assert other.stdout.strip() == "database is locked", other.stdout + other.stderr
