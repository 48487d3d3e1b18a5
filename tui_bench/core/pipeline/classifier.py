"""The classify stage: a model saved by ``tui-bench classify --choose``, and its metrics.

``--classifier`` names the model's card (``model-<category>.json``), its joblib file, or
the folder holding them (the classifier run's output folder): a folder with several
cards uses the one whose label set is the scenario's. The card's labels must equal the
scenario's (one line naming both sets otherwise). Per question: the predicted label and
its confidence, the highest ``predict_proba`` where the model has it (None otherwise:
a linear SVM only ranks).

Metrics against the questions' labels: accuracy, and macro-F1 over the labels present
in the truth or the predictions (scikit-learn's default: a label no question of the run
holds and no answer names is not averaged in as a 0).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_bench.core.errors import UserError


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float | None


class SavedClassifier:
    def __init__(self, card_path: Path, card: dict[str, Any], model: Any) -> None:
        self.card_path, self.card, self.model = card_path, card, model
        self.has_proba = hasattr(model, "predict_proba")

    def predict(self, text: str) -> Prediction:
        if self.has_proba:
            proba = self.model.predict_proba([text])[0]
            best = int(proba.argmax())
            return Prediction(str(self.model.classes_[best]), float(proba[best]))
        return Prediction(str(self.model.predict([text])[0]), None)

    def info(self) -> dict[str, Any]:
        return {
            "card": str(self.card_path),
            "candidate": self.card.get("candidate"),
            "category": self.card.get("category"),
            "labels": self.card.get("labels"),
            "n_samples": self.card.get("n_samples"),
            "data_sha256": self.card.get("data_sha256"),
            "confidence": "predict_proba" if self.has_proba else None,
        }


def load_classifier(path: Path, labels: Sequence[str], scenario_id: str) -> SavedClassifier:
    """The saved model ``path`` names, its labels checked against the scenario's."""
    card_path = _card_path(Path(path), set(labels))
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{card_path}: cannot read the classifier card ({exc})") from None
    if not isinstance(card, dict) or not isinstance(card.get("labels"), list):
        raise UserError(f"{card_path}: labels: missing (not a tui-bench classifier card)")
    if set(map(str, card["labels"])) != set(labels):
        raise UserError(
            f"{card_path}: labels: {', '.join(sorted(map(str, card['labels'])))} differ from "
            f"scenario {scenario_id}'s ({', '.join(sorted(labels))})"
        )
    model_file = card_path.parent / str(card.get("model_file", ""))
    if model_file.suffix != ".joblib":
        raise UserError(
            f"{card_path}: model_file: {card.get('model_file')!r} is not a joblib pipeline "
            "(the pipeline runs scikit-learn classifiers; a fine-tuned transformer is not "
            "supported yet)"
        )
    import joblib

    try:
        model = joblib.load(model_file)
    except Exception as exc:  # a missing, truncated or foreign file: one line
        raise UserError(f"{model_file}: cannot load the classifier ({exc})") from None
    return SavedClassifier(card_path, card, model)


def _card_path(path: Path, labels: set[str]) -> Path:
    if path.suffix == ".json":
        return path
    if path.suffix == ".joblib":
        return path.with_suffix(".json")
    if not path.is_dir():
        raise UserError(f"{path}: --classifier: no such card, model or folder")
    cards = sorted(path.glob("model-*.json"))
    if len(cards) > 1:
        matching = [c for c in cards if _labels_of(c) == labels]
        cards = matching if len(matching) == 1 else cards
    if len(cards) != 1:
        found = ", ".join(c.name for c in cards) or "none"
        raise UserError(
            f"{path}: --classifier: expected one model card (model-*.json) with the "
            f"scenario's labels, found {found}; name the card"
        )
    return cards[0]


def _labels_of(card: Path) -> set[str] | None:
    try:
        return set(map(str, json.loads(card.read_text(encoding="utf-8")).get("labels", [])))
    except (OSError, ValueError, AttributeError):
        return None


def classification_metrics(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy and macro-F1 (see the module docstring); None for no question."""
    if not truth:
        return {"accuracy": None, "macro_f1": None, "n": 0}
    from sklearn.metrics import f1_score

    correct = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p)
    f1 = f1_score(list(truth), list(predicted), average="macro", zero_division=0)
    return {"accuracy": correct / len(truth), "macro_f1": float(f1), "n": len(truth)}
