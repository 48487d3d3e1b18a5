"""Medals that must beat chance: places per metric from compare's statistics, ties said."""

from __future__ import annotations

import numpy as np
import pytest
from report_helpers import from_rates, rec, seeded_rates

from tui_bench.core.compare.significance import samples
from tui_bench.core.medals import order_text, placings, task_winners, values


def test_the_same_speed_distribution_is_a_tie_not_a_medal() -> None:
    rates = seeded_rates()
    recs = from_rates({"a": rates["a"], "b": rates["b"]})
    a, b = placings(recs, ["a", "b"], "decode_tps")
    # both first, each naming the other: a shared place
    assert (a.model, a.place, a.tied_with) == ("a", 1, ("b",))
    assert (b.model, b.place, b.tied_with) == ("b", 1, ("a",))
    assert a.medal == b.medal == "🥇" and a.tied and b.tied
    # the evidence is compare's own comparison of the two samples, and its interval holds 0
    t = samples(
        values(recs, "decode_tps", "a"), values(recs, "decode_tps", "b"), higher_is_better=True
    )
    assert b.against == "a" and b.ci95 == t.ci95 and b.p_value == t.p_value
    assert b.ci95 is not None and b.ci95[0] < 0 < b.ci95[1]
    assert b.median == pytest.approx(float(np.median(rates["b"])), rel=1e-6)


def test_a_clearly_faster_model_has_the_gold_alone() -> None:
    recs = from_rates(seeded_rates())
    c, a, b = placings(recs, ["a", "b", "c"], "decode_tps")
    assert (c.model, c.place, c.medal, c.tied) == ("c", 1, "🥇", False)
    # a and b share the next place: second, silver, tied
    assert (a.place, b.place) == (2, 2) and a.medal == b.medal == "🥈"
    assert a.tied_with == ("b",) and b.tied_with == ("a",)
    # a was tested against c, and its interval lies below zero (about -33%)
    assert a.against == "c" and a.ci95 is not None and a.ci95[1] < 0
    assert a.rel_diff == pytest.approx(a.median / c.median - 1)
    assert order_text([c, a, b]) == (
        f"c ({c.median:,.1f}) > a ({a.median:,.1f}) = b ({b.median:,.1f}) (tied)"
    )


def test_places_count_as_in_sport_and_lower_is_better_for_times() -> None:
    # TTFT: x and y tied first (same values), z clearly slower: third, bronze
    recs = []
    for i in range(8):
        recs.append(rec(len(recs), "x", rate=100, ttft=50 + i % 4))
        recs.append(rec(len(recs), "y", rate=100, ttft=50 + (i + 1) % 4))
        recs.append(rec(len(recs), "z", rate=100, ttft=90 + i % 4))
    places = {p.model: p for p in placings(recs, ["x", "y", "z"], "ttft_ms")}
    assert (places["x"].place, places["y"].place, places["z"].place) == (1, 1, 3)
    assert places["z"].medal == "🥉" and not places["z"].tied
    assert places["z"].against in ("x", "y") and places["z"].ci95[0] > 0  # type: ignore[index]


def test_one_value_is_never_a_verdict_and_a_lone_model_is_first() -> None:
    recs = from_rates({"a": [200.0], "b": [100.0]})
    a, b = placings(recs, ["a", "b"], "decode_tps")
    assert a.place == b.place == 1 and a.tied and b.tied and b.ci95 is None
    (alone,) = placings(from_rates({"solo": [50.0, 60.0]}), ["solo"], "decode_tps")
    assert (alone.place, alone.medal, alone.tied) == (1, None, False)  # nothing compared
    assert alone.as_dict()["medal"] is None and alone.as_dict()["place"] == 1
    # a model without a valid value has no place
    none = placings(from_rates({"a": [1.0, 2.0]}), ["a", "ghost"], "decode_tps")
    assert [(p.model, p.place, p.medal) for p in none] == [("a", 1, None), ("ghost", None, None)]


def test_task_winners_say_ties_per_task() -> None:
    rates = seeded_rates()
    recs = from_rates({"a": rates["a"], "b": rates["b"]}, task="analysis")
    recs += [rec(len(recs) + i, m, rate=r, task="code") for i, (m, r) in enumerate(
        [("a", 300.0), ("a", 310.0), ("a", 305.0), ("b", 100.0), ("b", 101.0), ("b", 99.0)]
    )]  # fmt: skip
    analysis, code = task_winners(recs, ["a", "b"], ["analysis", "code"], "decode_tps")
    assert analysis["task"] == "analysis" and analysis["text"].endswith("(tied)")
    assert [p["place"] for p in analysis["places"]] == [1, 1]
    assert code["text"] == "a (305.0) > b (100.0)"
    assert [(p["model"], p["medal"]) for p in code["places"]] == [("a", "gold"), ("b", "silver")]


def test_a_difference_inside_the_noise_band_shares_the_place() -> None:
    """b decodes 0.1% slower than a on every request: significant (no overlap), but the
    whole interval lies within ±1%, so they share the first place; c, 10% slower, is third."""
    a = [100.0 + 0.01 * i for i in range(8)]
    recs = from_rates({"a": a, "b": [x * 0.999 for x in a], "c": [x * 0.9 for x in a]})
    got = {p.model: p for p in placings(recs, ["a", "b", "c"], "decode_tps")}
    b = got["b"]
    assert b.p_value is not None and b.p_value < 0.05 and b.ci95 is not None
    assert -0.01 <= b.ci95[0] <= b.ci95[1] < 0  # lower for sure, by less than 1%
    assert (got["a"].place, b.place, got["c"].place) == (1, 1, 3)
    assert b.tied_with == ("a",) and got["c"].medal == "🥉"
