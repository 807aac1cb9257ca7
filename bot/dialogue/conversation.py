"""What the user does rather than asks: comments on a 👎, picks a candidate, rates, greets; and messages
that are no question about our records (out of scope, help, not understood). Resolvers of
bot/dialogue/answer.py, asked before any knowledge question."""
from __future__ import annotations

import logging
import re

from sqlalchemy.orm import Session

from bot.dialogue import presentations
from bot.dialogue.municipality import pending_choice
from bot.dialogue.open_question import maybe_buttons, open_answer
from bot.dialogue.query import Query, refers_back
from bot.dialogue.reply import SUGGESTIONS, Reply
from bot.dialogue.subjects import context_presentation
from bot.nlp.normalize import MAX_QUESTION_CHARS, has_meaningful_text

logger = logging.getLogger(__name__)


# -- resolvers, in the order they are asked ------------------------------------------------------
SMALL_TALK = {"greet": "utter_greet", "goodbye": "utter_goodbye", "thanks": "utter_thanks"}


RATINGS = {"feedback_good": "good", "feedback_bad": "bad"}


NOT_KNOWLEDGE = ("out_of_scope", "help", "nlu_fallback")


# a message that ends like a question, or asks to be told (「そこの部署名まで教えて」)
_ASKS_RE = re.compile(r"(?:\?|？|か|かな|かね|の|っけ)[\s。．.!！]*$|教えて|おしえて|知りたい|しりたい")


_CORRECTION_WORDS = ("違", "間違", "誤り", "誤っ", "古い", "正しくな")


_QUESTION_WORDS = ("?", "？", "教えて", "ですか", "ますか")


def comment(session: Session, query: Query) -> Reply | None:
    """After 「どの点が違っていましたか」: the user's words are the comment on the 👎, not a new question."""
    if not query.context.awaiting_comment or not has_meaningful_text(query.text):
        return None
    if query.intent in SMALL_TALK:
        return None
    if query.intent.startswith("ask_") and not (
        any(w in query.text for w in _CORRECTION_WORDS) and not any(q in query.text for q in _QUESTION_WORDS)
    ):
        return None
    return Reply("", query.context, kind="comment")


def unreadable(session: Session, query: Query) -> Reply | None:
    """No letters, or longer than any question (the NLU did not read it)."""
    if query.intent != "nlu_fallback":
        return None
    if not has_meaningful_text(query.text):
        return Reply("", query.context, kind="response", response="utter_empty", neutral=True)
    if len(query.text) > MAX_QUESTION_CHARS:
        return Reply("", query.context, kind="response", response="utter_too_long", neutral=True)
    return None


def choice(session: Session, query: Query) -> Reply | None:
    """「東京都の方」 after 「府中市は複数あります」: the user's pick among the candidates offered."""
    if not query.context.pending:
        return None
    return pending_choice(session, query)


def rating(session: Session, query: Query) -> Reply | None:
    """👍 / 👎 on the last answer, unless the message names a subject and asks (「吉川市は埼玉県で合ってる？」)."""
    value = RATINGS.get(query.intent)
    if value is None or (query.names_a_subject() and _ASKS_RE.search(query.text)):
        return None
    return Reply("", query.context, kind="rating", rating=value)


def small_talk(session: Session, query: Query) -> Reply | None:
    """Greetings, goodbyes and thanks, unless they name a subject (「じゃあ第7回は？」)."""
    response = SMALL_TALK.get(query.intent)
    if response is None or query.names_a_subject() or "order" in query.operations:
        return None  # 「じゃあ第7回は？」「じゃあその次は？」
    return Reply("", query.context, kind="response", response=response, neutral=True)


def not_about_the_knowledge_base(session: Session, query: Query) -> Reply | None:
    """Out of scope, a request for help, or not understood, when nothing in it points at our records:
    the closest FAQ entry or passage when there is a clear one, else a plain 「お答えできません」."""
    if query.intent not in NOT_KNOWLEDGE or _knowledge_cues(query) or _tie_between_questions(query):
        return None
    if _asks_about_the_current_talk(session, query):
        return None
    try:
        found = open_answer(query, query.context.municipality_code)
    except Exception:  # the FAQ index is unavailable: still a plain refusal, counted as unanswered
        logger.exception("open question look-up failed")
        found = None
    if found is not None:
        return found
    if query.intent == "help":
        return Reply("", query.context, kind="response", response="utter_help", neutral=True)
    if query.intent == "out_of_scope":
        return Reply("", query.context, kind="response", response="utter_out_of_scope", answered=False)
    buttons = maybe_buttons([{"name": n, "confidence": c} for n, c in query.ranking])
    if buttons:
        text = "申し訳ありません、ご質問を読み取れませんでした。もしかして、次のことをお知りになりたいですか。"
        return Reply(text, query.context, buttons=buttons, answered=False)
    return Reply(f"申し訳ありません、ご質問の意味がわかりませんでした。{SUGGESTIONS}", query.context, answered=False)


def _asks_about_the_current_talk(session: Session, query: Query) -> bool:
    """「お金の面の結論は？何年契約ならいいって？」 after a talk: a detail asked in words one of its facts
    uses (契約 ~ 継続契約, お金 ~ コスト), though the classifier read no question in it."""
    if not (query.attributes or query.values("operation")):
        return False
    current = context_presentation(session, query)
    return current is not None and bool(presentations.best_by_text([current], query.text))


def _tie_between_questions(query: Query) -> bool:
    """The fallback fired because two question intents were close, the best above the threshold."""
    if query.intent != "nlu_fallback" or len(query.ranking) < 3:
        return False
    fallback = next((c for n, c in query.ranking if n == "nlu_fallback"), None)
    ranked = [(n, c) for n, c in query.ranking if n != "nlu_fallback"]
    return (fallback is not None and all(n.startswith("ask_") for n, _ in ranked[:2])
            and ranked[0][1] >= fallback)


def _knowledge_cues(query: Query) -> bool:
    """Does a message the classifier did not take for a question still point at our records?"""
    if query.names_a_subject():
        return True
    if query.values("presenter_kind") and query.values("operation"):
        return True
    if "order" in query.operations and _ORDER_OF_TALKS_RE.search(query.text):
        return True  # 「トップバッターとトリは」, not 「2つ目の質問です」
    if set(query.attributes) & DOMAIN_CUES:  # 「開会のあいさつは誰が」: only our records have these
        return True
    if query.attributes and _ASSEMBLY_RE.search(query.text):  # 「その集まりのホールの名前は」
        return True
    if query.context.subject_type is None:
        return False
    asks = bool(query.attributes or query.values("operation") or _ASKS_RE.search(query.text))
    cued = bool(query.attributes or query.values("operation"))
    return (refers_back(query.text) and asks) or (cued and query.intent == "nlu_fallback")


# Details only an assembly (or a presentation) has: a question naming the society and one of these asks
# about its assembly.
# 「研究会の集まり」, or 「その集まり」 opening a message; not 「自治会のこの集まり」 nor a circle's 総会
_ASSEMBLY_RE = re.compile(r"研究会の(?:集まり|会合)|^その(?:集まり|会合)")
_ORDER_OF_TALKS_RE = re.compile(r"発表|登壇|報告|講演|プレゼン|トップバッター|トリ|最初|最後")
# Details only our records are asked for (a message with one of these is about them).
DOMAIN_CUES = frozenset({"mc", "capacity", "participants", "social", "materials", "program", "lg_count", "secretariat",
                         "organizer"})  # not 受付・開場: every office and event has one
