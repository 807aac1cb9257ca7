"""Answer feedback: 👍/👎 after a factual answer, one optional comment after 👎, stored with the question,
answer, intent, confidence, source and channel — end to end over REST, plus the pure helpers."""
from __future__ import annotations

import uuid

import pytest
from servers import running_stack

from bot.channels.conversations import conversation_key
from bot.dialogue import rating as fb
from bot.feedback import store as feedback_store
from bot.kb.loader import load

pytestmark = pytest.mark.e2e


# --- pure helpers ---------------------------------------------------------------------------------------


def _user(text, intent="ask_assembly", confidence=0.9):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": confidence}}}


def test_rated_answer_is_the_last_action_answer_and_its_question():
    events = [
        {"event": "action", "name": "action_listen"},
        _user("総会の会場は？"),
        {"event": "action", "name": "action_answer"},
        {"event": "bot", "text": "会場は天空劇場です。", "data": {"buttons": list(fb.BUTTONS)}},
        {"event": "slot", "name": "answer_source", "value": "第7回総会報告"},
        {"event": "action", "name": "action_listen"},
        _user("/feedback_bad", "feedback_bad", 1.0),
    ]
    rated = fb.rated_answer(events)
    assert rated == fb.Rated("総会の会場は？", "会場は天空劇場です。", "ask_assembly", 0.9)


def test_nothing_to_rate_after_a_greeting():
    events = [_user("こんにちは", "greet"), {"event": "action", "name": "utter_greet"},
              {"event": "bot", "text": "こんにちは"},
              {"event": "action", "name": "action_listen"}, _user("/feedback_good", "feedback_good")]
    assert fb.rated_answer(events) is None
    # the greeting by the same action as the answers: no 👍/👎 buttons, nothing to rate
    events[1] = {"event": "action", "name": "action_answer"}
    assert fb.rated_answer(events) is None


def test_a_comment_is_awaited_only_right_after_the_question():
    asked = [_user("/feedback_bad", "feedback_bad"), {"event": "action", "name": "action_feedback"},
             {"event": "bot", "text": fb.ASK_WHAT_WAS_WRONG}, {"event": "action", "name": "action_listen"},
             _user("日付が違います", "out_of_scope")]
    assert fb.awaiting_comment(asked, "3")
    assert not fb.awaiting_comment(asked, None)
    later = asked + [{"event": "action", "name": "action_out_of_scope"}, {"event": "action", "name": "action_listen"},
                     _user("もう一つ", "out_of_scope")]
    assert not fb.awaiting_comment(later, "3")


def test_feedback_is_stored_masked_on_both_backends(db_url):
    fid = feedback_store.record(sender_id="s", channel="rest", question="電話03-1234-5678の件", answer="回答",
                             intent="ask_assembly", confidence=0.8, source="第7回総会報告", rating="bad", url=db_url)
    assert feedback_store.add_comment(fid, "s", "メールはa@example.jpです", url=db_url)
    assert not feedback_store.add_comment(fid, "someone-else", "上書き", url=db_url)
    (row,) = feedback_store.all_feedback(db_url)
    assert (row.question, row.comment, row.rating, row.confidence) == ("電話［電話番号］の件",
                                                                       "メールは［メールアドレス］です", "bad", 0.8)
    with pytest.raises(ValueError):
        feedback_store.record(sender_id="s", channel="", question="", answer="", intent="", confidence=None, source="",
                           rating="meh", url=db_url)


def test_feedback_survives_a_knowledge_base_rebuild(tmp_path):
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    load(url=url)
    feedback_store.record(sender_id="s", channel="rest", question="q", answer="a", intent="ask_assembly",
                          confidence=0.5,
                       source="x", rating="good", url=url)
    load(url=url)  # `kb build` drops and recreates the knowledge base tables
    assert len(feedback_store.all_feedback(url)) == 1


# --- end to end over REST -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("feedback")) as servers:
        yield servers


