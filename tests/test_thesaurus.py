"""The 言い換え辞書 (data/thesaurus.yml): everyday words find the report's words, in fact matching and as
topic names, and a broken file is named, not half read."""
from __future__ import annotations

import pytest

from bot.nlp import meaning, thesaurus
from bot.nlp.lookups import render


def test_everyday_words_find_the_group_of_the_reports_word():
    names = [name for name, _ in thesaurus.groups_in("受付の仕事を民間に任せる")]
    assert "委託" in names and "窓口業務" in names
    assert [n for n, _ in thesaurus.groups_in("仕事の手順書を作り直した")] == ["業務", "マニュアル", "見直し"]
    # kana folded either way; a Latin word only as a whole word
    assert "委託" in [n for n, _ in thesaurus.groups_in("アウトソーシング")]
    assert "委託" in [n for n, _ in thesaurus.groups_in("あうとそーしんぐ")]
    assert "IT" not in [n for n, _ in thesaurus.groups_in("digital の話")]
    assert "IT" in [n for n, _ in thesaurus.groups_in("ITも絡めた")]


def test_a_question_and_a_fact_share_meaning_through_the_thesaurus():
    fact = "委託化に当たって業務フローの明確化も重要なため、マニュアルの整備・見直しも進めてきました。"
    other = "調査結果を受けて、委託やRPAの活用など、効率化に向けた様々な手法の研究・検討を進めていくとのことです。"
    question = "仕事の手順書を作り直したって話"
    assert meaning.shared(question, fact) > meaning.shared(question, other)
    # 「手順書」 shares no character with 「マニュアル」: only the thesaurus joins them
    assert meaning.shared("手順書", fact) == 1 and meaning.shared("手順書", other) == 0
    assert not set("手順書") & set(fact)


def test_a_group_named_after_a_topic_lends_its_words_to_the_topic_table():
    text = render({"topic": [("委託", "委託"), ("マニュアル", "マニュアル"), ("実証実験", "実証実験")]})
    assert "- synonym: 委託" in text and "    - 民間に任せ\n" in text
    assert "- synonym: マニュアル" in text and "    - 手順書\n" in text
    # 実証実験 is a topic but not the name of its group (実証): 「お試し」 does not change the subject
    assert "お試し" not in text and "- synonym: 実証実験" not in text


@pytest.mark.parametrize("body, problem", [
    ("groups: 委託\n", "groups: の一覧が必要"),
    ("groups:\n  - [委託]\n", "1 番目の組"),
    ("groups:\n  - [委託, 外注]\n  - [コスト, 3]\n", "2 番目の組"),
    ("groups: [\n", "読めません"),
])
def test_a_broken_thesaurus_is_named_with_what_is_wrong(tmp_path, body, problem):
    path = tmp_path / "thesaurus.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(thesaurus.ThesaurusError, match=problem):
        thesaurus.load(path)


def test_nlu_generate_refuses_a_broken_thesaurus_and_keeps_the_tables(tmp_path):
    import os
    import subprocess

    from servers import BIN, REPO

    from bot.kb.loader import load

    db_url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    load(url=db_url)
    out = tmp_path / "kb_lookups.yml"
    out.write_text("# the tables before\n", encoding="utf-8")
    broken = tmp_path / "thesaurus.yml"
    broken.write_text("groups:\n  - [委託]\n", encoding="utf-8")
    env = {**os.environ, "MADOGUCHI_THESAURUS": str(broken)}
    done = subprocess.run([str(BIN / "madoguchi"), "--db", db_url, "nlu", "generate", "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=REPO)
    assert done.returncode == 1 and "言い換え辞書" in done.stderr and "1 番目の組" in done.stderr, done.stderr
    assert out.read_text(encoding="utf-8") == "# the tables before\n"
