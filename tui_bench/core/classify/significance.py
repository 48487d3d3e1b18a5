"""Whether a candidate's macro-F1 is above chance, and whether it is below the top one's:
the :class:`~tui_bench.core.classify.rank.CellTest` of each cell.

A cell's baseline is the better, on macro-F1 over its test rows, of ``majority`` (always
the commonest training class) and ``stratified`` (guessing by the class priors, its
expected macro-F1 computed in ``chance``). The interval of a difference comes one of two
ways, by how the cell was split:

- hold-out: a paired bootstrap over the test rows. ``RESAMPLES`` resamples of the N test
  rows, drawn with replacement by a generator seeded with the run's seed; on each, the
  macro-F1 of the candidate's predictions and of the baseline on the same rows (the
  majority's own predictions, or guessing's expected macro-F1 given the resample's class
  counts), and their difference. The 95% interval runs from the 2.5th to the 97.5th
  percentile of those differences. The same resamples serve every candidate of the cell
  and every difference to the top candidate, so each comparison is paired.
- cross-validation (k folds, r repeats): the corrected resampled t-test of Nadeau &
  Bengio (2003) over the J = k·r differences of fold macro-F1, the variance inflated by
  (1/J + n_test/n_train) (``stats.corrected_resampled_t``).

Better than chance: the interval of (candidate − baseline) lies above zero. Tied with the
top candidate: the interval of (candidate − top) holds zero.

Places, as ``tui-bench``'s LLM medals count them (``core/medals``): going down the
macro-F1 order, each candidate is compared with the best candidate of the place above
it (the first of that place); it takes a place of its own only when the interval of
(candidate − that one) excludes zero, else it shares that place. Places are counted as
in sport: two candidates tied first are both first, the next is third.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from tui_bench.core.classify import chance
from tui_bench.core.classify.rank import CellKey, CellTest, best_baseline, rank_key
from tui_bench.core.classify.train import CandidateResult
from tui_bench.core.stats import corrected_resampled_t

RESAMPLES = 2000
CONFIDENCE = 0.95
BOOTSTRAP = "bootstrap"
CORRECTED_T = "corrected t"
# resampled row indices held at once (resamples × test rows), to bound memory
CHUNK_CELLS = 2_000_000

Folds = Sequence[tuple[Sequence[int], Sequence[int]]]


def describe(*, cv: int | None, repeats: int, seed: int) -> dict[str, Any]:
    """How the intervals of a run were computed (data.json ``significance``)."""
    if cv:
        return {
            "method": CORRECTED_T,
            "confidence": CONFIDENCE,
            "folds": cv * repeats,
            "cv": cv,
            "repeats": repeats,
        }
    return {"method": BOOTSTRAP, "confidence": CONFIDENCE, "resamples": RESAMPLES, "seed": seed}


def resamples(n: int, count: int, seed: int) -> Iterator[np.ndarray]:
    """``count`` bootstrap resamples of ``n`` row positions, in chunks (rows: resamples)."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(count, CHUNK_CELLS // max(1, n)))
    done = 0
    while done < count:
        b = min(chunk, count - done)
        yield rng.integers(0, n, size=(b, n))
        done += b


def _class_counts(codes: np.ndarray, k: int) -> np.ndarray:
    """Per resample (rows of ``codes``), the count of each class code 0..k-1."""
    b = codes.shape[0]
    offset = np.arange(b)[:, None] * k
    return np.bincount((offset + codes).ravel(), minlength=b * k).reshape(b, k)


