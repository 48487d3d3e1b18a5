"""Rankings: per cell, binary and multi-class apart, ties, baseline, medals, aggregates."""

from __future__ import annotations

import pytest

from tui_bench.core.classify import language_balance as lb
from tui_bench.core.classify import rank as rk
from tui_bench.core.classify.train import CandidateResult


def res(
    model: str,
    category: str,
    f1: float | None,
    *,
    acc: float = 0.5,
    t: float = 1.0,
    k: int = 2,
    lang: str | None = None,
    error: str | None = None,
) -> CandidateResult:
    classes = [f"c{i}" for i in range(k)]
    return CandidateResult(
        candidate=model,
        category=category,
        language=lang,
        baseline=model == "majority",
        n_classes=k,
        classes=classes,
        n_train=80,
        n_test=20,
        folds=1,
        f1_macro=f1,
        accuracy=acc if f1 is not None else None,
        balanced_accuracy=acc if f1 is not None else None,
        minority_class="c1",
        minority_f1=f1,
        train_time_s=t,
        predict_ms_per_1k=1.0,
        error=error,
    )


def test_binary_and_multiclass_are_ranked_separately() -> None:
    results = [
        # binary "spam": svm wins here ...
        res("svm", "spam", 0.90, k=2),
        res("logreg", "spam", 0.80, k=2),
        res("majority", "spam", 0.45, k=2),
        # ... multi-class "topic" (5 classes): lower F1 values, own ranking
        res("svm", "topic", 0.40, k=5),
        res("logreg", "topic", 0.60, k=5),
        res("majority", "topic", 0.07, k=5),
    ]
    rows = rk.rank_cells(results)
    spam = [(r.rank, r.model, r.group) for r in rows if r.category == "spam"]
    topic = [(r.rank, r.model, r.group) for r in rows if r.category == "topic"]
    assert spam == [(1, "svm", "binary"), (2, "logreg", "binary"), (None, "majority", "binary")]
    assert topic == [
        (1, "logreg", "multiclass"),
        (2, "svm", "multiclass"),
        (None, "majority", "multiclass"),
    ]
    # a rank-1 multi-class 0.60 sits above a rank-2 binary 0.80: scales never meet
    by = {(r.model, r.category): r for r in rows}
    assert by[("logreg", "topic")].rank == 1 and by[("logreg", "spam")].rank == 2
    # distance above the baseline: 0.90 - 0.45, 0.60 - 0.07
    assert by[("svm", "spam")].f1_vs_baseline == pytest.approx(0.45)
    assert by[("logreg", "topic")].f1_vs_baseline == pytest.approx(0.53)
    assert by[("majority", "spam")].f1_vs_baseline is None


def test_ties_fall_to_accuracy_then_training_time_then_name() -> None:
    rows = rk.rank_cells(
        [
            res("slow", "c", 0.8, acc=0.9, t=5.0),
            res("fast", "c", 0.8, acc=0.9, t=1.0),
            res("accurate", "c", 0.8, acc=0.95, t=9.0),
            res("b_same", "c", 0.7, acc=0.9, t=1.0),
            res("a_same", "c", 0.7, acc=0.9, t=1.0),
            res("best", "c", 0.8000001, acc=0.1, t=99.0),  # +1e-7: float noise, not a win
        ]
    )
    assert [r.model for r in rows] == ["accurate", "fast", "slow", "best", "a_same", "b_same"]
    assert [r.rank for r in rows] == [1, 2, 3, 4, 5, 6]


def _test(
    vs_base: dict[str, tuple[float, float]],
    vs_top: dict[str, tuple[float, float]] | None = None,
    *,
    top: str,
    baseline: str = "majority",
) -> rk.CellTest:
    return rk.CellTest("bootstrap", baseline, top, dict(vs_base), dict(vs_top or {}))


