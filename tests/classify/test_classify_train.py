"""Quick training: splits, epochs with early stopping, metrics, events, parallel runs."""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

import numpy as np
import pytest
from classify_helpers import labels_from_counts, signal_text

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify.events import CandidateFinished, CandidateStarted, EpochProgress
from tui_bench.core.classify.parallel import train_all
from tui_bench.core.classify.splits import holdout_split, kfold_splits, make_folds
from tui_bench.core.classify.train import (
    CandidateResult,
    TrainJob,
    balanced_class_weight,
    fit_by_epochs,
    minority_of,
    run_job,
)


def dataset(counts: dict[str, int], seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    labels = labels_from_counts(counts, rng)
    return [signal_text(label, rng) for label in labels], labels


def jobs_for(
    models: list[str],
    texts: list[str],
    labels: list[str],
    *,
    epochs: int = 3,
    cv: int | None = None,
    seed: int = 0,
) -> list[TrainJob]:
    folds = make_folds(labels, test_size=0.2, cv=cv, seed=seed)
    return [
        TrainJob(i, len(models), m, "cat", None, texts, labels, folds, epochs, seed)
        for i, m in enumerate(models)
    ]


def test_holdout_split_is_stratified_and_seeded() -> None:
    labels = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    [(train, test)] = holdout_split(labels, test_size=0.2, seed=1)
    # 20% of 100 = 20 test rows, in the class proportions 60:30:10 → 12, 6, 2
    assert Counter(labels[i] for i in test) == {"a": 12, "b": 6, "c": 2}
    assert len(train) == 80 and not set(train) & set(test)
    assert holdout_split(labels, test_size=0.2, seed=1) == [(train, test)]
    assert holdout_split(labels, test_size=0.2, seed=2) != [(train, test)]


def test_holdout_split_keeps_one_test_row_per_class_on_tiny_data() -> None:
    labels = ["a"] * 5 + ["b"] * 5 + ["c"] * 5
    [(_, test)] = holdout_split(labels, test_size=0.05, seed=0)
    # ceil(0.05 * 15) = 1 < 3 classes: raised to 3, one per class
    assert Counter(labels[i] for i in test) == {"a": 1, "b": 1, "c": 1}


def test_kfold_covers_every_row_once() -> None:
    labels = ["a"] * 10 + ["b"] * 5
    folds = kfold_splits(labels, cv=5, seed=0)
    tested = sorted(i for _, test in folds for i in test)
    assert tested == list(range(15))
    assert all(Counter(labels[i] for i in test) == {"a": 2, "b": 1} for _, test in folds)


def test_class_weights_and_minority() -> None:
    labels = ["a"] * 6 + ["b"] * 3 + ["c"] * 3
    # n / (k * n_c): 12 / (3 * 6) = 0.667, 12 / (3 * 3) = 1.333
    assert balanced_class_weight(labels) == pytest.approx({"a": 2 / 3, "b": 4 / 3, "c": 4 / 3})
    assert minority_of(labels) == "b"  # tie between b and c: label order


def test_run_job_reports_every_figure() -> None:
    texts, labels = dataset({"big": 80, "mid": 40, "small": 20})
    [job] = jobs_for(["tfidf-logreg"], texts, labels)
    events: list[Any] = []
    r = run_job(job, events.append)
    assert r.ok and r.error is None
    assert r.classes == ["big", "mid", "small"] and r.n_classes == 3
    assert (r.n_train, r.n_test) == (112, 28)  # ceil(0.2 * 140) = 28
    assert r.minority_class == "small"
    assert set(r.per_class_f1) == {"big", "mid", "small"}
    assert r.minority_f1 == r.per_class_f1["small"]
    assert r.f1_macro == pytest.approx(np.mean(list(r.per_class_f1.values())))
    assert r.f1_macro > 0.9  # the cue words make this easy
    assert 0 < r.balanced_accuracy <= 1 and 0 < r.accuracy <= 1
    assert r.train_time_s > 0 and r.predict_ms_per_1k > 0
    assert r.n_epochs is None and r.epochs_run is None  # not an epoch learner
    assert [type(e) for e in events] == [CandidateStarted]


def test_majority_baseline_scores_by_hand() -> None:
    texts, labels = dataset({"big": 60, "small": 20})
    [job] = jobs_for([cand.BASELINE], texts, labels)
    r = run_job(job, lambda e: None)
    # test: ceil(0.2 * 80) = 16 rows, 12 big and 4 small; always "big":
    # accuracy 12/16; F1(big) = 2*12/(2*12+4) = 0.857143, F1(small) = 0
    assert r.baseline
    assert r.accuracy == pytest.approx(0.75)
    assert r.per_class_f1["big"] == pytest.approx(24 / 28)
    assert r.f1_macro == pytest.approx(12 / 28)
    assert r.balanced_accuracy == pytest.approx(0.5)
    assert r.minority_f1 == 0.0


def test_epoch_learner_publishes_one_event_per_epoch() -> None:
    texts, labels = dataset({"a": 60, "b": 60})
    [job] = jobs_for(["sgd"], texts, labels, epochs=4)
    job.patience = 10  # no early stop: every epoch runs
    events: list[Any] = []
    r = run_job(job, events.append)
    epochs = [e for e in events if isinstance(e, EpochProgress)]
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    assert all(e.n_epochs == 4 and e.candidate == "sgd" and e.category == "cat" for e in epochs)
    assert [e.val_f1_macro for e in epochs] == pytest.approx(r.val_f1_by_epoch, abs=1e-4)
    assert r.epochs_run == 4 and r.best_epoch is not None
    # the kept epoch is the first with the best validation score
    assert r.val_f1_by_epoch.index(max(r.val_f1_by_epoch)) + 1 == r.best_epoch


# A scripted learner: its validation predictions are right only after epoch 2, so the
# early-stopping arithmetic can be checked exactly.


class _IdentityVectorizer:
    def fit_transform(self, texts: list[str]) -> np.ndarray:
        return np.asarray(texts, dtype=object)

    def transform(self, texts: list[str]) -> np.ndarray:
        return np.asarray(texts, dtype=object)


class _ScriptedLearner:
    good_epochs = frozenset({2})

    def __init__(self) -> None:
        self.epoch = 0

    def partial_fit(self, x: Any, y: Any, classes: Any = None) -> _ScriptedLearner:
        self.epoch += 1
        return self

    def predict(self, x: Any) -> np.ndarray:
        if self.epoch in self.good_epochs:
            return np.asarray([t.split()[0].removesuffix("cue0") for t in x])
        return np.asarray(["a"] * len(x))


SCRIPTED = cand.CandidateSpec(
    name="scripted",
    description="test double",
    by_epochs=True,
    multilingual=True,
    good_for="tests",
    make_vectorizer=_IdentityVectorizer,
    make_classifier=lambda seed, weights: _ScriptedLearner(),
)


def test_early_stopping_keeps_the_best_epoch_and_stops_after_patience() -> None:
    labels = ["a"] * 20 + ["b"] * 20
    texts = [f"{label}cue0 filler" for label in labels]
    seen: list[tuple[int, float, bool]] = []
    _, clf, info = fit_by_epochs(
        SCRIPTED,
        texts,
        labels,
        classes=["a", "b"],
        epochs=10,
        seed=0,
        patience=2,
        on_epoch=lambda epoch, f1, elapsed, improved: seen.append((epoch, f1, improved)),
    )
    # validation: max(2, round(0.1 * 40)) = 4 rows, 2 a + 2 b.
    # epochs 1, 3, 4 answer "a" for all: F1(a) = 2*2/(2*2+2) = 0.667, F1(b) = 0 → 0.333
    # epoch 2 answers right: 1.0. Two epochs without improvement after it: stop at 4.
    assert [(e, round(f, 3), imp) for e, f, imp in seen] == [
        (1, 0.333, True),
        (2, 1.0, True),
        (3, 0.333, False),
        (4, 0.333, False),
    ]
    assert info["epochs_run"] == 4 and info["best_epoch"] == 2
    assert clf.epoch == 2  # a copy taken at the best epoch, not the last state


def test_without_early_stopping_every_row_trains_every_epoch() -> None:
    labels = ["a"] * 10 + ["b"] * 10
    texts = [f"{label}cue0 x" for label in labels]
    _, clf, info = fit_by_epochs(
        SCRIPTED, texts, labels, classes=["a", "b"], epochs=6, seed=0, early_stopping=False
    )
    assert info == {"epochs_run": 6, "best_epoch": 6, "val_f1_by_epoch": []}
    assert clf.epoch == 6


def test_a_failing_candidate_is_a_result_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(seed: int, weights: dict[str, float]) -> Any:
        raise RuntimeError("boom\nsecond line")

    broken = cand.CandidateSpec("broken", "fails", False, True, "tests", None, boom)
    monkeypatch.setitem(cand.CATALOG, "broken", broken)
    texts, labels = dataset({"a": 20, "b": 20})
    results = train_all(jobs_for(["broken", "complement-nb"], texts, labels), n_jobs=1)
    assert results[0].error == "RuntimeError: boom" and not results[0].ok
    assert results[1].ok


def test_cancel_before_start_trains_nothing() -> None:
    texts, labels = dataset({"a": 20, "b": 20})
    cancel = threading.Event()
    cancel.set()
    events: list[Any] = []
    results = train_all(
        jobs_for(["complement-nb", "sgd"], texts, labels),
        n_jobs=1,
        publish=events.append,
        cancel=cancel,
    )
    assert [r.error for r in results] == ["cancelled", "cancelled"]
    assert events == []


def test_cancel_stops_worker_processes_too() -> None:
    texts, labels = dataset({"a": 20, "b": 20})
    cancel = threading.Event()
    cancel.set()
    events: list[Any] = []
    jobs = jobs_for(["complement-nb", "sgd", "char-svm"], texts, labels)
    results = train_all(jobs, n_jobs=2, publish=events.append, cancel=cancel)
    assert [r.error for r in results] == ["cancelled"] * 3
    assert not any(isinstance(e, CandidateFinished) for e in events)


def test_cross_validation_reports_the_spread() -> None:
    texts, labels = dataset({"a": 30, "b": 15})
    [job] = jobs_for(["complement-nb"], texts, labels, cv=3)
    r = run_job(job, lambda e: None)
    assert r.folds == 3 and r.n_test == 15 and r.n_train == 30
    assert r.f1_macro_sd is not None and r.f1_macro_sd >= 0


def _summary(results: list[CandidateResult]) -> list[tuple[Any, ...]]:
    return [
        (
            r.candidate,
            round(r.f1_macro or 0, 6),
            round(r.accuracy or 0, 6),
            r.best_epoch,
            r.epochs_run,
        )
        for r in results
    ]


def _exit_process(seed: int, weights: dict[str, float]) -> Any:
    import os

    os._exit(3)  # a native crash or an out-of-memory kill, as the parent sees it


def test_a_dying_worker_fails_its_jobs_and_the_run_goes_on() -> None:
    texts, labels = dataset({"a": 20, "b": 20})
    jobs = jobs_for(["complement-nb", "killer"], texts, labels)
    jobs[1].spec = cand.CandidateSpec("killer", "dies", False, True, "tests", None, _exit_process)
    events: list[Any] = []
    results = train_all(jobs, n_jobs=2, publish=events.append)
    killed = results[1]
    assert killed.candidate == "killer" and not killed.ok
    assert killed.error is not None and killed.error.startswith("worker failed: ")
    assert "\n" not in killed.error
    finished = [e.result.candidate for e in events if isinstance(e, CandidateFinished)]
    assert "killer" in finished
    # the other job either finished before the crash or was taken down with the pool
    assert results[0].ok or results[0].error.startswith("worker failed: ")


def test_parallel_run_matches_sequential_and_delivers_worker_events() -> None:
    texts, labels = dataset({"a": 50, "b": 30, "c": 20}, seed=3)
    models = ["sgd", "complement-nb", "mlp", cand.BASELINE]
    seq_events: list[Any] = []
    par_events: list[Any] = []
    sequential = train_all(jobs_for(models, texts, labels), n_jobs=1, publish=seq_events.append)
    parallel = train_all(jobs_for(models, texts, labels), n_jobs=2, publish=par_events.append)
    assert _summary(sequential) == _summary(parallel)  # deterministic with the seed
    for events in (seq_events, par_events):
        per_model: dict[str, list[str]] = {}
        for e in events:
            name = e.result.candidate if isinstance(e, CandidateFinished) else e.candidate
            per_model.setdefault(name, []).append(type(e).__name__)
        for model in models:
            kinds = per_model[model]
            assert kinds[0] == "CandidateStarted" and kinds[-1] == "CandidateFinished"
            n_epochs = kinds.count("EpochProgress")
            assert n_epochs == (parallel[models.index(model)].epochs_run or 0)
        assert sum(isinstance(e, EpochProgress) for e in events) >= 2
