"""FAQ files: the sample reads cleanly; every kind of bad input stops with a located Japanese problem
and leaves the database as it was; loading twice changes nothing; export → load into an empty
database → export gives the same bytes. Database tests run on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from bot.kb import files
from bot.kb.db import get_engine, open_session
from bot.kb.faq import FAQ_COLUMNS, export_faq_csv, read_faq, read_faq_dir, upsert_faq
from bot.kb.files import LoadError
from bot.kb.loader import load
from bot.kb.models import Base, FaqEntry, LocalGovernment

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "kb" / "faq" / "sample_faq.csv"
MASTER = REPO / "data" / "kb" / "local_governments.csv"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
FIELDS = ("lg_code", "category", "question", "alternatives", "answer", "department", "phone", "url", "checked_on")


# -- helpers and fixtures ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def known_codes() -> set[str]:
    with MASTER.open(encoding="utf-8", newline="") as fh:
        return {row["団体コード"] for row in csv.DictReader(fh)}


def sample_rows() -> list[list[str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]], encoding: str = "utf-8", newline: str = "\n") -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def fields(entry: FaqEntry) -> tuple:
    return tuple(getattr(entry, f) for f in FIELDS)


def db_contents(url: str) -> dict[str, list[tuple]]:
    """Every row of every table in primary-key order: equal snapshots mean an unchanged database."""
    with get_engine(url).connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


def faq_rows(url: str) -> list[tuple]:
    with open_session(url) as session:
        return [(e.id, *fields(e), e.source) for e in session.scalars(select(FaqEntry).order_by(FaqEntry.id))]


def load_faq(path: Path, url: str) -> dict[str, int]:
    """What the loader does with a FAQ file: validate it completely, then write it in one transaction."""
    with open_session(url) as session:
        known = set(session.scalars(select(LocalGovernment.code)))
        entries = read_faq(path, known)
        counts: dict[str, int] = {}
        assert upsert_faq(session, entries, counts) == len(entries)
        session.commit()
        return counts


@pytest.fixture
def faq_db_url(loaded_db_url):
    """A database holding the shipped data/kb and the sample FAQ."""
    load_faq(SAMPLE, loaded_db_url)
    return loaded_db_url


@pytest.fixture
def empty_kb_url(db_url, tmp_path):
    """A database holding only the national master (no FAQ entries, no assemblies)."""
    master_only = tmp_path / "master_only"
    master_only.mkdir()
    shutil.copy(MASTER, master_only / MASTER.name)
    load(master_only, url=db_url)
    return db_url


# -- the shipped sample ----------------------------------------------------------------------------

def test_sample_faq_reads_without_problems(known_codes):
    entries = read_faq(SAMPLE, known_codes)
    codes = {e.lg_code for e in entries}
    assert len(entries) >= 50
    assert None in codes and len(codes - {None}) >= 4
    assert {"戸籍・住民票", "子育て・保育", "税", "国民健康保険", "ごみ", "マイナンバーカード", "窓口業務"} <= {
        e.category for e in entries}
    assert all(e.source == "sample_faq.csv" for e in entries)


def test_sample_faq_is_marked_as_fictional(known_codes):
    entries = read_faq(SAMPLE, known_codes)
    assert all(re.fullmatch(r"0120-000-\d{3}|03-0000-\d{4}", e.phone) for e in entries), "fictional numbers only"
    assert all(e.url.startswith("https://example.jp/sample/") for e in entries), "reserved example domain only"
    readme = (SAMPLE.parent / "README.md").read_text(encoding="utf-8")
    assert "サンプルデータ" in readme and "架空" in readme and "公式情報ではありません" in readme


# -- reading ---------------------------------------------------------------------------------------

def test_values_are_read_and_cleaned(tmp_path, known_codes):
    path = write_rows(tmp_path / "faq.csv", [
        FAQ_COLUMNS,
        ["１３１２１１", " 税 ", "住民税は？", "住民税は？| 住民税の納め方 ||住民税の納め方", "回答1\r\n二行目",
         "課税課",
         "03-0000-1234（内線12）", "https://example.jp/a", "令和6年4月1日"],
        ["", "税", "共通の質問", "", "回答2", "", "", "", "H31.4.30"],
    ])
    first, second = read_faq(path, known_codes)
    assert fields(first) == ("131211", "税", "住民税は？", "住民税の納め方", "回答1\n二行目", "課税課",
                             "03-0000-1234（内線12）", "https://example.jp/a", __import__("datetime").date(2024, 4, 1))
    assert (second.lg_code, second.checked_on.isoformat(), second.alternatives) == (None, "2019-04-30", "")


def test_optional_columns_may_be_left_out(tmp_path, known_codes):
    path = write_rows(tmp_path / "faq.csv",
                      [["全国地方公共団体コード", "分類", "質問", "回答"], ["", "税", "質問", "回答"]])
    (entry,) = read_faq(path, known_codes)
    assert (entry.alternatives, entry.department, entry.phone, entry.url, entry.checked_on) == ("", "", "", "", None)


def _reencode(encoding: str, newline: str = "\n"):
    def change(path: Path) -> None:
        write_rows(path, sample_rows(), encoding=encoding, newline=newline)
    return change


def _spaced_header(path: Path) -> None:
    rows = sample_rows()
    rows[0] = [f"　{name} " for name in rows[0]]
    rows[0][3] = " 質問＿別表現"  # full-width low line, NFKC → 質問_別表現
    write_rows(path, rows)


@pytest.mark.parametrize("change", [
    pytest.param(_reencode("cp932"), id="cp932"),
    pytest.param(_reencode("utf-8-sig"), id="utf-8-with-bom"),
    pytest.param(_reencode("cp932", "\r\n"), id="cp932-crlf"),
    pytest.param(_spaced_header, id="header-spaces-and-full-width"),
])
def test_harmless_variants_read_the_same_entries(tmp_path, known_codes, change):
    path = tmp_path / "variant.csv"
    shutil.copy(SAMPLE, path)
    change(path)
    assert [fields(e) for e in read_faq(path, known_codes)] == [fields(e) for e in read_faq(SAMPLE, known_codes)]


# -- bad input: a located Japanese problem, and the database stays as it was ------------------------

HEADER = ",".join(FAQ_COLUMNS)
GOOD = "131211,税,軽自動車税の納税証明書は,,課税課の窓口で交付します。,課税課,03-0000-1005,https://example.jp/x,2024-05-01"


def _lines(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def _row(**values: str) -> str:
    base = dict(zip(FAQ_COLUMNS, next(csv.reader([GOOD]))))
    base.update(values)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([base[c] for c in FAQ_COLUMNS])
    return out.getvalue()


def _q(question: str, **values: str) -> str:
    return _row(質問=question, **values)


BAD_INPUT = [
    # (content bytes, row, column, fragments of the reason)
    pytest.param(_lines(HEADER, _q("質問1"), _q("質問2"))[:-25], 3, "URL", ["列の数", "途中で切れて"],
                 id="truncated-mid-row"),
    pytest.param(
        (HEADER + "\n" + _q("質問1") + '\n131211,税,質問2,,"回答の途中で\n改行があり').encode(), 3, "回答",
        ["引用符", "途中で切れて"], id="truncated-inside-quotes",
    ),
    pytest.param(_lines(HEADER, _q("質問1"), _q("質問2", 最終確認日="令和6年4月1日"))[:-2], 3, "最終確認日",
                 ["途中で切れて", "UTF-8"], id="truncated-mid-character-utf8"),
    pytest.param(_lines(HEADER, _q("質問1"), _q("質問2", 最終確認日="令和6年4月1日"), encoding="cp932")[:-2], 3,
                 "最終確認日",
                 ["途中で切れて", "Shift_JIS"], id="truncated-mid-character-cp932"),
    pytest.param(_lines(HEADER, _q("質問1"), encoding="utf-16"), None, None, ["UTF-16"], id="utf-16"),
    pytest.param(_lines(HEADER, _q("質問1"), encoding="utf-16-le"), None, None, ["UTF-16"], id="utf-16-without-bom"),
    pytest.param(_lines(HEADER, _q("質問1"), encoding="euc_jp"), None, None, ["EUC-JP"], id="euc-jp"),
    pytest.param(b"\x81\x20\x82\xff" * 64, None, None, ["文字コード"], id="undecodable-bytes"),
    pytest.param(b"\x00\x01binary\x00" * 64, None, None, ["テキストファイルではありません"], id="binary"),
    pytest.param(_lines(HEADER + ",備考", _q("質問1") + ","), 1, "備考", ["不明な列"], id="unknown-column"),
    pytest.param(_lines(HEADER.replace("質問_別表現", "質問（別表現）"), _q("質問1")), 1, "質問(別表現)",
                 ["不明な列", "質問_別表現"], id="misspelt-column"),
    pytest.param(_lines(HEADER.replace(",回答", ",答え"), _q("質問1")), 1, "回答", ["必須の列"], id="missing-column"),
    pytest.param(_lines(HEADER, _q("質問1") + ",余分"), 2, None, ["列の数"], id="extra-field"),
    pytest.param(_lines(HEADER, '131211,税,"質問"1",,回答,,,,'), 2, None, ["引用符"], id="stray-quote"),
    pytest.param(_lines(HEADER, _q("住民税は？"), _q("質問2"), _q("住民税は?")), 4, "質問", ["重複", "2行目", "131211"],
                 id="duplicate-code-and-question"),
    pytest.param(_lines(HEADER, _q("共通の質問", 全国地方公共団体コード=""),
                        _q("共通の質問", 全国地方公共団体コード="")), 3, "質問",
                 ["重複", "共通"], id="duplicate-shared-question"),
    pytest.param(_lines(HEADER, _q("質問1", 分類="")), 2, "分類", ["空"], id="empty-category"),
    pytest.param(_lines(HEADER, _q("")), 2, "質問", ["空"], id="empty-question"),
    pytest.param(_lines(HEADER, _q("質問1", 回答=" ")), 2, "回答", ["空"], id="empty-answer"),
    pytest.param(_lines(HEADER, _q("質問1", 最終確認日="平成32年1月10日")), 2, "最終確認日",
                 ["平成32年1月10日", "存在しない日付"],
                 id="date-after-the-era-ended"),
    pytest.param(_lines(HEADER, _q("質問1", 最終確認日="2024年2月30日")), 2, "最終確認日",
                 ["2024年2月30日", "存在しない日付"],
                 id="february-30"),
    pytest.param(_lines(HEADER, _q("質問1", 最終確認日="来週")), 2, "最終確認日", ["来週", "日付として読めません"],
                 id="unreadable-date"),
    pytest.param(_lines(HEADER, _q("質問1", 最終確認日="2999-01-01")), 2, "最終確認日", ["未来"], id="future-date"),
    pytest.param(_lines(HEADER, _q("質問1", 全国地方公共団体コード="131212")), 2, "全国地方公共団体コード",
                 ["131212", "検査数字", "131211"], id="wrong-check-digit"),
    pytest.param(_lines(HEADER, _q("質問1", 全国地方公共団体コード="999997")), 2, "全国地方公共団体コード",
                 ["999997", "一覧", "ありません"], id="code-not-in-master"),
    pytest.param(_lines(HEADER, _q("質問1", 全国地方公共団体コード="11002")), 2, "全国地方公共団体コード",
                 ["先頭の0", "011002"], id="leading-zero-lost-in-excel"),
    pytest.param(_lines(HEADER, _q("質問1", 全国地方公共団体コード="13121")), 2, "全国地方公共団体コード",
                 ["5桁", "131211"], id="code-without-check-digit"),
    pytest.param(_lines(HEADER, _q("質問1", 連絡先電話番号="kadai@example.jp")), 2, "連絡先電話番号", ["電話番号"],
                 id="bad-phone"),
    pytest.param(_lines(HEADER, _q("質問1", URL="www.example.jp")), 2, "URL", ["https://"], id="bad-url"),
    pytest.param(_lines(HEADER, _q("質問1", 分類="分" * 101)), 2, "分類", ["100 文字以内"], id="too-long-for-column"),
    pytest.param(b"", None, None, ["空"], id="empty-file"),
]


@pytest.mark.parametrize("content, row, column, fragments", BAD_INPUT)
def test_bad_input_is_located_and_changes_nothing(faq_db_url, tmp_path, content, row, column, fragments):
    path = tmp_path / "faq_bad.csv"
    path.write_bytes(content)
    before = db_contents(faq_db_url)
    with pytest.raises(LoadError) as excinfo:
        load_faq(path, faq_db_url)
    matches = [p for p in excinfo.value.problems if p.row == row and p.column == column]
    assert matches, f"no problem at row {row} / column {column!r} among:\n{excinfo.value}"
    problem = matches[0]
    assert Path(problem.file) == path
    assert JAPANESE.search(problem.reason), problem.reason
    for fragment in fragments:
        assert fragment in problem.reason, problem.reason
    assert str(problem) in str(excinfo.value)
    assert db_contents(faq_db_url) == before


def test_a_100_mb_file_is_refused_without_reading_it(faq_db_url, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:
        fh.write(_lines(HEADER, _q("質問1")))
        fh.truncate(100 * 1024 * 1024)  # sparse: 100 MB on paper, no time or disk spent
    before = db_contents(faq_db_url)
    with pytest.raises(LoadError) as excinfo:
        load_faq(path, faq_db_url)
    (problem,) = excinfo.value.problems
    assert (Path(problem.file), problem.row, problem.column) == (path, None, None)
    assert "大きすぎ" in problem.reason and "104,857,600" in problem.reason
    assert f"{files.MAX_FILE_BYTES:,}" in problem.reason
    assert db_contents(faq_db_url) == before


def test_every_problem_is_listed_at_once(tmp_path, known_codes):
    path = tmp_path / "faq.csv"
    path.write_bytes(_lines(
        HEADER,
        _q("質問1", 全国地方公共団体コード="131212"),
        _q("質問2", 最終確認日="平成32年1月10日", 回答=""),
        _q("質問3"),
        _q("質問3"),
    ))
    with pytest.raises(LoadError) as excinfo:
        read_faq(path, known_codes)
    located = {(p.row, p.column) for p in excinfo.value.problems}
    assert located == {(2, "全国地方公共団体コード"), (3, "最終確認日"), (3, "回答"), (5, "質問")}
    message = str(excinfo.value)
    assert "faq.csv 2行目「全国地方公共団体コード」: " in message and "faq.csv 5行目「質問」: " in message


def test_duplicates_across_files_are_found(tmp_path, known_codes):
    (tmp_path / "a.csv").write_bytes(_lines(HEADER, _q("同じ質問")))
    (tmp_path / "b.csv").write_bytes(_lines(HEADER, _q("別の質問"), _q("同じ質問")))
    with pytest.raises(LoadError) as excinfo:
        read_faq_dir(tmp_path, known_codes)
    (problem,) = excinfo.value.problems
    assert (Path(problem.file).name, problem.row, problem.column) == ("b.csv", 3, "質問")
    assert "a.csv 2行目" in problem.reason


def test_same_question_for_different_municipalities_is_fine(tmp_path, known_codes):
    path = tmp_path / "faq.csv"
    path.write_bytes(_lines(HEADER, _q("同じ質問"), _q("同じ質問", 全国地方公共団体コード="131075"),
                            _q("同じ質問", 全国地方公共団体コード="")))
    assert [e.lg_code for e in read_faq(path, known_codes)] == ["131211", "131075", None]


# -- upsert ----------------------------------------------------------------------------------------

def test_loading_the_same_file_twice_changes_nothing(faq_db_url):
    first = db_contents(faq_db_url)
    entries = len(sample_rows()) - 1
    assert len(first["faq_entry"]) == entries
    assert load_faq(SAMPLE, faq_db_url) == {"inserted": 0, "updated": 0, "unchanged": entries}
    assert db_contents(faq_db_url) == first


def test_shared_entries_are_not_duplicated(faq_db_url):
    """NULL is distinct from NULL in a UNIQUE constraint (both backends): upsert must match shared rows itself."""
    load_faq(SAMPLE, faq_db_url)
    with open_session(faq_db_url) as session:
        shared = session.scalars(select(FaqEntry.question).where(FaqEntry.lg_code.is_(None))).all()
    assert shared and len(shared) == len(set(shared))


def test_upsert_updates_in_place_and_adds_new_entries(faq_db_url, tmp_path):
    before = {(r[1], r[3]): r for r in faq_rows(faq_db_url)}
    rows = sample_rows()
    changed = rows[1][:]
    changed[4] = "回答を書き換えました。"
    added = ["131211", "税", "新しい質問", "", "新しい回答", "", "", "", ""]
    write_rows(tmp_path / "edit.csv", [rows[0], changed, added])
    assert load_faq(tmp_path / "edit.csv", faq_db_url) == {"inserted": 1, "updated": 1, "unchanged": 0}
    after = {(r[1], r[3]): r for r in faq_rows(faq_db_url)}
    key = (changed[0] or None, changed[2])
    assert after[key][0] == before[key][0]  # same id
    assert after[key][5] == "回答を書き換えました。" and after[key][-1] == "edit.csv"
    assert ("131211", "新しい質問") in after and len(after) == len(before) + 1


def test_upsert_refuses_the_same_key_twice(empty_kb_url):
    entries = [FaqEntry(lg_code=None, category="税", question="q", answer="a") for _ in range(2)]
    with open_session(empty_kb_url) as session, pytest.raises(ValueError):
        upsert_faq(session, entries)


# -- export ----------------------------------------------------------------------------------------

def test_export_load_export_gives_identical_bytes(faq_db_url, empty_kb_url, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    with open_session(faq_db_url) as session:
        text = export_faq_csv(session, first)
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == len(sample_rows())
    with open_session(empty_kb_url) as session:
        assert session.scalars(select(FaqEntry)).first() is None
    load_faq(first, empty_kb_url)
    with open_session(empty_kb_url) as session:
        export_faq_csv(session, second)
    assert first.read_bytes() == second.read_bytes()


def test_export_format_is_excel_friendly_and_keeps_every_value(faq_db_url, tmp_path, known_codes):
    out = tmp_path / "export.csv"
    with open_session(faq_db_url) as session:
        export_faq_csv(session, out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens it as UTF-8
    assert raw.split(b"\r\n", 1)[0].decode("utf-8-sig") == ",".join(FAQ_COLUMNS)
    exported = read_faq(out, known_codes)
    original = read_faq(SAMPLE, known_codes)
    assert sorted(map(fields, exported), key=repr) == sorted(map(fields, original), key=repr)
    codes = [e.lg_code for e in exported]
    assert codes == sorted(codes, key=lambda c: (c is not None, c or ""))  # shared first, then by code
    records = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert records[1][0] == ""  # shared entries have an empty code
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r[-1]) for r in records[1:])  # 和暦 in the sample, YYYY-MM-DD here


def test_awkward_values_survive_a_round_trip(empty_kb_url, tmp_path, known_codes):
    awkward = '「引用」と "二重引用符", カンマ,\n改行\n- 箇条書き\n=1+1'
    path = write_rows(tmp_path / "faq.csv",
                      [FAQ_COLUMNS, ["", "税", 'カンマ,と"引用符"の質問', "a|b", awkward, "", "", "", ""]])
    load_faq(path, empty_kb_url)
    out = tmp_path / "out.csv"
    with open_session(empty_kb_url) as session:
        export_faq_csv(session, out)
    (entry,) = read_faq(out, known_codes)
    assert (entry.question, entry.alternatives, entry.answer) == ('カンマ,と"引用符"の質問', "a|b", awkward)


def test_export_to_a_stream_and_of_an_empty_table(empty_kb_url):
    buffer = io.BytesIO()
    with open_session(empty_kb_url) as session:
        session.execute(delete(FaqEntry))
        text = export_faq_csv(session, buffer)
    assert text == "\ufeff" + ",".join(FAQ_COLUMNS) + "\r\n"
    assert buffer.getvalue() == text.encode("utf-8")


def test_exported_text_written_as_utf8_gives_the_file_bytes(faq_db_url, tmp_path):
    """``madoguchi kb export --format faq-csv --out F`` writes the returned text with write_text(newline="")."""
    with open_session(faq_db_url) as session:
        text = export_faq_csv(session, tmp_path / "direct.csv")
    (tmp_path / "via_text.csv").write_text(text, encoding="utf-8", newline="")
    assert (tmp_path / "via_text.csv").read_bytes() == (tmp_path / "direct.csv").read_bytes()


# -- through the loader and the command line -----------------------------------------------------------

def test_kb_load_of_a_faq_file_upserts_and_refuses_bad_files(empty_kb_url, tmp_path):
    from bot.kb.loader import load_files

    assert load_files([SAMPLE], empty_kb_url) == {"faq": len(sample_rows()) - 1}
    after_first = db_contents(empty_kb_url)
    load_files([SAMPLE], empty_kb_url)
    assert db_contents(empty_kb_url) == after_first
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_lines(HEADER, _q("新しい質問"), _q("質問2", 最終確認日="平成32年1月10日")))
    with pytest.raises(LoadError) as excinfo:
        load_files([bad], empty_kb_url)
    assert [(p.row, p.column) for p in excinfo.value.problems] == [(3, "最終確認日")]
    assert db_contents(empty_kb_url) == after_first


def test_cli_export_then_kb_load_into_an_empty_database_then_export_is_identical(faq_db_url, empty_kb_url, tmp_path):
    from bot.cli import main

    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert main(["--db", faq_db_url, "kb", "export", "--format", "faq-csv", "--out", str(first)]) == 0
    assert main(["--db", empty_kb_url, "kb", "load", str(first)]) == 0
    assert main(["--db", empty_kb_url, "kb", "export", "--format", "faq-csv", "--out", str(second)]) == 0
    assert first.read_bytes().startswith(b"\xef\xbb\xbf")
    assert first.read_bytes() == second.read_bytes()
