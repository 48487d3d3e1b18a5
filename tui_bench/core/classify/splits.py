"""How a cell's rows are split for training and testing, once per cell with the run's
seed, so that every candidate of the cell sees the same rows: one stratified hold-out
split, or stratified k-fold cross-validation repeated with a new shuffle each time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split


def holdout_split(
    labels: Sequence[str], *, test_size: float, seed: int
) -> list[tuple[list[int], list[int]]]:
    """One stratified train / test split, at least one test row per class."""
    n = len(labels)
    k = len(set(labels))
    n_test = min(n - k, max(k, math.ceil(test_size * n)))
    idx = np.arange(n)
    train, test = train_test_split(
        idx, test_size=n_test, stratify=np.asarray(labels), random_state=seed
    )
    return [(sorted(train.tolist()), sorted(test.tolist()))]


def kfold_splits(
    labels: Sequence[str], *, cv: int, seed: int, repeats: int = 1
) -> list[tuple[list[int], list[int]]]:
    """Stratified k-fold, ``repeats`` times, repeat r shuffled with seed + r (the first
    repeat is the plain k-fold of ``seed``)."""
    y = np.asarray(labels)
    out: list[tuple[list[int], list[int]]] = []
    for r in range(max(1, repeats)):
        skf = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed + r)
        out += [(train.tolist(), test.tolist()) for train, test in skf.split(np.zeros(len(y)), y)]
    return out


def make_folds(
    labels: Sequence[str], *, test_size: float, cv: int | None, seed: int, repeats: int = 1
) -> list[tuple[list[int], list[int]]]:
    if cv is not None and cv >= 2:
        return kfold_splits(labels, cv=cv, seed=seed, repeats=repeats)
    return holdout_split(labels, test_size=test_size, seed=seed)
