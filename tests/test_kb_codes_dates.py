"""全国地方公共団体コード check digits, 和暦/西暦 dates and times as people write them."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.kb.codes import check_digit, code_problem, complete
from bot.kb.dates import DateError, format_date_ja, format_time_ja, parse_date, parse_time

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


# -- 全国地方公共団体コード ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "code, name",
    [
        ("131211", "足立区"),  # weighted sum 33, remainder 0 -> check digit 1
        ("112020", "熊谷市"),  # remainder 1 -> check digit 0
        ("011002", "札幌市"),
        ("260002", "京都府"),
        ("111007", "さいたま市"),
        ("342084", "広島県府中市"),
    ],
)
def test_real_codes_are_valid(code, name):
    assert check_digit(code[:5]) == int(code[5])
    assert code_problem(code) is None, name


@pytest.mark.parametrize("code, correct", [("131212", "131211"), ("131210", "131211"), ("112021", "112020")])
def test_wrong_check_digit_is_named_with_the_correct_code(code, correct):
    reason = code_problem(code)
    assert reason is not None
    assert "検査数字" in reason
    assert code in reason and correct in reason


@pytest.mark.parametrize("code", ["", "13121", "1312110", "13121A", "131 21", "一三一二一一", "13-1211"])
def test_non_six_digit_codes_are_rejected_in_japanese(code):
    reason = code_problem(code)
    assert reason is not None
    assert "6桁の数字" in reason


def test_five_digits_are_completed_with_the_check_digit():
    assert complete("13121") == "131211"
    assert complete("11202") == "112020"
    assert complete("01100") == "011002"


def test_a_valid_six_digit_code_is_kept_and_an_invalid_one_refused():
    assert complete("131211") == "131211"
    assert complete("131212") is None
    for text in ("", "1312", "abcde", "1312111"):
        assert complete(text) is None, text


@pytest.mark.parametrize("text", ["１３１２１", "１３１２１１"], ids=["5-digits", "6-digits"])
def test_full_width_digits_never_give_a_mixed_width_code(text):
    # Residents type full-width digits. Either normalize to the ASCII code or refuse; never
    # return something like "１３１２１1" that no database row has.
    assert complete(text) in ("131211", None)


# -- dates --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("平成30年2月7日", dt.date(2018, 2, 7)),
        ("H30.2.7", dt.date(2018, 2, 7)),
        ("h30.2.7", dt.date(2018, 2, 7)),
        ("平成30年02月07日", dt.date(2018, 2, 7)),
        ("令和元年5月1日", dt.date(2019, 5, 1)),
        ("R1.5.1", dt.date(2019, 5, 1)),
        ("令和6年1月1日", dt.date(2024, 1, 1)),
        ("平成31年4月30日", dt.date(2019, 4, 30)),
        ("平成元年1月8日", dt.date(1989, 1, 8)),
        ("昭和64年1月7日", dt.date(1989, 1, 7)),
        ("2018-02-07", dt.date(2018, 2, 7)),
        ("2018/2/7", dt.date(2018, 2, 7)),
        ("2018年2月7日", dt.date(2018, 2, 7)),
        (" 2018-02-07 ", dt.date(2018, 2, 7)),
        ("平成３０年２月７日", dt.date(2018, 2, 7)),
        ("２０１８年２月７日", dt.date(2018, 2, 7)),
        ("Ｈ３０．２．７", dt.date(2018, 2, 7)),
    ],
)
def test_dates_in_wareki_and_seireki(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text, why",
    [
        ("平成32年1月1日", "存在しない日付"),  # 平成 ended on 2019-04-30
        ("平成31年5月1日", "存在しない日付"),
        ("昭和64年1月8日", "存在しない日付"),
        ("2018年2月30日", "存在しない日付"),
        ("平成30年2月30日", "存在しない日付"),
        ("2019-02-29", "存在しない日付"),
        ("2018-13-01", "存在しない日付"),
        ("令和0年5月1日", "令和の始まり"),
        ("令和0年1月1日", "令和の始まり"),
        ("平成元年1月7日", "平成の始まり"),
        ("あした", "日付として読めません"),
        ("令和0年", "日付として読めません"),
        ("2018年2月", "日付として読めません"),
        ("", "日付が空です"),
    ],
)
def test_impossible_dates_raise_date_error_in_japanese(text, why):
    with pytest.raises(DateError) as excinfo:
        parse_date(text)
    message = str(excinfo.value)
    assert why in message
    assert JAPANESE.search(message)
    if text:
        assert f"「{text}」" in message  # the person sees what they wrote


def test_date_error_is_a_value_error():
    assert issubclass(DateError, ValueError)


# -- times --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("13:30", dt.time(13, 30)),
        ("17:00", dt.time(17, 0)),
        ("9:05", dt.time(9, 5)),
        ("午後1時30分", dt.time(13, 30)),
        ("午後5時", dt.time(17, 0)),
        ("午後1時半", dt.time(13, 30)),
        ("午前9時", dt.time(9, 0)),
        ("午前10時15分", dt.time(10, 15)),
        ("13時30分", dt.time(13, 30)),
        ("１３：３０", dt.time(13, 30)),
        ("午後１時３０分", dt.time(13, 30)),
    ],
)
def test_times(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text, why",
    [("25:00", "存在しない時刻"), ("13:60", "存在しない時刻"), ("ひる", "時刻として読めません"),
     ("", "時刻として読めません")],
)
def test_impossible_times_raise_date_error_in_japanese(text, why):
    with pytest.raises(DateError) as excinfo:
        parse_time(text)
    assert why in str(excinfo.value)


# -- formatting ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "date, text",
    [
        (dt.date(2018, 2, 7), "平成30年（2018年）2月7日（水）"),
        (dt.date(2019, 5, 1), "令和元年（2019年）5月1日（水）"),
        (dt.date(2019, 4, 30), "平成31年（2019年）4月30日（火）"),
        (dt.date(1989, 1, 7), "昭和64年（1989年）1月7日（土）"),
        (dt.date(1989, 1, 8), "平成元年（1989年）1月8日（日）"),
    ],
)
def test_format_date_ja(date, text):
    assert format_date_ja(date) == text


def test_format_date_ja_of_a_parsed_wareki_date():
    assert format_date_ja(parse_date("H30.2.7")) == "平成30年（2018年）2月7日（水）"


def test_format_time_ja():
    assert format_time_ja(dt.time(13, 30)) == "13時30分"
    assert format_time_ja(dt.time(17, 0)) == "17時"
