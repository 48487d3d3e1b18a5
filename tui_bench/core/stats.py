"""Summary statistics and two-sample comparisons, as docs/metrics specify.

- percentiles: numpy's linear interpolation; p99.9 only with n >= 1000
- sd: sample standard deviation (ddof=1)
- ci95: Student-t interval of the mean
- comparisons: relative difference of medians with a bootstrap 95% interval, a
  Mann-Whitney U p-value and a verdict; never a verdict from a single sample; a change
  whose whole interval lies within ±``NOISE`` (1%) is "within noise", not faster or
  slower (as Criterion's noise threshold: significant, too small to matter).
- corrected resampled t: the mean of paired differences measured on overlapping
  train/test splits (cross-validation), its interval widened as Nadeau & Bengio (2003)
  correct it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass
class Summary:
    n: int
    mean: float | None
    median: float | None
    p90: float | None
    p99: float | None
    sd: float | None
    ci95: tuple[float, float] | None
    min: float | None
    max: float | None
    p999: float | None = None

    def as_dict(self, digits: int = 4) -> dict[str, Any]:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float):
                out[k] = round(v, digits)
            elif isinstance(v, tuple | list):
                out[k] = [round(x, digits) for x in v]
        if self.p999 is None:
            out.pop("p999")
        return out


EMPTY = Summary(0, None, None, None, None, None, None, None, None)


def t_critical(df: int, confidence: float = 0.95) -> float:
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, df))


def summarize(values: Sequence[float | None]) -> Summary:
    import numpy as np

    xs = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(xs.size)
    if n == 0:
        return EMPTY
    mean = float(xs.mean())
    p50, p90, p99 = (float(v) for v in np.percentile(xs, [50, 90, 99]))
    sd = ci = None
    if n >= 2:
        sd = float(xs.std(ddof=1))
        half = t_critical(n - 1) * sd / math.sqrt(n)
        ci = (mean - half, mean + half)
    p999 = float(np.percentile(xs, 99.9)) if n >= 1000 else None
    return Summary(n, mean, p50, p90, p99, sd, ci, float(xs.min()), float(xs.max()), p999)


def bootstrap_ci(
    values: Sequence[float],
    stat: str = "median",
    *,
    confidence: float = 0.95,
    n_resamples: int = 5000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval for the median (or a percentile like ``"p90"``)."""
    import numpy as np

    xs = np.asarray(values, dtype=float)
    if xs.size < 2:
        return None
    q = 50.0 if stat == "median" else float(stat.lstrip("p"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, xs.size, size=(n_resamples, xs.size))
    stats = np.percentile(xs[idx], q, axis=1)
    lo, hi = np.percentile(stats, [50 * (1 - confidence), 100 - 50 * (1 - confidence)])
    return float(lo), float(hi)


Verdict = Literal[
    "faster", "slower", "within noise", "no significant difference", "not enough data"
]
#: a significant change whose 95% interval lies within ±NOISE is "within noise"
NOISE = 0.01


def within_noise(ci: tuple[float, float] | None, noise: float = NOISE) -> bool:
    """The whole interval of a relative change inside ±``noise`` (ends included)."""
    return ci is not None and -noise <= ci[0] and ci[1] <= noise


@dataclass
class Comparison:
    metric: str
    higher_is_better: bool
    n_baseline: int
    n_candidate: int
    median_baseline: float | None
    median_candidate: float | None
    rel_diff: float | None  # (candidate - baseline) / baseline, of medians
    ci95: tuple[float, float] | None  # bootstrap interval of rel_diff
    p_value: float | None  # two-sided Mann-Whitney U
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("median_baseline", "median_candidate", "rel_diff", "p_value"):
            if out[k] is not None:
                out[k] = round(out[k], 6)
        if self.ci95 is not None:
            out["ci95"] = [round(x, 6) for x in self.ci95]
        return out


def compare(
    metric: str,
    baseline: Sequence[float | None],
    candidate: Sequence[float | None],
    *,
    higher_is_better: bool,
    alpha: float = 0.05,
    n_resamples: int = 5000,
    seed: int = 0,
    noise: float = NOISE,
) -> Comparison:
    """Baseline vs candidate on one metric.

    The verdict is "faster"/"slower" only when the Mann-Whitney test rejects equality at
    ``alpha`` *and* the bootstrap interval of the relative difference of medians excludes
    zero, and "within noise" instead when that interval lies within ±``noise``; with
    fewer than two samples on either side it is "not enough data".
    """
    import numpy as np

    a = np.asarray([v for v in baseline if v is not None and math.isfinite(v)], dtype=float)
    b = np.asarray([v for v in candidate if v is not None and math.isfinite(v)], dtype=float)
    med_a = float(np.median(a)) if a.size else None
    med_b = float(np.median(b)) if b.size else None
    rel = None
    if med_a not in (None, 0.0) and med_b is not None:
        rel = (med_b - med_a) / med_a
    if a.size < 2 or b.size < 2:
        return Comparison(
            metric,
            higher_is_better,
            int(a.size),
            int(b.size),
            med_a,
            med_b,
            rel,
            None,
            None,
            "not enough data",
        )

    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
    rng = np.random.default_rng(seed)
    ra = np.median(a[rng.integers(0, a.size, size=(n_resamples, a.size))], axis=1)
    rb = np.median(b[rng.integers(0, b.size, size=(n_resamples, b.size))], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rels = (rb - ra) / ra
    rels = rels[np.isfinite(rels)]
    ci = None
    if rels.size:
        lo, hi = np.percentile(rels, [2.5, 97.5])
        ci = (float(lo), float(hi))
    verdict: Verdict = "no significant difference"
    if rel is not None and ci is not None and p < alpha and (ci[0] > 0 or ci[1] < 0):
        better = rel > 0 if higher_is_better else rel < 0
        verdict = "within noise" if within_noise(ci, noise) else ("faster" if better else "slower")
    return Comparison(
        metric, higher_is_better, int(a.size), int(b.size), med_a, med_b, rel, ci, p, verdict
    )


@dataclass
class CorrectedT:
    """The corrected resampled t-test of J paired differences (Nadeau & Bengio 2003)."""

    n: int  # J, the number of train/test splits
    mean: float
    low: float
    high: float
    t: float | None  # None when every difference is the same (no spread to test)
    p_value: float  # two-sided
    df: int


def corrected_resampled_t(
    diffs: Sequence[float], *, n_train: float, n_test: float, confidence: float = 0.95
) -> CorrectedT | None:
    """Interval of the mean of ``diffs``, J paired differences (e.g. macro-F1 of A minus
    macro-F1 of B), one per train/test split of a single data set (k folds, r repeats).

    The splits share training rows, so the differences are correlated and the plain
    variance of their mean (s²/J) is too small: Nadeau & Bengio (2003) replace 1/J by
    1/J + n_test/n_train. With s² the sample variance (ddof 1) of the differences:

        se = sqrt((1/J + n_test/n_train) · s²),  t = mean / se,  df = J − 1,
        interval = mean ± t_{df, (1+confidence)/2} · se.

    ``n_train`` / ``n_test``: the rows of one split's training and test parts. None with
    fewer than two differences.
    """
    xs = [float(d) for d in diffs]
    j = len(xs)
    if j < 2 or n_train <= 0:
        return None
    if max(xs) == min(xs):  # no spread at all (not float noise around a mean)
        mean, var = xs[0], 0.0
    else:
        mean = math.fsum(xs) / j
        var = math.fsum((x - mean) ** 2 for x in xs) / (j - 1)
    se = math.sqrt((1.0 / j + n_test / n_train) * var)
    df = j - 1
    if se == 0.0:
        return CorrectedT(j, mean, mean, mean, None, 1.0 if mean == 0.0 else 0.0, df)
    from scipy.stats import t as student

    half = t_critical(df, confidence) * se
    t_stat = mean / se
    p = float(2.0 * student.sf(abs(t_stat), df))
    return CorrectedT(j, mean, mean - half, mean + half, t_stat, p, df)
