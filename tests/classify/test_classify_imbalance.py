"""Imbalance measures against hand computation, profile thresholds, exclusions, suggestions."""

from __future__ import annotations

import math

import pytest

from tui_bench.core.classify import imbalance as imb
from tui_bench.core.classify.imbalance import analyse_counts, profile_of, suggest


def test_binary_60_40_by_hand() -> None:
    a = analyse_counts({"pos": 60, "neg": 40}, category="sentiment")
    # ratio = 60 / 40 = 1.5
    assert a.imbalance_ratio == 1.5
    # H = -(0.6 ln 0.6 + 0.4 ln 0.4) = 0.306495 + 0.366516 = 0.673012; / ln 2 (0.693147)
    assert a.normalized_entropy == pytest.approx(0.970951, abs=1e-6)
    # minority share = 40 / 100; against the fair share 1/2: 2 * 40 / 100
    assert a.minority_share == pytest.approx(0.4)
    assert a.minority_vs_fair == pytest.approx(0.8)
    assert (a.minority_class, a.majority_class) == ("neg", "pos")
    assert (a.n_samples, a.n_classes, a.profile, a.eligible) == (100, 2, "balanced", True)
    assert list(a.class_counts) == ["pos", "neg"]  # commonest first


def test_three_classes_50_30_20_by_hand() -> None:
    a = analyse_counts({"c": 20, "a": 50, "b": 30})
    # ratio = 50 / 20 = 2.5 → between 1.5 and 5: moderate
    assert a.imbalance_ratio == 2.5
    assert a.profile == "moderate"
    # H = 0.5 ln 2 + 0.3 ln(1/0.3) + 0.2 ln 5 = 0.346574 + 0.361192 + 0.321888 = 1.029654
    # H / ln 3 = 1.029654 / 1.098612 = 0.937231
    assert a.normalized_entropy == pytest.approx(0.937231, abs=1e-6)
    # minority share = 20 / 100; vs fair: 3 * 20 / 100 = 0.6
    assert a.minority_share == pytest.approx(0.2)
    assert a.minority_vs_fair == pytest.approx(0.6)


def test_ten_classes_one_rare_is_as_imbalanced_as_a_binary_with_the_same_ratio() -> None:
    ten = analyse_counts({**{f"c{i}": 50 for i in range(9)}, "rare": 10})
    two = analyse_counts({"big": 50, "rare": 10})
    # both: ratio = 50 / 10 = 5 → imbalanced, whatever the number of classes
    assert ten.imbalance_ratio == two.imbalance_ratio == 5.0
    assert ten.profile == two.profile == "imbalanced"
    # entropy would disagree, which is why it does not decide the profile:
    # k=10: p = 50/460 (x9), 10/460; H = 9 * 0.108696 * 2.219203 + 0.021739 * 3.828641
    #       = 2.170960 + 0.083231 = 2.254191; / ln 10 (2.302585) = 0.978983
    # k=2:  p = 5/6, 1/6; H = 0.151934 + 0.298627 = 0.450561; / ln 2 = 0.650022
    assert ten.normalized_entropy == pytest.approx(0.978983, abs=1e-6)
    assert two.normalized_entropy == pytest.approx(0.650022, abs=1e-6)
    # minority share 10/460 = 0.021739, vs fair 10 * 10 / 460 = 0.217391
    assert ten.minority_share == pytest.approx(10 / 460)
    assert ten.minority_vs_fair == pytest.approx(100 / 460)


@pytest.mark.parametrize(
    ("counts", "ratio", "profile"),
    [
        ({"a": 30, "b": 20}, 1.5, "balanced"),  # 30/20 = 1.5: on the balanced bound
        ({"a": 31, "b": 20}, 1.55, "moderate"),  # 31/20 = 1.55: just past it
        ({"a": 49, "b": 10}, 4.9, "moderate"),  # 49/10 = 4.9: just under the imbalanced bound
        ({"a": 50, "b": 10}, 5.0, "imbalanced"),  # 50/10 = 5: on the imbalanced bound
        ({"a": 20, "b": 20, "c": 20}, 1.0, "balanced"),
        ({"a": 60, "b": 45, "c": 40, "d": 40}, 1.5, "balanced"),  # 60/40, k=4
        ({"a": 200, "b": 100, "c": 20}, 10.0, "imbalanced"),
    ],
)
def test_profile_thresholds_at_their_bounds(
    counts: dict[str, int], ratio: float, profile: str
) -> None:
    a = analyse_counts(counts)
    assert a.imbalance_ratio == pytest.approx(ratio)
    assert a.profile == profile
    assert profile_of(ratio) == profile


