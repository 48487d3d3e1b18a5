"""What guessing by the class priors scores: the expected macro-F1 computed from the
priors, against a hand computation, an exhaustive enumeration and large simulations
(scikit-learn's own stratified DummyClassifier among them)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify.chance import (
    class_f1_given_counts,
    expected_accuracy,
    expected_balanced_accuracy,
    expected_class_f1,
    expected_macro_f1,
    stratified_result,
)


def test_two_rows_two_classes_by_hand() -> None:
    # One row of each class, each guessed a or b with probability 1/2; the four answers:
    #   (a, a): F1_a = 2·1/(1 + 2) = 2/3, F1_b = 0     -> macro 1/3
    #   (a, b): both right                            -> macro 1
    #   (b, a): both wrong                            -> macro 0
    #   (b, b): F1_a = 0, F1_b = 2/3                   -> macro 1/3
    # mean: (1/3 + 1 + 0 + 1/3) / 4 = 5/12
    assert expected_macro_f1([1, 1], [0.5, 0.5]) == pytest.approx(5 / 12, abs=1e-12)
    # the formula term by term, for class a: s = 1 w.p. 1/2 (E[F1] = 2·1·1/(2·2) = 1/2),
    # s = 2 w.p. 1/4 (2·2·1/(2·3) = 2/3): 1/4 + 1/6 = 5/12
    assert expected_class_f1([1, 1], [0.5, 0.5]) == pytest.approx([5 / 12, 5 / 12], abs=1e-12)


def _enumerate(counts: list[int], priors: list[Fraction]) -> tuple[Fraction, Fraction, Fraction]:
    """Exact expectations over every possible answer vector (k^N of them)."""
    classes = list(range(len(counts)))
    y = [c for c, n in enumerate(counts) for _ in range(n)]
    e_f1 = e_acc = e_bacc = Fraction(0)
    for answers in itertools.product(classes, repeat=len(y)):
        p = math.prod((priors[a] for a in answers), start=Fraction(1))
        f1s = []
        for c in classes:
            tp = sum(1 for t, a in zip(y, answers, strict=True) if t == a == c)
            denom = counts[c] + answers.count(c)
            f1s.append(Fraction(2 * tp, denom) if denom else Fraction(0))
        recalls = [
            Fraction(sum(1 for t, a in zip(y, answers, strict=True) if t == a == c), counts[c])
            for c in classes
            if counts[c]
        ]
        hits = sum(1 for t, a in zip(y, answers, strict=True) if t == a)
        e_f1 += p * sum(f1s, Fraction(0)) / len(classes)
        e_acc += p * Fraction(hits, len(y))
        e_bacc += p * sum(recalls, Fraction(0)) / len(recalls)
    return e_f1, e_acc, e_bacc


@pytest.mark.parametrize(
    ("counts", "priors"),
    [
        ([3, 2, 1], [Fraction(1, 2), Fraction(1, 3), Fraction(1, 6)]),
        ([5, 1], [Fraction(7, 10), Fraction(3, 10)]),  # training priors differ from test ones
        ([2, 2, 2], [Fraction(1, 3)] * 3),
    ],
)
def test_every_answer_enumerated_gives_the_same_expectations(
    counts: list[int], priors: list[Fraction]
) -> None:
    e_f1, e_acc, e_bacc = _enumerate(counts, priors)
    p = [float(x) for x in priors]
    assert expected_macro_f1(counts, p) == pytest.approx(float(e_f1), abs=1e-12)
    assert expected_accuracy(counts, p) == pytest.approx(float(e_acc), abs=1e-12)
    assert expected_balanced_accuracy(counts, p) == pytest.approx(float(e_bacc), abs=1e-12)


def _macro_f1_rows(y: np.ndarray, answers: np.ndarray, k: int) -> np.ndarray:
    """Macro-F1 of each row of ``answers`` against ``y`` (numpy, for many draws)."""
    f1 = np.zeros(answers.shape[0])
    for c in range(k):
        tp = ((answers == c) & (y == c)).sum(axis=1)
        denom = (y == c).sum() + (answers == c).sum(axis=1)
        f1 += np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return f1 / k


def test_a_large_simulation_agrees_with_the_formula() -> None:
    counts, priors = [30, 15, 5], [0.6, 0.3, 0.1]
    y = np.repeat(np.arange(3), counts)
    rng = np.random.default_rng(12)
    draws = rng.choice(3, size=(200_000, len(y)), p=priors)
    sims = _macro_f1_rows(y, draws, 3)
    se = sims.std(ddof=1) / math.sqrt(len(sims))
    expected = expected_macro_f1(counts, priors)
    assert abs(sims.mean() - expected) < 4 * se  # se ≈ 0.0002
    # one guess sampled once is far from it: why the expectation is computed
    assert sims.std() > 0.05
    # the large-N limit, 2·p·q/(p + q) per class, is 1/k when the priors match
    big = [3000, 1500, 500]
    assert expected_macro_f1(big, priors) == pytest.approx(1 / 3, abs=2e-3)


def test_scikit_learns_stratified_dummy_is_what_the_formula_describes() -> None:
    train_y = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    test_y = ["a"] * 12 + ["b"] * 6 + ["c"] * 2
    spec = cand.CATALOG[cand.GUESS]
    assert spec.baseline
    _vec, clf = spec.build(0, {})
    assert isinstance(clf, DummyClassifier)
    clf.fit(np.zeros((len(train_y), 1)), train_y)
    draws = 20_000  # the guesser's answers are independent: one call answers every draw
    answers = clf.predict(np.zeros((draws * len(test_y), 1))).reshape(draws, len(test_y))
    code = {"a": 0, "b": 1, "c": 2}
    y = np.asarray([code[v] for v in test_y])
    coded = np.vectorize(code.get)(answers)
    f1s = _macro_f1_rows(y, coded, 3)
    accs = (coded == y).mean(axis=1)
    baccs = np.mean([(coded[:, y == c] == c).mean(axis=1) for c in range(3)], axis=0)
    for i in range(20):  # the numpy scoring is scikit-learn's
        pred = list(answers[i])
        assert f1s[i] == pytest.approx(
            f1_score(test_y, pred, average="macro", labels=["a", "b", "c"], zero_division=0)
        )
        assert accs[i] == pytest.approx(accuracy_score(test_y, pred))
        assert baccs[i] == pytest.approx(balanced_accuracy_score(test_y, pred))
    counts, priors = [12, 6, 2], [0.6, 0.3, 0.1]
    for values, expected in (
        (f1s, expected_macro_f1(counts, priors)),
        (accs, expected_accuracy(counts, priors)),  # 0.6·0.6 + 0.3·0.3 + 0.1·0.1 = 0.46
        (baccs, expected_balanced_accuracy(counts, priors)),  # mean of the priors: 1/3
    ):
        se = float(np.std(values, ddof=1)) / math.sqrt(len(values))
        assert abs(float(np.mean(values)) - expected) < 4 * se
    assert expected_accuracy(counts, priors) == pytest.approx(0.46)
    assert expected_balanced_accuracy(counts, priors) == pytest.approx(1 / 3)


def test_large_test_sets_sum_only_the_binomials_bulk() -> None:
    # past FULL_SUM_MAX_N the tails are cut: the value still matches the full sum
    n, p = 8000, 0.05
    from scipy.stats import binom

    s = np.arange(n + 1)
    full = float(np.sum(binom.pmf(s, n, p) * 2 * s * 400 / (n * (400 + s))))
    assert class_f1_given_counts([400], n, p)[0] == pytest.approx(full, rel=1e-12)


def test_the_stratified_baseline_of_a_cell_per_fold() -> None:
    labels = ["a"] * 6 + ["b"] * 3 + ["c"] * 3
    folds = [([0, 1, 2, 3, 6, 7, 9, 10], [4, 5, 8, 11]), ([2, 3, 4, 5, 8, 9, 10, 11], [0, 1, 6, 7])]
    res = stratified_result(labels, folds, category="topic", language=None)
    first = expected_macro_f1([2, 1, 1], [4 / 8, 2 / 8, 2 / 8])
    second = expected_macro_f1([2, 2, 0], [4 / 8, 1 / 8, 3 / 8])
    assert res.fold_f1 == pytest.approx([first, second])
    assert res.f1_macro == pytest.approx((first + second) / 2)
    assert res.baseline and res.candidate == "stratified" and res.ok
    assert res.train_time_s is None and res.confusion == []  # nothing trained
