"""Loading data/kb: the shipped data loads completely; bad data stops the load with a located,
Japanese explanation and leaves the database exactly as it was; harmless variants of the files
(encodings, header spellings) load to the same knowledge base."""
from __future__ import annotations

import csv
import dataclasses
import io
import random
import re
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.kb import files, queries
from bot.kb.db import dispose_all, get_engine, open_session
from bot.kb.files import LoadError, read_csv
from bot.kb.loader import load
from bot.kb.models import Base, PresentationMunicipality

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
MASTER, ASSEMBLY = Path("local_governments.csv"), Path("assemblies") / "007.yml"  # inside a data directory
SHIPPED_STATS = {"local_governments": 1788, "organizations": 7, "societies": 1, "assemblies": 1, "presentations": 6,
                 "faq_entries": 57}


# -- helpers --------------------------------------------------------------------------------

def db_contents(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: equal snapshots mean an unchanged database."""
    with get_engine(url).connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


def table_counts(url: str) -> dict[str, int]:
    return {name: len(rows) for name, rows in db_contents(url).items()}


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test set-up: {old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def rewrite_csv(path: Path, change) -> None:
    """change(rows) edits the list of rows (header first) in place."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    change(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def line_number(path: Path, start: str) -> int:
    """1-based number of the last line that starts with ``start`` (a CSV file's data row number)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return max(i for i, line in enumerate(lines, start=1) if line.startswith(start))


def last_line(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def find_problem(exc: LoadError, file_name: str, column):
    matches = [p for p in exc.problems if Path(p.file).name == file_name and p.column == column]
    assert matches, f"no problem for {file_name} / {column!r} among:\n{exc}"
    return matches[0]


# -- the shipped data -----------------------------------------------------------------------

def test_shipped_data_loads_completely(db_url, shipped_kb_dir):
    assert load(shipped_kb_dir, url=db_url) == SHIPPED_STATS
    with open_session(db_url) as session:
        assert queries.kb_counts(session) == {
            "local_governments": 1788,
            "organizations": 7,
            "assemblies": 1,
            "presentations": 6,
            "faq_entries": 57,
        }
        assert queries.assembly_numbers(session) == [7]
        assert queries.society(session).name == "日本公共サービス研究会"
    assert table_counts(db_url)["society"] == 1


def _records_without_ids(url: str):
    with open_session(url) as session:
        assemblies = [
            dataclasses.replace(a, presentations=tuple(dataclasses.replace(p, id=0) for p in a.presentations))
            for a in queries.all_assemblies(session)
        ]
        return assemblies, queries.society(session), queries.local_governments_named(session, "府中市")


def test_loading_twice_gives_the_same_knowledge_base_without_duplicates(db_url, shipped_kb_dir):
    first_stats = load(shipped_kb_dir, url=db_url)
    first_counts, first_records = table_counts(db_url), _records_without_ids(db_url)
    second_stats = load(shipped_kb_dir, url=db_url)
    assert second_stats == first_stats == SHIPPED_STATS
    assert table_counts(db_url) == first_counts
    assert _records_without_ids(db_url) == first_records
    with open_session(db_url) as session:
        assert [lg.code for lg in queries.local_governments_named(session, "足立区")] == ["131211"]
        assert len(queries.assembly(session, 7).presentations) == 6


# -- bad data: the load stops, says where and why, and changes nothing -------------------------

def _drop_kana_column(kb: Path) -> None:
    rewrite_csv(kb / MASTER, lambda rows: [row.pop() for row in rows])


def _add_unknown_column(kb: Path) -> None:
    def change(rows):
        rows[0].append("備考")
        for row in rows[1:]:
            row.append("")

    rewrite_csv(kb / "organizations.csv", change)


def _extra_field(kb: Path) -> None:
    rewrite_csv(kb / "organizations.csv", lambda rows: rows[2].append("余分"))


def _wrong_check_digit(kb: Path) -> None:
    replace_in(kb / MASTER, "\n342084,広島県,府中市", "\n342085,広島県,府中市")


def _duplicate_code(kb: Path) -> None:
    with (kb / MASTER).open("a", encoding="utf-8") as fh:
        fh.write("132063,東京都,府中市,トウキョウト,フチュウシ\n")


def _edit_assembly(old: str, new: str):
    return lambda kb: replace_in(kb / ASSEMBLY, old, new)


def _truncate_assembly(kb: Path) -> None:
    path = kb / ASSEMBLY
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("発表団体: [京都府]") + len("発表団体: [京都")], encoding="utf-8")


def _binary_assembly(kb: Path) -> None:
    junk = random.Random(7).randbytes(4096)
    assert b"\x00" in junk
    (kb / ASSEMBLY).write_bytes(junk)


def _undecodable_master(kb: Path) -> None:
    # No NUL, but neither UTF-8 nor CP932 (0x81 must be followed by a trail byte).
    (kb / MASTER).write_bytes(b"\x81\x20\x82\xff" * 256)


def _second_file_same_number(kb: Path) -> None:
    shutil.copy(kb / ASSEMBLY, kb / "assemblies" / "007_copy.yml")


def _fact_kind_column(kb: Path) -> str:
    facts = yaml.safe_load((kb / ASSEMBLY).read_text(encoding="utf-8"))["発表"][0]["事実"]
    index = next(i for i, fact in enumerate(facts, start=1) if fact["種類"] == ["費用"])
    return f"発表[1].事実[{index}].種類"



BAD_DATA = [
    pytest.param(_drop_kana_column, "local_governments.csv", 1, "市区町村名カナ", ["必須の列がありません"],
                 id="missing-csv-column"),
    pytest.param(_add_unknown_column, "organizations.csv", 1, "備考", ["不明な列"], id="unknown-csv-column"),
    pytest.param(_extra_field, "organizations.csv", 3, None, ["列の数"], id="csv-row-with-extra-field"),
    pytest.param(
        _wrong_check_digit, "local_governments.csv", lambda kb: line_number(kb / MASTER, "342085,"), "団体コード",
        ["342085", "検査数字", "342084"], id="wrong-check-digit",
    ),
    pytest.param(
        _duplicate_code, "local_governments.csv", lambda kb: last_line(kb / MASTER), "団体コード",
        ["132063", "重複"], id="duplicate-code",
    ),
    pytest.param(
        _edit_assembly("開始日: 平成30年2月7日", "開始日: 平成30年2月30日"),
        "007.yml", None, "開始日", ["平成30年2月30日", "存在しない日付"], id="impossible-date",
    ),
    pytest.param(
        _edit_assembly("開始日: 平成30年2月7日", "開始日: あした"),
        "007.yml", None, "開始日", ["あした", "日付として読めません"], id="unreadable-date",
    ),
    pytest.param(
        _edit_assembly("場所名称: 東京芸術センター 天空劇場\n", ""),
        "007.yml", None, "場所名称", ["必須"], id="missing-venue-key",
    ),
    pytest.param(
        lambda kb: replace_in(kb / "society.yml", "事務局部署: 足立区政策経営部政策経営課\n", ""),
        "society.yml", None, "事務局部署", ["必須"], id="missing-society-key",
    ),
    pytest.param(
        _edit_assembly("- 種類: [条件]", "- 種類: [費用]"),
        "007.yml", None, _fact_kind_column, ["費用"], id="unknown-fact-kind",
    ),
    pytest.param(
        _edit_assembly("発表団体: [富士通株式会社]", "発表団体: [日立製作所]"),
        "007.yml", None, "発表[3].発表団体", ["日立製作所", "organizations.csv"], id="unknown-presenter",
    ),
    pytest.param(
        _edit_assembly("{名称: 川崎市, 役割: 検証}", "{名称: 府中市, 役割: 検証}"),
        "007.yml", None, "発表[2].関係自治体[1]", ["府中市", "複数", "132063", "342084"], id="ambiguous-municipality",
    ),
    pytest.param(
        _edit_assembly("{名称: 川崎市, 役割: 検証}", '{名称: 府中市, 団体コード: "131211", 役割: 検証}'),
        "007.yml", None, "発表[2].関係自治体[1]", ["府中市", "131211"], id="name-contradicts-code",
    ),
    pytest.param(_second_file_same_number, "007_copy.yml", None, "回", ["第7回", "重複"],
                 id="duplicate-assembly-number"),
    pytest.param(  # a misspelt optional key (終了時間) must not silently drop the value, as in a CSV header
        _edit_assembly('終了時間: "17:00"', '終了時刻: "17:00"'), "007.yml", None, "終了時刻", [], id="unknown-yaml-key"
    ),
    pytest.param(
        _truncate_assembly, "007.yml", lambda kb: last_line(kb / ASSEMBLY), None, ["YAML"], id="truncated-yaml"
    ),
    pytest.param(_binary_assembly, "007.yml", None, None, ["テキストファイルではありません"], id="binary-junk"),
    pytest.param(
        _undecodable_master, "local_governments.csv", None, None, ["文字コード"], id="undecodable-bytes"
    ),
]


@pytest.mark.parametrize("spoil, file_name, row, column, fragments", BAD_DATA)
def test_bad_data_stops_the_load_and_changes_nothing(loaded_db_url, kb_copy, spoil, file_name, row, column, fragments):
    before = db_contents(loaded_db_url)
    spoil(kb_copy)
    row, column = (value(kb_copy) if callable(value) else value for value in (row, column))
    with pytest.raises(LoadError) as excinfo:
        load(kb_copy, url=loaded_db_url)
    problem = find_problem(excinfo.value, file_name, column)
    assert problem.row == row
    assert JAPANESE.search(problem.reason), problem.reason
    for fragment in fragments:
        assert fragment in problem.reason
    assert str(problem) in str(excinfo.value)
    assert db_contents(loaded_db_url) == before


def test_load_error_message_names_file_row_and_column(loaded_db_url, kb_copy):
    _wrong_check_digit(kb_copy)
    with pytest.raises(LoadError) as excinfo:
        load(kb_copy, url=loaded_db_url)
    row = line_number(kb_copy / MASTER, "342085,")
    message = str(excinfo.value)
    assert f"local_governments.csv {row}行目「団体コード」: " in message
    assert "342084" in message


def test_every_problem_is_reported_at_once(loaded_db_url, kb_copy):
    _wrong_check_digit(kb_copy)
    _edit_assembly("開始日: 平成30年2月7日", "開始日: あした")(kb_copy)
    with pytest.raises(LoadError) as excinfo:
        load(kb_copy, url=loaded_db_url)
    find_problem(excinfo.value, "local_governments.csv", "団体コード")
    find_problem(excinfo.value, "007.yml", "開始日")


def test_a_file_over_the_size_limit_stops_the_load(loaded_db_url, kb_copy, monkeypatch):
    before = db_contents(loaded_db_url)
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)  # master, 007.yml and the sample FAQ are larger
    with pytest.raises(LoadError) as excinfo:
        load(kb_copy, url=loaded_db_url)
    too_big = {Path(p.file).name for p in excinfo.value.problems if "大きすぎ" in p.reason}
    assert too_big == {"local_governments.csv", "007.yml", "sample_faq.csv"}
    assert "上限 1,000 バイト" in find_problem(excinfo.value, "007.yml", None).reason
    assert db_contents(loaded_db_url) == before


def test_full_width_code_in_the_master_is_normalized_or_refused(db_url, kb_copy):
    """Spreadsheets produce full-width digits; a code stored as "３４２０８４" could never be found."""
    replace_in(kb_copy / MASTER, "\n342084,広島県,府中市", "\n３４２０８４,広島県,府中市")
    try:
        load(kb_copy, url=db_url)
    except LoadError as exc:
        assert find_problem(exc, "local_governments.csv", "団体コード").row == line_number(kb_copy / MASTER,
                                                                                      "３４２０８４,")
    else:
        with open_session(db_url) as session:
            assert queries.local_government(session, "342084") is not None
            assert [lg.code for lg in queries.local_governments_named(session, "府中市")] == ["132063", "342084"]


# -- harmless variants load to exactly the shipped knowledge base -----------------------------

@pytest.fixture(scope="module")
def shipped_contents(tmp_path_factory, shipped_kb_dir):
    """db_contents of the shipped data loaded into a fresh database (ids are deterministic there)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'kb.sqlite3'}"
    load(shipped_kb_dir, url=url)
    contents = db_contents(url)
    dispose_all()
    return contents


