"""Labels that look like numbers ("0"/"1", "1"/"2"/"3") train with every candidate and come
back exactly as written: in the results, the report and the saved model's predictions."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import joblib
import pytest
from classify_helpers import labelled_rows, signal_text, write_csv

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify.runner import ClassifyConfig, run_classify
from tui_bench.core.classify.train import balanced_class_weight, balanced_row_weights


def _run(rows: list[dict[str, Any]], folder: Path) -> Any:
    folder.mkdir()
    cfg = ClassifyConfig(
        data=write_csv(folder / "data.csv", rows),
        label_column="label",
        models=cand.real_names(),
        choose="sgd",
        output_dir=folder / "out",
    )
    return run_classify(cfg)


@pytest.mark.parametrize(
    "as_numbers",
    [{"a": "0", "b": "1"}, {"a": "1", "b": "2", "c": "3"}],
    ids=["0/1", "1/2/3"],
)
def test_numeric_looking_labels_with_every_candidate(
    tmp_path: Path, as_numbers: dict[str, str]
) -> None:
    counts = dict(zip(as_numbers, [45, 25, 20], strict=False))
    words = labelled_rows(counts)
    # The same texts, the labels renamed in the same order: nothing may change but the names.
    numbers = [{**row, "label": as_numbers[row["label"]]} for row in words]
    by_words = _run(words, tmp_path / "words")
    by_numbers = _run(numbers, tmp_path / "numbers")

    labels = sorted(as_numbers.values())
    assert {r.candidate: r.error for r in by_numbers.results} == dict.fromkeys(
        [*cand.real_names(), cand.BASELINE, cand.GUESS]
    )
    for w, n in zip(by_words.results, by_numbers.results, strict=True):
        assert n.candidate == w.candidate and n.classes == labels
        assert (n.f1_macro, n.accuracy, n.balanced_accuracy) == (
            w.f1_macro,
            w.accuracy,
            w.balanced_accuracy,
        ), n.candidate
        assert n.per_class_f1 == {as_numbers[k]: v for k, v in w.per_class_f1.items()}
        assert n.minority_class == as_numbers[w.minority_class]
    assert by_numbers.save_error is None

    out = tmp_path / "numbers" / "out"
    stored = json.loads((out / "data.json").read_text(encoding="utf-8"))
    assert all(sorted(r["per_class_f1"]) == labels for r in stored["results"])
    card = json.loads((out / "model-label.json").read_text(encoding="utf-8"))
    assert card["candidate"] == "sgd" and card["labels"] == labels
    assert card["class_counts"] == {as_numbers[k]: v for k, v in counts.items()}

    rng = random.Random(7)
    probes = [signal_text(label, rng, strength=4) for label in as_numbers for _ in range(3)]
    model = joblib.load(out / "model-label.joblib")
    words_model = joblib.load(tmp_path / "words" / "out" / "model-label.joblib")
    assert model.classes_.tolist() == labels  # strings, as written in the file
    assert model.predict(probes).tolist() == [as_numbers[p] for p in words_model.predict(probes)]


def test_row_weights_are_the_balanced_class_weights() -> None:
    labels = ["0", "0", "0", "1"]
    assert balanced_class_weight(labels) == pytest.approx({"0": 4 / 6, "1": 2.0})
    assert balanced_row_weights(labels).tolist() == pytest.approx([4 / 6, 4 / 6, 4 / 6, 2.0])
