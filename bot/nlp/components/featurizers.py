"""Sparse featurizers of the pipeline.

- ``LookupFeaturizer``: Rasa's ``RegexFeaturizer`` for lookup tables, marking a table found anywhere in
  the text (also where a romaji message's kana tokens do not reach).
- ``ViewFeaturizer``: sparse sentence features from one view of the parsed message
  (``bot/nlp/feature_views.py``): word lemmas, their character n-grams, negation-marked words and the
  polarity of an evaluation, or the sound of the message in romaji (character n-grams), so typos,
  kana and romaji read like the kanji; each with a column for terms training never saw.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Dict, List, Optional, Text

import numpy as np
import rasa.shared.utils.io
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.shared.nlu.constants import (
    ENTITIES,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.feature_views import char_ngrams, character_terms, polarity_terms, sound_key, word_terms
from bot.nlp.normalize import fold, normalize


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class LookupFeaturizer(RegexFeaturizer):
    """Rasa's ``RegexFeaturizer`` whose sentence feature marks every lookup table found in the text.

    Rasa's marks a table only when a match overlaps a token. The tokens of a romaji message come
    from its kana reading (``GinzaNLP``), shorter than the text as typed, so a name late in
    「happyou shita no wa sumida-ku desu ka」 touched no token and its mark was lost.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # lexicons: lookup tables that are word lists (data/nlu/lexicon.yml), matched kana-insensitively,
        # their Latin words only as whole words. tables: which lookup tables this featurizer marks,
        # all, only the lexicons, or all but the lexicons (names), so each can be its own feature block.
        return {**RegexFeaturizer.get_default_config(), "lexicons": [], "tables": "all"}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        super().validate_config(config)
        if config.get("tables", "all") not in TABLE_CHOICES:
            raise ValueError(f"LookupFeaturizer: tables must be one of {TABLE_CHOICES}, not {config.get('tables')!r}")

    def train(self, training_data: TrainingData) -> Resource:
        lexicons = set(self._config.get("lexicons") or [])
        tables = {t["name"]: t["elements"] for t in training_data.lookup_tables if t["name"] in lexicons}
        for name in sorted(lexicons - set(tables)):
            rasa.shared.utils.io.raise_warning(
                f"LookupFeaturizer: lexicon '{name}' is not a lookup table of the training data; it marks nothing.")
        resource = super().train(training_data)
        keep = self._config.get("tables", "all")
        self.known_patterns: List[Dict[Text, Any]] = [p for p in self.known_patterns
                                                      if keep == "all" or (keep == "lexicons") == (
                                                          p["name"] in lexicons)]
        for pattern in self.known_patterns:
            if pattern["name"] in tables:
                pattern["pattern"] = lexicon_pattern(tables[pattern["name"]])
                pattern["folded"] = True
        self._persist()
        return resource

    def _features_for_patterns(self, message: Message, attribute: Text):
        """Rasa's token and sentence marks, the sentence mark set by any match (each pattern is searched
        once: a lookup pattern over romaji names costs ~10 ms on a romaji message)."""
        text = message.get(attribute)
        tokens = message.get(TOKENS_NAMES[attribute], [])
        if not text or not tokens:
            return None, None
        flags = 0 if self.case_sensitive else re.IGNORECASE
        sequence = np.zeros([len(tokens), len(self.known_patterns)])
        sentence = np.zeros([1, len(self.known_patterns)])
        folded = fold(text)  # same offsets as text
        # the text GinzaNLP parsed: a romaji message's kana reading, for the word lists
        # (「komando ichiran」 has コマンド); the text itself for any other message
        doc = message.get(SPACY_DOCS[attribute])
        reading = fold(doc.text) if doc is not None else folded
        for index, pattern in enumerate(self.known_patterns):
            searched = folded if pattern.get("folded") else text
            matches = [(m.start(), m.end()) for m in re.finditer(pattern["pattern"], searched, flags=flags)]
            if (pattern.get("folded") and not matches and attribute == TEXT and reading != folded
                    and re.search(pattern["pattern"], reading, flags=flags)):
                sentence[0, index] = 1.0
            if matches and attribute == TEXT:
                sentence[0, index] = 1.0
            for position, token in enumerate(tokens):
                marks = token.get("pattern", default={})
                marks[pattern["name"]] = any(token.start < end and token.end > start for start, end in matches)
                if marks[pattern["name"]]:
                    sequence[position, index] = 1.0
                token.set("pattern", marks)
        return scipy.sparse.coo_matrix(sequence), scipy.sparse.coo_matrix(sentence)


