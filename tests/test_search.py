"""Staff look-up (bot.search) over the sample FAQ and the shipped presentations: ranking, the
団体コード filter, odd queries, the analyzer (the bot's own GiNZA/Sudachi tokenization) and the
per-database index cache. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.kb.db import open_session
from bot.kb.faq import read_faq, upsert_faq
from bot.kb.models import FaqEntry, LocalGovernment
from bot.search import analyzer as search_analyzer
from bot.search import index as search_index
from bot.search.analyzer import query_terms
from bot.search.index import Hit, InvalidLgCode, SearchIndex

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "kb" / "faq" / "sample_faq.csv"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
SAITAMA, ADACHI, SUMIDA = "111007", "131211", "131075"
FUJITSU_SOURCE = "第7回総会 発表3「自治体におけるAI活用の取組について」"


def add_sample(url: str) -> None:
    with open_session(url) as session:
        known = set(session.scalars(select(LocalGovernment.code)))
        upsert_faq(session, read_faq(SAMPLE, known))
        session.commit()


@pytest.fixture(scope="module", params=BACKENDS)
def search_db_url(request, databases):
    """Shipped data/kb plus the sample FAQ, one database per backend for this module (read-only)."""
    url = databases.new_loaded(request.param)
    add_sample(url)
    yield url
    search_index.invalidate(url)
    databases.drop(url)


@pytest.fixture(scope="module")
def index(search_db_url) -> SearchIndex:
    with open_session(search_db_url) as session:
        return SearchIndex.build(session)


def faq_hits(hits: list[Hit]) -> list[Hit]:
    return [h for h in hits if h.kind == "faq"]


# -- ranking ---------------------------------------------------------------------------------------

def test_index_holds_every_faq_entry_and_presentation(index, search_db_url):
    with open_session(search_db_url) as session:
        faq = session.query(FaqEntry).count()
    assert len(index) == faq + 6


def test_juminhyo_question_ranks_a_juminhyo_entry_first(index):
    hits = index.search("住民票の写しはどこで取れますか")
    assert hits and hits[0].kind == "faq" and "住民票" in hits[0].title
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert len(hits) == 5


def test_municipality_without_its_own_entry_gets_the_shared_one(index):
    hits = index.search("住民票の写しはどこで取れますか", lg_code=SUMIDA)
    assert hits[0].lg_code is None and hits[0].title == "住民票の写しはどこで取れますか"
    assert {h.lg_code for h in faq_hits(hits)} <= {None, SUMIDA}


def test_lg_code_filter_keeps_that_municipality_and_shared_entries(index):
    hits = index.search("保育園の申し込み", lg_code=SAITAMA, limit=20)
    faq = faq_hits(hits)
    assert faq and {h.lg_code for h in faq} <= {SAITAMA, None}
    assert faq[0].lg_code == SAITAMA and "保育" in faq[0].title
    unfiltered = index.search("保育園の申し込み", limit=20)
    assert {h.lg_code for h in faq_hits(unfiltered)} - {SAITAMA, None}, "other municipalities match without the filter"


def test_presentation_passage_is_found_with_its_source(index):
    hits = index.search("保育所の入所選考をAIで")
    fujitsu = [h for h in hits if h.kind == "presentation" and "富士通" in h.title]
    assert fujitsu, hits
    assert fujitsu[0].source == FUJITSU_SOURCE
    assert "さいたま市" in fujitsu[0].text and fujitsu[0].lg_code is None
    assert hits[0] == fujitsu[0]


def test_presentations_stay_under_any_lg_code_filter(index):
    hits = index.search("保育所の入所選考をAIで", lg_code=ADACHI, limit=10)
    assert any(h.source == FUJITSU_SOURCE for h in hits)
    assert {h.lg_code for h in faq_hits(hits)} <= {ADACHI, None}


@pytest.mark.parametrize("query, lg_code, expected_title_part", [
    ("粗大ごみを出したい", ADACHI, "粗大ごみ"),
    ("マイナンバーカードをなくした", None, "なくした"),
    ("ゴミの分別がわからない", "222135", "分別"),
    ("健康保険に入りたい", None, "健康保険"),
    ("税金をスマホで払える？", "141305", "スマートフォン"),
    ("暗証番号を忘れた", None, "暗証番号"),
    ("富士通の発表", None, "富士通"),
])
def test_everyday_questions(index, query, lg_code, expected_title_part):
    hits = index.search(query, lg_code=lg_code)
    assert hits and expected_title_part in hits[0].title, [(h.score, h.title) for h in hits]


def test_faq_hit_carries_contact_and_source(index):
    hit = index.search("婚姻届は休日でも出せますか", lg_code=ADACHI)[0]
    assert (hit.kind, hit.lg_code, hit.department, hit.category) == ("faq", ADACHI, "戸籍住民課", "戸籍・住民票")
    assert hit.phone.startswith("03-0000-") and hit.url.startswith("https://example.jp/") and hit.checked_on
    assert "足立区" in hit.source and "sample_faq.csv" in hit.source
    assert hit.source.startswith("【サンプルデータ・架空】")  # fictional sample data says so wherever it is shown
    assert json.loads(json.dumps(hit.to_dict(), ensure_ascii=False))["title"] == hit.title


# -- odd queries and arguments -------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["", "   ", "\u3000\n\t", "😀🎉", "。、！？", "のはをにが", None])
def test_queries_without_content_return_nothing(index, query):
    assert index.search(query) == []


def test_a_very_long_query_is_answered(index):
    hits = index.search("住民票の写し" + "あ" * 10_000)
    assert hits and "住民票" in hits[0].title
    assert index.search("住民票" * 3_000, limit=3)[0].title


def test_unrelated_query_returns_nothing(index):
    assert index.search("量子コンピューターでラーメンを茹でる") == [] or all(
        h.score < 5 for h in index.search("量子コンピューターでラーメンを茹でる"))


def test_limit(index):
    assert len(index.search("申請", limit=1)) == 1
    assert index.search("申請", limit=0) == []
    assert len(index.search("申請", limit=1_000)) <= search_index.MAX_LIMIT


@pytest.mark.parametrize("code", ["131212", "abc", "1312111", "１３１２１２"])
def test_invalid_lg_code_is_refused_in_japanese(index, code):
    with pytest.raises(InvalidLgCode) as excinfo:
        index.search("住民票", lg_code=code)
    assert "全国地方公共団体コード" in str(excinfo.value)


def test_lg_code_variants(index):
    # 5 digits: check digit added
    assert index.search("保育園", lg_code="11100") == index.search("保育園", lg_code=SAITAMA)
    assert index.search("保育園", lg_code="１１１００７") == index.search("保育園", lg_code=SAITAMA)
    only_shared = index.search("保育園", lg_code="011002", limit=50)  # a real code with no entries of its own
    assert {h.lg_code for h in only_shared} <= {None}


def test_results_are_deterministic(index):
    assert index.search("手続き", limit=20) == index.search("手続き", limit=20)


# -- the analyzer is the bot's ---------------------------------------------------------------------

def test_query_terms_drop_particles_and_use_normalized_forms():
    terms = query_terms("住民票の写しはどこで取れますか")
    assert {"住民票", "写し", "取れる"} <= set(terms)
    assert not {"の", "は", "で", "ます", "か", "どこ"} & set(terms)
    assert query_terms("ゴミ") == query_terms("ごみ")
    assert "ai" in query_terms("ＡＩ") and "ai" in query_terms("ai")
    assert {"国民健康保険", "健康", "保険"} <= set(query_terms("国民健康保険"))  # compound and its parts
    assert query_terms("国民健康保険")["国民健康保険"] > query_terms("国民健康保険")["保険"]


def test_tokenization_matches_the_bots_ginza_pipeline():
    import spacy

    from bot.nlp.components.language import GinzaNLP

    nlp = spacy.load("ja_ginza", exclude=GinzaNLP.get_default_config()["exclude"])  # exactly what the bot loads
    tokenizer = search_analyzer.ANALYZER._tokenizer()
    for text in ["住民票の写しはどこで取れますか", "保育所の入所選考をAIで", "国民健康保険に加入したい",
                 "マイナンバーカードの暗証番号"]:
        ours = [(m.surface(), m.normalized_form()) for m in tokenizer.tokenize(text)]
        bots = [(t.text, t.norm_) for t in nlp(text)]
        assert ours == bots


# -- the per-database cache ----------------------------------------------------------------------------

def test_cached_index_follows_the_data(db_url, tmp_path, shipped_kb_dir):
    from bot.kb.loader import load

    load(shipped_kb_dir, url=db_url)
    add_sample(db_url)
    first = search_index.index_for(db_url)
    assert search_index.index_for(db_url) is first
    assert search_index.search("ドローン", url=db_url) == []
    path = tmp_path / "new.csv"
    path.write_text(
        "全国地方公共団体コード,分類,質問,回答\n131211,窓口業務,ドローンの飛行許可はどこに申請しますか,空港周辺などは国への申請が必要です。\n",
        encoding="utf-8",
    )
    with open_session(db_url) as session:
        upsert_faq(session, read_faq(path, {ADACHI}))
        session.commit()
    rebuilt = search_index.index_for(db_url, check_interval=0)
    assert rebuilt is not first
    hits = search_index.search("ドローン", lg_code=ADACHI, url=db_url)
    assert hits and hits[0].title.startswith("ドローン")
    assert search_index.index_for(db_url, check_interval=0) is rebuilt  # unchanged data: no rebuild
    search_index.invalidate(db_url)
    assert search_index.index_for(db_url) is not rebuilt
    search_index.invalidate(db_url)


def test_an_edit_of_the_same_length_is_found_on_every_backend(db_url, tmp_path, shipped_kb_dir):
    """A published edit that swaps one kanji for another keeps every byte count: the knowledge-base
    version the loader writes is what tells the running guide's index that the data changed."""
    from bot.kb.loader import load, load_files

    load(shipped_kb_dir, url=db_url)
    path = tmp_path / "faq.csv"
    row = "全国地方公共団体コード,分類,質問,回答\n131211,窓口業務,ドローン配送の説明会はいつですか,{}曜日に開きます。\n"
    path.write_text(row.format("月"), encoding="utf-8")
    load_files([path], url=db_url)
    first = search_index.search("ドローン配送", url=db_url)
    assert first and first[0].text == "月曜日に開きます。"
    path.write_text(row.format("火"), encoding="utf-8")  # 月 and 火: three bytes each in UTF-8
    load_files([path], url=db_url)
    hits = search_index.index_for(db_url, check_interval=0).search("ドローン配送")
    assert hits and hits[0].text == "火曜日に開きます。"
    search_index.invalidate(db_url)


def test_empty_knowledge_base_searches_fine(db_url):
    from bot.kb.db import create_schema, get_engine

    create_schema(get_engine(db_url))
    assert search_index.search("住民票", url=db_url) == []
    assert search_index.search("住民票", lg_code=ADACHI, url=db_url) == []
    search_index.invalidate(db_url)
