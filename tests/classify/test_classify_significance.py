"""The statistics behind a medal: the paired bootstrap over test rows, the corrected
resampled t-test over folds, and the per-class figures, each against a hand computation
or scikit-learn."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from classify_helpers import labels_from_counts, signal_text
from scipy.stats import t as student
from sklearn.metrics import (
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_fscore_support,
)

from tui_bench.core.classify import significance as sig
from tui_bench.core.classify.chance import expected_macro_f1, priors_of, stratified_result
from tui_bench.core.classify.splits import make_folds
from tui_bench.core.classify.train import CandidateResult, TrainJob, run_job
from tui_bench.core.stats import corrected_resampled_t


def test_macro_f1_of_resamples_by_hand() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    cand = np.array([0, 0, 1, 1, 1, 0])  # two mistakes
    majority = np.zeros(6, dtype=np.int64)
    idx = np.array([[0, 1, 2, 3, 4, 5], [0, 0, 0, 3, 3, 3]])
    # resample 1 (the rows as they are): each class 2 right of 3, 3 predicted: F1 = 4/6
    # resample 2 (rows 0 and 3, three times each): every answer right: 1
    assert sig.macro_f1_resampled(y, cand, idx, 2) == pytest.approx([2 / 3, 1.0])
    # always "a": F1_a = 2·3/(3 + 6) = 2/3, F1_b = 0, on both resamples
    assert sig.macro_f1_resampled(y, majority, idx, 2) == pytest.approx([1 / 3, 1 / 3])


def test_the_paired_bootstrap_scores_both_models_on_the_same_resamples() -> None:
    rng = random.Random(3)
    classes = ["a", "b", "c"]
    y = [rng.choice(classes) for _ in range(40)]
    good = [v if rng.random() < 0.8 else rng.choice(classes) for v in y]
    scores = sig.bootstrap_scores(
        y, {"good": good, "majority": ["a"] * 40}, classes=classes, n_resamples=300, seed=5
    )
    idx = np.concatenate(list(sig.resamples(40, 300, 5)))
    assert idx.shape == (300, 40)
    for b in (0, 17, 299):  # each resample scored as scikit-learn scores those rows
        rows = idx[b]
        truth = [y[i] for i in rows]
        for model, pred in (("good", good), ("majority", ["a"] * 40)):
            expected = f1_score(
                truth, [pred[i] for i in rows], average="macro", labels=classes, zero_division=0
            )
            assert scores[model][b] == pytest.approx(expected)
    diff = scores["good"] - scores["majority"]
    lo, hi = sig._interval(diff)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(diff, [2.5, 97.5])))
    assert lo > 0  # 80% right against always "a": clearly better
    # the same resamples again with the same seed; identical predictions differ by exactly 0
    again = sig.bootstrap_scores(
        y, {"good": good, "twin": list(good)}, classes=classes, n_resamples=300, seed=5
    )
    assert np.array_equal(again["good"], scores["good"])
    assert sig._interval(again["twin"] - again["good"]) == (0.0, 0.0)


def test_guessing_on_a_resample_scores_its_expectation_for_those_rows() -> None:
    y = ["a"] * 6 + ["b"] * 3 + ["c"] * 1
    priors = [0.5, 0.3, 0.2]
    scores = sig.bootstrap_scores(
        y, {}, classes=["a", "b", "c"], guess_priors=priors, n_resamples=50, seed=1
    )
    idx = np.concatenate(list(sig.resamples(10, 50, 1)))
    for b in (0, 25, 49):
        counts = [sum(1 for i in idx[b] if y[i] == c) for c in ("a", "b", "c")]
        assert scores["stratified"][b] == pytest.approx(expected_macro_f1(counts, priors))


def test_corrected_resampled_t_by_hand() -> None:
    diffs = [0.10, 0.20, 0.30, 0.00, 0.15]  # J = 5 folds, 80 train / 20 test rows each
    t = corrected_resampled_t(diffs, n_train=80, n_test=20)
    assert t is not None
    # mean 0.15; s² = (0.05² + 0.05² + 0.15² + 0.15² + 0) / 4 = 0.0125
    # se = sqrt((1/5 + 20/80) · 0.0125) = sqrt(0.005625) = 0.075; t = 0.15 / 0.075 = 2
    t975 = 2.7764451051977987  # Student t, 4 degrees of freedom, 97.5th percentile
    assert t.mean == pytest.approx(0.15)
    assert t.t == pytest.approx(2.0)
    assert (t.low, t.high) == pytest.approx((0.15 - t975 * 0.075, 0.15 + t975 * 0.075))
    assert t.p_value == pytest.approx(2 * student.sf(2.0, 4))  # 0.116
    assert t.df == 4 and t.low < 0 < t.high
    # uncorrected (s²/J, se = 0.05) the interval would exclude zero: the correction matters
    assert 0.15 - t975 * 0.05 > 0
    assert corrected_resampled_t([0.1], n_train=80, n_test=20) is None
    flat = corrected_resampled_t([0.2, 0.2, 0.2], n_train=80, n_test=20)
    assert flat is not None and (flat.low, flat.high, flat.t) == (0.2, 0.2, None)


def _job(texts: list[str], labels: list[str], folds: list, model: str) -> TrainJob:
    return TrainJob(0, 1, model, "topic", None, texts, labels, folds, epochs=2, seed=0)


def _noisy(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    labels = labels_from_counts({"a": n // 2, "b": n // 3, "c": n - n // 2 - n // 3}, rng)
    texts = [
        signal_text(label if rng.random() < 0.7 else rng.choice("abc"), rng) for label in labels
    ]
    return texts, labels


def test_per_class_figures_and_confusion_are_scikit_learns() -> None:
    texts, labels = _noisy(150)
    folds = make_folds(labels, test_size=0.3, cv=None, seed=0)
    res = run_job(_job(texts, labels, folds, "complement-nb"), lambda e: None)
    assert res.ok and res.test_pred is not None
    y_test = [labels[i] for i in folds[0][1]]
    classes = ["a", "b", "c"]
    p, r, f, n = precision_recall_fscore_support(
        y_test, res.test_pred, labels=classes, zero_division=0
    )
    for i, c in enumerate(classes):
        got = res.per_class[c]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p[i], r[i], f[i]))
        assert got["support"] == n[i]
    assert res.confusion == confusion_matrix(y_test, res.test_pred, labels=classes).tolist()
    assert res.mcc == pytest.approx(matthews_corrcoef(y_test, res.test_pred))
    assert res.f1_macro == pytest.approx(float(np.mean(f)))
    assert "test_pred" not in res.to_dict()  # in memory only


def test_cross_validation_sums_the_confusion_and_tests_over_folds() -> None:
    texts, labels = _noisy(120, seed=1)
    folds = make_folds(labels, test_size=0.2, cv=4, seed=0, repeats=2)
    assert len(folds) == 8  # 4 folds × 2 repeats, each repeat covering every row once
    assert sorted(i for _, test in folds[:4] for i in test) == list(range(120))
    assert sorted(i for _, test in folds[4:] for i in test) == list(range(120))
    assert folds[:4] != folds[4:]
    svm = run_job(_job(texts, labels, folds, "char-svm"), lambda e: None)
    base = run_job(_job(texts, labels, folds, "majority"), lambda e: None)
    guess = stratified_result(labels, folds, category="topic", language=None)
    assert len(svm.fold_f1) == 8 and svm.test_pred is None
    assert sum(map(sum, svm.confusion)) == 240  # every row tested once per repeat
    assert svm.f1_macro == pytest.approx(float(np.mean(svm.fold_f1)))
    test = sig.cell_test([svm, base, guess], labels, folds, seed=0)
    assert test.method == sig.CORRECTED_T and test.top == "char-svm"
    best = max((base, guess), key=lambda r: r.f1_macro or 0.0)
    assert test.baseline == best.candidate
    diffs = [a - b for a, b in zip(svm.fold_f1, best.fold_f1, strict=True)]
    by_hand = corrected_resampled_t(diffs, n_train=90, n_test=30)
    assert by_hand is not None
    assert test.vs_baseline["char-svm"] == pytest.approx((by_hand.low, by_hand.high))
    # J = 8 differences; the interval is the mean ± t(7) · sqrt((1/8 + 30/90) · s²)
    s2 = float(np.var(diffs, ddof=1))
    half = student.ppf(0.975, 7) * math.sqrt((1 / 8 + 30 / 90) * s2)
    assert by_hand.high - by_hand.low == pytest.approx(2 * half)


def test_a_hold_out_cell_is_tested_by_bootstrap_against_the_better_baseline() -> None:
    texts, labels = _noisy(150, seed=2)
    folds = make_folds(labels, test_size=0.3, cv=None, seed=0)
    nb = run_job(_job(texts, labels, folds, "complement-nb"), lambda e: None)
    svm = run_job(_job(texts, labels, folds, "char-svm"), lambda e: None)
    base = run_job(_job(texts, labels, folds, "majority"), lambda e: None)
    guess = stratified_result(labels, folds, category="topic", language=None)
    test = sig.cell_test([nb, svm, base, guess], labels, folds, seed=0, n_resamples=500)
    assert test.method == sig.BOOTSTRAP
    assert test.baseline == "stratified"  # guessing beats always "a" on macro-F1
    top, other = (nb, svm) if (nb.f1_macro or 0) >= (svm.f1_macro or 0) else (svm, nb)
    assert test.top == top.candidate and set(test.vs_top) == {other.candidate}
    y_test = [labels[i] for i in folds[0][1]]
    scores = sig.bootstrap_scores(
        y_test,
        {top.candidate: top.test_pred or [], other.candidate: other.test_pred or []},
        classes=["a", "b", "c"],
        guess_priors=priors_of([labels[i] for i in folds[0][0]], ["a", "b", "c"]),
        n_resamples=500,
        seed=0,
    )
    expected = sig._interval(scores[other.candidate] - scores["stratified"])
    assert test.vs_baseline[other.candidate] == pytest.approx(expected)
    expected = sig._interval(scores[other.candidate] - scores[top.candidate])
    assert test.vs_top[other.candidate] == pytest.approx(expected)


def _predicted(name: str, y: list[str], pred: list[str], classes: list[str]) -> CandidateResult:
    """A hold-out result whose scores are scikit-learn's on its own predictions."""
    f1 = f1_score(y, pred, average="macro", labels=classes, zero_division=0)
    acc = sum(a == b for a, b in zip(y, pred, strict=True)) / len(y)
    return CandidateResult(
        candidate=name,
        category="topic",
        language=None,
        baseline=name == "majority",
        n_classes=len(classes),
        classes=classes,
        n_train=100,
        n_test=len(y),
        folds=1,
        f1_macro=float(f1),
        accuracy=acc,
        test_pred=pred,
    )


