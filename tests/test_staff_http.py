"""The staff desk over plain HTTP: a real ``python -m bot.staff`` on a SQLite knowledge base built from
data/kb, accounts made by the real ``madoguchi staff add`` (issue 18).

Login and logout, the session cookie's attributes, CSRF on every POST, the lockout, idle expiry, viewer
and editor, the look-up page (ranking, highlighting, municipality filter, 最終確認日), escaping of HTML
from a request and from the data, and the audit log.
"""
from __future__ import annotations

import html
import re
import time
import urllib.parse

import markupsafe
import pytest
from staff_desk import PASSWORD, REPO, Client, add_account, staff_server

from bot.kb import staff as store
from bot.kb.db import dispose_all
from bot.kb.loader import load

HOSTILE = '<script>window.__x=1</script><img src=x onerror="alert(1)">'
FAQ_HEADER = "全国地方公共団体コード,分類,質問,質問_別表現,回答,担当部署,連絡先電話番号,URL,最終確認日\n"


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """One desk for the module: a loaded SQLite database plus one FAQ entry full of markup."""
    workdir = tmp_path_factory.mktemp("staff")
    db_url = f"sqlite:///{workdir / 'kb.sqlite3'}"
    load(url=db_url)
    hostile = workdir / "hostile_faq.csv"
    hostile.write_text(FAQ_HEADER + (
        f',テスト,"{HOSTILE.replace(chr(34), chr(34) * 2)} 粗大ごみの出し方",,'
        f'"粗大ごみは <b>予約</b> が必要です。{HOSTILE.replace(chr(34), chr(34) * 2)}",'
        f'"<i>環境課</i>",03-0000-0000,"https://example.jp/""><script>window.__y=1</script>",2025-01-01\n'
    ), encoding="utf-8")
    from bot.kb.loader import load_files

    load_files([hostile], db_url)
    for name, role in (("editor1", "editor"), ("viewer1", "viewer"), ("locky", "viewer"), ("idle1", "viewer")):
        done = add_account(db_url, name, role)
        assert done.returncode == 0, done.stderr
    dispose_all()
    with staff_server(db_url, workdir) as server:
        yield server, db_url


def logged_in(desk, name="editor1") -> Client:
    server, _ = desk
    client = server.client()
    reply = client.login(name)
    assert reply.status == 303 and reply.location == "/", (reply.status, reply.text[:300])
    return client


# -- login, sessions, CSRF -----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/audit", "/data", "/?q=%E4%BD%8F%E6%B0%91%E7%A5%A8"])
def test_an_unauthenticated_page_redirects_to_the_login(desk, path):
    server, _ = desk
    reply = server.client().get(path)
    assert reply.status == 303
    target = urllib.parse.urlsplit(reply.location)
    assert target.path == "/login"
    assert urllib.parse.parse_qs(target.query)["next"] == [path]
    page = server.client().get(reply.location)
    assert page.status == 200 and "この画面を使うにはログインしてください。" in page.text


def test_the_suggestions_need_a_login_too(desk):
    server, _ = desk
    reply = server.client().get("/municipalities?q=sumida")
    assert reply.status == 401 and "この画面を使うにはログインしてください。" in reply.text


def test_the_login_form_has_username_and_password_fields(desk):
    server, _ = desk
    page = server.client().get("/login").text
    assert re.search(r'<input id="username" name="username" type="text" autocomplete="username"', page)
    assert re.search(r'<input id="password" name="password" type="password" autocomplete="current-password"', page)
    assert '<form method="post" action="/login">' in page


