"""A second assembly report is a data change only (issue: new data, no new code).

The fixture tests/fixtures/assembly_008.yml (fictional, never shipped) is loaded with `kb load` into a
database that holds the shipped data; the running guide, with the model trained on the shipped data,
then answers about the 8th assembly, keeps answering about the 7th, and reads 「最新の総会」 as the 8th.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from servers import RasaStack

from bot.kb.db import dispose_all, open_session
from bot.kb.loader import load, load_files
from bot.kb.queries import lookup_names
from bot.nlp.lookups import render

FIXTURE = Path(__file__).parent / "fixtures" / "assembly_008.yml"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('kb8') / 'kb.sqlite3'}"
    load(url=url)
    assert load_files([FIXTURE], url) == {"assembly": 1}
    assert load_files([FIXTURE], url) == {"assembly": 1}  # loading twice changes nothing
    yield url
    dispose_all()


@pytest.fixture(scope="module")
def stack(db_url, tmp_path_factory):
    servers = RasaStack(tmp_path_factory.mktemp("e2e8"), db_url)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


def ask(stack, *turns):
    sender = f"n8-{uuid.uuid4().hex[:8]}"
    reply = ""
    for turn in turns:
        reply = stack.reply_text(turn, sender)
    return reply


def test_the_new_assembly_is_answered_from_its_own_data(stack):
    reply = ask(stack, "第8回総会はいつですか")
    assert "2月6日" in reply and ("平成31" in reply or "2019" in reply) and "2月7日" not in reply
    reply = ask(stack, "第8回総会の会場は？")
    assert "庁舎ホール" in reply and "天空劇場" not in reply
    reply = ask(stack, "第8回総会には何人参加しましたか")
    assert "231" in reply and "192" not in reply


def test_the_seventh_assembly_keeps_its_answers(stack):
    assert "天空劇場" in ask(stack, "第7回総会の会場はどこ？")
    assert "192" in ask(stack, "第7回総会の参加者数は？")


def test_latest_means_the_newest_assembly(stack):
    reply = ask(stack, "最新の総会の会場を教えてください")
    assert "庁舎ホール" in reply


def test_a_presenter_of_the_new_assembly_is_found(stack):
    reply = ask(stack, "横浜市の発表について教えて")
    assert "RPA" in reply and "第8回" in reply
    assert "4,000時間" in ask(stack, "横浜市の発表について教えて", "どれくらい削減できたの？")


def test_the_programme_of_the_new_assembly(stack):
    reply = ask(stack, "第8回総会のプログラムを教えて")
    assert "AI-OCR" in reply and "RPAによる定型業務" in reply and "マイキー" not in reply


def test_regenerated_lookup_tables_carry_the_new_topics(db_url):
    with open_session(db_url) as session:
        names = lookup_names(session)
    data = yaml.safe_load(render(names))
    topics = next(b for b in data["nlu"] if b.get("lookup") == "topic")["examples"]
    assert "AI-OCR" in topics and "マイキープラットフォーム" in topics
