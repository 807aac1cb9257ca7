"""The staff desk on PostgreSQL (127.0.0.1:5432), as deployed: the same login, look-up, CSRF and lockout
flows over plain HTTP against the real server, on a database of this test session (issue 18)."""
from __future__ import annotations

import pytest
from staff_desk import PASSWORD, add_account, staff_server

from bot.kb import staff as store
from bot.kb.db import dispose_all
from bot.search import index as search_index

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_desk(databases, tmp_path_factory):
    url = databases.new_loaded("postgresql")
    for name, role in (("pg-editor", "editor"), ("pg-viewer", "viewer")):
        done = add_account(url, name, role)
        assert done.returncode == 0, done.stderr
    dispose_all()
    try:
        with staff_server(url, tmp_path_factory.mktemp("staff_pg")) as server:
            yield server, url
    finally:
        databases.drop(url)


def test_login_and_search_on_postgresql(pg_desk):
    server, url = pg_desk
    client = server.client()
    assert client.get("/").status == 303
    assert client.login("pg-viewer").status == 303
    page = client.search("住民票の写し", "sumida")
    assert page.status == 200
    assert "絞り込み: 東京都墨田区（131075）" in page.text
    expected = search_index.search("住民票の写し", lg_code="131075", limit=10, url=url)
    assert expected and page.text.count('<li class="result"') == len(expected)
    assert "<mark>住民票</mark>" in page.text
    assert client.get("/data").status == 403  # a viewer
    editor = server.client()
    assert editor.login("pg-editor").status == 303 and editor.get("/data").status == 200
    assert {"login", "account_created"} <= {e.action for e in store.audit_entries(50, url)}


def test_csrf_and_the_lockout_on_postgresql(pg_desk):
    server, url = pg_desk
    client = server.client()
    client.get("/login")
    assert client.post("/login", {"username": "pg-editor", "password": PASSWORD}).status == 403
    for attempt in range(4):
        assert client.login("pg-editor", f"wrong {attempt} wrong wrong").status == 401
    assert client.login("pg-editor", "wrong 5 wrong wrong").status == 423
    assert client.login("pg-editor", PASSWORD).status == 423
    assert store.account_by_name("pg-editor", url).locked_until is not None
