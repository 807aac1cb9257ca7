"""The look-up page's parts (issue 18): the municipality finder over the national master (SQLite and
PostgreSQL), highlighting that escapes everything but its own <mark>, and the 最終確認日 flag."""
from __future__ import annotations

import datetime as dt

import pytest

from bot.kb.municipalities import finder, key
from bot.search import analyzer as search_analyzer
from bot.search import index as search_index
from bot.staff import lookup


@pytest.mark.parametrize("typed", ["墨田区", "東京都墨田区", "すみだく", "スミダク", "ｽﾐﾀﾞｸ", "sumida", "SUMIDA-KU",
                                   "sumida ku", "131075", "13107", "１３１０７５", "131075 東京都墨田区"])
def test_a_municipality_is_found_by_name_kana_romaji_or_code(kb_session, typed):
    found = finder(kb_session).resolve(typed)
    assert [m.code for m in found] == ["131075"], typed
    assert found[0].option == "131075 東京都墨田区" and found[0].romaji == "sumida-ku"


def test_names_shared_by_several_municipalities_resolve_to_all_of_them(kb_session):
    f = finder(kb_session)
    assert [m.option for m in f.resolve("府中市")] == ["132063 東京都府中市", "342084 広島県府中市"]
    assert [m.code for m in f.resolve("fuchuu-shi")] == ["132063", "342084"]
    assert f.resolve("存在しない村") == [] and f.resolve("") == [] and f.resolve("999999") == []
    assert [m.code for m in f.resolve("13207")] == ["132071"]  # five digits: the check digit is added
    assert f.resolve("132070") == []  # a wrong check digit is no code
    assert len(f) == 1788


def test_suggestions_start_with_exact_matches_and_are_bounded(kb_session):
    f = finder(kb_session)
    assert f.suggest("北海道")[0].label == "北海道"
    assert [m.code for m in f.suggest("tokyo", limit=1)] == ["130001"]
    assert len(f.suggest("1", limit=20)) == 20
    assert f.suggest("   ") == []
    assert key("Ｓｕｍｉｄａ－ｋｕ") == "sumidaku" and key("スミダク") == "すみだく"


def test_highlighting_escapes_the_text_and_marks_what_the_query_matched():
    text = "<b>国民健康保険</b>の加入は＆窓口で。ゴミは別です。"
    marked = str(lookup.highlight(text, "健康保険 ごみ"))
    assert marked == ("&lt;b&gt;国民<mark>健康</mark><mark>保険</mark>&lt;/b&gt;の加入は＆窓口で。"
                      "<mark>ゴミ</mark>は別です。")
    # a query for the markup itself marks the letter inside the escaped text, never the markup
    assert str(lookup.highlight(text, "<b>")).startswith("&lt;<mark>b</mark>&gt;国民健康保険&lt;/<mark>b</mark>&gt;")
    assert str(lookup.highlight("<i>x</i>", "")) == "&lt;i&gt;x&lt;/i&gt;"
    assert search_analyzer.matched_spans("住民票を取りたい", "住民票を取る") == [(0, 3), (4, 6)]  # 取り = 取る


@pytest.mark.parametrize("iso,today,stale", [
    ("2024-04-01", dt.date(2025, 4, 1), False),
    ("2024-03-31", dt.date(2025, 4, 1), True),
    ("2023-02-28", dt.date(2024, 2, 29), False),
    ("2023-02-27", dt.date(2024, 2, 29), True),
    ("", dt.date(2024, 2, 29), False),
])
def test_a_check_more_than_a_year_ago_is_flagged(iso, today, stale):
    assert lookup.is_stale(iso, today) is stale


def test_only_http_and_https_urls_become_links():
    hit = search_index.Hit(kind="faq", score=1.0, title="t", text="a", source="s", lg_code=None, id=1,
                        url="javascript:alert(1)", checked_on="2024-04-01")
    result = lookup._result(1, hit, "t", dt.date(2026, 1, 1))
    assert not result.url_is_link and result.stale and result.checked_on == "2024年4月1日"
    assert lookup._result(1, search_index.Hit(**{**hit.to_dict(), "url": "https://example.jp/"}), "t",
                          dt.date(2026, 1, 1)).url_is_link


def test_the_desks_own_writes_do_not_rebuild_the_search_index(databases, tmp_path):
    """Logins write sessions and the audit log into the knowledge base's SQLite file; the search index
    (guide and desk alike) is rebuilt only when the indexed data changes."""
    import time

    from bot.kb import staff as store
    from bot.kb.loader import load_files

    url = databases.new_loaded("sqlite")
    try:
        first = search_index.index_for(url)
        store.audit("login", account="x", now=time.time(), url=url)
        store.create_session("a" * 64, store.add_account("x", "viewer", "hash", time.time(), url).id, time.time(), url)
        assert search_index.index_for(url, check_interval=0) is first
        faq = tmp_path / "faq.csv"
        faq.write_text("全国地方公共団体コード,分類,質問,回答\n,窓口業務,ドローンの飛行許可はどこに申請しますか,国への申請が必要です。\n",
                       encoding="utf-8")
        load_files([faq], url)
        rebuilt = search_index.index_for(url, check_interval=0)
        assert rebuilt is not first and search_index.search("ドローン", url=url)
    finally:
        search_index.invalidate(url)
        databases.drop(url)


def test_an_unbuilt_knowledge_base_is_said_plainly(db_url):
    page = lookup.run("住民票", "墨田区", db_url)
    assert page.problem == lookup.NO_KNOWLEDGE_BASE and page.results == []
