"""Downloads of the staff desk over plain HTTP (issue 18, section 5, last bullet): the current FAQ and
イベント一覧 as CSV from a real ``python -m bot.staff`` on SQLite, for viewers and editors.

The UTF-8 file is byte for byte what ``madoguchi kb export --format faq-csv|event-csv`` writes (run here as
the real command); CP932 holds the same cells; formula cells are neutralised in both, also where CP932
turns a character into a formula start; a character CP932 cannot hold is refused with a message, never
replaced; every download is in the audit log.
"""
from __future__ import annotations

import csv
import io
import subprocess
import urllib.parse

import pytest
from staff_desk import BIN, REPO, add_account, staff_server

from bot.kb import spreadsheet
from bot.kb import staff as store
from bot.kb.db import dispose_all
from bot.kb.loader import load, load_files

FAQ_HEADER = "全国地方公共団体コード,分類,質問,質問_別表現,回答,担当部署,連絡先電話番号,URL,最終確認日\n"
FORMULAS = (
    ',テスト,=HYPERLINK("http://evil.example"),+入力の例,"@SUM(A1) と −5 の回答",－環境課,,,2025-01-01\n'
    ',テスト,−5度のときの登校は？,,"—休校の場合は連絡します",学校教育課,,,2025-01-01\n'
)


def exported(db_url: str, kind: str) -> bytes:
    done = subprocess.run([str(BIN / "madoguchi"), "--db", db_url, "kb", "export", "--format", kind, "--out", "-"],
                          capture_output=True, cwd=REPO, check=True)
    return done.stdout


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("staff_downloads")
    db_url = f"sqlite:///{workdir / 'kb.sqlite3'}"
    load(url=db_url)
    formulas = workdir / "formula_faq.csv"
    formulas.write_text(FAQ_HEADER + FORMULAS, encoding="utf-8")
    load_files([formulas], db_url)
    for name, role in (("editor1", "editor"), ("viewer1", "viewer")):
        assert add_account(db_url, name, role).returncode == 0
    dispose_all()
    with staff_server(db_url, workdir) as server:
        yield server, db_url


def logged_in(server, name: str):
    client = server.client()
    assert client.login(name).status == 303
    return client


def raw_get(server, client, path: str):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port)
    try:
        conn.request("GET", path, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items())})
        reply = conn.getresponse()
        return reply.status, reply.headers, reply.read()
    finally:
        conn.close()


@pytest.mark.parametrize("name, kind", [("faq.csv", "faq-csv"), ("events.csv", "event-csv")])
@pytest.mark.parametrize("account", ["viewer1", "editor1"])
def test_utf8_is_what_kb_export_writes(desk, name, kind, account):
    server, db_url = desk
    status, headers, body = raw_get(server, logged_in(server, account), f"/download/{name}")
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"].startswith('attachment; filename="madoguchi_')
    assert body.startswith("\ufeff".encode("utf-8"))
    assert body == exported(db_url, kind)


@pytest.mark.parametrize("name, kind", [("faq.csv", "faq-csv"), ("events.csv", "event-csv")])
def test_cp932_holds_the_same_cells(desk, name, kind):
    server, db_url = desk
    status, headers, body = raw_get(server, logged_in(server, "viewer1"), f"/download/{name}?encoding=cp932")
    assert status == 200 and headers["Content-Type"] == "text/csv; charset=Windows-31J"
    assert not body.startswith(b"\xef\xbb\xbf")
    text = body.decode("cp932")
    assert "\r\n" in text
    utf8 = exported(db_url, kind).decode("utf-8").lstrip("\ufeff")
    got, want = rows(text), rows(utf8)
    assert len(got) == len(want) > 1
    same = [(g, w) for g, w in zip(got, want) if g != w]
    if kind == "event-csv":
        assert not same  # the assembly reports hold nothing CP932 lacks
    else:  # only the two rows with − and —, which CP932 shows as － and ―
        assert len(same) == 2


