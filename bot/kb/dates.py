"""Dates in 西暦 or 和暦 (平成30年2月7日, H30.2.7, 令和元年5月1日, 2018-02-07)."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

ERAS = {  # name: (first day, aliases)
    "令和": (dt.date(2019, 5, 1), ("令和", "R")),
    "平成": (dt.date(1989, 1, 8), ("平成", "H")),
    "昭和": (dt.date(1926, 12, 25), ("昭和", "S")),
    "大正": (dt.date(1912, 7, 30), ("大正", "T")),
    "明治": (dt.date(1868, 1, 25), ("明治", "M")),
}
_ERA_ALIASES = {alias: name for name, (_, aliases) in ERAS.items() for alias in aliases}
_ERA_ORDER = ["明治", "大正", "昭和", "平成", "令和"]

_WAREKI_RE = re.compile(r"^(令和|平成|昭和|大正|明治|[RHSTM])\s*(元|\d{1,2})\s*[年./\-]"
                        r"\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?$")
_SEIREKI_RE = re.compile(r"^(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?$")
_TIME_RE = re.compile(r"^(午前|午後)?\s*(\d{1,2})\s*[:時]\s*(\d{1,2}|半)?\s*分?$")


class DateError(ValueError):
    """A date or time that cannot be read; the message is Japanese and says why."""


def parse_date(text: str) -> dt.date:
    raw = text
    text = unicodedata.normalize("NFKC", str(text)).strip().upper() if text is not None else ""
    if not text:
        raise DateError("日付が空です")
    m = _WAREKI_RE.match(text)
    if m:
        era = _ERA_ALIASES[m.group(1)]
        year_in_era = 1 if m.group(2) == "元" else int(m.group(2))
        first_day = ERAS[era][0]
        year = first_day.year + year_in_era - 1
        date = _make_date(raw, year, int(m.group(3)), int(m.group(4)))
        next_index = _ERA_ORDER.index(era) + 1
        if date < first_day:
            raise DateError(f"「{raw}」は{era}の始まり（{first_day.isoformat()}）より前の日付です")
        if next_index < len(_ERA_ORDER):
            next_first = ERAS[_ERA_ORDER[next_index]][0]
            if date >= next_first:
                raise DateError(f"「{raw}」は存在しない日付です（{era}は{next_first.isoformat()}の前日までです）")
        return date
    m = _SEIREKI_RE.match(text)
    if m:
        return _make_date(raw, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    raise DateError(f"「{raw}」を日付として読めません（例: 2018-02-07, 平成30年2月7日, H30.2.7）")


def _make_date(raw: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateError(f"「{raw}」は存在しない日付です") from None


def parse_time(text: str) -> dt.time:
    raw = text
    text = unicodedata.normalize("NFKC", str(text or "")).strip()
    m = _TIME_RE.match(text)
    if not m:
        raise DateError(f"「{raw}」を時刻として読めません（例: 13:30, 午後1時30分）")
    hour = int(m.group(2))
    minute = 30 if m.group(3) == "半" else int(m.group(3) or 0)
    if m.group(1) == "午後" and hour < 12:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise DateError(f"「{raw}」は存在しない時刻です")
    return dt.time(hour, minute)


def to_wareki(date: dt.date) -> str:
    """平成30年 for 2018-02-07 (元年 for the first year)."""
    for era in reversed(_ERA_ORDER):
        first_day = ERAS[era][0]
        if date >= first_day:
            year = date.year - first_day.year + 1
            return f"{era}{'元' if year == 1 else year}年"
    return f"{date.year}年"


WEEKDAYS = "月火水木金土日"


def format_date_ja(date: dt.date) -> str:
    """平成30年（2018年）2月7日（水）"""
    return f"{to_wareki(date)}（{date.year}年）{date.month}月{date.day}日（{WEEKDAYS[date.weekday()]}）"


def format_time_ja(time: dt.time) -> str:
    """13時30分 / 17時"""
    return f"{time.hour}時{time.minute:02d}分" if time.minute else f"{time.hour}時"