def _reencode(*names: str, encoding: str = "utf-8", newline: str = "\n"):
    def change(kb: Path) -> None:
        for name in names:
            path = kb / name
            text = path.read_text(encoding="utf-8")
            path.write_bytes(text.replace("\n", newline).encode(encoding))

    return change


def _header(name: str, old: str, new: str):
    def change(kb: Path) -> None:
        path = kb / name
        text = path.read_text(encoding="utf-8")
        head, rest = text.split("\n", 1)
        assert old in head
        path.write_text(head.replace(old, new) + "\n" + rest, encoding="utf-8")

    return change


def _both(*changes):
    return lambda kb: [change(kb) for change in changes]


VARIANTS = [
    pytest.param(_reencode("local_governments.csv", "organizations.csv", encoding="cp932"), id="csv-in-cp932"),
    pytest.param(_reencode("local_governments.csv", "organizations.csv", encoding="utf-8-sig"), id="csv-with-bom"),
    pytest.param(_reencode("local_governments.csv", "organizations.csv", newline="\r\n"), id="csv-with-crlf"),
    pytest.param(
        _reencode("local_governments.csv", encoding="cp932", newline="\r\n"), id="csv-in-cp932-with-crlf"
    ),
    pytest.param(_reencode("assemblies/007.yml", "society.yml", encoding="cp932"), id="yaml-in-cp932"),
    pytest.param(
        _both(
            _header("local_governments.csv", "団体コード,", "　団体コード　,"),
            _header("local_governments.csv", ",市区町村名カナ", ",  市区町村名カナ "),
            _header("organizations.csv", "名称,種別", " 名称 ,　種別"),
        ),
        id="header-with-full-and-half-width-spaces",
    ),
    pytest.param(_header("local_governments.csv", "団体コード", "団体ｺｰﾄﾞ"), id="header-in-half-width-kana"),
]