def test_baseline_never_ranked_nor_medalled_and_medals_need_an_interval_above_zero() -> None:
    results = [
        res("good", "c", 0.9),
        res("meh", "c", 0.5),  # above the baseline, but its interval reaches zero
        res("useless", "c", 0.4),  # rank 3 but below the baseline
        res("worse", "c", 0.1),
        res("majority", "c", 0.45),
    ]
    test = _test(
        {
            "good": (0.30, 0.60),
            "meh": (-0.02, 0.12),
            "useless": (-0.20, 0.05),
            "worse": (-0.50, -0.20),
        },
        {"meh": (-0.55, -0.25), "useless": (-0.7, -0.3), "worse": (-0.9, -0.6)},
        top="good",
    )
    rows = rk.rank_cells(results, {("c", None): test})
    by = {r.model: r for r in rows}
    assert [by[m].medal for m in ("good", "meh", "useless", "worse")] == ["🥇", "", "", ""]
    assert [by[m].verdict for m in ("good", "meh", "useless", "worse")] == [
        rk.BETTER,
        rk.NOT_BETTER,
        rk.NOT_BETTER,
        rk.NOT_BETTER,
    ]
    assert (by["meh"].ci_low, by["meh"].ci_high) == (-0.02, 0.12)
    assert by["worse"].rank == 4 and by["worse"].medal == ""
    assert by["majority"].rank is None and by["majority"].medal == ""
    assert by["majority"].best_baseline and by["majority"].verdict == ""
    assert by["useless"].f1_vs_baseline == pytest.approx(-0.05)
    assert [r.model for r in rows][-1] == "majority"
    # without a test (a result built by hand) there is no interval, so no medal at all
    untested = {r.model: r for r in rk.rank_cells(results)}
    assert all(r.medal == "" and r.verdict == "" for r in untested.values())
    assert untested["good"].rank == 1 and untested["good"].beats_chance is None


def test_the_better_baseline_is_the_one_candidates_are_held_to() -> None:
    results = [
        res("svm", "c", 0.40, k=3),
        res("majority", "c", 0.22, k=3),
        res("stratified", "c", 0.33, k=3),
    ]
    results[-1].baseline = True
    rows = rk.rank_cells(results)
    by = {r.model: r for r in rows}
    assert by["stratified"].best_baseline and not by["majority"].best_baseline
    assert by["svm"].f1_vs_baseline == pytest.approx(0.07)
    assert [r.model for r in rows] == ["svm", "majority", "stratified"]


def test_a_candidate_whose_difference_to_the_top_may_be_zero_is_tied() -> None:
    results = [res("a", "c", 0.82), res("b", "c", 0.80), res("z", "c", 0.60)]
    results.append(res("majority", "c", 0.3))
    test = _test(
        {"a": (0.4, 0.6), "b": (0.4, 0.6), "z": (0.2, 0.4)},
        {"b": (-0.05, 0.01), "z": (-0.30, -0.15)},
        top="a",
    )
    by = {r.model: r for r in rk.rank_cells(results, {("c", None): test})}
    assert (by["a"].tied_with, by["b"].tied_with, by["z"].tied_with) == (None, "a", None)
    assert (by["b"].top_low, by["b"].top_high) == (-0.05, 0.01)
    assert (by["a"].medal, by["b"].medal, by["z"].medal) == ("🥇", "🥈", "🥉")


def test_failed_candidates_are_listed_last_unranked() -> None:
    rows = rk.rank_cells(
        [
            res("broken", "c", None, error="ValueError: boom"),
            res("ok", "c", 0.7),
            res("majority", "c", 0.4),
        ]
    )
    assert [(r.model, r.rank) for r in rows] == [("ok", 1), ("majority", None), ("broken", None)]
    assert rows[-1].error == "ValueError: boom"


def test_cells_by_language_are_ranked_apart() -> None:
    rows = rk.rank_cells(
        [
            res("a", "c", 0.9, lang="en"),
            res("b", "c", 0.8, lang="en"),
            res("a", "c", 0.6, lang="fr"),
            res("b", "c", 0.7, lang="fr"),
        ]
    )
    assert [(r.language, r.model, r.rank) for r in rows] == [
        ("en", "a", 1),
        ("en", "b", 2),
        ("fr", "b", 1),
        ("fr", "a", 2),
    ]
    # a winner is a top candidate better than chance: none is without a test
    assert rk.winners(rows) == {}
    tests = {
        ("c", "en"): _test({"a": (0.1, 0.3), "b": (0.0, 0.2)}, top="a"),
        ("c", "fr"): _test({"b": (-0.1, 0.2), "a": (-0.1, 0.1)}, top="b"),
    }
    rows = rk.rank_cells(
        [res("majority", "c", 0.5, lang=lg) for lg in ("en", "fr")]
        + [
            res("a", "c", 0.9, lang="en"),
            res("b", "c", 0.8, lang="en"),
            res("a", "c", 0.6, lang="fr"),
            res("b", "c", 0.7, lang="fr"),
        ],
        tests,
    )
    assert rk.winners(rows) == {("c", "en"): "a"}  # fr's top is not better than chance


