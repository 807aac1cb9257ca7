"""``LinearIntentClassifier``: a linear model over the featurizers' sentence features.

Each featurizer's sparse sentence features form one block, weighted like a search engine weighs
words: sublinear term frequency (1 + log tf), inverse document frequency from the training data,
then unit length per block. The dense sentence vector (GiNZA word vectors) is scaled to unit length
too. So a rare, telling term (「間違って」 with its negation, the polarity sign, a sound n-gram)
counts for more than frequent ones, and no block outweighs the others by its size. ``weights`` then
scales whole blocks by their featurizer's ``alias`` (``weights: {sound: 2.0}``), for a view that
cross-validation shows deserves more say.

The model is a linear SVM (``classifier: svm``, one-vs-rest, squared hinge, classes weighted
inversely to their size so that the large, varied ``out_of_scope`` does not absorb rare phrasings) or a
multinomial logistic regression (``classifier: logistic``). The SVM's scores become confidences by a
softmax with one temperature, fitted at training time on cross-validated scores (least log-loss), so
the fallback threshold and the もしかして buttons read calibrated probabilities.

It replaced DIET after scoring higher in ``make nlu-cv`` (5-fold cross-validation) on the same
features and data; it also trains in seconds and classifies a message in about 2 ms.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Text

import numpy as np
import rasa.shared.utils.io
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

SPARSE, DENSE = "sparse", "dense"


def _origin(features) -> str:
    """``<featurizer>:sparse`` or ``<featurizer>:dense``; the part after the colon is the block's kind."""
    origin = features.origin
    name = origin if isinstance(origin, str) else "+".join(map(str, origin or []))
    return f"{name}:{SPARSE if features.is_sparse() else DENSE}"


