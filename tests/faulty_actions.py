"""rasa_sdk actions that fail in each way an action can, for tests/test_action_runner.py."""
from __future__ import annotations

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