@pytest.mark.parametrize("change", VARIANTS)
def test_harmless_variants_load_the_same_knowledge_base(db_url, kb_copy, shipped_contents, change):
    change(kb_copy)
    assert load(kb_copy, url=db_url) == SHIPPED_STATS
    assert db_contents(db_url) == shipped_contents
    with open_session(db_url) as session:
        adachi = queries.local_governments_named(session, "足立区")
        assert [(lg.code, lg.name_kana) for lg in adachi] == [("131211", "アダチク")]
        assert queries.organization_name(session, "三菱総研") == "株式会社三菱総合研究所"


def test_header_with_full_width_parentheses_is_read(tmp_path):
    path = tmp_path / "fees.csv"
    path.write_text("名称,料金（基本）,備考 \n住民票の写し,300,窓口\n", encoding="utf-8")
    assert read_csv(path, ["名称", "料金(基本)"], ("備考",)) == [(2, {"名称": "住民票の写し", "料金(基本)": "300",
                                                              "備考": "窓口"})]


def test_a_value_longer_than_its_column_is_refused_or_kept_whole(loaded_db_url, kb_copy):
    """Not a raw database error on one backend and a silent success on the other."""
    venue = "東京芸術センター天空劇場" * 20  # 240 characters; the column holds 200
    _edit_assembly("場所名称: 東京芸術センター 天空劇場", f"場所名称: {venue}")(kb_copy)
    before = db_contents(loaded_db_url)
    try:
        load(kb_copy, url=loaded_db_url)
    except LoadError as exc:
        assert JAPANESE.search(find_problem(exc, "007.yml", "場所名称").reason)
        assert db_contents(loaded_db_url) == before
    else:
        with open_session(loaded_db_url) as session:
            assert queries.assembly(session, 7).venue == venue