def test_aggregate_keeps_binary_and_multiclass_groups_apart() -> None:
    results = [
        res("x", "b1", 0.90, k=2),
        res("y", "b1", 0.80, k=2),
        res("majority", "b1", 0.40, k=2),
        res("x", "b2", 0.70, k=2),
        res("y", "b2", 0.90, k=2),
        res("majority", "b2", 0.40, k=2),
        res("x", "m1", 0.30, k=6),
        res("y", "m1", 0.50, k=6),
        res("majority", "m1", 0.05, k=6),
    ]
    results[0].train_time_s = 2.0  # x trains slower: the tie on mean rank and wins goes to y
    agg = rk.aggregate(rk.rank_cells(results))
    binary = [(a.model, a.rank, a.n_cells) for a in agg if a.group == "binary"]
    multi = [(a.model, a.rank, a.n_cells) for a in agg if a.group == "multiclass"]
    # binary: mean rank 1.5 and one win each; y trains faster
    assert binary == [("y", 1, 2), ("x", 2, 2)]
    assert multi == [("y", 1, 1), ("x", 2, 1)]
    y_bin = next(a for a in agg if a.group == "binary" and a.model == "y")
    assert y_bin.mean_f1_macro == pytest.approx(0.85)
    # mean above baseline: (0.80 - 0.40 + 0.90 - 0.40) / 2 = 0.45
    assert y_bin.mean_f1_vs_baseline == pytest.approx(0.45)
    assert y_bin.mean_rank == pytest.approx(1.5) and y_bin.wins == 1
    # both kinds in the run: a table over every cell too, the one the top choice reads
    assert [a.group for a in agg] == ["binary"] * 2 + ["multiclass"] * 2 + ["all"] * 2
    every = [(a.model, a.rank, a.n_cells) for a in agg if a.group == "all"]
    assert every == [("y", 1, 3), ("x", 2, 3)]
    assert all(a.medal == "" for a in agg)  # untested: no medal anywhere


def test_aggregate_leaves_models_with_a_missing_cell_unranked() -> None:
    results = [
        res("x", "b1", 0.9),
        res("y", "b1", 0.8),
        res("x", "b2", 0.9),
        res("y", "b2", None, error="boom"),
    ]
    agg = rk.aggregate(rk.rank_cells(results))
    assert [(a.model, a.rank, a.n_missing) for a in agg] == [("x", 1, 0), ("y", None, 1)]


def test_best_overall_uses_mean_rank_not_mixed_scores() -> None:
    results = [
        # y has the higher mean raw F1 (0.95 + 0.30) / 2 = 0.625 vs x (0.90 + 0.34) / 2 = 0.62,
        # but that mean would add a binary F1 to a 10-class F1: x wins both cells by rank.
        res("x", "bin", 0.96, k=2),
        res("y", "bin", 0.95, k=2),
        res("x", "multi", 0.34, k=10),
        res("y", "multi", 0.30, k=10),
        res("z", "bin", 0.10, k=2),
        res("z", "multi", 0.50, k=10),
    ]
    rows = rk.rank_cells(results)
    model, why = rk.best_overall(rows)
    # mean ranks: x (1 + 2) / 2 = 1.5, y (2 + 3) / 2 = 2.5, z (3 + 1) / 2 = 2.0
    assert model == "x"
    assert "1.50 over 2 cells" in why


def test_best_overall_ties_go_to_more_wins_then_time() -> None:
    results = [
        res("a", "c1", 0.9, t=5.0),
        res("b", "c1", 0.8, t=1.0),
        res("a", "c2", 0.7, t=5.0),
        res("b", "c2", 0.8, t=1.0),
    ]
    model, _ = rk.best_overall(rk.rank_cells(results))
    assert model == "b"  # mean rank 1.5 each, one win each, b trains faster


