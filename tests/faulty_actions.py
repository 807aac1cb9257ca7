"""rasa_sdk actions that fail in each way an action can, for tests/test_action_runner.py."""
from __future__ import annotations

import threading

from rasa_sdk import Action
from rasa_sdk.events import SlotSet
from rasa_sdk.interfaces import ActionExecutionRejection


class ActionExplodes(Action):
    def name(self):
        return "action_explodes"

    def run(self, dispatcher, tracker, domain):
        raise RuntimeError("データベースに接続できません")


class ActionRejects(Action):
    def name(self):
        return "action_rejects"

    def run(self, dispatcher, tracker, domain):
        raise ActionExecutionRejection(self.name(), "この場面では実行できません")


class ActionSetsASet(Action):
    def name(self):
        return "action_sets_a_set"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="設定しました。")
        return [SlotSet("pending", {"府中市"})]  # a Python set: no JSON for it


class ActionEchoes(Action):
    def name(self):
        return "action_echoes"

    async def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text=f"「{tracker.latest_message.get('text')}」を受け取りました。")
        return [SlotSet("pending", "echo")]


SIGNAL = threading.Event()


class ActionWaitsForSignal(Action):
    """Waits (blocking its thread, as a database wait does) until action_signals runs, at most 20 s."""

    def name(self):
        return "action_waits_for_signal"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="合図を受けました。" if SIGNAL.wait(20) else "合図がありません。")
        return []


class ActionSignals(Action):
    def name(self):
        return "action_signals"

    def run(self, dispatcher, tracker, domain):
        SIGNAL.set()
        dispatcher.utter_message(text="合図しました。")
        return []


class ActionMutatesItsCall(Action):
    """Changes everything it was handed; none of it may reach the caller's objects."""

    def name(self):
        return "action_mutates_its_call"

    def run(self, dispatcher, tracker, domain):
        tracker.latest_message["entities"].append({"entity": "municipality", "value": "改ざん"})
        tracker.latest_message["text"] = "改ざん"
        tracker.slots["pending"] = "改ざん"
        for event in tracker.events:
            event["改ざん"] = True
        domain.clear()
        return []
