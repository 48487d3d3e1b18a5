"""One training part's rows: the balanced class weights every candidate uses (n / (k · n_c),
as scikit-learn's "balanced"), the minority class, and the stratified validation split
that learners trained by epochs stop early on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import train_test_split

VALIDATION_FRACTION = 0.1


def balanced_class_weight(labels: Sequence[str]) -> dict[str, float]:
    """n / (k · n_c), as scikit-learn's "balanced" (which partial_fit refuses)."""
    counts = Counter(labels)
    n, k = len(labels), len(counts)
    return {label: n / (k * c) for label, c in counts.items()}


def balanced_row_weights(labels: Sequence[str]) -> np.ndarray:
    """Each row's class weight (``balanced_class_weight``), for ``sample_weight``."""
    weights = balanced_class_weight(labels)
    return np.asarray([weights[label] for label in labels], dtype=np.float64)


def minority_of(labels: Sequence[str]) -> str:
    counts = Counter(labels)
    return min(counts, key=lambda label: (counts[label], label))


def carve_validation(labels: Sequence[str], seed: int) -> tuple[list[int], list[int]] | None:
    """(fit rows, validation rows) within a training part, or None when too small."""
    n = len(labels)
    k = len(set(labels))
    n_val = max(k, round(VALIDATION_FRACTION * n))
    counts = Counter(labels)
    if n - n_val < k or min(counts.values()) < 2:
        return None
    idx = np.arange(n)
    fit, val = train_test_split(
        idx, test_size=n_val, stratify=np.asarray(labels), random_state=seed
    )
    return sorted(fit.tolist()), sorted(val.tolist())
