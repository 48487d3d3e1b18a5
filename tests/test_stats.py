"""Summary statistics and comparisons against hand computation."""

from __future__ import annotations

import math

import pytest

from tui_bench.core.stats import bootstrap_ci, compare, summarize


def test_summary_by_hand() -> None:
    xs = [10.0, 12.0, 14.0, 16.0, 18.0]
    s = summarize(xs)
    assert s.n == 5
    assert s.mean == pytest.approx(14.0)
    assert s.median == pytest.approx(14.0)
    # numpy linear interpolation: p90 at rank 0.9 * 4 = 3.6 -> 16 + 0.6 * 2 = 17.2
    assert s.p90 == pytest.approx(17.2)
    # p99 at rank 3.96 -> 16 + 0.96 * 2 = 17.92
    assert s.p99 == pytest.approx(17.92)
    # sample sd: deviations 4,2,0,2,4 -> squares 40 / (5-1) = 10 -> sqrt(10)
    assert s.sd == pytest.approx(math.sqrt(10))
    # t(0.975, 4) = 2.7764451; half width = 2.7764451 * sqrt(10) / sqrt(5)
    half = 2.7764451 * math.sqrt(10) / math.sqrt(5)
    assert s.ci95 == pytest.approx((14 - half, 14 + half), rel=1e-6)
    assert (s.min, s.max) == (10.0, 18.0)
    assert s.p999 is None


def test_summary_edge_cases() -> None:
    assert summarize([]).n == 0
    one = summarize([3.0, None])
    assert one.n == 1 and one.mean == 3.0 and one.sd is None and one.ci95 is None
    assert summarize([float("nan"), 1.0, 2.0]).n == 2
    assert summarize(list(range(1000))).p999 == pytest.approx(998.001)


def test_bootstrap_interval_contains_the_median() -> None:
    xs = [float(x) for x in range(1, 101)]
    lo, hi = bootstrap_ci(xs, "median")
    assert lo < 50.5 < hi
    assert bootstrap_ci([1.0]) is None


def test_compare_verdicts() -> None:
    base = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8, 100.1]
    faster = [x * 1.2 for x in base]
    c = compare("decode_tps", base, faster, higher_is_better=True)
    assert c.rel_diff == pytest.approx(0.2)
    assert c.verdict == "faster"
    assert c.ci95[0] > 0 and c.p_value < 0.05
    # for a latency a 20% increase is slower
    assert compare("ttft_ms", base, faster, higher_is_better=False).verdict == "slower"
    same = compare("decode_tps", base, list(reversed(base)), higher_is_better=True)
    assert same.verdict == "no significant difference"
    assert (
        compare("decode_tps", [100.0], [120.0, 121.0], higher_is_better=True).verdict
        == "not enough data"
    )


def test_a_significant_change_inside_one_percent_is_within_noise() -> None:
    """Peak RSS of two runs 60 KiB apart out of 223 MB, every request: Mann-Whitney and
    the interval both say "changed", but the whole interval lies inside ±1%."""
    from tui_bench.core.stats import NOISE, within_noise

    base = [223_732.0 + i for i in range(12)]
    cand = [223_672.0 + i for i in range(12)]
    c = compare("peak_rss_kb", base, cand, higher_is_better=False)
    assert c.p_value < 0.05 and c.ci95[1] < 0  # significant: every candidate is lower
    assert c.rel_diff == pytest.approx((223_677.5 - 223_737.5) / 223_737.5)  # -0.027%
    assert c.verdict == "within noise"
    # the band's edges: inside up to ±NOISE included, a hair beyond it is a change
    assert within_noise((-NOISE, NOISE)) and not within_noise((-NOISE, NOISE + 1e-9))
    assert not within_noise(None)
    # the same samples judged with a band narrower than the change: "faster" (lower RSS)
    assert (
        compare("peak_rss_kb", base, cand, higher_is_better=False, noise=1e-4).verdict == "faster"
    )
    # a 1.5% change whose interval reaches beyond 1% stays a change
    step = [x * 1.015 for x in base]
    assert compare("decode_tps", base, step, higher_is_better=True).verdict == "faster"
