"""Rasa custom actions: thin glue between the tracker and bot.dialogue / bot.kb."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.answer import SUGGESTIONS, answer
from bot.dialogue.municipality import pending_choice
from bot.dialogue.open_question import maybe_buttons, open_answer
from bot.dialogue.query import Context, Query
from bot.kb.db import open_session
from bot.nlp.normalize import MAX_QUESTION_CHARS, has_meaningful_text

logger = logging.getLogger(__name__)

APOLOGY = "申し訳ありません。ただいま回答を用意できませんでした。しばらくしてからもう一度お試しください。"


def context_from(tracker: Tracker) -> Context:
    def as_int(value):
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    return Context(
        subject_type=tracker.get_slot("subject_type"),
        assembly_number=as_int(tracker.get_slot("assembly_number")),
        presentation_id=tracker.get_slot("presentation_id") or None,
        municipality_code=tracker.get_slot("municipality_code"),
        pending=tracker.get_slot("pending") or None,
    )


def query_from(tracker: Tracker) -> Query:
    message = tracker.latest_message or {}
    return Query.build(
        intent=(message.get("intent") or {}).get("name") or "",
        text=message.get("text") or "",
        entities=message.get("entities") or [],
        context=context_from(tracker),
    )


def context_events(context: Context) -> List[Dict[Text, Any]]:
    return [
        SlotSet("subject_type", context.subject_type),
        SlotSet("assembly_number", None if context.assembly_number is None else str(context.assembly_number)),
        SlotSet("presentation_id", context.presentation_id),
        SlotSet("municipality_code", context.municipality_code),
        SlotSet("pending", context.pending),
    ]


class ActionAnswer(Action):
    """Answers every knowledge question from the database."""

    def name(self) -> Text:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        query = query_from(tracker)
        try:
            with open_session() as session:
                reply = answer(session, query)
        except Exception:  # the user gets an apology, the log gets the cause (no message text)
            logger.exception("action_answer failed (intent=%s)", query.intent)
            dispatcher.utter_message(text=APOLOGY)
            return []
        dispatcher.utter_message(text=reply.text, buttons=list(reply.buttons) or None)
        return context_events(reply.context)


class ActionOutOfScope(Action):
    """Outside the guide's subjects: a polite refusal, unless it answers the guide's own question.

    「東京都の方」 after 「府中市は複数あります」 reads as out of scope to the classifier, but it is the
    user's choice among the candidates offered.
    """

    def name(self) -> Text:
        return "action_out_of_scope"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        context = context_from(tracker)
        if context.pending:
            query = query_from(tracker)
            try:
                with open_session() as session:
                    reply = pending_choice(session, query)
            except Exception:
                logger.exception("action_out_of_scope failed")
                reply = None
            if reply is not None:
                dispatcher.utter_message(text=reply.text, buttons=list(reply.buttons) or None)
                return context_events(reply.context)
        reply = _open_answer(tracker)
        if reply is not None:
            dispatcher.utter_message(text=reply.text)
            return [SlotSet("pending", None)] if context.pending else []
        dispatcher.utter_message(response="utter_out_of_scope")
        return [SlotSet("pending", None)] if context.pending else []


class ActionHelp(Action):
    """「どうすればいいですか」 is a request for help, unless it asks about something the FAQ answers."""

    def name(self) -> Text:
        return "action_help"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        reply = _open_answer(tracker)
        if reply is not None:
            dispatcher.utter_message(text=reply.text)
        else:
            dispatcher.utter_message(response="utter_help")
        return []


class ActionDefaultFallback(Action):
    """Not understood: say so plainly and suggest what can be asked."""

    def name(self) -> Text:
        return "action_default_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        if not has_meaningful_text(text):
            dispatcher.utter_message(response="utter_empty")
            return []
        if len(text) > MAX_QUESTION_CHARS:
            dispatcher.utter_message(response="utter_too_long")
            return []
        reply = _open_answer(tracker)
        if reply is not None:
            dispatcher.utter_message(text=reply.text)
            return []
        buttons = maybe_buttons(message.get("intent_ranking") or [])
        if buttons:
            dispatcher.utter_message(text="申し訳ありません、ご質問を読み取れませんでした。もしかして、次のことをお知りになりたいですか。",
                                     buttons=list(buttons))
        else:
            dispatcher.utter_message(text=f"申し訳ありません、ご質問の意味がわかりませんでした。{SUGGESTIONS}")
        return []


def _open_answer(tracker: Tracker):
    """The best FAQ entry or presentation passage for a question no intent fits (None if none is close)."""
    query = query_from(tracker)
    lg_code = tracker.get_slot("municipality_code")
    try:
        return open_answer(query, lg_code)
    except Exception:
        logger.exception("open question look-up failed")
        return None
