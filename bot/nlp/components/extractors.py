"""``KBEntityExtractor``: finds known names (lookup tables generated from the knowledge base, question
cues kept in ``data/nlu/attributes.yml``) by leftmost-longest match, maps them to canonical values
with the training data's synonyms, and reads assembly numbers and local-government codes; it adds the
``operation`` and ``presenter_kind`` entities of :mod:`bot.nlp.operations`.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import rasa.shared.utils.io
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp import operations
from bot.nlp.entities import GAZETTEER_ENTITIES, extract, gazetteer_entries
from bot.nlp.gazetteer import Gazetteer


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class KBEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Dictionary entity extractor for Japanese (no word boundaries, longest match)."""

    FILE_NAME = "gazetteer.json"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"entities": list(GAZETTEER_ENTITIES)}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 entries: Optional[List[List[str]]] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._entries = entries or []
        self._gazetteer = Gazetteer((s, e, v) for s, e, v in self._entries)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "KBEntityExtractor":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        entries = gazetteer_entries(training_data.lookup_tables, training_data.entity_synonyms)
        self._entries = [e for e in entries if e[1] in self._config["entities"]]
        self._gazetteer = Gazetteer((s, e, v) for s, e, v in self._entries)
        with self._model_storage.write_to(self._resource) as path:
            rasa.shared.utils.io.dump_obj_as_json_to_file(path / self.FILE_NAME, self._entries)
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "KBEntityExtractor":
        try:
            with model_storage.read_from(resource) as path:
                entries = rasa.shared.utils.io.read_json_file(path / cls.FILE_NAME)
        except (ValueError, FileNotFoundError):
            entries = []
        return cls(config, model_storage, resource, entries)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            found = self.add_extractor_name(extract(self._gazetteer, text) + operations.extract(text))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages
