"""Answer feedback in the conversation: the 👍/👎 buttons, what was rated, the replies. Pure functions.

Events are Rasa's serialized events as the action server receives them (dicts with "event").
"""
from __future__ import annotations

from dataclasses import dataclass

GOOD, BAD = "/feedback_good", "/feedback_bad"
BUTTONS = ({"title": "👍 役に立った", "payload": GOOD}, {"title": "👎 違っていた", "payload": BAD})
FEEDBACK_INTENTS = ("feedback_good", "feedback_bad")
# Actions that answer with bot/dialogue/answer.py (action_default_fallback is Rasa's core fallback)
ANSWERING_ACTIONS = ("action_answer", "action_default_fallback", "action_out_of_scope", "action_help",
                     "action_feedback")
THANKS_GOOD = "ご評価ありがとうございます。今後の改善に役立てます。"
ASK_WHAT_WAS_WRONG = ("ご指摘ありがとうございます。どの点が違っていましたか？（任意）"
                      "\nお書きいただいた内容は担当者が確認します。お名前や電話番号などの個人情報は書かないでください。")
THANKS_COMMENT = "ご意見ありがとうございました。担当者が確認し、今後の改善に役立てます。ほかにもご質問があればどうぞ。"
NOTHING_TO_RATE = "ご評価ありがとうございます。評価できる直前の回答が見つかりませんでした。ご質問があればどうぞ。"


@dataclass(frozen=True)
class Rated:
    question: str
    answer: str
    intent: str
    confidence: float | None


def rated_answer(events: list[dict]) -> Rated | None:
    """The last answer given by action_answer before the latest user message, with its question."""
    last_user = _last_index(events, lambda e: e.get("event") == "user")
    if last_user is None:
        return None
    answer_texts: list[str] = []
    rateable = False
    i = last_user - 1
    # walk back to the action that answered, collecting its texts; an answer from the data carries
    # the 👍/👎 buttons (a greeting or a refusal, answered by the same action, does not)
    while i >= 0:
        e = events[i]
        kind = e.get("event")
        if kind == "bot":
            answer_texts.insert(0, e.get("text") or "")
            rateable = rateable or _has_rating_buttons(e)
        elif kind == "action" and e.get("name") not in ("action_listen", None):
            if e.get("name") not in ANSWERING_ACTIONS:
                return None
            break
        elif kind == "user":
            return None
        i -= 1
    if i < 0 or not answer_texts or not rateable:
        return None
    question = _last_index(events[:i], lambda e: e.get("event") == "user")
    if question is None:
        return None
    q = events[question]
    intent = (q.get("parse_data") or {}).get("intent") or {}
    return Rated(q.get("text") or "", "\n".join(t for t in answer_texts if t), intent.get("name") or "",
                 intent.get("confidence"))


def awaiting_comment(events: list[dict], feedback_id: str | None) -> bool:
    """True when the latest user message answers 「どの点が違っていましたか？」."""
    if not feedback_id:
        return False
    last_user = _last_index(events, lambda e: e.get("event") == "user")
    if last_user is None:
        return False
    for e in reversed(events[:last_user]):
        if e.get("event") == "user":
            return False
        if e.get("event") == "bot":  # the guide's last words asked what was wrong
            return (e.get("text") or "") == ASK_WHAT_WAS_WRONG
    return False


def _has_rating_buttons(event: dict) -> bool:
    buttons = (event.get("data") or {}).get("buttons") or []
    return any(isinstance(b, dict) and b.get("payload") in (GOOD, BAD) for b in buttons)


def _last_index(events: list[dict], test) -> int | None:
    for i in range(len(events) - 1, -1, -1):
        if test(events[i]):
            return i
    return None