def test_unquoted_times_in_yaml_are_read_as_times(db_url, kb_copy):
    """YAML 1.1 reads 13:30 as the base-60 integer 810; people will not quote times."""
    _edit_assembly('開始時間: "13:30"', "開始時間: 13:30")(kb_copy)
    _edit_assembly('終了時間: "17:00"', "終了時間: 17:00")(kb_copy)
    try:
        load(kb_copy, url=db_url)
    except LoadError as exc:  # refusing is acceptable only if the message shows what the person wrote
        reason = find_problem(exc, "007.yml", "開始時間").reason
        assert "「13:30」" in reason and "810" not in reason, reason
    else:
        with open_session(db_url) as session:
            a = queries.assembly(session, 7)
            assert (a.start_time.isoformat(), a.end_time.isoformat()) == ("13:30:00", "17:00:00")


@pytest.mark.parametrize("name", ["広島県府中市", "府中市"])
def test_an_ambiguous_name_is_resolved_by_prefecture_or_code(db_url, kb_copy, name):
    extra = ', 団体コード: "342084"' if name == "府中市" else ""
    _edit_assembly("{名称: 川崎市, 役割: 検証}", f"{{名称: {name}{extra}, 役割: 検証}}")(kb_copy)
    load(kb_copy, url=db_url)
    with open_session(db_url) as session:
        presentation = queries.assembly(session, 7).presentations[1]
        assert presentation.municipalities[0] == ("府中市", "検証", "342084")
        codes = set(session.scalars(select(PresentationMunicipality.lg_code)))
        assert "342084" in codes and "132063" not in codes and "141305" not in codes


