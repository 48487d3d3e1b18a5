"""The statistics of the regression gate, one function per kind of metric.

- samples (timings, tokens, memory, quality scores): the relative difference of medians
  with its bootstrap 95% interval and a two-sided Mann-Whitney U p-value
  (:func:`tui_bench.core.stats.compare`), plus the smallest change the samples could
  have detected (:func:`sample_mde`);
- proportions (success rate): Fisher's exact test on the 2x2 table of successes and
  failures, Newcombe's score interval of the difference of rates, and the smallest drop
  Fisher's test would detect (:func:`proportion_mde`).

Minimum detectable effect (MDE), 80% power at alpha = 0.05 two-sided:
- samples: (z(0.975) + z(0.80)) x SE, where SE is the standard deviation of the
  bootstrap distribution of the relative difference of medians (5000 resamples of each
  side). Where Mann-Whitney cannot reach p < alpha at these sample sizes whatever the
  data (n = 3 + 3 cannot), nothing is detectable and the MDE is None with that reason.
- proportions: the smallest relative drop of the candidate's true success rate, from the
  baseline's observed rate, that Fisher's test (baseline counts as observed, candidate
  counts binomial) flags with probability >= 0.8, found on a grid of 0.1% steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tui_bench.core.stats import NOISE, Comparison, compare

ALPHA = 0.05
POWER = 0.80
N_RESAMPLES = 5000


@dataclass
class Tested:
    """One metric's comparison, before it is named and judged against a threshold.
    ``baseline``/``candidate``: medians (samples) or rates (proportions); ``rel_diff``
    and ``ci95`` relative to the baseline; ``changed``: +1 / -1 when the test says the
    candidate is higher / lower, 0 when it cannot tell, None when it could not test."""

    n_baseline: int
    n_candidate: int
    baseline: float | None
    candidate: float | None
    rel_diff: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    test: str
    changed: int | None
    mde: float | None
    mde_note: str | None = None
    #: significant, but the whole interval within the noise band (``stats.NOISE``)
    within_noise: bool = False


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def min_p_mann_whitney(n1: int, n2: int) -> float:
    """The smallest two-sided p-value Mann-Whitney can give at these sizes (complete
    separation, no ties), as scipy computes it."""
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(range(n1), range(n1, n1 + n2), alternative="two-sided").pvalue)


def sample_mde(
    a: Sequence[float], b: Sequence[float], *, seed: int = 0
) -> tuple[float | None, str | None]:
    """(relative MDE, None) or (None, why there is none); see the module docstring."""
    import numpy as np
    from scipy.stats import norm

    if len(a) < 2 or len(b) < 2:
        return None, "too few samples"
    if min_p_mann_whitney(len(a), len(b)) >= ALPHA:
        return None, f"Mann-Whitney cannot reach p < {ALPHA:g} with n = {len(a)} + {len(b)}"
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    med_a = float(np.median(xa))
    if med_a == 0:
        return None, "baseline median is 0: no relative change"
    rng = np.random.default_rng(seed)
    ra = np.median(xa[rng.integers(0, xa.size, size=(N_RESAMPLES, xa.size))], axis=1)
    rb = np.median(xb[rng.integers(0, xb.size, size=(N_RESAMPLES, xb.size))], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rels = (rb - ra) / ra
    rels = rels[np.isfinite(rels)]
    se = float(np.std(rels, ddof=1)) if rels.size > 1 else 0.0
    return (float(norm.ppf(1 - ALPHA / 2)) + float(norm.ppf(POWER))) * se, None


def samples(
    baseline: Sequence[float | None],
    candidate: Sequence[float | None],
    *,
    higher_is_better: bool,
    noise: float = NOISE,
) -> Tested:
    a, b = _finite(baseline), _finite(candidate)
    c: Comparison = compare(
        "x",
        a,
        b,
        higher_is_better=higher_is_better,
        alpha=ALPHA,
        n_resamples=N_RESAMPLES,
        noise=noise,
    )
    p = c.p_value
    if p is not None and not math.isfinite(p):
        p = 1.0  # no spread on either side: nothing to reject
    changed: int | None = None
    if c.verdict != "not enough data":
        changed = 0
        if c.verdict in ("faster", "slower") and c.rel_diff is not None:
            changed = 1 if c.rel_diff > 0 else -1
    mde, note = sample_mde(a, b)
    return Tested(
        len(a),
        len(b),
        c.median_baseline,
        c.median_candidate,
        c.rel_diff,
        c.ci95,
        p,
        "Mann-Whitney U",
        changed,
        mde,
        note,
        within_noise=c.verdict == "within noise",
    )


def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def newcombe(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """95% interval of p2 - p1 (Newcombe's hybrid score method, no continuity correction)."""
    z = 1.959963984540054
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = _wilson(x1, n1, z)
    l2, u2 = _wilson(x2, n2, z)
    d = p2 - p1
    lo = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    hi = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return lo, hi


def fisher_p(x1: int, n1: int, x2: int, n2: int) -> float:
    from scipy.stats import fisher_exact

    return float(fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue)


def proportion_mde(x1: int, n1: int, n2: int) -> tuple[float | None, str | None]:
    """(relative drop, None) or (None, why): see the module docstring."""
    import numpy as np
    from scipy.stats import binom

    p1 = x1 / n1
    if p1 == 0:
        return None, "baseline success rate is 0: it cannot drop"
    low = [x for x in range(n2 + 1) if x / n2 < p1 and fisher_p(x1, n1, x, n2) < ALPHA]
    if not low:
        return None, f"Fisher's test cannot flag a drop with n = {n1} + {n2}"
    drops = np.arange(1, 1001) / 1000  # 0.1% steps of the baseline rate
    rates = p1 * (1 - drops)
    # the chance that the candidate's count lands where Fisher's test flags a drop
    power = binom.pmf(np.asarray(low)[None, :], n2, rates[:, None]).sum(axis=1)
    hit = np.nonzero(power >= POWER)[0]
    return (float(drops[hit[0]]), None) if hit.size else (None, "no drop reaches 80% power")


def proportions(x1: int, n1: int, x2: int, n2: int) -> Tested:
    """Success rates x1/n1 (baseline) and x2/n2 (candidate)."""
    r1 = x1 / n1 if n1 else None
    r2 = x2 / n2 if n2 else None
    rel = None if r1 in (None, 0.0) or r2 is None else (r2 - r1) / r1
    if n1 < 2 or n2 < 2:
        return Tested(
            n1, n2, r1, r2, rel, None, None, "Fisher exact", None, None, "too few samples"
        )
    assert r1 is not None and r2 is not None
    p = fisher_p(x1, n1, x2, n2)
    lo, hi = newcombe(x1, n1, x2, n2)
    ci = None if r1 == 0 else (lo / r1, hi / r1)
    changed = 0 if p >= ALPHA or r1 == r2 else (1 if r2 > r1 else -1)
    mde, note = proportion_mde(x1, n1, n2)
    return Tested(n1, n2, r1, r2, rel, ci, p, "Fisher exact", changed, mde, note)