def test_formula_cells_are_neutralised_in_both_encodings(desk):
    server, _ = desk
    client = logged_in(server, "editor1")
    _, _, utf8 = raw_get(server, client, "/download/faq.csv")
    _, _, cp932 = raw_get(server, client, "/download/faq.csv?encoding=cp932")
    for text in (utf8.decode("utf-8").lstrip("\ufeff"), cp932.decode("cp932")):
        table = rows(text)
        cells = [c for row in table for c in row]
        assert "'=HYPERLINK(\"http://evil.example\")" in cells
        assert "'－環境課" in cells and "'+入力の例" in cells
        assert "'@SUM(A1) と −5 の回答" in [c.replace("－", "−") for c in cells]  # CP932 writes − as －
        assert not [c for c in cells if c and c[0] in spreadsheet.FORMULA_STARTS]  # every formula start is neutralised
    cp_cells = [c for row in rows(cp932.decode("cp932")) for c in row]
    # U+2212 is written as CP932's minus, which a spreadsheet reads as the full-width －: neutralised again
    assert "'－5度のときの登校は？" in cp_cells and "―休校の場合は連絡します" in cp_cells


def test_downloads_are_in_the_audit_log(desk):
    server, db_url = desk
    client = logged_in(server, "viewer1")
    before = len([e for e in store.audit_entries(500, db_url) if e.action == "download"])
    raw_get(server, client, "/download/events.csv?encoding=cp932")
    entries = [e for e in store.audit_entries(500, db_url) if e.action == "download"]
    assert len(entries) == before + 1
    newest = entries[0]
    assert newest.account == "viewer1" and newest.kb_version
    assert (newest.detail.startswith("イベント一覧（events.csv、CP932、")
            and newest.detail.endswith("件）をダウンロード"))
    page = client.get("/audit").text
    assert "イベント一覧（events.csv、CP932、" in page


@pytest.mark.parametrize("path, status, message", [
    ("/download/faq.csv?encoding=latin-1", 400,
     "文字コード「latin-1」には対応していません。utf-8（BOM付き）か cp932 を指定してください。"),
    ("/download/secrets.csv", 404, "お探しのファイルはありません。"),
])
def test_bad_requests_get_a_japanese_message(desk, path, status, message):
    server, db_url = desk
    client = logged_in(server, "viewer1")
    before = [e.id for e in store.audit_entries(500, db_url) if e.action == "download"]
    reply = client.get(path)
    assert reply.status == status and message in reply.text
    assert [e.id for e in store.audit_entries(500, db_url) if e.action == "download"] == before  # nothing recorded


def test_downloads_need_a_login(desk):
    server, _ = desk
    reply = server.client().get("/download/faq.csv")
    assert reply.status == 303
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(reply.location).query)["next"] == ["/download/faq.csv"]


def test_a_character_cp932_lacks_is_refused_not_replaced(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    load(url=db_url)
    odd = tmp_path / "odd_faq.csv"
    odd.write_text(FAQ_HEADER + ",テスト,子どもを𠮟る前に,,相談窓口があります😀,子育て支援課,,,2025-01-01\n",
                   encoding="utf-8")
    load_files([odd], db_url)
    assert add_account(db_url, "viewer1", "viewer").returncode == 0
    dispose_all()
    with staff_server(db_url, tmp_path / "desk") as server:
        client = logged_in(server, "viewer1")
        reply = client.get("/download/faq.csv?encoding=cp932")
        assert reply.status == 422
        assert "CP932（Shift_JIS）では表せない文字があるため、CP932 では書き出せませんでした" in reply.text
        assert "「𠮟」（" in reply.text and "「😀」（" in reply.text
        assert "UTF-8（BOM付き）でダウンロードしてください。" in reply.text
        status, _, body = raw_get(server, client, "/download/faq.csv")
        assert status == 200 and "𠮟る前に".encode("utf-8") in body
    assert [e.detail for e in store.audit_entries(50, db_url) if e.action == "download"] == [
        f"FAQ（faq.csv、UTF-8（BOM付き）、{len(rows(body.decode('utf-8-sig'))) - 1}件）をダウンロード"]