def test_thresholds_are_stated() -> None:
    t = imb.thresholds()
    assert t["balanced_max_ratio"] == imb.BALANCED_MAX_RATIO == 1.5
    assert t["imbalanced_min_ratio"] == imb.IMBALANCED_MIN_RATIO == 5.0
    assert "1.5" in t["rule"] and "5" in t["rule"]
    assert str(imb.MIN_SAMPLES) in t["eligibility"]


def test_balanced_band_implies_high_entropy_for_any_k() -> None:
    # the docstring's claim: r <= 1.5 gives H / ln k >= 0.97 for any k
    for k in range(2, 12):
        half = k // 2
        counts = {f"hi{i}": 15 for i in range(half)} | {f"lo{i}": 10 for i in range(k - half)}
        a = analyse_counts(counts)
        assert a.profile == "balanced"
        assert a.normalized_entropy is not None and a.normalized_entropy >= 0.97


def test_single_class_is_excluded_with_reason() -> None:
    a = analyse_counts({"only": 50}, category="c")
    assert not a.eligible and a.profile is None and a.imbalance_ratio is None
    assert a.reason is not None and "only one class" in a.reason and "'only'" in a.reason


def test_too_few_rows_is_excluded_with_reason() -> None:
    a = analyse_counts({"a": 10, "b": 9})  # 19 rows < 20
    assert not a.eligible
    assert a.reason == "too few rows: 19 < 20"
    assert a.profile == "moderate" or a.profile == "balanced"  # measured all the same


def test_rare_class_is_dropped_and_the_rest_measured() -> None:
    a = analyse_counts({"a": 30, "b": 20, "rare": 4})
    assert a.dropped_classes == {"rare": 4}
    assert a.eligible and a.n_classes == 2 and a.n_samples == 50 and a.n_samples_all == 54
    assert a.imbalance_ratio == 1.5  # 30 / 20, the rare class left out
    assert "rare" not in a.class_counts


def test_all_but_one_class_rare_is_excluded() -> None:
    a = analyse_counts({"a": 40, "b": 4, "c": 2})
    assert not a.eligible
    assert a.reason is not None and "1 class(es) with at least 5 rows" in a.reason
    assert a.dropped_classes == {"b": 4, "c": 2}


def test_no_rows() -> None:
    a = analyse_counts({})
    assert not a.eligible and a.reason == "no labelled rows" and a.n_classes == 0


def _cat(name: str, counts: dict[str, int]) -> imb.CategoryImbalance:
    return analyse_counts(counts, category=name)


def test_suggest_picks_the_largest_category_of_each_profile() -> None:
    analysis = [
        _cat("bal_small", {"a": 20, "b": 20}),  # 40 rows, balanced
        _cat("bal_big", {"a": 50, "b": 45}),  # 95 rows, balanced
        _cat("mod", {"a": 40, "b": 20}),  # ratio 2: moderate
        _cat("imb_big", {"a": 500, "b": 10}),  # imbalanced, 510 rows
        _cat("imb_excluded", {"a": 900, "b": 3}),  # b dropped → one class → excluded
    ]
    s = suggest(analysis)
    assert s["balanced"].category == "bal_big"
    assert "most samples (95) among 2 balanced" in s["balanced"].reason
    assert s["moderate"].category == "mod"
    assert s["imbalanced"].category == "imb_big"


def test_suggest_ties_go_to_the_first_name() -> None:
    s = suggest([_cat("zeta", {"a": 30, "b": 30}), _cat("alpha", {"x": 30, "y": 30})])
    assert s["balanced"].category == "alpha"


def test_suggest_says_when_no_category_has_a_profile() -> None:
    s = suggest([_cat("only_balanced", {"a": 30, "b": 30})])
    assert s["moderate"].category is None
    assert s["moderate"].reason == imb.NO_PROFILE_REASON == "no category has this profile"
    assert s["imbalanced"].category is None


def test_to_dict_is_plain_and_keeps_full_precision() -> None:
    a = analyse_counts({"a": 2, "b": 1, "c": 60, "d": 30})
    d = a.to_dict()
    assert d["imbalance_ratio"] == 2.0
    assert d["dropped_classes"] == {"a": 2, "b": 1}
    assert isinstance(d["normalized_entropy"], float)
    # stored unrounded: a report rebuilt from it shows what the original showed
    assert d["minority_share"] == 30 / 90
    assert math.isclose(a.to_dict(digits=4)["minority_share"], round(30 / 90, 4))
