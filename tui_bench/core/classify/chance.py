"""What chance scores: the expected figures of stratified random guessing, computed from
the class priors (never sampled), and its baseline row (``stratified``) per cell.

The guesser answers each test row with class c at random, with probability p_c, the
share of c among the training rows (scikit-learn's ``DummyClassifier(strategy=
"stratified")``), whatever the text. On N test rows of which n_c are of class c:

- its count of c answers is S_c ~ Binomial(N, p_c); given S_c = s, the s rows answered c
  are a uniformly random subset of the N rows, so the true positives TP_c follow a
  hypergeometric law with mean s·n_c/N;
- F1_c = 2·TP_c / (n_c + S_c) (0 when both are 0) is linear in TP_c once S_c is known, so

      E[F1_c] = Σ_{s=0..N} P(S_c = s) · 2·s·n_c / (N·(n_c + s))

  exactly, and E[macro-F1] = (1/k) Σ_c E[F1_c] (k classes). For large N this tends to
  2·p_c·q_c / (p_c + q_c) per class (q_c = n_c/N): q_c when the test priors equal the
  training priors, so macro-F1 of guessing tends to 1/k, whatever the imbalance;
- E[accuracy] = Σ_c q_c·p_c and E[balanced accuracy] = the mean of p_c over the classes
  present in the test rows (E[recall_c] = p_c), both exact.

Always answering the majority class has macro-F1 (2·q/(1+q))/k at best (q its share):
below 1/k, so guessing is usually the stronger of the two baselines on macro-F1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from tui_bench.core.classify.candidates import GUESS
from tui_bench.core.classify.train import CandidateResult, minority_of

STRATIFIED = GUESS

# Below this many test rows every term of the sum is taken; above, the binomial's tails
# beyond 1e-15 are left out (their share of the expectation is below 1e-14).
FULL_SUM_MAX_N = 5000
TAIL = 1e-15


def class_f1_given_counts(counts: np.ndarray | Sequence[int], n: int, prior: float) -> np.ndarray:
    """E[F1_c] of the guesser for each count n_c in ``counts`` of class c among ``n``
    test rows, c guessed with probability ``prior`` (module docstring)."""
    ms = np.asarray(counts, dtype=np.float64)
    if n <= 0 or prior <= 0.0:
        return np.zeros_like(ms)
    from scipy.stats import binom

    if n <= FULL_SUM_MAX_N or prior >= 1.0:
        s = np.arange(n + 1, dtype=np.float64)
    else:
        lo = max(0, int(binom.ppf(TAIL, n, prior)) - 1)
        hi = min(n, int(binom.isf(TAIL, n, prior)) + 1)
        s = np.arange(lo, hi + 1, dtype=np.float64)
    pmf = binom.pmf(s, n, prior)
    uniq, inverse = np.unique(ms, return_inverse=True)
    denom = uniq[:, None] + s[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(denom > 0, 2.0 * s[None, :] * uniq[:, None] / (n * denom), 0.0)
    values = terms @ pmf
    return np.asarray(values[inverse], dtype=np.float64).reshape(ms.shape)


def expected_class_f1(test_counts: Sequence[int], priors: Sequence[float]) -> list[float]:
    """E[F1_c] for each class c, its test count n_c and its guess probability p_c."""
    n = int(sum(test_counts))
    return [
        float(class_f1_given_counts([m], n, p)[0]) for m, p in zip(test_counts, priors, strict=True)
    ]


def expected_macro_f1(test_counts: Sequence[int], priors: Sequence[float]) -> float:
    """E[macro-F1] of stratified guessing on test rows with these class counts."""
    per_class = expected_class_f1(test_counts, priors)
    return float(np.mean(per_class)) if per_class else 0.0


def expected_accuracy(test_counts: Sequence[int], priors: Sequence[float]) -> float:
    n = sum(test_counts)
    return float(sum(m * p for m, p in zip(test_counts, priors, strict=True)) / n) if n else 0.0


def expected_balanced_accuracy(test_counts: Sequence[int], priors: Sequence[float]) -> float:
    present = [p for m, p in zip(test_counts, priors, strict=True) if m > 0]
    return float(np.mean(present)) if present else 0.0


def priors_of(labels: Sequence[str], classes: Sequence[str]) -> list[float]:
    counts = Counter(labels)
    n = len(labels)
    return [counts[c] / n if n else 0.0 for c in classes]


def counts_of(labels: Sequence[str], classes: Sequence[str]) -> list[int]:
    counts = Counter(labels)
    return [counts[c] for c in classes]


def stratified_result(
    labels: Sequence[str],
    folds: Sequence[tuple[Sequence[int], Sequence[int]]],
    *,
    category: str,
    language: str | None,
) -> CandidateResult:
    """The ``stratified`` baseline of one cell: its expected figures on each fold's test
    rows (priors from that fold's training rows), averaged over folds as a trained
    candidate's are. Nothing is trained, so no time, confusion or correlation is shown."""
    classes = sorted(set(labels))
    fold_f1: list[float] = []
    accs: list[float] = []
    baccs: list[float] = []
    per_class: list[list[float]] = []
    for train_rows, test_rows in folds:
        priors = priors_of([labels[i] for i in train_rows], classes)
        counts = counts_of([labels[i] for i in test_rows], classes)
        f1s = expected_class_f1(counts, priors)
        per_class.append(f1s)
        fold_f1.append(float(np.mean(f1s)))
        accs.append(expected_accuracy(counts, priors))
        baccs.append(expected_balanced_accuracy(counts, priors))
    first_train, first_test = folds[0]
    class_f1 = {c: float(np.mean([f[i] for f in per_class])) for i, c in enumerate(classes)}
    minority = minority_of([labels[i] for i in first_train])
    return CandidateResult(
        candidate=STRATIFIED,
        category=category,
        language=language,
        baseline=True,
        n_classes=len(classes),
        classes=classes,
        n_train=len(first_train),
        n_test=len(first_test),
        folds=len(folds),
        f1_macro=float(np.mean(fold_f1)),
        f1_macro_sd=float(np.std(fold_f1, ddof=1)) if len(fold_f1) >= 2 else None,
        accuracy=float(np.mean(accs)),
        balanced_accuracy=float(np.mean(baccs)),
        per_class_f1=class_f1,
        minority_class=minority,
        minority_f1=class_f1[minority],
        fold_f1=fold_f1,
    )