TABLE_CHOICES = ("all", "lexicons", "names")


def lexicon_pattern(words: List[Text]) -> Text:
    """A regex for any of ``words`` in a ``fold``-ed text; a word's Latin ends must be word ends."""
    alternatives = []
    for word in sorted({fold(normalize(w)) for w in words if w and w.strip()}, key=len, reverse=True):
        start = r"(?<![a-z0-9'])" if re.match(r"[a-z0-9]", word) else ""
        end = r"(?![a-z0-9'])" if re.search(r"[a-z0-9]$", word) else ""
        alternatives.append(start + re.escape(word) + end)
    return "(" + "|".join(alternatives) + ")" if alternatives else "(?!)"


def cue_terms(message: Message) -> List[str]:
    """What the message names and asks, from its entities (KBEntityExtractor runs before this view):
    each entity type once per mention, and which attribute a question cue asks for. 「講演者は誰」 and
    「登壇したのは誰?」 share ``attribute=speaker`` though they share no word."""
    terms = []
    for entity in message.get(ENTITIES) or []:
        terms.append(str(entity.get("entity")))
        if entity.get("entity") == "attribute":
            terms.append(f"attribute={entity.get('value')}")
    return terms


VIEWS = {
    "words": word_terms,
    "characters": character_terms,
    "polarity": polarity_terms,
    "sound": lambda doc: list(char_ngrams(sound_key(doc), 3, 5)),
}
MESSAGE_VIEWS = {"cues": cue_terms}  # views of the message itself, not of its spaCy doc


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class ViewFeaturizer(SparseFeaturizer, GraphComponent):
    """Counts of the terms of one view (``view: words``, ``characters``, ``polarity`` or ``sound``)
    as a sentence feature. Needs ``GinzaNLP`` before it (it reads the spaCy doc).

    The vocabulary is the training data's terms, plus one last column that counts the terms it has
    never seen. That column is zero in training, so it earns no weight of its own, but it gives the
    message's known terms a smaller share of the block's unit length: a message made mostly of
    unseen words is read with less confidence than one whose every word is known (5-fold CV on the
    model's features: 0.926 when unseen terms are dropped, 0.931 when they are counted).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**SparseFeaturizer.get_default_config(), "view": "polarity"}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, vocabulary: Optional[Dict[str, int]] = None) -> None:
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        view = config["view"]
        self._terms = MESSAGE_VIEWS[view] if view in MESSAGE_VIEWS else VIEWS[view]
        self._of_message = view in MESSAGE_VIEWS
        self.vocabulary = vocabulary or {}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        names = sorted({*VIEWS, *MESSAGE_VIEWS})
        if config.get("view") not in names:
            raise ValueError(f"ViewFeaturizer: view must be one of {names}, not {config.get('view')!r}")

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ViewFeaturizer":
        return cls(config, model_storage, resource, execution_context)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "ViewFeaturizer":
        with model_storage.read_from(resource) as directory:
            vocabulary = rasa.shared.utils.io.read_json_file(directory / "vocabulary.json")
        return cls(config, model_storage, resource, execution_context, vocabulary)

    def train(self, training_data: TrainingData) -> Resource:
        terms = sorted({term for example in training_data.training_examples
                        for term in self._message_terms(example) or []})
        self.vocabulary = {term: index for index, term in enumerate(terms)}
        with self._model_storage.write_to(self._resource) as directory:
            rasa.shared.utils.io.dump_obj_as_json_to_file(directory / "vocabulary.json", self.vocabulary)
        return self._resource

    def _message_terms(self, message: Message) -> Optional[List[str]]:
        """The view's terms, None for a message without a parse (no text)."""
        if message.get(SPACY_DOCS[TEXT]) is None:
            return None
        return self._terms(message) if self._of_message else self._terms(message.get(SPACY_DOCS[TEXT]))

    def _featurize(self, message: Message) -> None:
        terms = self._message_terms(message)
        if terms is None or not self.vocabulary:
            return
        unknown = len(self.vocabulary)
        counts = Counter(self.vocabulary.get(t, unknown) for t in terms)
        columns = sorted(counts)
        sentence = scipy.sparse.coo_matrix(([float(counts[c]) for c in columns], ([0] * len(columns), columns)),
                                           shape=(1, unknown + 1))
        self.add_features_to_message(None, sentence, TEXT, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._featurize(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._featurize(message)
        return messages
