"""A label column of pure noise (labels shuffled at random, seeded) wins no medal: every
candidate is "not better than chance", with a hold-out split and with cross-validation,
in the result, the across-category table, the top choice's reason and report.md."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from classify_helpers import labelled_rows, write_csv

from tui_bench.core.classify import rank as rk
from tui_bench.core.classify.runner import ClassifyConfig, run_classify

MEDALS = ("🥇", "🥈", "🥉")


def shuffled_csv(path: Path, counts: dict[str, int], *, seed: int = 7) -> Path:
    """Texts that carry cue words of their label, the labels then shuffled: no text says
    anything about its label any more."""
    rows = labelled_rows(counts, seed=1)
    labels = [r["label"] for r in rows]
    random.Random(seed).shuffle(labels)
    return write_csv(path, [{**r, "label": lab} for r, lab in zip(rows, labels, strict=True)])


def _assert_no_medal(result: Any) -> None:
    candidates = [r for r in result.rows if not r.baseline]
    assert len(candidates) == 4
    assert all(r.medal == "" for r in result.rows)
    assert [r.verdict for r in candidates] == [rk.NOT_BETTER] * 4
    assert all(r.ci_low is not None and r.ci_low <= 0 for r in candidates)
    assert all(a.medal == "" and a.n_better == 0 for a in result.aggregates)
    assert rk.winners(result.rows) == {}


def test_a_shuffled_label_column_wins_no_medal(tmp_path: Path) -> None:
    data = shuffled_csv(tmp_path / "noise.csv", {"a": 150, "b": 100, "c": 50})
    out = tmp_path / "out"
    result = run_classify(
        ClassifyConfig(data=data, label_column="label", choose="top", output_dir=out)
    )
    _assert_no_medal(result)
    base = next(r for r in result.rows if r.best_baseline)
    assert base.model == "stratified"
    # the top choice is still made by the one rule, and says what it is worth
    assert result.choice["reason"].endswith("; not better than chance")
    assert result.significance["method"] == "bootstrap"

    md = (out / "report.md").read_text(encoding="utf-8")
    ranking, across = md.split("## Ranking per category")[1].split("## Across categories")
    assert not any(m in ranking + across.split("## Final choice")[0] for m in MEDALS)
    lines = [x for x in ranking.splitlines() if x.startswith("| ") and "| baseline |" not in x]
    models = [x.split("|")[2].strip() for x in lines if x.split("|")[1].strip().isdigit()]
    assert sorted(models) == ["char-svm", "complement-nb", "sgd", "tfidf-logreg"]
    for line in lines:
        if line.split("|")[1].strip().isdigit():
            assert "| not better than chance" in line, line


def test_a_shuffled_imbalanced_label_with_cross_validation(tmp_path: Path) -> None:
    # 90% ham: always answering ham is right 90% of the time, yet learns nothing
    data = shuffled_csv(tmp_path / "noise.csv", {"ham": 270, "spam": 30})
    result = run_classify(ClassifyConfig(data=data, label_column="label", cv=5, cv_repeats=2))
    _assert_no_medal(result)
    majority = next(r for r in result.rows if r.model == "majority")
    guess = next(r for r in result.rows if r.model == "stratified")
    assert majority.accuracy is not None and majority.accuracy > 0.89
    assert guess.best_baseline and guess.f1_macro is not None and 0.45 < guess.f1_macro < 0.55
    assert result.significance == {
        "method": "corrected t",
        "confidence": 0.95,
        "folds": 10,
        "cv": 5,
        "repeats": 2,
    }
    assert all(len(r.fold_f1) == 10 for r in result.results if r.ok)