def _blocks(message: Message) -> Dict[str, Any]:
    """Sentence features by featurizer: ``{origin: matrix}``."""
    return {_origin(f): f.features for f in message.features
            if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE}


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exponentials = np.exp(scores)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def _full_rows(coef: np.ndarray, intercept: np.ndarray, classes: int):
    """One row of weights per class: scikit-learn keeps a single row for two classes (the second's)."""
    if classes == 2 and coef.shape[0] == 1:
        return np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return coef, intercept


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """A linear SVM or logistic regression on tf-idf weighted sparse blocks and the unit-length dense vector."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"classifier": "svm", "C": 0.3, "class_weight": "balanced", "max_iter": 3000, "ranking_length": 10,
                "weights": {}}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 state: Optional[Dict[str, Any]] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        state = state or {}
        self.layout: List[List[Any]] = state.get("layout", [])  # [origin, kind, width]
        self.idf: Dict[str, np.ndarray] = state.get("idf", {})
        self.classes: List[str] = state.get("classes", [])
        self.coef: Optional[np.ndarray] = state.get("coef")
        self.intercept: Optional[np.ndarray] = state.get("intercept")
        self.temperature: float = float(state.get("temperature", 1.0))

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LinearIntentClassifier":
        return cls(config, model_storage, resource)

    # -- features -----------------------------------------------------------------------------

    def _weigh(self, origin: str, kind: str, data: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """A block's stored values weighted: sublinear tf times idf for sparse blocks, as they are for dense."""
        if kind != SPARSE:
            return data
        return (1.0 + np.log(np.maximum(data, 1e-12))) * self.idf[origin][columns]

    def _block_weight(self, origin: str) -> float:
        """The configured weight of a block, by the alias of the featurizer that made it (default 1)."""
        return float((self.config.get("weights") or {}).get(origin.rsplit(":", 1)[0], 1.0))

    def _matrix(self, blocks: List[Dict[str, Any]]) -> scipy.sparse.csr_matrix:
        """The weighted feature matrix of messages given by their ``_blocks``."""
        columns = []
        for origin, kind, width in self.layout:
            rows = []
            for found in blocks:
                value = found.get(origin)
                if value is None or value.shape[-1] != width:
                    rows.append(scipy.sparse.csr_matrix((1, width)))
                else:
                    rows.append(scipy.sparse.csr_matrix(value))
            block = scipy.sparse.vstack(rows).tocsr().astype(np.float64)
            block.data = self._weigh(origin, kind, block.data, block.indices)
            norms = np.sqrt(np.asarray(block.multiply(block).sum(axis=1))).ravel()
            norms[norms == 0] = 1.0
            columns.append(scipy.sparse.diags(self._block_weight(origin) / norms) @ block)
        return scipy.sparse.hstack(columns).tocsr()

    def _scores(self, found: Dict[str, Any]) -> np.ndarray:
        """One message's class scores: the weighting of ``_matrix`` applied to its few stored values
        (building sparse matrices for a single message cost more than everything else here)."""
        assert self.coef is not None and self.intercept is not None  # process() scores only a trained model
        scores = self.intercept.astype(np.float64).copy()
        offset = 0
        for origin, kind, width in self.layout:
            value = found.get(origin)
            if value is not None and value.shape[-1] == width:
                row = scipy.sparse.csr_matrix(value)
                columns = row.indices
                data = self._weigh(origin, kind, row.data.astype(np.float64), columns)
                norm = np.sqrt(np.dot(data, data))
                if norm > 0:
                    scores += self.coef[:, offset + columns] @ (data * (self._block_weight(origin) / norm))
            offset += width
        return scores

    # -- training -----------------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        blocks = [_blocks(e) for e in examples]
        widths: Dict[str, int] = {}
        for found in blocks:
            for origin, value in found.items():
                widths.setdefault(origin, value.shape[-1])
        self.layout = [[o, o.rsplit(":", 1)[1], widths[o]] for o in sorted(widths)]
        aliases = {o.rsplit(":", 1)[0] for o in widths}
        for name in sorted(set(self.config.get("weights") or {}) - aliases):
            rasa.shared.utils.io.raise_warning(
                f"LinearIntentClassifier: weights names '{name}', but no featurizer has that alias "
                f"(the aliases are {', '.join(sorted(aliases))}); the weight is not used.")
        self.idf = {}
        for origin, kind, width in self.layout:
            if kind == SPARSE:
                present = np.zeros(width)
                for found in blocks:
                    if origin in found:
                        present[scipy.sparse.csr_matrix(found[origin]).indices] += 1
                self.idf[origin] = np.log((1 + len(examples)) / (1 + present)) + 1.0
        X = self._matrix(blocks)
        y = np.array([e.get(INTENT) for e in examples])
        model = self._model().fit(X, y)
        self.classes = [str(c) for c in model.classes_]
        self.coef, self.intercept = _full_rows(model.coef_, model.intercept_, len(self.classes))
        self.temperature = self._fit_temperature(X, y) if self.config["classifier"] == "svm" else 1.0
        self._persist()
        return self._resource

    def _model(self):
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        weight = self.config["class_weight"] or None
        if self.config["classifier"] == "svm":
            return LinearSVC(C=self.config["C"], class_weight=weight, max_iter=self.config["max_iter"], random_state=42)
        if self.config["classifier"] != "logistic":
            raise ValueError("LinearIntentClassifier: classifier must be svm or logistic, "
                             f"not {self.config['classifier']!r}")
        return LogisticRegression(C=self.config["C"], class_weight=weight, max_iter=self.config["max_iter"],
                                  random_state=42)

    def _fit_temperature(self, X, y: np.ndarray) -> float:
        """The softmax temperature that turns cross-validated scores into the least log-loss probabilities."""
        from scipy.optimize import minimize_scalar
        from sklearn.model_selection import StratifiedKFold

        folds = min(5, min(np.unique(y, return_counts=True)[1]))
        if folds < 2 or len(self.classes) < 2:
            return 1.0
        scores = np.zeros((len(y), len(self.classes)))
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=42).split(X, y):
            model = self._model().fit(X[train], y[train])
            coef, intercept = _full_rows(model.coef_, model.intercept_, len(model.classes_))
            columns = [self.classes.index(str(c)) for c in model.classes_]
            scores[np.ix_(test, columns)] = np.asarray(X[test] @ coef.T) + intercept
        truth = np.array([self.classes.index(str(label)) for label in y])

        def log_loss(temperature: float) -> float:
            return -float(np.mean(np.log(_softmax(scores * temperature)[np.arange(len(y)), truth].clip(1e-12))))

        return float(minimize_scalar(log_loss, bounds=(0.1, 50.0), method="bounded").x)

    def _persist(self) -> None:
        assert self.coef is not None and self.intercept is not None  # persisted after training
        with self._model_storage.write_to(self._resource) as directory:
            (directory / "layout.json").write_text(json.dumps({"layout": self.layout, "classes": self.classes},
                                                              ensure_ascii=False), encoding="utf-8")
            np.savez(directory / "weights.npz", coef=self.coef, intercept=self.intercept,
                     temperature=np.array(self.temperature),
                     **{f"idf_{i}": self.idf[o] for i, (o, kind, _) in enumerate(self.layout) if kind == SPARSE})

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "LinearIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / "layout.json").read_text(encoding="utf-8"))
                with np.load(directory / "weights.npz") as weights:
                    state = {
                        "layout": meta["layout"], "classes": meta["classes"],
                        "coef": weights["coef"], "intercept": weights["intercept"],
                        "temperature": float(weights["temperature"]) if "temperature" in weights else 1.0,
                        "idf": {o: weights[f"idf_{i}"] for i, (o, kind, _) in enumerate(meta["layout"])
                                if kind == SPARSE},
                    }
        except (ValueError, FileNotFoundError):
            state = None  # not trained (no examples): predicts nothing
        return cls(config, model_storage, resource, state)

    # -- prediction ---------------------------------------------------------------------------

    def process(self, messages: List[Message]) -> List[Message]:
        if self.coef is None or not messages:
            return messages
        scores = np.vstack([self._scores(_blocks(m)) for m in messages])
        probabilities = _softmax(scores * self.temperature)
        for message, row in zip(messages, probabilities):
            order = np.argsort(-row)
            ranking = [{INTENT_NAME_KEY: self.classes[i], PREDICTED_CONFIDENCE_KEY: float(row[i])}
                       for i in order[: self.config["ranking_length"]]]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
