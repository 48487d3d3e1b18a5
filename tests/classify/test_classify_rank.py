"""Rankings: per cell, binary and multi-class apart, ties, baseline, medals, aggregates."""

from __future__ import annotations

import pytest

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


def test_baseline_never_ranked_nor_medalled_and_medals_need_to_beat_it() -> None:
    rows = rk.rank_cells(
        [
            res("good", "c", 0.9),
            res("meh", "c", 0.5),
            res("useless", "c", 0.4),  # rank 3 but below the baseline
            res("worse", "c", 0.1),
            res("majority", "c", 0.45),
        ]
    )
    by = {r.model: r for r in rows}
    assert (by["good"].medal, by["meh"].medal, by["useless"].medal) == ("🥇", "🥈", "")
    assert by["worse"].rank == 4 and by["worse"].medal == ""
    assert by["majority"].rank is None and by["majority"].medal == ""
    assert by["useless"].f1_vs_baseline == pytest.approx(-0.05)
    assert [r.model for r in rows][-1] == "majority"


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
    assert rk.winners(rows) == {("c", "en"): "a", ("c", "fr"): "b"}


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
    agg = rk.aggregate(rk.rank_cells(results))
    binary = [(a.model, a.rank, a.n_cells) for a in agg if a.group == "binary"]
    multi = [(a.model, a.rank, a.n_cells) for a in agg if a.group == "multiclass"]
    # binary means: x (0.90 + 0.70) / 2 = 0.80; y (0.80 + 0.90) / 2 = 0.85
    assert binary == [("y", 1, 2), ("x", 2, 2)]
    assert multi == [("y", 1, 1), ("x", 2, 1)]
    y_bin = next(a for a in agg if a.group == "binary" and a.model == "y")
    assert y_bin.mean_f1_macro == pytest.approx(0.85)
    # mean above baseline: (0.80 - 0.40 + 0.90 - 0.40) / 2 = 0.45
    assert y_bin.mean_f1_vs_baseline == pytest.approx(0.45)
    assert y_bin.mean_rank == pytest.approx(1.5) and y_bin.wins == 1
    assert [a.group for a in agg] == ["binary", "binary", "multiclass", "multiclass"]


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
    balance = rk.language_balance(rows, penalty=1.0)
    by = {b.model: b for b in balance}
    # spiky: mean (0.95 + 0.70) / 2 = 0.825, population sd = 0.125, score = 0.825 - 0.125
    assert by["spiky"].mean_f1_macro == pytest.approx(0.825)
    assert by["spiky"].sd_f1_macro == pytest.approx(0.125)
    assert by["spiky"].score == pytest.approx(0.70)
    assert by["steady"].score == pytest.approx(0.80)
    assert (by["steady"].rank, by["spiky"].rank) == (1, 2)
    # without the penalty the higher mean wins
    no_penalty = {b.model: b.rank for b in rk.language_balance(rows, penalty=0.0)}
    assert no_penalty == {"spiky": 1, "steady": 2}
    model, why = rk.best_balanced(balance)
    assert model == "steady" and "1 x sd" in why


def test_language_balance_scores_binary_and_multiclass_languages_apart() -> None:
    results = [
        res("a", "c", 0.9, lang="en", k=2),
        res("b", "c", 0.8, lang="en", k=2),
        res("a", "c", 0.3, lang="fr", k=4),
        res("b", "c", 0.5, lang="fr", k=4),
    ]
    balance = rk.language_balance(rk.rank_cells(results), penalty=0.5)
    assert {(b.group, tuple(b.languages)) for b in balance} == {
        ("binary", ("en",)),
        ("multiclass", ("fr",)),
    }
    assert rk.best_balanced(balance)[0] == "a"  # mean rank (1 + 2) / 2 each: the name decides
