"""The イベント一覧 CSV: import (kb load), export, round trip, and bad input on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from test_kb_loader import db_contents

from bot.kb import queries
from bot.kb.db import open_session
from bot.kb.event_csv import EVENT_COLUMNS, export_events
from bot.kb.files import LoadError
from bot.kb.loader import load_files

HEADER = ",".join(EVENT_COLUMNS)


def row(**values) -> str:
    base = {"都道府県コード又は市区町村コード": "131211", "NO": "8", "イベント名": "第8回総会", "開始日": "2019-02-06",
            "終了日": "2019-02-06", "開始時間": "14:00", "終了時間": "17:30", "場所名称": "足立区役所 庁舎ホール",
            "住所": "東京都足立区中央本町1-17-1", "料金(基本)": "無料"}
    base.update(values)
    return ",".join(base.get(c, "") for c in EVENT_COLUMNS)


def write(tmp_path, text: str, encoding: str = "utf-8", name: str = "events.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_export_load_export_gives_the_same_file(loaded_db_url, db_url, tmp_path):
    with open_session(loaded_db_url) as session:
        first = export_events(session)
    assert first.startswith("\ufeff" + HEADER)
    path = write(tmp_path, first)
    assert load_files([path], db_url) == {"events": 1}  # an empty database: no master needed
    assert load_files([path], db_url) == {"events": 1}  # twice: nothing changes
    with open_session(db_url) as session:
        assert export_events(session) == first
        assembly = queries.assembly(session, 7)
        assert assembly.venue == "東京芸術センター 天空劇場" and assembly.start_time.isoformat() == "13:30:00"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_a_new_assembly_from_csv_in_any_encoding_keeps_the_seventh(loaded_db_url, tmp_path, encoding):
    header = HEADER.replace("料金(基本)", "料金（基本）")  # full-width parentheses in a header are fine
    path = write(tmp_path, f"{header}\r\n{row(**{'開始日': 'H31.2.6', '終了日': '平成31年2月6日'})}\r\n", encoding)
    assert load_files([path], loaded_db_url) == {"events": 1}
    with open_session(loaded_db_url) as session:
        eighth, seventh = queries.assembly(session, 8), queries.assembly(session, 7)
        assert eighth.start_date.isoformat() == "2019-02-06" and eighth.event_field("料金(基本)") == "無料"
        assert seventh.venue == "東京芸術センター 天空劇場" and len(seventh.presentations) == 6
        assert queries.latest_assembly(session).number == 8


BAD = {
    "missing-column": (HEADER.replace(",場所名称", ""), None, "場所名称", "必須の列"),
    "unknown-column": (HEADER + ",駐輪場", None, "駐輪場", "不明な列"),
    "empty-required": (HEADER, {"場所名称": ""}, "場所名称", "空"),
    "impossible-era-date": (HEADER, {"開始日": "平成32年1月1日"}, "開始日", "存在しない日付"),
    "february-30": (HEADER, {"開始日": "2019-02-30"}, "開始日", "存在しない日付"),
    "bad-time": (HEADER, {"開始時間": "25:00"}, "開始時間", "時刻"),
    "wrong-check-digit": (HEADER, {"都道府県コード又は市区町村コード": "131212"}, "都道府県コード又は市区町村コード",
                          "検査数字"),
    "not-a-number": (HEADER, {"NO": "八"}, "NO", "整数"),
    "end-before-start": (HEADER, {"終了日": "2019-02-05"}, "終了日", "開始日より前"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_event_csv_stops_the_load_and_changes_nothing(loaded_db_url, tmp_path, case):
    header, values, column, reason = BAD[case]
    line = row(**(values or {}))
    if header != HEADER:  # drop or add the column in the row too
        cells = dict(zip(EVENT_COLUMNS, line.split(",")))
        line = ",".join(cells.get(c, "x") for c in header.split(","))
    path = write(tmp_path, f"{header}\n{line}\n")
    before = db_contents(loaded_db_url)
    with pytest.raises(LoadError) as excinfo:
        load_files([path], loaded_db_url)
    problems = [p for p in excinfo.value.problems if p.column == column]
    assert problems and reason in problems[0].reason, str(excinfo.value)
    assert problems[0].file.endswith("events.csv") and problems[0].row in (1, 2)
    assert db_contents(loaded_db_url) == before


def test_duplicate_numbers_truncated_files_and_wrong_encodings(loaded_db_url, tmp_path):
    before = db_contents(loaded_db_url)
    cases = {
        "dup.csv": (f"{HEADER}\n{row()}\n{row()}\n".encode(), "重複"),
        "truncated.csv": (f"{HEADER}\n{row()}\n".encode()[:-40], "途中で切れています"),
        "truncated-row.csv": (f"{HEADER}\n{row()[: row().index('足立区役所')]}".encode(), "列の数"),
        "utf16.csv": (f"{HEADER}\n{row()}\n".encode("utf-16"), "UTF-16"),
        "binary.csv": (b"\x00\x01\x02" * 100, "テキスト"),
    }
    for name, (data, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(LoadError) as excinfo:
            load_files([path], loaded_db_url)
        assert reason in str(excinfo.value), (name, str(excinfo.value))
        assert all(p.file.endswith(name) for p in excinfo.value.problems)
    assert db_contents(loaded_db_url) == before


def test_a_good_file_with_a_bad_one_loads_nothing(loaded_db_url, tmp_path):
    good = write(tmp_path, f"{HEADER}\n{row()}\n", name="good.csv")
    bad = write(tmp_path, f"{HEADER}\n{row(NO='9', 開始日='あした')}\n", name="bad.csv")
    before = db_contents(loaded_db_url)
    with pytest.raises(LoadError):
        load_files([good, bad], loaded_db_url)
    assert db_contents(loaded_db_url) == before
