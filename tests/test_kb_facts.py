"""Every fact of the source report (第7回総会を開催しました) can be read back through bot.kb.queries,
and the local-government master answers the look-ups the bot makes."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from bot.kb import queries
from bot.kb.codes import code_problem
from bot.kb.dates import format_date_ja
from bot.kb.models import LocalGovernment


@pytest.fixture
def assembly(kb_session):
    record = queries.assembly(kb_session, 7)
    assert record is not None, "第7回総会 is not in the knowledge base"
    return record


def presentation_by(assembly, presenter: str):
    found = [p for p in assembly.presentations if presenter in p.presenters]
    assert len(found) == 1, f"{presenter}: {[p.presenters for p in assembly.presentations]}"
    return found[0]


def said(p) -> str:
    """Everything the bot can say about a presentation: summary and facts."""
    return "\n".join([p.summary, *(f.text for f in p.facts)])


def everything_about(p) -> str:
    """Every text the record holds, whatever field it is in."""
    parts = []
    for f in dataclasses.fields(p):
        value = getattr(p, f.name)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, tuple):
            parts.extend(str(v) for v in value)
    return "\n".join(parts)


def facts_of_kind(p, kind: str) -> str:
    return "\n".join(f.text for f in p.facts if kind in f.kinds)


# -- the society ----------------------------------------------------------------------------

def test_society_purpose_role_and_secretariat(kb_session):
    society = queries.society(kb_session)
    assert society.name == "日本公共サービス研究会"
    assert "自治体連携" in society.purpose and "行政諸課題の解決" in society.purpose
    assert "自治体行革の最新情報" in society.role and "プラットフォーム" in society.role
    assert society.secretariat == "日本公共サービス研究会事務局"
    assert society.secretariat_department == "足立区政策経営部政策経営課"
    assert society.secretariat_lg.code == "131211"
    assert society.secretariat_lg.full_name == "東京都足立区"


def test_organization_aliases_resolve(kb_session):
    assert queries.organization_name(kb_session, "三菱総研") == "株式会社三菱総合研究所"
    assert queries.organization_name(kb_session, "富士通") == "富士通株式会社"
    assert queries.organization_name(kb_session, "パーソルテンプスタッフ") == "パーソルテンプスタッフ株式会社"
    assert queries.organization_name(kb_session, "日立") is None


# -- the 7th assembly -----------------------------------------------------------------------

def test_only_the_7th_assembly_is_recorded(kb_session):
    assert queries.assembly_numbers(kb_session) == [7]
    assert queries.latest_assembly(kb_session).number == 7
    assert queries.assembly(kb_session, 8) is None
    assert queries.assembly(kb_session, 6) is None


def test_assembly_date_and_time(assembly):
    assert assembly.name == "日本公共サービス研究会 第7回総会"
    assert assembly.start_date == dt.date(2018, 2, 7) == assembly.end_date
    assert assembly.start_date.weekday() == 2  # 水曜日
    assert format_date_ja(assembly.start_date) == "平成30年（2018年）2月7日（水）"
    assert (assembly.start_time, assembly.end_time) == (dt.time(13, 30), dt.time(17, 0))


def test_assembly_venue(assembly):
    assert "東京芸術センター" in assembly.venue and "天空劇場" in assembly.venue
    assert "足立区" in assembly.address and "千住1-4-1" in assembly.address


def test_assembly_participation(assembly):
    assert assembly.lg_count == 103
    assert assembly.participant_count == 192
    assert assembly.scale_note == "過去最大規模"
    assert assembly.organizer == "日本公共サービス研究会"


def test_assembly_overall_reactions_and_outlook(assembly):
    assert "様々な分野の行政改革に関する最新情報が得られた。" in assembly.reactions
    assert "満足した。" in assembly.reactions
    assert "今後の研究会運営" in assembly.outlook


def test_six_presentations_in_report_order(assembly):
    assert [(p.order, p.presenters) for p in assembly.presentations] == [
        (1, ("京都府",)),
        (2, ("株式会社三菱総合研究所",)),
        (3, ("富士通株式会社",)),
        (4, ("内閣府",)),
        (5, ("吉川市",)),
        (6, ("墨田区",)),
    ]
    for p in assembly.presentations:
        assert p.assembly_number == 7
        assert p.source == f"第7回総会 発表{p.order}「{p.title}」"


# -- the presentations ----------------------------------------------------------------------

def test_kyoto_my_key_platform(assembly):
    p = presentation_by(assembly, "京都府")
    assert p.title == "マイキープラットフォーム構想の推進について"
    assert (p.speaker, p.speaker_title) == ("原田", "情報政策統括監")
    assert set(p.partners) == {"銀行", "府内市町村", "企業"}
    assert all(partner in facts_of_kind(p, "連携") for partner in ("銀行", "府内市町村", "企業"))
    assert "マイナンバーカードの普及策" in said(p)
    assert "自治体ポイント" in said(p) and "地元製品" in said(p) and "消費拡大" in said(p)
    condition = facts_of_kind(p, "条件")
    assert "マイナンバーカード" in condition and "マイキーID" in condition
    assert "総務省" in said(p)
    assert p.reactions == ("マイキー活用の具体的事例が参考になった。",)


def test_mri_ai_staff(assembly):
    p = presentation_by(assembly, "株式会社三菱総合研究所")
    assert p.title == "AIを活用した新たな公共サービスの可能性について"
    assert "AIスタッフ総合案内サービス" in said(p)
    assert "川崎市" in facts_of_kind(p, "どこ") and "掛川市" in facts_of_kind(p, "どこ")
    assert "子育て" in said(p) and "対話型" in said(p)
    assert "30以上の自治体" in facts_of_kind(p, "自治体数")
    assert "2月から" in facts_of_kind(p, "いつ")
    assert "行政情報の標準化" in said(p) and "コストを抑える" in said(p)
    assert "民間サービス" in facts_of_kind(p, "今後")
    assert set(p.reactions) == {"実証に参加してみたい。", "導入に向けて検討したい。"}


def test_fujitsu_nursery_selection(assembly):
    p = presentation_by(assembly, "富士通株式会社")
    assert p.title == "自治体におけるAI活用の取組について"
    assert "保育所入所選考" in said(p)
    assert "さいたま市" in facts_of_kind(p, "どこ")
    assert "3秒" in facts_of_kind(p, "数値") and "数日" in said(p)
    assert "ほぼ一致" in facts_of_kind(p, "成果")
    assert "業務軽減" in said(p)
    assert p.reactions == ("非常に興味ある事例。",)


def test_cabinet_office_public_service_innovation(assembly):
    p = presentation_by(assembly, "内閣府")
    assert p.title == "公共サービスイノベーションに関する国の取組について"
    assert "骨太の方針" in said(p) and "経済財政運営と改革の基本方針" in said(p)
    assert "公共サービスイノベーションプラットフォーム" in said(p)
    assert "標準委託書" in facts_of_kind(p, "今後") and "窓口業務の民間委託" in said(p)
    assert p.municipalities == ()
    assert any("窓口業務委託に関する国の支援を期待したい" in r for r in p.reactions)


def test_yoshikawa_counter_outsourcing(assembly):
    p = presentation_by(assembly, "吉川市")
    assert p.title == "総合窓口業務における外部化とその可能性について"
    assert all(word in said(p) for word in ("戸籍", "住民記録", "国民健康保険", "総合窓口", "ワーキンググループ"))
    assert "17自治体" in facts_of_kind(p, "自治体数")
    assert "パーソルテンプスタッフ株式会社" in p.partners
    assert "パーソルテンプスタッフ" in facts_of_kind(p, "連携")
    results = facts_of_kind(p, "成果")
    assert "5年間の継続契約" in results and "コストメリット" in results
    assert "職員でなくてもできる業務" in facts_of_kind(p, "今後")
    assert "IT技術" in said(p)
    assert p.reactions == ()  # the report quotes no participant here; none may be invented


def test_sumida_workload_survey(assembly):
    p = presentation_by(assembly, "墨田区")
    assert p.title == "墨田区における業務量調査結果報告について"
    assert "業務量調査" in said(p)
    assert "RPA" in facts_of_kind(p, "今後") and "委託" in facts_of_kind(p, "今後")
    assert "マニュアル" in said(p) and "業務フロー" in said(p)
    # not a quoted reaction but the report's own observation of the audience; it must not be lost
    assert "関心の高さ" in everything_about(p)
    assert not any("関心の高さ" in r for r in p.reactions)


@pytest.mark.parametrize(
    "presenter, municipalities",
    [
        ("京都府", {"京都府": "260002"}),
        ("株式会社三菱総合研究所", {"川崎市": "141305", "掛川市": "222135"}),
        ("富士通株式会社", {"さいたま市": "111007"}),
        ("吉川市", {"吉川市": "112437"}),
        ("墨田区", {"墨田区": "131075"}),
    ],
)
def test_involved_municipalities_resolve_to_their_codes(kb_session, assembly, presenter, municipalities):
    p = presentation_by(assembly, presenter)
    assert {name: code for name, _role, code in p.municipalities} == municipalities
    for name, code in municipalities.items():
        assert [lg.code for lg in queries.local_governments_named(kb_session, name)] == [code]
        assert queries.local_government(kb_session, code).name == name


def test_topics_are_searchable(kb_session):
    topics = {t for t, _ in queries.lookup_names(kb_session)["topic"]}
    assert {"マイキープラットフォーム", "AIスタッフ総合案内サービス", "保育所入所選考", "骨太の方針", "業務量調査",
            "RPA"} <= topics


# -- the local-government master ------------------------------------------------------------

def test_adachi(kb_session):
    [adachi] = queries.local_governments_named(kb_session, "足立区")
    assert (adachi.code, adachi.pref_name, adachi.name_kana) == ("131211", "東京都", "アダチク")
    assert queries.local_government(kb_session, "131211") == adachi


def test_fuchu_is_ambiguous_until_the_prefecture_is_named(kb_session):
    both = queries.local_governments_named(kb_session, "府中市")
    assert [(lg.pref_name, lg.code) for lg in both] == [("東京都", "132063"), ("広島県", "342084")]
    [tokyo] = queries.local_governments_named(kb_session, "東京都府中市")
    assert (tokyo.code, tokyo.full_name) == ("132063", "東京都府中市")
    [hiroshima] = queries.local_governments_named(kb_session, "広島県府中市")
    assert hiroshima.code == "342084"


def test_unknown_names_and_codes_find_nothing(kb_session):
    assert queries.local_governments_named(kb_session, "架空市") == []
    assert queries.local_government(kb_session, "131212") is None


def test_prefectures(kb_session):
    [saitama_city] = queries.local_governments_named(kb_session, "さいたま市")
    prefecture = queries.prefecture_of(kb_session, saitama_city)
    assert (prefecture.name, prefecture.code, prefecture.is_prefecture) == ("埼玉県", "110001", True)
    [tokyo] = queries.local_governments_named(kb_session, "東京都")
    assert tokyo.is_prefecture and tokyo.code == "130001"
    assert queries.local_governments_named(kb_session, "東京都東京都") == []


def test_the_master_is_complete_and_every_code_is_valid(kb_session):
    rows = kb_session.execute(select(LocalGovernment.code, LocalGovernment.is_prefecture)).all()
    assert len(rows) == 1788
    assert sum(1 for _, is_prefecture in rows if is_prefecture) == 47
    bad = {code: code_problem(code) for code, _ in rows if code_problem(code)}
    assert bad == {}
