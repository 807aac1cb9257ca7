"""The staff desk's data page over plain HTTP (issue 18, section 5): upload, problems table, preview, publish,
versions and rollback, the conflict of two editors, single FAQ entries, refusals, the audit log.

The real desk (``python -m bot.staff``) runs on a database of each test's own, on SQLite and on PostgreSQL
(127.0.0.1:5432); accounts are made with ``madoguchi staff add``. What the guide answers from is checked
with the guide's own search (bot.search.index, on the same database) after each publish.
"""
from __future__ import annotations

import http.client
import secrets
import threading
import urllib.parse

import pytest
from conftest import BACKENDS
from staff_desk import Reply, add_account, staff_server

from bot.kb import staff as store
from bot.kb.db import dispose_all

FAQ_HEADER = "全国地方公共団体コード,分類,質問,質問_別表現,回答,担当部署,連絡先電話番号,URL,最終確認日\r\n"
NEW_QUESTION = "犬の登録はどこでできますか"
NEW_ANSWER = ("犬の登録は、お住まいの市区町村の環境衛生担当窓口で受け付けています。"
              "狂犬病予防注射済票も同じ窓口で交付します。")
GOOD_FAQ = FAQ_HEADER + (
    f",ペット,{NEW_QUESTION},飼い犬の登録をしたい|犬を飼い始めた,{NEW_ANSWER},市区町村の環境衛生担当窓口,0120-000-999,"
    "https://example.jp/sample/dog,2026-04-01\r\n"
    # an existing entry of the shipped sample, with a new answer: "changed"
    ",戸籍・住民票,住民票の写しはどこで取れますか,,住民票の写しは市区町村の窓口とコンビニで取れます（テストで変更）。,"
    "市区町村の住民票担当窓口,0120-000-101,https://example.jp/sample/common/juminhyo,2024-04-01\r\n"
)
BAD_FAQ = FAQ_HEADER + (
    ",ペット,犬の登録は,,,,,,\r\n"                       # row 2: 回答 empty
    "13101,ペット,猫の登録は,,登録は不要です,,abc,,\r\n"     # row 3: 5-digit code, phone not a number
    ",ペット,鳥の登録は,,不要です,,,ftp://x,令和99年1月1日\r\n"  # row 4: URL, date in the future
)


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "----madoguchi" + secrets.token_hex(8)
    out = bytearray()
    for name, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode("utf-8")
    for name, (filename, data) in files.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode("utf-8")
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode("ascii")
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def upload(client, filename: str, data: bytes, mode: str = "merge") -> Reply:
    """POST /data/upload as a browser sends the form (multipart), with the page's CSRF token."""
    token = client.get("/data").csrf_token()
    body, content_type = multipart({"csrf_token": token, "mode": mode}, {"file": (filename, data)})
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=120)
    try:
        conn.request("POST", "/data/upload", body=body, headers={
            "Content-Type": content_type, "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items())})
        r = conn.getresponse()
        return Reply(r.status, r.headers, r.read().decode("utf-8", errors="replace"))
    finally:
        conn.close()


def token_of(reply: Reply) -> str:
    assert reply.status == 303 and reply.location.startswith("/data/preview/"), (reply.status, reply.text[:2000])
    return reply.location.rsplit("/", 1)[1]


def publish(client, token: str) -> Reply:
    page = client.get(f"/data/preview/{token}")
    assert page.status == 200, page.text[:1000]
    return client.post("/data/publish", {"csrf_token": page.csrf_token(), "token": token})


def current_version(client) -> int:
    import re

    page = client.get("/data")
    return int(re.search(r'id="current-version">版 (\d+)<', page.text).group(1))


def search_questions(url: str, query: str) -> list[str]:
    from bot.search import index as search_index

    search_index.invalidate(url)
    return [h.title for h in search_index.search(query, limit=5, url=url)]


class Desk:
    def __init__(self, server, url):
        self.server, self.url = server, url

    def editor(self, name: str = "editor"):
        client = self.server.client()
        assert client.login(name).status == 303
        return client


@pytest.fixture(params=BACKENDS)
def desk(request, databases, tmp_path):
    """The desk on a freshly loaded database of this test (SQLite file or PostgreSQL database)."""
    url = databases.new_loaded(request.param)
    for name, role in (("editor", "editor"), ("editor2", "editor"), ("viewer", "viewer")):
        done = add_account(url, name, role)
        assert done.returncode == 0, done.stderr
    dispose_all()
    try:
        with staff_server(url, tmp_path / "desk") as server:
            yield Desk(server, url)
    finally:
        dispose_all()
        if request.param == "postgresql":
            databases.drop(url)


def test_a_file_with_errors_shows_every_problem_and_changes_nothing(desk):
    client = desk.editor()
    before = current_version(client)
    reply = upload(client, "ペットFAQ.csv", BAD_FAQ.encode("cp932"))  # Shift_JIS, as Excel saves it
    assert reply.status == 422
    assert '<table class="problems" id="problems">' in reply.text
    assert "公開できません。データは何も変わっていません" in reply.text
    rows = reply.text.split('<tbody>')[1].split('</tbody>')[0].count("<tr>")
    assert rows == 5
    for cells in (
        "<td>ペットFAQ.csv</td><td>2</td><td>回答</td><td>値が空です（必須の項目です）</td>",
        "<td>ペットFAQ.csv</td><td>3</td><td>全国地方公共団体コード</td>",
        "<td>ペットFAQ.csv</td><td>3</td><td>連絡先電話番号</td><td>「abc」は電話番号として読めません",
        "<td>ペットFAQ.csv</td><td>4</td><td>URL</td>",
        "<td>ペットFAQ.csv</td><td>4</td><td>最終確認日</td>",
    ):
        assert cells in reply.text, cells
    assert current_version(client) == before
    assert "鳥の登録は" not in search_questions(desk.url, "鳥の登録")
    assert any(e.action == "data_refused" and "問題 5件" in e.detail and e.account == "editor"
               for e in store.audit_entries(20, desk.url))


def test_publish_a_good_faq_file_then_roll_back(desk):
    client = desk.editor()
    base = current_version(client)
    token = token_of(upload(client, "pets.csv", ("\ufeff" + GOOD_FAQ).encode("utf-8")))  # UTF-8 with BOM
    page = client.get(f"/data/preview/{token}")
    assert page.status == 200
    assert "追加 <strong>1</strong>件・変更 <strong>1</strong>件・削除 <strong>0</strong>件" in page.text
    assert NEW_QUESTION in page.text.split('id="diff-added"')[1]
    changed = page.text.split('id="diff-changed"')[1]
    assert '<td class="old">住民票の写しは、お住まいの市区町村の窓口で請求できます。' in changed
    assert '<td class="new">住民票の写しは市区町村の窓口とコンビニで取れます（テストで変更）。</td>' in changed
    assert NEW_QUESTION not in search_questions(desk.url, NEW_QUESTION)  # the preview changed nothing

    done = publish(client, token)
    assert done.status == 303 and done.location == f"/data?notice=published&version={base + 1}"
    assert "版 %d として公開しました" % (base + 1) in client.get(done.location).text
    assert current_version(client) == base + 1
    assert search_questions(desk.url, NEW_QUESTION)[0] == NEW_QUESTION  # what the guide's search answers from

    # roll back to the version before: the preview says the entry goes, publishing removes it
    page = client.get("/data")
    rolled = client.post(f"/data/versions/{base}/rollback", {"csrf_token": page.csrf_token()})
    token = token_of(rolled)
    preview = client.get(f"/data/preview/{token}")
    assert "追加 <strong>0</strong>件・変更 <strong>1</strong>件・削除 <strong>1</strong>件" in preview.text
    assert NEW_QUESTION in preview.text.split('id="diff-removed"')[1]
    assert publish(client, token).status == 303
    assert current_version(client) == base + 2
    assert NEW_QUESTION not in search_questions(desk.url, NEW_QUESTION)
    actions = [(e.action, e.detail) for e in store.audit_entries(20, desk.url)]
    assert any(a == "data_published" and f"版 {base + 1}" in d and "pets.csv" in d for a, d in actions)
    assert any(a == "data_rolled_back" and f"版 {base + 2}（版 {base} の内容に戻す）" in d for a, d in actions)
    versions_page = client.get("/data").text.split('id="versions"')[1]
    assert "差し戻し" in versions_page and "ファイルの公開" in versions_page


def test_two_editors_publishing_from_the_same_version_the_second_gets_a_conflict(desk):
    first, second = desk.editor("editor"), desk.editor("editor2")
    base = current_version(first)
    mine = token_of(upload(first, "a.csv", GOOD_FAQ.encode("utf-8")))
    other_faq = FAQ_HEADER + ",ペット,猫の登録は必要ですか,,猫の登録は不要です。,,,,\r\n"
    theirs = token_of(upload(second, "b.csv", other_faq.encode("utf-8")))
    assert publish(first, mine).status == 303
    refused = publish(second, theirs)
    assert refused.status == 409
    assert f"確認した版 {base} の後に、版 {base + 1} が公開されています" in refused.text
    assert current_version(first) == base + 1
    assert "猫の登録は必要ですか" not in search_questions(desk.url, "猫の登録")
    assert any(e.action == "data_conflict" and e.account == "editor2" for e in store.audit_entries(20, desk.url))


def test_two_publishes_at_the_same_moment_let_exactly_one_through(desk):
    clients = [desk.editor("editor"), desk.editor("editor2")]
    tokens = [token_of(upload(c, f"{i}.csv", (FAQ_HEADER + f",ペット,同時{i}の質問,,回答{i},,,,\r\n").encode("utf-8")))
              for i, c in enumerate(clients)]
    pages = [c.get(f"/data/preview/{t}") for c, t in zip(clients, tokens)]
    results: list[int] = [0, 0]
    barrier = threading.Barrier(2)

    def go(i: int) -> None:
        barrier.wait()
        results[i] = clients[i].post("/data/publish", {"csrf_token": pages[i].csrf_token(), "token": tokens[i]}).status

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [303, 409]


def test_a_viewer_cannot_see_or_publish_data(desk):
    editor = desk.editor()
    token = token_of(upload(editor, "pets.csv", GOOD_FAQ.encode("utf-8")))
    viewer = desk.server.client()
    assert viewer.login("viewer").status == 303
    csrf = viewer.get("/").csrf_token()
    for reply in (viewer.get("/data"), viewer.get(f"/data/preview/{token}"), viewer.get("/data/faq/new"),
                  viewer.post("/data/publish", {"csrf_token": csrf, "token": token}),
                  viewer.post("/data/versions/1/rollback", {"csrf_token": csrf})):
        assert reply.status == 403
        assert "編集者（editor）の権限があるアカウントだけが使えます" in reply.text
    assert NEW_QUESTION not in search_questions(desk.url, NEW_QUESTION)
    assert editor.post("/data/publish", {"token": token}).status == 403  # no CSRF token


def test_wrong_types_and_large_files_are_refused_in_japanese(desk):
    client = desk.editor()
    before = current_version(client)
    reply = upload(client, "faq.xlsx", b"PK\x03\x04 not a csv")
    assert reply.status == 415 and "このファイルの種類は扱えません" in reply.text
    master = ("団体コード,都道府県名,市区町村名,都道府県名カナ,市区町村名カナ\r\n"
              "011002,北海道,札幌市,ホッカイドウ,サッポロシ\r\n")
    reply = upload(client, "master.csv", master.encode("utf-8"))
    assert reply.status == 422 and ("見出し行から FAQ（質問・回答）かイベント一覧（NO・イベント名）かを判別できません"
                                    in reply.text)
    reply = upload(client, "society.yml", "名称: 研究会\n事務局: どこか\n".encode("utf-8"))
    assert reply.status == 422 and "総会報告（「回」の項目がある YAML）ではありません" in reply.text
    big = (FAQ_HEADER + ",分類,質問,," + "あ" * 7_000_000 + ",,,,\r\n").encode("utf-8")  # 21 MB: over 20 MB
    assert len(big) > 20 * 1024 * 1024
    reply = upload(client, "big.csv", big)
    assert reply.status == 413 and "20MB までのファイルを選んでください" in reply.text
    assert current_version(client) == before


def test_a_file_just_under_the_limit_is_read(desk):
    client = desk.editor()
    rows = "".join(f",大量,大量の質問{i}です,,回答{i}です。,,,,\r\n" for i in range(40_000))
    data = (FAQ_HEADER + rows).encode("utf-8")
    assert 1024 * 1024 < len(data) < 20 * 1024 * 1024  # more than the desk's other routes take
    token = token_of(upload(client, "many.csv", data))
    assert "追加 <strong>40000</strong>件" in client.get(f"/data/preview/{token}").text


def test_assembly_report_and_event_list_uploads_preview_their_changes(desk):
    from conftest import SHIPPED_KB_DIR

    client = desk.editor()
    report = sorted((SHIPPED_KB_DIR / "assemblies").glob("*.yml"))[-1].read_text(encoding="utf-8")
    changed = report.replace("場所名称: ", "場所名称: 新会場 ", 1)
    assert changed != report
    token = token_of(upload(client, "007.yml", changed.encode("utf-8")))
    preview = client.get(f"/data/preview/{token}").text
    assert "変更 <strong>1</strong>件" in preview and '<td class="new">新会場 ' in preview
    events = ("NO,イベント名,開始日,場所名称,説明\r\n"
              "8,第8回 日本公共サービス研究会 総会,令和8年2月6日,テスト会館,テスト用の総会です\r\n")
    token = token_of(upload(client, "イベント一覧.csv", events.encode("cp932")))
    preview = client.get(f"/data/preview/{token}").text
    assert "追加 <strong>1</strong>件" in preview and "第8回 第8回 日本公共サービス研究会 総会" in preview
    assert publish(client, token).status == 303


def test_one_faq_entry_added_from_a_prefilled_form_edited_and_retired(desk):
    client = desk.editor()
    query = urllib.parse.urlencode({"question": "粗大ごみの<b>出し方</b>は？", "category": "ごみ", "lg_code": "131075"})
    form = client.get(f"/data/faq/new?{query}")
    assert form.status == 200
    assert 'value="粗大ごみの&lt;b&gt;出し方&lt;/b&gt;は？"' in form.text and 'value="ごみ"' in form.text
    assert 'value="131075"' in form.text
    fields = {"csrf_token": form.csrf_token(), "base_id": str(current_version(client)), "lg_code": "131075",
              "category": "ごみ", "question": "粗大ごみの出し方は？", "answer": "", "phone": "電話", "action": "save"}
    refused = client.post("/data/faq/save", fields)
    assert refused.status == 422
    assert "<td>入力内容</td><td>—</td><td>回答</td><td>値が空です（必須の項目です）</td>" in refused.text
    assert "「電話」は電話番号として読めません" in refused.text
    fields.update(answer="墨田区の粗大ごみ受付センターに申し込んでください。", phone="03-0000-0000")
    token = token_of(client.post("/data/faq/save", fields))
    assert "追加 <strong>1</strong>件" in client.get(f"/data/preview/{token}").text
    assert publish(client, token).status == 303
    assert search_questions(desk.url, "粗大ごみの出し方")[0] == "粗大ごみの出し方は？"

    edit = client.get("/data/faq/edit?"
                      + urllib.parse.urlencode({"lg_code": "131075", "question": "粗大ごみの出し方は？"}))
    assert edit.status == 200 and "墨田区の粗大ごみ受付センター" in edit.text
    fields = {"csrf_token": edit.csrf_token(), "base_id": str(current_version(client)),
              "original_lg_code": "131075", "original_question": "粗大ごみの出し方は？", "lg_code": "131075",
              "category": "ごみ", "question": "粗大ごみの出し方は？",
              "answer": "粗大ごみはインターネットでも申し込めます。", "action": "save"}
    token = token_of(client.post("/data/faq/save", fields))
    preview = client.get(f"/data/preview/{token}").text
    assert '<td class="old">墨田区の粗大ごみ受付センターに申し込んでください。</td>' in preview
    assert '<td class="new">粗大ごみはインターネットでも申し込めます。</td>' in preview
    assert publish(client, token).status == 303

    fields.update(csrf_token=client.get("/data").csrf_token(), base_id=str(current_version(client)), action="retire")
    token = token_of(client.post("/data/faq/save", fields))
    assert "削除 <strong>1</strong>件" in client.get(f"/data/preview/{token}").text
    assert publish(client, token).status == 303
    assert "粗大ごみの出し方は？" not in search_questions(desk.url, "粗大ごみの出し方")
    details = [e.detail for e in store.audit_entries(30, desk.url) if e.action == "data_published"]
    assert len(details) == 3 and all("FAQ 1件の" in d for d in details)


def test_html_and_script_in_a_file_are_shown_as_text(desk):
    client = desk.editor()
    evil = FAQ_HEADER + ',テスト,<script>alert("x")</script>の質問,,<img src=x onerror=alert(1)>回答,,,,\r\n'
    token = token_of(upload(client, "<b>evil</b>.csv", evil.encode("utf-8")))
    preview = client.get(f"/data/preview/{token}").text
    assert "<script>alert" not in preview and "<img src=x" not in preview and "<b>evil" not in preview
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;の質問" in preview
    assert "&lt;img src=x onerror=alert(1)&gt;回答" in preview
    assert publish(client, token).status == 303
    data_page = client.get("/data?q=" + urllib.parse.quote("<script>")).text
    assert "<script>alert" not in data_page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;の質問" in data_page
    bad = FAQ_HEADER + ',テスト,質問,,回答,,<script>x</script>,,\r\n'  # the reason quotes the phone number
    problems = upload(client, "bad.csv", bad.encode("utf-8")).text
    assert "<script>x" not in problems and "「&lt;script&gt;x&lt;/script&gt;」は電話番号として読めません" in problems


def kb_build(url: str, *args: str):
    """``madoguchi kb build`` as ``make run`` and the deployment's kb-load job run it."""
    import subprocess

    from staff_desk import BIN, REPO

    done = subprocess.run([str(BIN / "madoguchi"), "--db", url, "kb", "build", *args], capture_output=True,
                          text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_rebuild_from_the_files_keeps_what_the_desk_published_until_told_otherwise(desk):
    client = desk.editor()
    token = token_of(upload(client, "pets.csv", GOOD_FAQ.encode("utf-8")))
    assert publish(client, token).status == 303
    published = current_version(client)

    # `make run` after data/kb changed, or `docker compose up` (kb-load): the desk's entry stays
    out = kb_build(desk.url)
    assert f"FAQ と総会は、スタッフ画面で公開された内容（版 {published}）を保ちました" in out
    assert "faq_entries=58" in out  # 57 shipped entries and the published one
    assert search_questions(desk.url, NEW_QUESTION)[0] == NEW_QUESTION
    page = client.get("/data")
    assert current_version(client) == published + 1
    assert f"版 {published} の FAQ・総会を保持" in page.text and "作り直し・公開内容を保持" in page.text

    # asked for in so many words: the files' content, and the published one stays restorable
    out = kb_build(desk.url, "--from-files")
    assert "保ちました" not in out and "faq_entries=57" in out
    assert NEW_QUESTION not in search_questions(desk.url, NEW_QUESTION)
    assert current_version(client) == published + 2
    assert "data/kb からの作り直し（kb build）" in client.get("/data").text
    # and from then on the files are the data again, until the desk publishes
    out = kb_build(desk.url)
    assert "保ちました" not in out
    assert NEW_QUESTION not in search_questions(desk.url, NEW_QUESTION)
    page = client.get("/data")
    rolled = client.post(f"/data/versions/{published}/rollback", {"csrf_token": page.csrf_token()})
    assert publish(client, token_of(rolled)).status == 303
    assert search_questions(desk.url, NEW_QUESTION)[0] == NEW_QUESTION