def test_the_next_assembly_is_a_data_change(db_url, kb_copy):
    path = kb_copy / "assemblies" / "008.yml"
    shutil.copy(kb_copy / ASSEMBLY, path)
    replace_in(path, "回: 7", "回: 8")
    replace_in(path, "イベント名: 日本公共サービス研究会 第7回総会", "イベント名: 日本公共サービス研究会 第8回総会")
    replace_in(path, "開始日: 平成30年2月7日\n終了日: 平成30年2月7日", "開始日: 2019-02-06\n終了日: 2019-02-06")
    assert load(kb_copy, url=db_url)["assemblies"] == 2
    with open_session(db_url) as session:
        assert queries.assembly_numbers(session) == [7, 8]
        assert queries.latest_assembly(session).number == 8
        assert queries.assembly(session, 7).start_date.isoformat() == "2018-02-07"


def test_kb_load_of_a_folder_loads_every_data_file_under_it(db_url, shipped_kb_dir, tmp_path):
    """`madoguchi kb load data/kb` (issue 19): the same knowledge base as `kb build`, twice the same."""
    from bot.kb.loader import load_files

    first = load_files([shipped_kb_dir], db_url)
    assert first == load_files([shipped_kb_dir], db_url)
    assert first["master"] == 1788 and first["assembly"] >= 1 and first["faq"] >= 1 and first["society"] == 1
    with open_session(db_url) as session:
        assert "天空劇場" in str(queries.assembly(session, 7))
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoadError, match="データファイル"):
        load_files([tmp_path / "empty"], db_url)


def test_places_the_records_name_are_also_read_without_their_suffix_when_unambiguous(tmp_path):
    from bot.kb import db, loader, queries

    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    loader.load(url=url)
    with db.open_session(url) as session:
        stems = dict(queries._stems_of_places_in_records(session))
        tables = queries.lookup_names(session)
    db.dispose_all()
    assert ("墨田", "墨田区") in tables["municipality"]  # in the tables the NLU is trained with
    assert stems["墨田"] == "墨田区" and stems["吉川"] == "吉川市"
    assert "京都" not in stems and "川崎" not in stems  # 京都市, 川崎町 share the stem
