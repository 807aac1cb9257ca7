"""The language model of the pipeline: the text normalizer, and GiNZA as Rasa's spaCy model.

- ``JapaneseNormalizer``: rewrites the message text with :func:`bot.nlp.normalize.normalize`
  before anything else sees it.
- ``GinzaNLP``: Rasa's ``SpacyNLP`` loading GiNZA (``ja_ginza``) with only its tokenizer (Sudachi)
  and static word vectors; the parser and NER are excluded because the bot does not use them and
  they cost ~25 ms per message (0.3 ms without them, measured here). A message typed in romaji is
  parsed in kana (``bot/nlp/kana.py``).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import (
    ENTITIES,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.focus import focus
from bot.nlp.kana import romaji_to_kana
from bot.nlp.normalize import MAX_QUESTION_CHARS, normalize


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class JapaneseNormalizer(GraphComponent):
    """NFKC, control characters, 漢数字 ordinals; first in the pipeline."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "JapaneseNormalizer":
        return cls()

    @staticmethod
    def _normalize(message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str):
            # A message longer than any question goes to the fallback (NoTextClassifier) whatever its
            # words: the rest of the pipeline sees one character more than a question may have, so a
            # 2,000-character message costs what a long question does (issue 16: bounded work).
            # The sentences that ask are read, not the greetings around them (bot/nlp/focus.py).
            message.set(TEXT, focus(normalize(text) or text)[: MAX_QUESTION_CHARS + 1])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Annotated examples are stored normalized (a test checks it), so their offsets stay valid.
        for example in training_data.training_examples:
            if not example.get(ENTITIES):
                self._normalize(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize(message)
        return messages


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MODEL_LOADER, DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER],
    is_trainable=False,
    model_from="GinzaNLP",
)
class GinzaNLP(SpacyNLP):
    """SpacyNLP for GiNZA: tokenizer and vectors only (see module docstring). A message typed in
    romaji is parsed in kana (:func:`bot.nlp.kana.romaji_to_kana`), so its words, vectors and views
    are those of the Japanese it spells; entities are still read from the text as typed."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "case_sensitive": False,
            "model": "ja_ginza",
            "exclude": ["tok2vec", "parser", "ner", "morphologizer", "compound_splitter", "bunsetu_recognizer"],
        }

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "GinzaNLP":
        import spacy

        config = {**cls.get_default_config(), **config}
        language = spacy.load(config["model"], exclude=list(config["exclude"]))
        return cls(SpacyModel(model=language, model_name=config["model"]), config)

    def _preprocess_text(self, text: Optional[Text]) -> Text:
        # before lower-casing: a word in capitals (NISA, AI) is an acronym, not romaji
        return super()._preprocess_text((romaji_to_kana(text) if text else None) or text)
