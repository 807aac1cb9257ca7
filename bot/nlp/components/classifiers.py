"""``NoTextClassifier``: a message that is no readable question (or a lone 👍/👎) gets its intent here,
after the trained classifier and the FallbackClassifier."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlp.normalize import is_readable_question


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class NoTextClassifier(GraphComponent):
    """Messages that are no readable question go to the fallback: without any letter or digit
    (empty, emoji, control characters), or longer than any question (see ``is_readable_question``).

    Placed after the FallbackClassifier so that no trained classifier guesses an intent for them.
    """

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "NoTextClassifier":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not is_readable_question(text):
                # a lone 👍 / 👎 (LINE and Slack users send them as text) rates the last answer
                name = RATING_EMOJI.get(text.strip().strip("\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff\ufe0f"),
                                        DEFAULT_NLU_FALLBACK_INTENT_NAME)
                intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, intent, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages


RATING_EMOJI = {"👍": "feedback_good", "👎": "feedback_bad"}
