"""Rasa custom actions: thin glue between the tracker and bot.dialogue / bot.kb."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue import handoff
from bot.dialogue import rating as fb
from bot.dialogue.answer import answer
from bot.dialogue.query import Context, Query, previous_attributes, previous_reply
from bot.dialogue.reply import APOLOGY
from bot.feedback import store as feedback_store
from bot.kb.db import open_session
from bot.outbound import handoff_slack

logger = logging.getLogger(__name__)



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
        awaiting_comment=_awaiting_comment(tracker),
        previous_attributes=previous_attributes(tracker.events),
        last_reply=previous_reply(tracker.events),
    )


def query_from(tracker: Tracker) -> Query:
    message = tracker.latest_message or {}
    return Query.build(
        intent=(message.get("intent") or {}).get("name") or "",
        text=message.get("text") or "",
        entities=message.get("entities") or [],
        context=context_from(tracker),
        ranking=message.get("intent_ranking") or [],
    )


def context_events(context: Context, tracker: Tracker) -> List[Dict[Text, Any]]:
    """SlotSet events for the context slots whose value changes (every event is stored per turn)."""
    return only_changes(tracker, [
        SlotSet("subject_type", context.subject_type),
        SlotSet("assembly_number", None if context.assembly_number is None else str(context.assembly_number)),
        SlotSet("presentation_id", context.presentation_id),
        SlotSet("municipality_code", context.municipality_code),
        SlotSet("pending", context.pending),
    ])


def only_changes(tracker: Tracker, events: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    """Drops SlotSet events that set a slot to the value it already has."""
    return [e for e in events if e.get("event") != "slot" or tracker.get_slot(e["name"]) != e.get("value")]


class ActionAnswer(Action):
    """Every user message but a hand-off request: bot.dialogue.answer decides, this carries it out."""

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
        logger.debug("answered by resolver %r (intent=%s)", reply.resolver, query.intent)
        if reply.kind == "comment":
            return _store_comment(dispatcher, tracker)
        if reply.kind == "rating":
            return _rate(dispatcher, tracker, reply.rating or "bad")
        if reply.kind == "response":
            dispatcher.utter_message(response=reply.response, outcome=reply.outcome)
            events = [] if reply.neutral else _failed_turn(dispatcher, tracker)
            return context_events(reply.context, tracker) + events
        if reply.answered:  # a factual answer: offer 👍/👎 (unless it asks the user to choose)
            dispatcher.utter_message(text=reply.text, buttons=list(reply.buttons or fb.BUTTONS), outcome=reply.outcome)
            events = _answered_from_data(tracker, reply)
        else:
            dispatcher.utter_message(text=reply.text, buttons=list(reply.buttons) or None, outcome=reply.outcome)
            events = _failed_turn(dispatcher, tracker)
        return context_events(reply.context, tracker) + events + only_changes(tracker, [SlotSet("feedback_id", None)])


class ActionOutOfScope(ActionAnswer):
    """Kept for conversations stored with this action name: answered as every other message."""

    def name(self) -> Text:
        return "action_out_of_scope"


class ActionHelp(ActionAnswer):
    def name(self) -> Text:
        return "action_help"


class ActionDefaultFallback(ActionAnswer):
    """Rasa's fallback (a message no rule covers): answered as every other message."""

    def name(self) -> Text:
        return "action_default_fallback"


class ActionFeedback(ActionAnswer):
    def name(self) -> Text:
        return "action_feedback"


def _rate(dispatcher: CollectingDispatcher, tracker: Tracker, rating: str) -> List[Dict[Text, Any]]:
    """👍/👎 on the previous answer: stored with the question, answer, intent, confidence and source."""
    rated = fb.rated_answer(tracker.events)
    if rated is None:
        dispatcher.utter_message(text=fb.NOTHING_TO_RATE)
        return []
    try:
        feedback_id = feedback_store.record(
            sender_id=tracker.sender_id, channel=tracker.get_latest_input_channel(), question=rated.question,
            answer=rated.answer, intent=rated.intent, confidence=rated.confidence,
            source=tracker.get_slot("answer_source"), rating=rating,
        )
    except Exception:
        logger.exception("feedback could not be stored")
        dispatcher.utter_message(text=APOLOGY)
        return []
    if rating == "good":
        dispatcher.utter_message(text=fb.THANKS_GOOD)
        return [SlotSet("feedback_id", None)]
    dispatcher.utter_message(text=fb.ASK_WHAT_WAS_WRONG)
    return [SlotSet("feedback_id", str(feedback_id))]


class ActionHandoff(Action):
    """A person is asked for: the responsible department's contact from the data (+ Slack transcript)."""

    def name(self) -> Text:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        await _hand_off(dispatcher, tracker)
        return [SlotSet("failed_turns", "0"), SlotSet("feedback_id", None)]


def _contact_text(tracker: Tracker) -> str:
    """The responsible contact for the conversation's subject, from the data."""
    try:
        with open_session() as session:
            found = handoff.choose(session, tracker.get_slot("subject_type"), tracker.get_slot("municipality_code"))
        return handoff.render(found)
    except Exception:
        logger.exception("hand-off contact look-up failed")
        return handoff.NO_CONTACT


async def _hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, intro: str = "") -> None:
    text = _contact_text(tracker)
    if handoff_slack.configured():
        posted = await handoff_slack.post_transcript(
            handoff.transcript(tracker.events, tracker.sender_id, tracker.get_latest_input_channel())
        )
        if posted:
            text += "\n" + handoff.POSTED
    dispatcher.utter_message(text=(intro + "\n" if intro else "") + text)


def _answered_from_data(tracker: Tracker, reply) -> List[Dict[Text, Any]]:
    """Events of a turn answered from the data. answer_source is set on every such turn, changed or
    not: `madoguchi report` counts it."""
    return [SlotSet("answer_source", reply.source or "知識ベース")] + only_changes(tracker,
                                                                              [SlotSet("failed_turns", "0")])


def _failed_count(tracker: Tracker) -> int:
    try:
        return int(tracker.get_slot("failed_turns") or 0)
    except (TypeError, ValueError):
        return 0


def _failed_turn(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    """Counts a turn the guide could not answer; the second in a row offers the hand-off (sync part)."""
    count = _failed_count(tracker) + 1
    if count < handoff.FAILED_TURNS_FOR_HANDOFF:
        return [SlotSet("failed_turns", str(count))]
    dispatcher.utter_message(text=f"{handoff.OFFER_AFTER_FAILURES}\n{_contact_text(tracker)}")
    return [SlotSet("failed_turns", "0")]


def _awaiting_comment(tracker: Tracker) -> bool:
    return fb.awaiting_comment(tracker.events, tracker.get_slot("feedback_id"))


def _store_comment(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    text = (tracker.latest_message or {}).get("text") or ""
    try:
        feedback_store.add_comment(int(tracker.get_slot("feedback_id")), tracker.sender_id, text)
    except Exception:
        logger.exception("feedback comment could not be stored")
    dispatcher.utter_message(text=fb.THANKS_COMMENT)
    return [SlotSet("feedback_id", None)]