def test_best_overall_per_language() -> None:
    results = [
        res("a", "c", 0.9, lang="en"),
        res("b", "c", 0.8, lang="en"),
        res("a", "c", 0.6, lang="fr"),
        res("b", "c", 0.7, lang="fr"),
    ]
    rows = rk.rank_cells(results)
    assert rk.best_overall(rows, language="en", by_language=True)[0] == "a"
    assert rk.best_overall(rows, language="fr", by_language=True)[0] == "b"


def test_language_balance_penalises_uneven_models() -> None:
    results = [
        # steady: 0.80 in both languages; spiky: 0.95 and 0.70
        res("steady", "c", 0.80, lang="en"),
        res("steady", "c", 0.80, lang="fr"),
        res("spiky", "c", 0.95, lang="en"),
        res("spiky", "c", 0.70, lang="fr"),
    ]
    rows = rk.rank_cells(results)
    balance = lb.language_balance(rows, penalty=1.0)
    by = {b.model: b for b in balance}
    # spiky: mean (0.95 + 0.70) / 2 = 0.825, population sd = 0.125, score = 0.825 - 0.125
    assert by["spiky"].mean_f1_macro == pytest.approx(0.825)
    assert by["spiky"].sd_f1_macro == pytest.approx(0.125)
    assert by["spiky"].score == pytest.approx(0.70)
    assert by["steady"].score == pytest.approx(0.80)
    assert (by["steady"].rank, by["spiky"].rank) == (1, 2)
    # without the penalty the higher mean wins
    no_penalty = {b.model: b.rank for b in lb.language_balance(rows, penalty=0.0)}
    assert no_penalty == {"spiky": 1, "steady": 2}
    model, why = lb.best_balanced(balance)
    assert model == "steady" and "1 x sd" in why


def test_language_balance_scores_binary_and_multiclass_languages_apart() -> None:
    results = [
        res("a", "c", 0.9, lang="en", k=2),
        res("b", "c", 0.8, lang="en", k=2),
        res("a", "c", 0.3, lang="fr", k=4),
        res("b", "c", 0.5, lang="fr", k=4),
    ]
    balance = lb.language_balance(rk.rank_cells(results), penalty=0.5)
    assert {(b.group, tuple(b.languages)) for b in balance} == {
        ("binary", ("en",)),
        ("multiclass", ("fr",)),
    }
    assert lb.best_balanced(balance)[0] == "a"  # mean rank (1 + 2) / 2 each: the name decides


def test_one_rule_gives_the_across_category_gold_and_the_top_choice() -> None:
    # p has the higher mean macro-F1 (0.77 against 0.75), q the lower mean rank (1.5 against
    # 2.0): the medal used to follow the first and the choice the second.
    results = [
        res("p", "c1", 0.99),
        res("q", "c1", 0.70),
        res("r", "c1", 0.60),
        res("p", "c2", 0.55),
        res("q", "c2", 0.80),
        res("r", "c2", 0.60),
    ]
    results += [res("majority", c, 0.3) for c in ("c1", "c2")]
    above = {m: (0.05, 0.3) for m in ("p", "q", "r")}
    tests = {
        ("c1", None): _test(above, top="p"),
        ("c2", None): _test(above, top="q"),
    }
    rows = rk.rank_cells(results, tests)
    agg = rk.aggregate(rows)
    gold = next(a for a in agg if a.medal == "🥇")
    model, why = rk.best_overall(rows)
    assert gold.model == model == "q"
    assert next(a for a in agg if a.model == "p").mean_f1_macro == pytest.approx(0.77)
    assert why == (
        "best mean place (1.50 over 2 cells, mean rank 1.50); better than chance in all 2 cells"
    )
    assert [a.verdict for a in agg] == ["better than chance in all 2 cells"] * 3
    # a model not better than chance in one of its cells keeps its rank, not its medal
    tests[("c2", None)] = _test({**above, "q": (-0.01, 0.2)}, top="q")
    agg = rk.aggregate(rk.rank_cells(results, tests))
    q = next(a for a in agg if a.model == "q")
    assert (q.rank, q.medal, q.verdict) == (1, "", "better than chance in 1 of 2 cells")