def test_login_sets_an_httponly_samesite_strict_cookie_and_logout_ends_the_session(desk):
    server, _ = desk
    client = server.client()
    reply = client.login("editor1")
    assert reply.status == 303 and reply.location == "/"
    cookie = next(c for c in reply.set_cookies() if c.startswith("madoguchi_staff="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    old = dict(client.cookies)
    page = client.get("/")
    assert (page.status == 200 and "editor1（編集者）" in page.text
            and '<input id="q" name="q" type="search"' in page.text)

    bye = client.post("/logout", {"csrf_token": page.csrf_token()})
    assert bye.status == 303 and bye.location == "/login?notice=logout"
    assert "madoguchi_staff" not in client.cookies
    assert "ログアウトしました。" in client.get(bye.location).text
    replayed = Client(server.port, cookies=old)  # the old cookie is worth nothing now
    assert replayed.get("/").status == 303


def test_the_cookie_is_secure_behind_https(desk):
    server, _ = desk
    client = server.client()
    token = client.get("/login", headers={"X-Forwarded-Proto": "https"}).csrf_token()
    reply = client.post("/login", {"csrf_token": token, "username": "viewer1", "password": PASSWORD},
                        headers={"X-Forwarded-Proto": "https"})
    assert reply.status == 303
    cookie = next(c for c in reply.set_cookies() if c.startswith("madoguchi_staff="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_a_post_without_a_csrf_token_is_refused_with_403(desk):
    server, db_url = desk
    anonymous = server.client()
    anonymous.get("/login")
    reply = anonymous.post("/login", {"username": "editor1", "password": PASSWORD})
    assert reply.status == 403
    assert "確認用のトークンがないか、正しくありません" in reply.text
    assert "madoguchi_staff" not in anonymous.cookies  # not logged in

    client = logged_in(desk)
    assert client.post("/logout", {}).status == 403
    assert client.post("/logout", {"csrf_token": "forged"}).status == 403
    # a token made for another browser's session is refused too
    other = logged_in(desk, "viewer1")
    assert client.post("/logout", {"csrf_token": other.get("/").csrf_token()}).status == 403
    assert client.get("/").status == 200  # still logged in: nothing happened


def test_five_wrong_passwords_lock_the_account_for_15_minutes(desk):
    server, db_url = desk
    client = server.client()
    for attempt in range(4):
        reply = client.login("locky", "wrong password " + str(attempt))
        assert reply.status == 401, reply.status
        assert "ユーザー名またはパスワードが正しくありません。" in reply.text
        assert 'value="locky"' in reply.text  # the name is kept in the form
    reply = client.login("locky", "wrong password 5")
    assert reply.status == 423
    assert "5回続けて失敗したため" in reply.text and "15分" in reply.text
    # locked: even the right password is refused
    reply = client.login("locky", PASSWORD)
    assert reply.status == 423 and "madoguchi_staff" not in client.cookies
    locked_until = store.account_by_name("locky", db_url).locked_until
    assert 14 * 60 < locked_until - time.time() <= 15 * 60

    # once the 15 minutes are over (moved into the past in the database), the right password works
    from sqlalchemy import update

    from bot.kb.db import open_session
    from bot.kb.models import StaffAccount

    with open_session(db_url) as session:
        session.execute(update(StaffAccount).where(StaffAccount.name == "locky").values(locked_until=time.time() - 1))
        session.commit()
    assert client.login("locky", PASSWORD).status == 303
    assert store.account_by_name("locky", db_url).failed_logins == 0


def test_an_unknown_name_gets_the_same_answer_as_a_wrong_password(desk):
    server, _ = desk
    reply = server.client().login("nobody", PASSWORD)
    assert reply.status == 401 and "ユーザー名またはパスワードが正しくありません。" in reply.text


def test_after_login_the_desk_returns_to_the_page_asked_for_but_never_to_another_site(desk):
    server, _ = desk
    assert server.client().login("viewer1", next_path="/audit").location == "/audit"
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        assert server.client().login("viewer1", next_path=target).location == "/"


def test_idle_sessions_expire(tmp_path, desk):
    _, db_url = desk
    with staff_server(db_url, tmp_path / "idle", {"STAFF_IDLE_MINUTES": "0.03"}) as server:  # 1.8 s
        client = server.client()
        assert client.login("idle1").status == 303
        assert client.get("/").status == 200
        time.sleep(2.5)
        reply = client.get("/")
        assert reply.status == 303 and "notice=expired" in reply.location
        assert "一定時間操作がなかったため、ログアウトしました。" in client.get(reply.location).text


# -- roles ---------------------------------------------------------------------------------------

def test_a_viewer_searches_but_cannot_open_the_editors_data_page(desk):
    viewer = logged_in(desk, "viewer1")
    page = viewer.get("/")
    assert page.status == 200 and 'href="/data"' not in page.text
    refused = viewer.get("/data")
    assert refused.status == 403 and "編集者（editor）の権限があるアカウントだけが使えます" in refused.text
    assert viewer.search("住民票の写し").status == 200

    editor = logged_in(desk, "editor1")
    assert 'href="/data"' in editor.get("/").text
    data = editor.get("/data")
    assert data.status == 200 and "データ（編集者用）" in data.text
    assert 'action="/data/upload"' in data.text  # the editor can upload


# -- the look-up page ----------------------------------------------------------------------------

def results(page: str) -> list[str]:
    return re.findall(r'<li class="result".*?</li>\n', page, re.S)


def test_the_look_up_ranks_like_faq_search_and_marks_the_matched_words(desk):
    from bot.search import index as search_index

    server, db_url = desk
    client = logged_in(desk)
    page = client.search("住民票の写しはどこで取れますか").text
    found = results(page)
    expected = search_index.search("住民票の写しはどこで取れますか", limit=10, url=db_url)
    assert len(found) == len(expected) > 0
    titles = [html.unescape(re.sub(r"<[^>]+>", "", re.search(r"<h2[^>]*>(.*?)</h2>", r, re.S).group(1))).strip()
              for r in found]
    assert titles == [("FAQ " if h.kind == "faq" else "発表 ") + h.title for h in expected]
    first = found[0]
    assert "<mark>住民票</mark>" in first and "<mark>写し</mark>" in first
    for label in ("担当部署", "電話", "URL", "最終確認日", "出典"):
        assert f"<dt>{label}</dt>" in first
    assert "【サンプルデータ・架空】" in first
    assert "1年以上前・要確認" in first  # the sample data was checked on 2024-04-01
    assert f'class="copy" data-copy="{html.escape(expected[0].text)}"' in first
    timing = client.search("住民票").headers["Server-Timing"]
    assert re.fullmatch(r"app;dur=\d+\.\d+", timing)


def test_the_municipality_filter_reads_names_kana_romaji_and_codes(desk):
    client = logged_in(desk)
    for typed in ("墨田区", "すみだく", "スミダ", "sumida", "Sumida-ku", "131075", "13107"):
        page = client.search("住民票", typed).text
        assert "絞り込み: 東京都墨田区（131075）" in page, typed
        assert 'value="131075 東京都墨田区"' in page
    ambiguous = client.search("住民票", "府中市").text
    assert "「府中市」に当たる団体が2件あります" in ambiguous
    assert "東京都府中市（132063）" in ambiguous and "広島県府中市（342084）" in ambiguous
    assert "見つかりません" in client.search("住民票", "存在しない村").text

    suggestions = client.get("/municipalities?q=" + urllib.parse.quote("fuchu"))
    assert suggestions.status == 200
    values = [s["value"] for s in __import__("json").loads(suggestions.text)["suggestions"]]
    assert values[:2] == ["132063 東京都府中市", "342084 広島県府中市"]


def test_html_in_a_search_query_is_shown_as_text(desk):
    client = logged_in(desk)
    escaped = str(markupsafe.escape(HOSTILE))
    page = client.search(HOSTILE + " 住民票").text
    assert "<script>window.__x" not in page and "<img src=x" not in page
    assert f'name="q" type="search" value="{escaped} 住民票"' in page  # in the search box, as text
    assert f"「{escaped} 住民票」の検索結果" in page  # in the heading and the title
    assert "<mark>住民票</mark>" in page
    page = client.search("住民票", HOSTILE).text  # the municipality filter, echoed in its message
    assert "<script>window.__x" not in page and "<img src=x" not in page
    assert f"「{escaped}」に当たる地方公共団体が見つかりません" in page


def test_html_in_the_data_is_shown_as_text(desk):
    client = logged_in(desk)
    page = client.search("粗大ごみ 予約").text
    hit = next(r for r in results(page) if "環境課" in r)
    assert "<script>" not in hit and "<img" not in hit and "<b>" not in hit and "<i>" not in hit
    assert "&lt;b&gt;<mark>予約</mark>&lt;/b&gt;" in hit  # marked inside escaped text
    assert "&lt;script&gt;window.__x=1&lt;/script&gt;" in hit and "<mark>粗大ごみ</mark>の出し方" in hit
    assert "<dd>&lt;i&gt;環境課&lt;/i&gt;</dd>" in hit
    assert '<a href="https://example.jp/&#34;&gt;&lt;script&gt;window.__y=1&lt;/script&gt;"' in hit
    assert 'data-copy="粗大ごみは &lt;b&gt;予約&lt;/b&gt; が必要です。' in hit


def test_too_long_a_query_is_refused_politely(desk):
    client = logged_in(desk)
    page = client.search("a" * 1001)
    assert page.status == 200 and "検索語が長すぎます（1000文字まで）" in page.text
    page = client.search("あ" * 3000)  # a request head over Sanic's 8 kB
    assert page.status == 413 and "送信された内容が大きすぎます。" in page.text


# -- audit log and errors -----------------------------------------------------------------------

def test_the_audit_log_shows_logins_failures_and_locks(desk):
    client = logged_in(desk, "viewer1")
    page = client.get("/audit")
    assert page.status == 200
    for text in ("ログイン", "アカウントの作成", "editor1（編集者）"):
        assert text in page.text
    entries = store.audit_entries(500, desk[1])
    actions = {e.action for e in entries}
    assert {"login", "account_created"} <= actions
    assert all(e.kb_version for e in entries)  # which knowledge-base version each happened on


def test_unknown_pages_and_methods_get_japanese_pages(desk):
    client = logged_in(desk)
    missing = client.get("/no-such-page")
    assert missing.status == 404 and "お探しのページが見つかりません。" in missing.text
    headers = missing.headers
    assert "default-src 'none'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"


def test_the_static_files_are_the_desks_own(desk):
    server, _ = desk
    client = server.client()
    css = client.get("/static/staff.css")
    js = client.get("/static/staff.js")
    assert css.status == 200 and js.status == 200 and "javascript" in js.headers["Content-Type"]
    templates = (p.read_text(encoding="utf-8") for p in (REPO / "bot/staff/templates").glob("*.html"))
    for text in (css.text, js.text, *templates):
        assert not re.search(r"(src|href)=\"(https?:)?//", text), "nothing is fetched from elsewhere"
        assert "@import" not in text and "url(http" not in text
    assert "innerHTML" not in js.text and "insertAdjacentHTML" not in js.text


def test_a_broken_content_length_is_refused_and_the_desk_keeps_answering(desk):
    """The public channels' request-head checks (bot.channels.guard) guard the desk too: Sanic 21.12 spun
    for ever on a negative Content-Length."""
    import http.client

    server, _ = desk
    for length in ("-1", "abc"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        try:
            conn.putrequest("POST", "/login")
            conn.putheader("Content-Type", "application/x-www-form-urlencoded")
            conn.putheader("Content-Length", length)
            conn.endheaders()
            assert conn.getresponse().status == 400
        finally:
            conn.close()
    assert server.client().get("/login").status == 200


def test_make_run_starts_the_desk_and_says_how_to_create_the_first_account():
    script = (REPO / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert 'STAFF_PORT="${STAFF_PORT:-8090}"' in script
    assert '.venv/bin/python -m bot.staff --port "$STAFF_PORT"' in script
    assert 'echo "  staff desk     http://localhost:${STAFF_PORT}/"' in script
    assert ".venv/bin/madoguchi staff add NAME --role editor" in script
