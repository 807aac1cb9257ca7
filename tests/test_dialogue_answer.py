"""What a user notices in the replies of :func:`bot.dialogue.answer.answer` on the real knowledge base.

Every test builds the database from ``data/kb`` (nothing is mocked) and asks a :class:`Query` the way
the NLU pipeline hands it over: the intent, the normalized text and the (entity, value) pairs of the
dictionary extractor. Replies must state the facts of the source report, say plainly when there is
no record, stay polite (です/ます forms) and name their source.
"""
from __future__ import annotations

import re

import pytest

from bot.dialogue.answer import Reply, answer
from bot.dialogue.query import Context, Query
from bot.kb import db, loader
from bot.nlp.normalize import normalize

ASSEMBLY_SOURCE = "（出典：第7回総会報告）"
MASTER_SOURCE = "（出典：全国地方公共団体コード一覧）"
TITLES = (
    "マイキープラットフォーム構想の推進について",
    "AIを活用した新たな公共サービスの可能性について",
    "自治体におけるAI活用の取組について",
    "公共サービスイノベーションに関する国の取組について",
    "総合窓口業務における外部化とその可能性について",
    "墨田区における業務量調査結果報告について",
)
PRESENTERS = ("京都府", "株式会社三菱総合研究所", "富士通株式会社", "内閣府", "吉川市", "墨田区")
# Words that belong to one presentation only; a reply about someone else must not carry them.
PRESENTATION_FACTS = ("マイキー", "AIスタッフ", "保育所", "3秒", "さいたま市", "イノベーション", "総合窓口", "17自治体",
                      "業務量調査", "RPA")
# The participants' words exactly as the source report quotes them (「…」); nothing else may be
# presented as something the participants said.
SOURCE_QUOTES = {
    "マイキー活用の具体的事例が参考になった",
    "実証に参加してみたい",
    "導入に向けて検討したい",
    "非常に興味ある事例",
    "今後も、窓口業務委託に関する国の支援を期待したい",
    "様々な分野の行政改革に関する最新情報が得られた",
    "満足した",
}


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def answer_db_url(tmp_path_factory):
    path = tmp_path_factory.mktemp("answer_kb") / "madoguchi.sqlite3"
    url = f"sqlite:///{path}"
    db.dispose_all()
    loader.load(url=url)
    yield url
    db.dispose_all()


@pytest.fixture(scope="module")
def session(answer_db_url):
    s = db.open_session(answer_db_url)
    yield s
    s.close()


@pytest.fixture(scope="module")
def gazetteer():
    """The bot's own dictionary extractor (lookup tables and synonyms of data/nlu)."""
    from bot.nlp.annotate import load_gazetteer

    return load_gazetteer()


# -- helpers ----------------------------------------------------------------------------------
def ask(session, intent: str, text: str, *entities: tuple[str, str], context: Context | None = None) -> Reply:
    query = Query(intent=intent, text=normalize(text), entities=tuple(entities), context=context or Context())
    return answer(session, query)


def ask_parsed(session, gazetteer, intent: str, text: str, context: Context | None = None) -> Reply:
    """Like :func:`ask`, with the entities found by the real extractor."""
    from bot.nlp.entities import extract

    text = normalize(text)
    return answer(session, Query.build(intent, text, extract(gazetteer, text), context or Context()))


_QUOTE_RE = re.compile(r"「[^「」]*」")
_NOTE_RE = re.compile(r"（[^（）。]*）|\([^()。]*\)")  # a parenthetical note after a sentence-final form
_LIST_ITEM_RE = re.compile(r"^\(\d+\) ")
_POLITE_END_RE = re.compile(r"(です|ます|ました|ません|でした|ください|ですか|ますか|でしょうか)$")