def _buttons(messages: list[dict]) -> list[dict]:
    return [b for m in messages for b in (m.get("buttons") or [])]


def _rows(stack, sender):
    # ratings name the conversation as the tracker store does: the channel's key (bot.channels.conversations)
    return [r for r in feedback_store.all_feedback(stack.db_url) if r.sender_id == conversation_key("rest", sender)]


def test_a_factual_answer_offers_thumbs_and_a_good_rating_is_stored(stack):
    sender = f"fb-{uuid.uuid4().hex[:8]}"
    messages = stack.ask("第7回総会の会場はどこですか", sender)
    assert "天空劇場" in messages[0]["text"]
    assert [b["payload"] for b in _buttons(messages)] == [fb.GOOD, fb.BAD]
    assert {b["title"][0] for b in _buttons(messages)} == {"👍", "👎"}
    reply = stack.reply_text(fb.GOOD, sender)
    assert reply == fb.THANKS_GOOD
    (row,) = _rows(stack, sender)
    assert row.rating == "good" and row.channel == "rest" and row.intent == "ask_assembly"
    assert row.question == "第7回総会の会場はどこですか" and "天空劇場" in row.answer
    assert row.source == "第7回総会報告" and 0 < row.confidence <= 1 and row.comment == ""


@pytest.mark.parametrize("typed, rating", [
    # LINE and Slack users often send the emoji itself instead of pressing the button
    ("👍", "good"), ("👎🏻", "bad"),
    # in words, a negated complaint is praise and negated praise a complaint (none is a training example)
    ("間違ってないです", "good"), ("誤りはなかったです", "good"),
    ("その答え、正しくないと思います", "bad"), ("合ってないよ", "bad"),
])
def test_a_typed_rating_rates_the_last_answer(stack, typed, rating):
    sender = f"fb-{uuid.uuid4().hex[:8]}"
    stack.ask("第7回総会の会場はどこですか", sender)
    reply = stack.reply_text(typed, sender)
    assert reply == (fb.THANKS_GOOD if rating == "good" else fb.ASK_WHAT_WAS_WRONG)
    (row,) = _rows(stack, sender)
    assert row.rating == rating and "天空劇場" in row.answer


def test_a_bad_rating_asks_one_optional_question_and_stores_the_comment_masked(stack):
    sender = f"fb-{uuid.uuid4().hex[:8]}"
    stack.ask("総会の参加者数は？", sender)
    reply = stack.reply_text(fb.BAD, sender)
    assert "どの点が違っていましたか？（任意）" in reply
    (row,) = _rows(stack, sender)
    assert row.rating == "bad" and row.comment == ""
    thanks = stack.reply_text("人数が古いと思います。折り返しは090-1234-5678へ", sender)
    assert thanks == fb.THANKS_COMMENT
    (row,) = _rows(stack, sender)
    assert row.comment == "人数が古いと思います。折り返しは［電話番号］へ"
    # the conversation goes on normally; a later message is not taken as a comment
    assert "天空劇場" in stack.reply_text("総会の会場はどこですか", sender)
    assert _rows(stack, sender)[0].comment == "人数が古いと思います。折り返しは［電話番号］へ"


def test_a_new_question_instead_of_a_comment_is_answered(stack):
    sender = f"fb-{uuid.uuid4().hex[:8]}"
    stack.ask("総会の会場はどこですか", sender)
    stack.ask(fb.BAD, sender)
    reply = stack.reply_text("第7回総会はいつ開催されましたか", sender)
    assert "2018" in reply or "平成30" in reply
    (row,) = _rows(stack, sender)
    assert row.comment == ""


def test_rating_without_an_answer_stores_nothing(stack):
    sender = f"fb-{uuid.uuid4().hex[:8]}"
    stack.ask("こんにちは", sender)
    assert stack.reply_text(fb.GOOD, sender) == fb.NOTHING_TO_RATE
    assert _rows(stack, sender) == []
