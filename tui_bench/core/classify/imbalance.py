"""Class imbalance of a category, the profile it gets, and which categories to suggest.

Measures, for class counts n_1..n_k with n = Σ n_i and p_i = n_i / n:

- ``imbalance_ratio`` r = max n_i / min n_i (1 = balanced)
- ``normalized_entropy`` = H / ln k with H = -Σ p_i ln p_i (1 = balanced, in [0, 1])
- ``minority_share`` = min n_i / n
- ``minority_vs_fair`` = k · min n_i / n: the smallest class against its fair share 1/k
  (1 = balanced, → 0 as the smallest class vanishes)

Profile: the imbalance ratio alone decides it.

- balanced   if r ≤ 1.5  (the rarest class has at least 2/3 of the commonest one's rows;
  binary: minority ≥ 40 %)
- imbalanced if r ≥ 5    (the rarest class has at most 1/5 of the commonest one's rows;
  binary: minority ≤ 16.7 %)
- moderate   otherwise

Why the ratio, and why not the others: r compares the two classes that bound macro-F1
(the commonest, which a classifier over-predicts, and the rarest, whose F1 suffers), and
"the rarest class is 5 times smaller than the commonest" means the same thing with 2 or
with 10 classes. Normalised entropy does not: for one rare class at 1/5 of the others it
is 0.65 with k = 2 but 0.98 with k = 10, so an entropy threshold would call the 10-class
category balanced (the fault of the Gini score this replaces). The minority share shrinks
as 1/k by construction, and the share against the fair 1/k weighs a rare class by how
many other classes there are (one class at 0.3 of nine others: 0.32; the same 0.3 ratio
in a binary category: 0.46). Both are reported, not used for the profile. Within the
balanced band the entropy condition is implied: r ≤ 1.5 gives H / ln k ≥ 0.97 for any k.

Rare classes: a class with fewer than ``MIN_SAMPLES_PER_CLASS`` rows cannot be split
(a stratified test split, a validation split carved from training for early stopping and
up to 5-fold cross-validation each need a few rows of every class). Its rows are left
out of the benchmark of that category and the class is listed in ``dropped_classes``;
every measure above is computed on the classes that remain, since they are what gets
trained and scored. Real annotations often have such a class (a label used twice), and
dropping it keeps the rest of the category usable.

Eligibility: after dropping rare classes, a category needs at least ``MIN_CLASSES``
classes and ``MIN_SAMPLES`` rows. Others are excluded with the reason.

Suggestion: for each profile, the eligible category of that profile with the most
samples (ties: the name in alphabetical order), or none with the reason
"no category has this profile".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Profile = Literal["balanced", "moderate", "imbalanced"]
PROFILES: tuple[Profile, ...] = ("balanced", "moderate", "imbalanced")

BALANCED_MAX_RATIO = 1.5
IMBALANCED_MIN_RATIO = 5.0
MIN_CLASSES = 2
MIN_SAMPLES_PER_CLASS = 5
MIN_SAMPLES = 20

NO_PROFILE_REASON = "no category has this profile"


def thresholds() -> dict[str, Any]:
    """The thresholds, as stated in every report."""
    return {
        "profile_measure": "imbalance_ratio",
        "balanced_max_ratio": BALANCED_MAX_RATIO,
        "imbalanced_min_ratio": IMBALANCED_MIN_RATIO,
        "min_classes": MIN_CLASSES,
        "min_samples_per_class": MIN_SAMPLES_PER_CLASS,
        "min_samples": MIN_SAMPLES,
        "rule": (
            f"balanced if imbalance ratio (max/min class count) <= {BALANCED_MAX_RATIO:g}; "
            f"imbalanced if >= {IMBALANCED_MIN_RATIO:g}; moderate in between"
        ),
        "rare_class_rule": (
            f"classes with fewer than {MIN_SAMPLES_PER_CLASS} rows are left out of the benchmark"
        ),
        "eligibility": (
            f"at least {MIN_CLASSES} classes of {MIN_SAMPLES_PER_CLASS} rows or more "
            f"and {MIN_SAMPLES} rows in those classes"
        ),
        "suggestion": "per profile, the eligible category with the most samples (ties: name)",
    }


@dataclass
class CategoryImbalance:
    category: str
    language: str | None
    n_samples: int  # rows in the kept classes
    n_classes: int  # kept classes
    class_counts: dict[str, int]  # kept classes, commonest first, ties by label
    imbalance_ratio: float | None
    normalized_entropy: float | None
    minority_share: float | None
    minority_vs_fair: float | None
    minority_class: str | None
    majority_class: str | None
    profile: Profile | None
    eligible: bool
    reason: str | None  # why it is excluded, when it is
    dropped_classes: dict[str, int] = field(default_factory=dict)  # rare classes left out
    n_samples_all: int = 0  # rows with a label, dropped classes included

    @property
    def binary(self) -> bool:
        return self.n_classes == 2

    def to_dict(self, digits: int | None = None) -> dict[str, Any]:
        """Full precision unless ``digits`` is given (reports are rebuilt from it)."""
        out = asdict(self)
        if digits is None:
            return out
        for key in ("imbalance_ratio", "normalized_entropy", "minority_share", "minority_vs_fair"):
            if out[key] is not None:
                out[key] = round(out[key], digits)
        return out


def profile_of(ratio: float) -> Profile:
    if ratio <= BALANCED_MAX_RATIO:
        return "balanced"
    if ratio >= IMBALANCED_MIN_RATIO:
        return "imbalanced"
    return "moderate"


def analyse_counts(
    counts: Mapping[str, int], *, category: str = "", language: str | None = None
) -> CategoryImbalance:
    """Every measure of one category from its class counts (zero counts are ignored)."""
    every = sorted(((str(k), int(v)) for k, v in counts.items() if v > 0), key=_by_count)
    ordered = [(label, v) for label, v in every if v >= MIN_SAMPLES_PER_CLASS]
    dropped = {label: v for label, v in every if v < MIN_SAMPLES_PER_CLASS}
    n = sum(v for _, v in ordered)
    k = len(ordered)
    ratio = entropy = share = fair = None
    minority = majority = None
    profile: Profile | None = None
    if k >= 1:
        majority = ordered[0][0]
        minority = min(ordered, key=lambda kv: (kv[1], kv[0]))[0]
    if k >= 2:
        hi, lo = ordered[0][1], ordered[-1][1]
        ratio = hi / lo
        h = -sum((v / n) * math.log(v / n) for _, v in ordered)
        entropy = h / math.log(k)
        share = lo / n
        fair = k * lo / n
        profile = profile_of(ratio)
    reason = _exclusion_reason(every, ordered, n)
    return CategoryImbalance(
        category=category,
        language=language,
        n_samples=n,
        n_classes=k,
        class_counts=dict(ordered),
        imbalance_ratio=ratio,
        normalized_entropy=entropy,
        minority_share=share,
        minority_vs_fair=fair,
        minority_class=minority,
        majority_class=majority,
        profile=profile,
        eligible=reason is None,
        reason=reason,
        dropped_classes=dropped,
        n_samples_all=sum(v for _, v in every),
    )


def _by_count(kv: tuple[str, int]) -> tuple[int, str]:
    return (-kv[1], kv[0])


def _exclusion_reason(
    every: Sequence[tuple[str, int]], kept: Sequence[tuple[str, int]], n: int
) -> str | None:
    if not every:
        return "no labelled rows"
    if len(every) < MIN_CLASSES:
        return f"only one class ({every[0][0]!r}); at least {MIN_CLASSES} are needed"
    if len(kept) < MIN_CLASSES:
        return (
            f"{len(kept)} class(es) with at least {MIN_SAMPLES_PER_CLASS} rows; "
            f"at least {MIN_CLASSES} are needed"
        )
    if n < MIN_SAMPLES:
        return f"too few rows: {n} < {MIN_SAMPLES}"
    return None


def analyse_labels(
    labels: Iterable[str], *, category: str = "", language: str | None = None
) -> CategoryImbalance:
    return analyse_counts(Counter(labels), category=category, language=language)


def analyse_dataset(dataset: Any) -> list[CategoryImbalance]:
    """One analysis per category of a ``data.Dataset``, in category order."""
    return [analyse_labels(cat.labels, category=name) for name, cat in dataset.categories.items()]


@dataclass
class Suggestion:
    profile: Profile
    category: str | None
    reason: str  # why this one, or why none

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def suggest(analysis: Iterable[CategoryImbalance]) -> dict[Profile, Suggestion]:
    """One category per profile: the eligible one with the most samples (ties: name)."""
    rows = [a for a in analysis if a.eligible and a.profile is not None]
    out: dict[Profile, Suggestion] = {}
    for profile in PROFILES:
        candidates = sorted(
            (a for a in rows if a.profile == profile), key=lambda a: (-a.n_samples, a.category)
        )
        if not candidates:
            out[profile] = Suggestion(profile, None, NO_PROFILE_REASON)
            continue
        best = candidates[0]
        others = len(candidates) - 1
        why = f"most samples ({best.n_samples}) among {others + 1} {profile} categories"
        out[profile] = Suggestion(profile, best.category, why)
    return out