def own_sentences(text: str) -> list[str]:
    """The bot's own sentences: quotations, programme list items and the source line left out."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("（出典：") or _LIST_ITEM_RE.match(line):
            continue
        previous = None
        while previous != line:  # nested quotations and notes
            previous, line = line, _NOTE_RE.sub("", _QUOTE_RE.sub("「」", line))
        for part in re.split(r"[。?？!！]", line):
            part = part.strip()
            if part.endswith("「」"):  # ends in a quotation: an example (例：「…」), not a sentence
                continue
            part = part.rstrip("）)").strip()
            if part:
                out.append(part)
    return out


def assert_polite(reply: Reply | str) -> None:
    text = reply.text if isinstance(reply, Reply) else reply
    impolite = [s for s in own_sentences(text) if not _POLITE_END_RE.search(s)]
    assert not impolite, f"sentences without a polite ending {impolite} in reply:\n{text}"


def assert_sourced(reply: Reply, source: str | None = None) -> None:
    assert "（出典：" in reply.text, f"no source named:\n{reply.text}"
    if source:
        assert source in reply.text, reply.text


def assert_facts(reply: Reply, *facts: str) -> None:
    missing = [f for f in facts if f not in reply.text]
    assert not missing, f"missing {missing} in reply:\n{reply.text}"


def assert_answer(reply: Reply, *facts: str, source: str | None = None) -> None:
    """A factual answer: states the facts, is polite and names its source."""
    assert_facts(reply, *facts)
    assert reply.answered, reply.text
    assert_polite(reply)
    assert_sourced(reply, source)


def assert_no_record(reply: Reply, *forbidden: str) -> None:
    assert any(w in reply.text for w in ("ありません", "見つかりません", "わかりません")), reply.text
    leaked = [f for f in forbidden if f in reply.text]
    assert not leaked, f"{leaked} stated in a no-record reply:\n{reply.text}"
    assert not reply.answered
    assert_polite(reply)


def presentation_source(order: int) -> str:
    return f"（出典：第7回総会 発表{order}「{TITLES[order - 1]}」）"


def participant_quotes(text: str) -> list[str]:
    """The quotations the reply attributes to participants (「…」 after 参加者からは, before との声)."""
    out = []
    for segment in re.findall(r"参加者からは(.*?)との声", text, flags=re.S):
        out += [q.rstrip("。") for q in re.findall(r"「([^「」]*)」", segment)]
    return out


# -- the 7th assembly -------------------------------------------------------------------------
def test_assembly_date(session):
    reply = ask(session, "ask_assembly", "第7回総会はいつ開かれましたか", ("assembly_number", "7"),
                ("attribute", "date"))
    assert_answer(reply, "2月7日", source=ASSEMBLY_SOURCE)
    assert "平成30年" in reply.text and "2018" in reply.text
    assert "水" in reply.text  # the weekday of 2018-02-07
    assert reply.context == Context(subject_type="assembly", assembly_number=7)


def test_assembly_hours(session):
    reply = ask(session, "ask_assembly", "総会は何時から何時まででしたか", ("attribute", "hours"),
                ("attribute", "hours"))
    assert_answer(reply, source=ASSEMBLY_SOURCE)
    assert any(s in reply.text for s in ("13時30分", "13:30", "午後1時30分")), reply.text
    assert any(s in reply.text for s in ("17時", "17:00", "午後5時")), reply.text


def test_assembly_venue(session):
    reply = ask(session, "ask_assembly", "第7回総会の会場はどちらでしたか", ("assembly_number", "7"),
                ("attribute", "where"), ("attribute", "where"))
    assert_answer(reply, "東京芸術センター", "天空劇場", source=ASSEMBLY_SOURCE)


def test_assembly_address_wins_over_venue_cue(session):
    # 「会場の所在地」: both cues are found; the address is what is asked.
    reply = ask(session, "ask_assembly", "総会会場の住所を教えてください", ("attribute", "where"),
                ("attribute", "address"))
    assert_answer(reply, "足立区千住1-4-1", source=ASSEMBLY_SOURCE)


@pytest.mark.parametrize(
    "text, attribute, expected",
    [
        ("総会には何自治体が参加しましたか", "lg_count", "103"),
        ("総会の参加者数を教えてください", "people", "192"),
        ("総会の規模はどのくらいでしたか", "scale", "過去最大"),
    ],
)
def test_assembly_participation(session, text, attribute, expected):
    reply = ask(session, "ask_assembly", text, ("attribute", attribute))
    assert_answer(reply, expected, source=ASSEMBLY_SOURCE)


def test_assembly_reactions_are_the_participants_words(session):
    reply = ask(session, "ask_assembly", "総会の参加者の感想は", ("attribute", "reactions"))
    assert_answer(reply, "最新情報が得られた", "満足した", source=ASSEMBLY_SOURCE)
    assert set(participant_quotes(reply.text)) <= SOURCE_QUOTES


def test_assembly_overview(session):
    reply = ask(session, "ask_assembly", "第7回総会について教えてください", ("assembly_number", "7"))
    assert_answer(reply, "2月7日", "天空劇場", "103", "192", source=ASSEMBLY_SOURCE)
    assert "6件" in reply.text  # six presentations


def test_latest_assembly_is_the_7th(session):
    reply = ask(session, "ask_assembly", "前回の総会はいつでしたか", ("assembly_number", "latest"),
                ("attribute", "date"))
    assert_answer(reply, "第7回", "2月7日", source=ASSEMBLY_SOURCE)


def test_programme_lists_all_six_presentations_in_order(session):
    reply = ask(session, "ask_program", "第7回総会のプログラムを見せてください", ("assembly_number", "7"),
                ("attribute", "program"))
    assert_answer(reply, *TITLES, *PRESENTERS, source=ASSEMBLY_SOURCE)
    positions = [reply.text.index(t) for t in TITLES]
    assert positions == sorted(positions), reply.text
    assert reply.context.subject_type == "program" and reply.context.assembly_number == 7


# -- presentations ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "entity, value, order, expected",
    [
        ("organization", "株式会社三菱総合研究所", 2, ("AIスタッフ総合案内サービス",)),
        ("organization", "三菱総研", 2, ("AIスタッフ総合案内サービス",)),  # an alias resolves too
        ("organization", "富士通株式会社", 3, ("保育所", "さいたま市")),
        ("organization", "内閣府", 4, ("公共サービスイノベーション",)),
        ("municipality", "京都府", 1, ("マイキープラットフォーム", "原田")),
        ("municipality", "吉川市", 5, ("総合窓口",)),
        ("municipality", "墨田区", 6, ("業務量調査",)),
        ("municipality", "東京都墨田区", 6, ("業務量調査",)),
    ],
)
def test_presentation_by_presenter(session, entity, value, order, expected):
    reply = ask(session, "ask_presentation", f"{value}の発表について教えてください", (entity, value))
    assert_answer(reply, TITLES[order - 1], *expected, source=presentation_source(order))
    others = [p for i, p in enumerate(PRESENTERS, 1) if i != order and p not in TITLES[order - 1]]
    assert not [p for p in others if f"{p}による発表" in reply.text], reply.text
    assert reply.context.subject_type == "presentation"
    assert reply.context.assembly_number == 7 and reply.context.presentation_id is not None


def test_presentation_by_content_question(session):
    reply = ask(session, "ask_presentation", "三菱総合研究所は何を紹介しましたか",
                ("organization", "株式会社三菱総合研究所"), ("attribute", "content"))
    assert_answer(reply, "AIスタッフ", source=presentation_source(2))


def test_saitama_leads_to_fujitsus_trial_not_to_a_saitama_presentation(session):
    reply = ask(session, "ask_presentation", "さいたま市の実証について教えてください", ("municipality", "さいたま市"))
    assert_answer(reply, "富士通株式会社", "保育所", "3秒", source=presentation_source(3))
    assert "さいたま市による発表" not in reply.text and "さいたま市の発表" not in reply.text


def test_topic_speaker(session):
    reply = ask(session, "ask_presentation", "マイキープラットフォームについて話したのはどなたですか",
                ("topic", "マイキープラットフォーム"), ("attribute", "speaker"))
    assert_answer(reply, "京都府", "原田", "情報政策統括監", source=presentation_source(1))


def test_speaker_by_presenter(session):
    reply = ask(session, "ask_presentation", "京都府の発表者の役職は", ("municipality", "京都府"),
                ("attribute", "speaker"), ("attribute", "speaker"))
    assert_answer(reply, "原田情報政策統括監", source=presentation_source(1))


def test_topic_requirement_regional_points_need_my_number_card(session):
    reply = ask(session, "ask_presentation", "地域ポイントを利用するには何が必要ですか", ("topic", "地域ポイント"),
                ("attribute", "requirement"), ("attribute", "requirement"))
    assert_answer(reply, "マイナンバーカード", "マイキーID", source=presentation_source(1))


def test_topic_figures_nursery_selection_in_three_seconds(session):
    reply = ask(session, "ask_presentation", "保育所の入所選考は何秒で終わりましたか", ("topic", "保育所"),
                ("topic", "入所選考"), ("attribute", "figures"))
    assert_answer(reply, "3秒", source=presentation_source(3))
    assert "17自治体" not in reply.text and "30以上" not in reply.text


def test_topic_speaker_of_nursery_selection_is_fujitsu(session):
    reply = ask(session, "ask_presentation", "保育所入所選考のAIを紹介したのは誰ですか", ("topic", "保育所入所選考"),
                ("attribute", "speaker"))
    assert_answer(reply, "富士通", source=presentation_source(3))


def test_topic_working_group_size(session):
    reply = ask(session, "ask_presentation", "総合窓口のワーキンググループには何自治体が加わりましたか",
                ("topic", "総合窓口"), ("topic", "ワーキンググループ"), ("attribute", "lg_count"))
    assert_answer(reply, "17自治体", source=presentation_source(5))
    assert "103" not in reply.text


def test_topic_ai_staff_trial_started_in_february(session):
    reply = ask(session, "ask_presentation", "AIスタッフの実証実験はいつから始まりましたか", ("topic", "AIスタッフ"),
                ("topic", "実証実験"), ("attribute", "date"))
    assert_answer(reply, "2月から", source=presentation_source(2))
    assert "2月7日" not in reply.text  # the assembly date is not the start of the trial


def test_topic_wording_picks_the_fact_not_the_overview(session, gazetteer):
    # 「AIスタッフ」 occurs all over the presentation; 「コストを抑える」 is what the question is about
    reply = ask_parsed(session, gazetteer, "ask_presentation", "AIスタッフはどうやってコストを抑えているの")
    assert_answer(reply, "標準化", source=presentation_source(2))


def test_a_topic_the_summary_does_not_name_picks_its_fact(session, gazetteer):
    reply = ask_parsed(session, gazetteer, "ask_presentation", "墨田区はマニュアルについて何か取り組んでいる？")
    assert_answer(reply, "マニュアルの整備", source=presentation_source(6))


def test_generic_words_do_not_pick_a_fact(session, gazetteer):
    # 「自治体」 occurs in every presentation: the overview (with the trial site) answers, not a fact about 自治体
    reply = ask_parsed(session, gazetteer, "ask_presentation", "保育所入所選考のAI実証をやった自治体は？")
    assert_answer(reply, "さいたま市", source=presentation_source(3))


def test_topic_only(session):
    reply = ask(session, "ask_presentation", "公共サービスイノベーションの話を聞かせてください",
                ("topic", "公共サービスイノベーション"))
    assert_answer(reply, "内閣府", source=presentation_source(4))


def test_topic_shared_by_two_presentations_does_not_pick_one_silently(session):
    # 人工知能 is the subject of both the MRI and the Fujitsu presentation: the user must learn of
    # both (or be asked which one), not get one of them as if it were the only one.
    reply = ask(session, "ask_presentation", "人工知能についての発表を教えてください", ("topic", "人工知能"))
    assert_facts(reply, "三菱総合研究所", "富士通")
    assert_polite(reply)


@pytest.mark.parametrize(
    "entity, value, order, expected",
    [
        ("municipality", "京都府", 1, ("銀行", "府内市町村", "企業")),
        ("municipality", "吉川市", 5, ("パーソルテンプスタッフ",)),
    ],
)
def test_partners(session, entity, value, order, expected):
    reply = ask(session, "ask_presentation", f"{value}の連携先はどこですか", (entity, value), ("attribute", "partners"),
                ("attribute", "where"))
    assert_answer(reply, *expected, source=presentation_source(order))


def test_partners_not_recorded_says_so(session):
    reply = ask(session, "ask_presentation", "三菱総研の連携先は", ("organization", "株式会社三菱総合研究所"),
                ("attribute", "partners"))
    assert_answer(reply, "記載がありません", source=presentation_source(2))
    assert "パーソルテンプスタッフ" not in reply.text and "銀行" not in reply.text


def test_plan_of_sumida(session):
    reply = ask(session, "ask_presentation", "墨田区は今後どうする予定ですか", ("municipality", "墨田区"),
                ("attribute", "plan"), ("attribute", "plan"))
    assert_answer(reply, "委託", "RPA", source=presentation_source(6))


def test_where_the_trial_took_place(session):
    reply = ask(session, "ask_presentation", "富士通はどこで実証しましたか", ("organization", "富士通株式会社"),
                ("attribute", "where"))
    assert_answer(reply, "さいたま市", source=presentation_source(3))


@pytest.mark.parametrize(
    "entity, value, order, expected",
    [
        ("municipality", "京都府", 1, ["マイキー活用の具体的事例が参考になった"]),
        ("organization", "株式会社三菱総合研究所", 2, ["実証に参加してみたい", "導入に向けて検討したい"]),
        ("organization", "富士通株式会社", 3, ["非常に興味ある事例"]),
        ("organization", "内閣府", 4, ["今後も、窓口業務委託に関する国の支援を期待したい"]),
    ],
)
def test_reactions_are_quoted(session, entity, value, order, expected):
    reply = ask(session, "ask_presentation", f"{value}の発表への反応は", (entity, value), ("attribute", "reactions"))
    assert_answer(reply, source=presentation_source(order))
    assert participant_quotes(reply.text) == expected, reply.text


def test_reactions_not_recorded_are_not_borrowed(session):
    reply = ask(session, "ask_presentation", "吉川市の発表の感想は", ("municipality", "吉川市"),
                ("attribute", "reactions"))
    assert_answer(reply, "記載がありません", source=presentation_source(5))
    assert participant_quotes(reply.text) == []
    assert not any(q in reply.text for q in SOURCE_QUOTES)


def test_reactions_to_sumida_quote_only_what_participants_said(session):
    # The report says in its own words that there were many opinions and questions and that
    # interest was high; it quotes no participant. A reply must not turn that into a quotation.
    reply = ask(session, "ask_presentation", "墨田区の発表への反応は", ("municipality", "墨田区"),
                ("attribute", "reactions"))
    assert_answer(reply, source=presentation_source(6))
    assert any(w in reply.text for w in ("意見", "質問", "関心")), reply.text
    assert set(participant_quotes(reply.text)) <= SOURCE_QUOTES, reply.text


# -- follow-ups (context) ---------------------------------------------------------------------
def test_follow_up_plan_after_presentation(session):
    first = ask(session, "ask_presentation", "墨田区の報告を教えてください", ("municipality", "墨田区"))
    assert first.context.subject_type == "presentation"
    reply = ask(session, "ask_presentation", "今後はどうするとおっしゃっていましたか", ("attribute", "plan"),
                context=first.context)
    assert_answer(reply, source=presentation_source(6))
    assert "委託" in reply.text or "RPA" in reply.text
    assert reply.context.presentation_id == first.context.presentation_id


def test_follow_up_where_after_presentation(session):
    first = ask(session, "ask_presentation", "富士通の発表について", ("organization", "富士通株式会社"))
    reply = ask(session, "ask_presentation", "どこで実証したのですか", ("attribute", "where"), context=first.context)
    assert_answer(reply, "さいたま市", source=presentation_source(3))


def test_follow_up_reactions_after_presentation(session):
    first = ask(session, "ask_presentation", "京都府の発表を教えて", ("municipality", "京都府"))
    reply = ask(session, "ask_presentation", "反応はどうでしたか", ("attribute", "reactions"), context=first.context)
    assert_answer(reply, "マイキー活用の具体的事例が参考になった", source=presentation_source(1))


def test_follow_up_people_after_assembly(session):
    first = ask(session, "ask_assembly", "第7回総会について知りたいです", ("assembly_number", "7"))
    assert first.context == Context(subject_type="assembly", assembly_number=7)
    reply = ask(session, "ask_assembly", "何人来ましたか", ("attribute", "people"), context=first.context)
    assert_answer(reply, "192", source=ASSEMBLY_SOURCE)


def test_assembly_question_after_presentation_gives_assembly_figures(session):
    # The MRI presentation has its own count (30以上の自治体); the assembly question is about the assembly.
    first = ask(session, "ask_presentation", "三菱総研の発表は", ("organization", "株式会社三菱総合研究所"))
    people = ask(session, "ask_assembly", "総会には何人参加しましたか", ("attribute", "people"), context=first.context)
    assert_answer(people, "192", source=ASSEMBLY_SOURCE)
    lgs = ask(session, "ask_assembly", "総会の参加自治体数は", ("attribute", "lg_count"), context=first.context)
    assert_answer(lgs, "103", source=ASSEMBLY_SOURCE)
    assert "30以上" not in lgs.text


def test_municipality_follow_up(session):
    first = ask(session, "ask_municipality", "足立区のコードは", ("municipality", "足立区"), ("attribute", "code"))
    reply = ask(session, "ask_municipality", "何県ですか", ("attribute", "prefecture"), context=first.context)
    assert_answer(reply, "東京都", source=MASTER_SOURCE)


# -- what is not in the knowledge base --------------------------------------------------------
ASSEMBLY_7_FACTS = ("2月7日", "天空劇場", "192", "103", "千住")


@pytest.mark.parametrize("number", ["3", "next"])
@pytest.mark.parametrize(
    "intent, attribute",
    [
        ("ask_assembly", "date"),
        ("ask_assembly", "where"),
        ("ask_assembly", "address"),
        ("ask_assembly", "people"),
        ("ask_assembly", "reactions"),
        ("ask_assembly", None),
        ("ask_program", "program"),
    ],
)
def test_unknown_assembly_says_no_record(session, number, intent, attribute):
    label = "第3回" if number == "3" else "次回"
    entities = [("assembly_number", number)] + ([("attribute", attribute)] if attribute else [])
    reply = ask(session, intent, f"{label}の総会について", *entities)
    assert label in reply.text, reply.text
    assert_no_record(reply, *ASSEMBLY_7_FACTS, *TITLES)


def test_unknown_assembly_with_a_presenter(session):
    reply = ask(session, "ask_presentation", "第3回総会の京都府の発表", ("assembly_number", "3"),
                ("municipality", "京都府"))
    assert "第3回" in reply.text
    assert_no_record(reply, *ASSEMBLY_7_FACTS, "マイキー", "原田")


@pytest.mark.parametrize(
    "entity, value",
    [
        ("municipality", "横浜市"),
        ("municipality", "京都市"),  # not 京都府
        ("municipality", "足立区"),  # the venue and secretariat, but no presentation
        ("organization", "日立"),
        ("organization", "総務省"),
    ],
)
def test_non_presenter_says_no_record(session, entity, value):
    reply = ask(session, "ask_presentation", f"{value}の発表について教えてください", (entity, value))
    assert value in reply.text
    assert_no_record(reply, *PRESENTATION_FACTS, *TITLES, "による発表", "原田")


def test_non_presenter_content_question(session):
    reply = ask(session, "ask_presentation", "横浜市は何を発表しましたか", ("municipality", "横浜市"),
                ("attribute", "content"))
    assert "横浜市" in reply.text
    assert_no_record(reply, *PRESENTATION_FACTS, *TITLES)


def test_unknown_organization_as_the_pipeline_sends_it(session, gazetteer):
    # 日立 is in no lookup table, so the extractor finds no entity. The user did name who they mean:
    # the reply must say there is no record of 日立's presentation, not ask which presentation.
    reply = ask_parsed(session, gazetteer, "ask_presentation", "日立の発表について教えてください")
    assert "日立" in reply.text, reply.text
    assert_no_record(reply, *PRESENTATION_FACTS, "による発表")


# -- the research society ---------------------------------------------------------------------
def test_society_purpose(session):
    reply = ask(session, "ask_society", "研究会は何のための会ですか", ("organization", "日本公共サービス研究会"),
                ("attribute", "purpose"))
    assert_answer(reply, "自治体連携による行政諸課題の解決", source=ASSEMBLY_SOURCE)
    assert reply.context.subject_type == "society"


def test_society_secretariat(session):
    reply = ask(
        session, "ask_society", "研究会の事務局はどこが担当していますか",
        ("organization", "日本公共サービス研究会"), ("attribute", "secretariat"), ("attribute", "where"),
    )
    assert_answer(reply, "足立区政策経営部政策経営課", source=ASSEMBLY_SOURCE)


def test_secretariat_question_under_another_intent(session):
    reply = ask(session, "ask_assembly", "事務局の担当部署はどこですか", ("attribute", "secretariat"),
                ("attribute", "secretariat"), ("attribute", "where"))
    assert_answer(reply, "足立区政策経営部政策経営課", source=ASSEMBLY_SOURCE)


# -- local-government master ------------------------------------------------------------------
def test_code_of_adachi(session):
    reply = ask(session, "ask_municipality", "足立区の全国地方公共団体コードを教えてください",
                ("municipality", "足立区"), ("attribute", "code"))
    assert_answer(reply, "131211", source=MASTER_SOURCE)
    assert reply.context.subject_type == "municipality" and reply.context.municipality_code == "131211"


def test_code_of_a_prefecture(session):
    reply = ask(session, "ask_municipality", "京都府の団体コードは", ("municipality", "京都府"), ("attribute", "code"))
    assert_answer(reply, "260002", source=MASTER_SOURCE)


def test_prefecture_of_saitama(session):
    reply = ask(session, "ask_municipality", "さいたま市は何県にありますか", ("municipality", "さいたま市"),
                ("attribute", "prefecture"))
    assert_answer(reply, "埼玉県", source=MASTER_SOURCE)


def test_municipality_by_code(session):
    reply = ask(session, "ask_municipality", "131211はどこの団体ですか", ("lg_code", "131211"), ("attribute", "where"))
    assert_answer(reply, "東京都足立区", source=MASTER_SOURCE)
    assert reply.context.municipality_code == "131211"


def test_municipality_by_five_digit_code(session):
    reply = ask(session, "ask_municipality", "13121はどこですか", ("lg_code", "13121"), ("attribute", "where"))
    assert_answer(reply, "足立区", source=MASTER_SOURCE)
    assert reply.context.municipality_code == "131211"


def test_wrong_check_digit_is_explained(session):
    reply = ask(session, "ask_municipality", "131212はどこの団体ですか", ("lg_code", "131212"), ("attribute", "where"))
    assert "131212" in reply.text
    assert "正しい全国地方公共団体コードではありません" in reply.text or "無効" in reply.text, reply.text
    assert "検査数字" in reply.text
    assert "131212は東京都足立区" not in reply.text
    assert not reply.answered
    assert_polite(reply)


def test_unknown_valid_code(session):
    reply = ask(session, "ask_municipality", "999997はどこ", ("lg_code", "999997"), ("attribute", "where"))
    assert "999997" in reply.text
    assert_no_record(reply)


@pytest.mark.parametrize(
    "attribute, expected",
    [("code", {"東京都府中市": "132063", "広島県府中市": "342084"}),
     ("prefecture", {"東京都府中市": "東京都", "広島県府中市": "広島県"})],
)
def test_ambiguous_municipality_asks_back_and_each_button_resolves(session, gazetteer, attribute, expected):
    reply = ask(session, "ask_municipality", "府中市について調べてください", ("municipality", "府中市"),
                ("attribute", attribute))
    assert not reply.answered
    assert_polite(reply)
    assert own_sentences(reply.text)[-1].endswith("か"), reply.text  # a question
    assert "132063" not in reply.text and "342084" not in reply.text  # no guess
    assert [b["title"] for b in reply.buttons] == list(expected)
    for button in reply.buttons:
        chosen = ask_parsed(session, gazetteer, "ask_municipality", button["payload"])
        assert not chosen.buttons, chosen.text
        assert_answer(chosen, expected[button["title"]], source=MASTER_SOURCE)
        other = next(t for t in expected if t != button["title"])
        assert other not in chosen.text and expected[other] not in chosen.text


def test_unknown_municipality_name(session):
    reply = ask(session, "ask_municipality", "架空市のコード", ("municipality", "架空市"), ("attribute", "code"))
    assert "架空市" in reply.text
    assert_no_record(reply)


# -- every reply is polite --------------------------------------------------------------------
@pytest.mark.parametrize(
    "intent, entities",
    [
        ("ask_assembly", ()),
        ("ask_assembly", (("attribute", "plan"),)),
        ("ask_program", ()),
        ("ask_presentation", ()),
        ("ask_presentation", (("attribute", "speaker"),)),
        ("ask_society", ()),
        ("ask_municipality", ()),
        ("ask_municipality", (("municipality", "府中市"),)),
        ("ask_presentation", (("organization", "富士通株式会社"), ("attribute", "date"))),
        ("ask_presentation", (("municipality", "墨田区"), ("attribute", "result"))),
        ("ask_presentation", (("organization", "内閣府"), ("attribute", "plan"))),
        ("ask_presentation", (("municipality", "吉川市"), ("attribute", "figures"))),
    ],
)
def test_replies_are_polite(session, intent, entities):
    reply = ask(session, intent, "", *entities)
    assert reply.text.strip()
    assert_polite(reply)
    if reply.answered:
        assert_sourced(reply)


def test_politeness_check_catches_plain_endings():
    # the checker itself: plain forms fail, quotations and list items are not the bot's sentences
    assert own_sentences("会場は天空劇場だ。\n（出典：x）") == ["会場は天空劇場だ"]
    assert own_sentences("東京都にあります（コード 131211）。") == ["東京都にあります"]
    with pytest.raises(AssertionError):
        assert_polite("会場は天空劇場である。")
    with pytest.raises(AssertionError):
        assert_polite("2月7日に開催した。")
    assert_polite("参加者からは「満足した。」との声がありました。\n(1) 題目（京都府）\n（出典：第7回総会報告）")


# -- open questions (no intent fits) -------------------------------------------------------------
@pytest.mark.parametrize("text, title", [
    ("娘のマイナンバーカードの作り方を教えて", "マイナンバーカードの申請方法"),
    ("粗大ごみの出し方を教えて", "粗大ごみ"),
])
def test_open_question_answered_from_the_faq_with_its_source(answer_db_url, text, title):
    from bot.dialogue.open_question import open_answer

    reply = open_answer(Query.build("out_of_scope", normalize(text), [], Context()), url=answer_db_url)
    assert reply is not None and title in reply.text
    assert_sourced(reply, "サンプルデータ")


@pytest.mark.parametrize("text", ["カレーの作り方を教えて", "ハンバーグの作り方", "犬の登録はどうすればいい"])
def test_open_question_about_something_the_data_never_mentions_is_not_answered(answer_db_url, text):
    # one shared word (「作り方」) with an FAQ entry is not enough when the subject (カレー) is unknown
    from bot.dialogue.open_question import open_answer

    assert open_answer(Query.build("out_of_scope", normalize(text), [], Context()), url=answer_db_url) is None