def macro_f1_resampled(y: np.ndarray, pred: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """Macro-F1 over k classes (an absent, unpredicted class counts 0, as scikit-learn's
    ``labels=classes, zero_division=0``) of each resample: one value per row of ``idx``."""
    yt, yp = y[idx], pred[idx]
    b = idx.shape[0]
    offset = np.arange(b)[:, None] * k
    n_true = _class_counts(yt, k)
    n_pred = _class_counts(yp, k)
    hits = (yt == yp).ravel().astype(np.float64)
    tp = np.bincount((offset + yt).ravel(), weights=hits, minlength=b * k).reshape(b, k)
    denom = n_true + n_pred
    f1 = np.divide(2.0 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return np.asarray(f1.mean(axis=1))


def _interval(diffs: np.ndarray) -> tuple[float, float]:
    tail = 50.0 * (1.0 - CONFIDENCE)
    lo, hi = np.percentile(diffs, [tail, 100.0 - tail])
    return float(lo), float(hi)


def bootstrap_scores(
    y_true: Sequence[str],
    predictions: Mapping[str, Sequence[str]],
    *,
    classes: Sequence[str],
    guess_priors: Sequence[float] | None = None,
    n_resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Macro-F1 on each of ``n_resamples`` paired resamples of the test rows, per model
    of ``predictions``; with ``guess_priors``, also ``stratified``: guessing's expected
    macro-F1 given each resample's class counts."""
    code = {c: i for i, c in enumerate(classes)}
    k = len(classes)
    y = np.asarray([code[v] for v in y_true], dtype=np.int64)
    preds = {m: np.asarray([code[v] for v in p], dtype=np.int64) for m, p in predictions.items()}
    parts: dict[str, list[np.ndarray]] = {m: [] for m in preds}
    counts: list[np.ndarray] = []
    n = len(y)
    for idx in resamples(n, n_resamples, seed):
        for model, pred in preds.items():
            parts[model].append(macro_f1_resampled(y, pred, idx, k))
        if guess_priors is not None:
            counts.append(_class_counts(y[idx], k))
    out = {m: np.concatenate(v) for m, v in parts.items()}
    if guess_priors is not None:
        m = np.concatenate(counts)
        per_class = [chance.class_f1_given_counts(m[:, c], n, guess_priors[c]) for c in range(k)]
        out[chance.STRATIFIED] = np.mean(per_class, axis=0)
    return out


def cell_test(
    members: Sequence[CandidateResult],
    labels: Sequence[str],
    folds: Folds,
    *,
    seed: int,
    n_resamples: int = RESAMPLES,
) -> CellTest:
    """The cell's test: its baseline, its top candidate, and the intervals of every
    candidate's macro-F1 minus the baseline's and minus the top one's."""
    ok = [r for r in members if r.ok]
    real = sorted((r for r in ok if not r.baseline), key=rank_key)
    base = best_baseline(ok)
    top = real[0] if real else None
    method = BOOTSTRAP if len(folds) == 1 else CORRECTED_T
    test = CellTest(
        method=method,
        baseline=base.candidate if base is not None else None,
        top=top.candidate if top is not None else None,
    )
    if base is None or top is None:
        return test
    if method == BOOTSTRAP:
        scores = _holdout_scores(ok, labels, folds[0], seed=seed, n_resamples=n_resamples)
        if base.candidate not in scores:
            return test
        for r in real:
            if r.candidate not in scores:
                continue
            s = scores[r.candidate]
            test.vs_baseline[r.candidate] = _interval(s - scores[base.candidate])
            if r is not top and top.candidate in scores:
                test.vs_top[r.candidate] = _interval(s - scores[top.candidate])

        def boot_interval(a: CandidateResult, b: CandidateResult) -> tuple[float, float] | None:
            if a.candidate not in scores or b.candidate not in scores:
                return None
            return _interval(scores[a.candidate] - scores[b.candidate])

        _places(test, real, boot_interval)
        return test
    n_train = float(np.mean([len(tr) for tr, _ in folds]))
    n_test = float(np.mean([len(te) for _, te in folds]))

    def t_interval(a: CandidateResult, b: CandidateResult) -> tuple[float, float] | None:
        if len(a.fold_f1) != len(b.fold_f1) or not a.fold_f1:
            return None
        diffs = [x - y for x, y in zip(a.fold_f1, b.fold_f1, strict=True)]
        t = corrected_resampled_t(diffs, n_train=n_train, n_test=n_test, confidence=CONFIDENCE)
        return None if t is None else (t.low, t.high)

    for r in real:
        vs_base = t_interval(r, base)
        if vs_base is not None:
            test.vs_baseline[r.candidate] = vs_base
        if r is not top:
            vs_top = t_interval(r, top)
            if vs_top is not None:
                test.vs_top[r.candidate] = vs_top
    _places(test, real, t_interval)
    return test


def _places(
    test: CellTest,
    real: Sequence[CandidateResult],
    interval: Callable[[CandidateResult, CandidateResult], tuple[float, float] | None],
) -> None:
    """The places of ``real`` (best first; see the module's doc) into ``test``: a
    candidate without an interval to the one above shares its place (never a verdict
    without a test)."""
    groups: list[list[CandidateResult]] = []
    for r in real:
        if not groups:
            groups.append([r])
            continue
        leader = groups[-1][0]
        ci = interval(r, leader)
        if ci is not None:
            test.vs_place[r.candidate] = (leader.candidate, ci)
        if ci is not None and (ci[0] > 0 or ci[1] < 0):
            groups.append([r])
        else:
            groups[-1].append(r)
    place = 1
    for group in groups:
        for r in group:
            test.place[r.candidate] = place
        place += len(group)


def _holdout_scores(
    ok: Sequence[CandidateResult],
    labels: Sequence[str],
    fold: tuple[Sequence[int], Sequence[int]],
    *,
    seed: int,
    n_resamples: int,
) -> dict[str, np.ndarray]:
    train_rows, test_rows = fold
    classes = sorted(set(labels))
    y_test = [labels[i] for i in test_rows]
    predictions = {
        r.candidate: r.test_pred
        for r in ok
        if r.test_pred is not None and len(r.test_pred) == len(y_test)
    }
    guessing = any(r.candidate == chance.STRATIFIED for r in ok)
    priors = chance.priors_of([labels[i] for i in train_rows], classes) if guessing else None
    return bootstrap_scores(
        y_test,
        predictions,
        classes=classes,
        guess_priors=priors,
        n_resamples=n_resamples,
        seed=seed,
    )


def cell_tests(
    results: Sequence[CandidateResult],
    cells: Mapping[CellKey, tuple[Sequence[str], Folds]],
    *,
    seed: int,
    n_resamples: int = RESAMPLES,
) -> dict[CellKey, CellTest]:
    """Every cell's test; ``cells``: per cell, its labels and its folds."""
    by_cell: dict[CellKey, list[CandidateResult]] = {}
    for r in results:
        by_cell.setdefault((r.category, r.language), []).append(r)
    out: dict[CellKey, CellTest] = {}
    for key, members in by_cell.items():
        if key in cells:
            labels, folds = cells[key]
            out[key] = cell_test(members, labels, folds, seed=seed, n_resamples=n_resamples)
    return out
