"""Final training: a loadable joblib pipeline beside a JSON card with the right hash."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import joblib
import pytest
import sklearn
from classify_helpers import labels_from_counts, signal_text

from tui_bench.core.classify.final import (
    FINAL_EPOCH_FACTOR,
    data_sha256,
    model_stem,
    slug,
    train_final,
)


def _data(seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    labels = labels_from_counts({"pos": 30, "neg": 20}, rng)
    return [signal_text(label, rng) for label in labels], labels


def test_data_hash_follows_the_stated_rule() -> None:
    texts, labels = ["héllo", 'say "hi"'], ["a", "b"]
    # each row: UTF-8 JSON [text, label] + "\n", in order
    expected = hashlib.sha256('["héllo", "a"]\n["say \\"hi\\"", "b"]\n'.encode()).hexdigest()
    assert data_sha256(texts, labels) == expected
    assert data_sha256(texts[::-1], labels[::-1]) != expected  # order matters


def test_file_names_are_safe() -> None:
    assert slug("topic/sub topic") == "topic_sub_topic"
    assert slug("émotion") == "émotion"
    assert slug("../..") == "category"
    assert model_stem("spam", None) == "model-spam"
    assert model_stem("spam", "en") == "model-spam-en"


def test_file_names_are_unique_safe_and_bounded() -> None:
    names = ["x/y", "x y", "x_y", "X_y", "x-y", "x\\y", "x:y", "..", "x" * 300, "é" * 300]
    stems = {name: model_stem(name, None) for name in names}
    assert len(set(stems.values())) == len(names)  # x/y and x y no longer share a file
    assert stems["x_y"] == "model-x_y"  # a plain name is kept as it is
    for name, stem in stems.items():
        assert "/" not in stem and "\\" not in stem and ":" not in stem, name
        assert len(f"{stem}.joblib".encode()) <= 120, name
    # case-insensitive file systems, and a category that looks like category + language
    assert model_stem("spam", None).lower() != model_stem("Spam", None).lower()
    assert model_stem("a-en", None) != model_stem("a", "en")
    assert model_stem("x/y", "en") != model_stem("x y", "en")
    assert model_stem("x/y", "en") == model_stem("x/y", "en")  # stable: same file next time


@pytest.mark.parametrize("candidate", ["tfidf-logreg", "sgd"])
def test_final_model_and_card(tmp_path: Path, candidate: str) -> None:
    texts, labels = _data()
    metrics = {"f1_macro": 0.9, "accuracy": 0.95}
    fm = train_final(
        candidate,
        texts,
        labels,
        category="sentiment",
        language="en",
        output_dir=tmp_path / "models",
        quick_epochs=3,
        seed=0,
        metrics=metrics,
        reason="best mean rank",
    )
    model_path = tmp_path / "models" / "model-sentiment-en.joblib"
    card_path = tmp_path / "models" / "model-sentiment-en.json"
    assert Path(fm.model_path) == model_path and Path(fm.card_path) == card_path

    model = joblib.load(model_path)
    pred = model.predict(["poscue0 poscue1 poscue2 w1", "negcue0 negcue3 negcue1 w2"])
    assert list(pred) == ["pos", "neg"]

    card = json.loads(card_path.read_text(encoding="utf-8"))
    assert card["candidate"] == candidate
    assert card["category"] == "sentiment" and card["language"] == "en"
    assert card["labels"] == ["neg", "pos"]
    assert card["class_counts"] == {"neg": 20, "pos": 30}
    assert card["n_samples"] == 50
    assert card["data_sha256"] == data_sha256(texts, labels) == fm.data_sha256
    assert card["benchmark_metrics"] == metrics
    assert card["chosen_because"] == "best mean rank"
    assert card["versions"]["scikit-learn"] == sklearn.__version__
    assert {"python", "numpy", "scipy", "joblib", "tui-bench"} <= set(card["versions"])
    assert card["created_at"].endswith("+00:00")
    assert card["model_file"] == "model-sentiment-en.joblib"
    assert card["params"]["classifier"]["class"].startswith("sklearn.")
    if candidate == "sgd":
        assert card["epochs"] == 3 * FINAL_EPOCH_FACTOR == fm.epochs
        assert card["params"]["classifier"]["params"]["loss"] == "modified_huber"
    else:
        assert card["epochs"] is None
        assert card["params"]["classifier"]["params"]["C"] == 10.0