def test_places_are_shared_when_the_interval_to_the_place_above_holds_zero() -> None:
    """Medals as the LLM ranking gives them: a candidate tied with the best of the place
    above shares it (sport counting), and only an interval that excludes zero makes a
    place of its own."""
    from tui_bench.core.classify import rank as rk

    classes = ["a", "b"]
    y = ["a", "b"] * 100
    wrong = {"a": "b", "b": "a"}

    def with_errors(rows: set[int]) -> list[str]:
        return [wrong[v] if i in rows else v for i, v in enumerate(y)]

    members = [
        _predicted("best", y, with_errors(set(range(0, 200, 20))), classes),  # 10 wrong
        _predicted("twin", y, with_errors(set(range(0, 200, 20)) | {1}), classes),  # 11
        _predicted("weak", y, with_errors(set(range(0, 200, 3))), classes),  # 67 wrong
        _predicted("weak2", y, with_errors(set(range(0, 200, 3)) | {4}), classes),  # 68
        _predicted("majority", y, ["a"] * 200, classes),
    ]
    folds = [(list(range(100)), list(range(200)))]
    test = sig.cell_test(members, y, folds, seed=0, n_resamples=400)
    assert test.place == {"best": 1, "twin": 1, "weak": 3, "weak2": 3}
    # each decided against the first of the place above, with that pair's interval
    assert test.vs_place["twin"][0] == "best" and test.vs_place["weak"][0] == "best"
    assert test.vs_place["weak2"][0] == "weak"
    weak_ci = test.vs_place["weak"][1]
    assert weak_ci[1] < 0  # a third of the rows wrong against a twentieth: clearly below
    twin_ci = test.vs_place["twin"][1]
    assert twin_ci[0] <= 0 <= twin_ci[1]
    rows = {r.model: r for r in rk.rank_cells(members, {("topic", None): test})}
    assert [rows[m].rank for m in ("best", "twin", "weak", "weak2")] == [1, 2, 3, 4]
    assert [rows[m].medal for m in ("best", "twin", "weak", "weak2")] == ["🥇", "🥇", "🥉", "🥉"]
    assert (rows["twin"].tied_with, rows["weak2"].tied_with, rows["weak"].tied_with) == (
        "best",
        "weak",
        None,
    )
    # the winners the headless log and the history line give: the first place, tied
    assert rk.winners(list(rows.values())) == {("topic", None): "best = twin"}
    stored = [r.to_dict() for r in rows.values()]  # as data.json keeps them
    assert rk.winners_of(stored) == {("topic", None): "best = twin"}
    stored[0] = {**stored[0], "beats_chance": False}  # a first place not better than chance
    assert rk.winners_of(stored) == {("topic", None): "twin"}
    assert (rows["weak"].place_of, rows["weak"].place_low, rows["weak"].place_high) == (
        "best",
        *weak_ci,
    )
