"""Staff accounts (issue 18): ``madoguchi staff add|passwd|list`` in a child process, Argon2id hashes, the
lockout's bookkeeping, and the staff tables surviving a knowledge-base rebuild, on SQLite and PostgreSQL."""
from __future__ import annotations

import subprocess
import time

from staff_desk import BIN, PASSWORD, REPO, add_account

from bot.kb import staff as store
from bot.staff import accounts


def run_cli(db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "madoguchi"), "--db", db_url, *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO)


def test_staff_add_stores_an_argon2id_hash_never_the_password(db_url):
    done = add_account(db_url, "clerk", "viewer")
    assert done.returncode == 0, done.stderr
    assert "アカウント「clerk」（閲覧者）を作成しました。" in done.stdout
    record = store.account_by_name("clerk", db_url)
    assert record.role == "viewer" and record.failed_logins == 0 and record.locked_until is None
    assert record.password_hash.startswith("$argon2id$") and PASSWORD not in record.password_hash
    assert "m=65536" in record.password_hash  # memory-hard: 64 MiB
    assert accounts.authenticate("clerk", PASSWORD, url=db_url).account.name == "clerk"
    listed = run_cli(db_url, "staff", "list")
    assert listed.returncode == 0 and listed.stdout.startswith("clerk\tviewer（閲覧者）\t有効")


def test_staff_add_refuses_a_short_password_a_taken_name_a_bad_name_and_a_bad_role(db_url):
    short = add_account(db_url, "clerk", "viewer", password="short")
    assert short.returncode == 1 and "12文字以上" in short.stderr
    assert store.account_by_name("clerk", db_url) is None
    assert add_account(db_url, "clerk", "editor").returncode == 0
    taken = add_account(db_url, "clerk", "viewer")
    assert taken.returncode == 1 and "すでに登録されています" in taken.stderr
    bad = add_account(db_url, "<script>", "viewer")
    assert bad.returncode == 1 and "ユーザー名は半角英数字" in bad.stderr
    role = run_cli(db_url, "staff", "add", "x", "--role", "admin", stdin=PASSWORD + "\n")
    assert role.returncode == 2 and "invalid choice" in role.stderr
    empty = run_cli(db_url, "staff", "add", "nopass", "--role", "viewer", stdin="")
    assert empty.returncode == 1 and store.account_by_name("nopass", db_url) is None  # never a default password


def test_no_accounts_is_said_with_how_to_create_the_first(db_url):
    listed = run_cli(db_url, "staff", "list")
    assert listed.returncode == 0 and listed.stdout == ""
    assert "madoguchi staff add NAME --role editor" in listed.stderr
    assert run_cli(db_url, "staff", "list", "--quiet").stdout == ""


def test_the_fifth_failure_locks_and_passwd_lifts_the_lock(db_url):
    assert add_account(db_url, "clerk", "viewer").returncode == 0
    for _ in range(4):
        result = accounts.authenticate("clerk", "wrong wrong wrong", url=db_url)
        assert result.account is None and not result.locked
    result = accounts.authenticate("clerk", "wrong wrong wrong", url=db_url)
    assert result.locked and "15分" in result.message
    assert accounts.authenticate("clerk", PASSWORD, url=db_url).locked  # the right password waits too
    record = store.account_by_name("clerk", db_url)
    assert record.failed_logins == 0 and record.locked_until > time.time() + 14 * 60

    new_password = "another long passphrase"
    done = run_cli(db_url, "staff", "passwd", "clerk", stdin=new_password + "\n")
    assert done.returncode == 0, done.stderr
    assert store.account_by_name("clerk", db_url).locked_until is None
    assert accounts.authenticate("clerk", PASSWORD, url=db_url).account is None
    assert accounts.authenticate("clerk", new_password, url=db_url).account is not None
    actions = [e.action for e in store.audit_entries(50, db_url)]
    assert actions[:3] == ["login", "login_failed", "password_set"]
    assert "account_locked" in actions and "login_refused_locked" in actions and actions[-1] == "account_created"


def test_a_knowledge_base_rebuild_keeps_accounts_sessions_and_the_audit_log(loaded_db_url, shipped_kb_dir):
    from bot.kb.loader import load, load_files

    assert add_account(loaded_db_url, "keeper", "editor").returncode == 0
    store.create_session("f" * 64, store.account_by_name("keeper", loaded_db_url).id, time.time(), loaded_db_url)
    before = len(store.audit_entries(100, loaded_db_url))
    load(shipped_kb_dir, url=loaded_db_url)  # what `madoguchi kb build` does: drop and recreate the KB tables
    load_files([shipped_kb_dir / "faq"], loaded_db_url)  # and `kb load`
    built = run_cli(loaded_db_url, "kb", "build")
    assert built.returncode == 0, built.stderr
    assert store.account_by_name("keeper", loaded_db_url) is not None
    assert store.session_by_id("f" * 64, loaded_db_url).account.name == "keeper"
    assert len(store.audit_entries(100, loaded_db_url)) == before
    assert accounts.authenticate("keeper", PASSWORD, url=loaded_db_url).account is not None
