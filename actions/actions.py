"""Rasa custom actions: thin glue between the tracker and bot.dialogue / bot.kb."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.answer import SUGGESTIONS, answer
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
        message = tracker.latest_message or {}
        query = Query.build(
            intent=(message.get("intent") or {}).get("name") or "",
            text=message.get("text") or "",
            entities=message.get("entities") or [],
            context=context_from(tracker),
        )
        try:
            with open_session() as session:
                reply = answer(session, query)
        except Exception:  # the user gets an apology, the log gets the cause (no message text)
            logger.exception("action_answer failed (intent=%s)", query.intent)
            dispatcher.utter_message(text=APOLOGY)
            return []
        dispatcher.utter_message(text=reply.text, buttons=list(reply.buttons) or None)
        return context_events(reply.context)


class ActionDefaultFallback(Action):
    """Not understood: say so plainly and suggest what can be asked."""

    def name(self) -> Text:
        return "action_default_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        text = (tracker.latest_message or {}).get("text") or ""
        if not has_meaningful_text(text):
            dispatcher.utter_message(response="utter_empty")
        elif len(text) > MAX_QUESTION_CHARS:
            dispatcher.utter_message(response="utter_too_long")
        else:
            dispatcher.utter_message(text=f"申し訳ありません、ご質問の意味がわかりませんでした。{SUGGESTIONS}")
        return []
