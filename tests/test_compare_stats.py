"""The regression gate's statistics against published values and hand computations."""

from __future__ import annotations

import math

import pytest

from tui_bench.core.compare import significance as sig


def _hypergeom_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Fisher's two-sided p by hand: every table with the same margins that is no more
    likely than the observed one."""
    succ, total = x1 + x2, n1 + n2

    def prob(a: int) -> float:
        return math.comb(succ, a) * math.comb(total - succ, n1 - a) / math.comb(total, n1)

    seen = prob(x1)
    lo, hi = max(0, succ - n2), min(succ, n1)
    return sum(prob(a) for a in range(lo, hi + 1) if prob(a) <= seen * (1 + 1e-7))


def test_fisher_matches_the_tea_tasting_and_a_hand_count() -> None:
    # Fisher's lady tasting tea: 3 of 4 cups right in each group, two-sided p = 34/70
    assert sig.fisher_p(3, 4, 1, 4) == pytest.approx(34 / 70)
    assert sig.fisher_p(16, 16, 8, 16) == pytest.approx(_hypergeom_p(16, 16, 8, 16))
    # 24 successes of 32: all 16 in the baseline, or only 8 there (as likely): 2 tables
    assert sig.fisher_p(16, 16, 8, 16) == pytest.approx(2 * math.comb(24, 16) / math.comb(32, 16))


def test_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80,
    # method 10 (score, no continuity correction): 0.0524 to 0.3339
    lo, hi = sig.newcombe(48, 80, 56, 70)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


def test_mann_whitney_floor_says_when_nothing_can_be_detected() -> None:
    # complete separation is the most extreme outcome: 2 / C(n1 + n2, n1)
    assert sig.min_p_mann_whitney(3, 3) == pytest.approx(2 / math.comb(6, 3))
    assert sig.min_p_mann_whitney(4, 4) == pytest.approx(2 / math.comb(8, 4))
    mde, why = sig.sample_mde([10.0, 11.0, 12.0], [10.0, 11.0, 12.0])
    assert mde is None and why == "Mann-Whitney cannot reach p < 0.05 with n = 3 + 3"
    assert sig.sample_mde([10.0], [10.0, 11.0]) == (None, "too few samples")


def test_sample_mde_is_zero_without_spread_and_grows_with_it() -> None:
    same = [100.0] * 8
    assert sig.sample_mde(same, same) == (0.0, None)
    narrow, _ = sig.sample_mde([99.0, 100.0, 101.0] * 3, [99.0, 100.0, 101.0] * 3)
    wide, _ = sig.sample_mde([90.0, 100.0, 110.0] * 3, [90.0, 100.0, 110.0] * 3)
    assert narrow is not None and wide is not None
    # the bootstrap SE of a median scales with the spread: ten times the spread, ten times the MDE
    assert wide == pytest.approx(10 * narrow, rel=0.05)
    # (1.96 + 0.84) x SE: the median of 9 values moves by at most one step of 1%
    assert 0.005 < narrow < 0.03


def test_proportion_mde_is_the_drop_fisher_flags_80_percent_of_the_time() -> None:
    # 8/8 against 8 more: Fisher flags 0..3 successes (p = 0.026 at 3, 0.077 at 4)
    assert _hypergeom_p(8, 8, 3, 8) < 0.05 < _hypergeom_p(8, 8, 4, 8)

    def power(rate: float) -> float:  # P(at most 3 successes of 8)
        return sum(math.comb(8, k) * rate**k * (1 - rate) ** (8 - k) for k in range(4))

    drop = next(d / 1000 for d in range(1, 1001) if power(1 - d / 1000) >= 0.8)
    assert sig.proportion_mde(8, 8, 8) == (pytest.approx(drop), None)
    assert 0.69 < drop < 0.71
    assert sig.proportion_mde(0, 8, 8) == (None, "baseline success rate is 0: it cannot drop")
    assert sig.proportion_mde(2, 2, 2)[0] is None  # 2 + 2 can never be significant


def test_proportions_judge_a_drop_and_refuse_one_sample() -> None:
    t = sig.proportions(16, 16, 8, 16)
    assert (t.baseline, t.candidate, t.rel_diff) == (1.0, 0.5, -0.5)
    assert t.changed == -1 and t.p_value == pytest.approx(_hypergeom_p(16, 16, 8, 16))
    assert t.ci95 is not None and t.ci95[1] < 0  # the interval excludes no change
    one = sig.proportions(1, 1, 0, 1)
    assert one.changed is None and one.p_value is None and one.mde_note == "too few samples"
    same = sig.proportions(8, 8, 8, 8)
    assert same.changed == 0 and same.p_value == 1.0
