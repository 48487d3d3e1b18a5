"""The whole flow on generated data: suggestions, rankings, reports, final models, errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import pytest
from classify_helpers import annotated_rows, write_csv

from tui_bench.core.classify.events import (
    CandidateFinished,
    ClassifyFinished,
    ClassifyStarted,
    FinalModelSaved,
    ImbalanceAnalysed,
)
from tui_bench.core.classify.runner import ClassifyConfig, run_classify
from tui_bench.core.errors import UserError

FAST = ["complement-nb", "tfidf-logreg"]


def test_suggested_categories_ranked_and_reported(profiled_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    events: list[Any] = []
    cfg = ClassifyConfig(
        data=profiled_csv,
        annotation_column="annotation",
        models=FAST,
        choose="top",
        output_dir=out,
    )
    result = run_classify(cfg, events.append)

    profiles = {a.category: a.profile for a in result.imbalance}
    assert profiles == {"sentiment": "balanced", "topic": "moderate", "spam": "imbalanced"}
    assert {p: s.category for p, s in result.suggested.items()} == {
        "balanced": "sentiment",
        "moderate": "topic",
        "imbalanced": "spam",
    }
    assert result.categories == ["sentiment", "topic", "spam"]
    assert result.status == "completed"

    # two candidates and two baselines per category, each category ranked on its own
    for category in result.categories:
        rows = [r for r in result.rows if r.category == category]
        assert [r.rank for r in rows] == [1, 2, None, None]
        assert [r.model for r in rows[-2:]] == ["majority", "stratified"]
        assert all(r.medal == "" and r.baseline for r in rows[-2:])
        assert rows[0].f1_vs_baseline is not None and rows[0].f1_vs_baseline > 0.3
        assert rows[0].ci_low is not None and rows[0].ci_high is not None
        # a medal exactly where the interval lies above zero
        assert rows[0].medal == ("🥇" if rows[0].ci_low > 0 else "")
        if category != "spam":  # 4 spam rows among 24 test rows: too few to be sure
            assert rows[0].medal == "🥇" and rows[0].verdict == "better than chance"
    groups = {r.category: r.group for r in result.rows}
    assert groups == {"sentiment": "binary", "topic": "multiclass", "spam": "binary"}
    assert {a.group for a in result.aggregates} == {"binary", "multiclass", "all"}
    n_cells = {"binary": 2, "multiclass": 1, "all": 3}
    assert all(a.n_cells == n_cells[a.group] for a in result.aggregates)

    # events in order
    kinds = [type(e) for e in events]
    assert kinds[0] is ClassifyStarted and kinds[1] is ImbalanceAnalysed
    assert kinds[-1] is ClassifyFinished
    assert sum(k is CandidateFinished for k in kinds) == 9
    assert sum(k is FinalModelSaved for k in kinds) == 3
    assert events[0].n_trainings == 9
    assert json.loads(json.dumps([e.to_json() for e in events]))[0]["event"] == "ClassifyStarted"

    # final models: the top model, one per category
    winner = result.choice["model"]
    assert winner in FAST
    assert [f.category for f in result.final] == ["sentiment", "topic", "spam"]
    model = joblib.load(out / "model-spam.joblib")
    assert set(model.predict(["spamspamcue0 spamspamcue1 spamspamcue2"])) <= {"ham", "spam"}

    # data.json
    data = json.loads((out / "data.json").read_text(encoding="utf-8"))
    assert json.loads(json.dumps(result.to_dict())) == data
    imbalance = {d["category"]: d for d in data["imbalance"]}
    assert imbalance["spam"]["imbalance_ratio"] == 5.0
    assert imbalance["spam"]["minority_share"] == 20 / 120  # full precision
    assert {
        "category",
        "n_classes",
        "n_samples",
        "imbalance_ratio",
        "normalized_entropy",
        "minority_share",
        "profile",
    } <= set(imbalance["topic"])
    assert data["suggested"] == {"balanced": "sentiment", "moderate": "topic", "imbalanced": "spam"}
    first = data["results"][0]
    assert {
        "rank",
        "model",
        "category",
        "language",
        "f1_macro",
        "accuracy",
        "balanced_accuracy",
        "train_time_s",
        "per_class_f1",
        "medal",
    } <= set(first)
    assert [f["category"] for f in data["final"]] == ["sentiment", "topic", "spam"]
    assert data["thresholds"]["balanced_max_ratio"] == 1.5

    # results.csv: one row per candidate and category
    with open(out / "results.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12
    assert rows[0]["rank"] == "1" and rows[2]["model"] == "majority" and rows[2]["rank"] == ""
    assert rows[3]["model"] == "stratified" and rows[3]["best_baseline"] == "True"
    assert (
        json.loads(rows[0]["confusion"])
        == result.result_for(rows[0]["model"], rows[0]["category"], None).confusion
    )  # type: ignore[union-attr]

    # report.md states the thresholds, medals, the baseline and how to read it
    md = (out / "report.md").read_text(encoding="utf-8")
    for needle in (
        "**balanced** if r ≤ 1.5",
        "**imbalanced** if r ≥ 5",
        "🥇 1",
        "| baseline | majority |",
        "### spam (binary",
        "### topic (multi-class, 3 classes",
        "### Binary categories",
        "### Multi-class categories",
        "## How to read these numbers",
        "model-spam.joblib",
    ):
        assert needle in md, needle


def test_explicit_categories_and_excluded_ones(tmp_path: Path) -> None:
    rows = annotated_rows(
        {
            "good": {"x": 30, "y": 30},
            "single": {"only": 40},
            "tiny": {"p": 8, "q": 8},
        },
        n_rows=60,
    )
    path = write_csv(tmp_path / "d.csv", rows)
    cfg = ClassifyConfig(data=path, annotation_column="annotation", models=FAST)
    result = run_classify(cfg)
    assert result.categories == ["good"]
    reasons = {e["category"]: e["reason"] for e in result.excluded}
    assert "only one class" in reasons["single"]
    assert reasons["tiny"] == "too few rows: 16 < 20"
    assert result.suggested["moderate"].category is None

    with pytest.raises(UserError) as info:
        run_classify(
            ClassifyConfig(
                data=path, annotation_column="annotation", categories=["tiny"], models=FAST
            )
        )
    assert str(info.value) == f"{path}: category 'tiny': too few rows: 16 < 20"
    with pytest.raises(UserError, match=r"no category 'nope' \(categories: good, single, tiny\)"):
        run_classify(
            ClassifyConfig(
                data=path, annotation_column="annotation", categories=["nope"], models=FAST
            )
        )


def test_nothing_to_benchmark_is_a_clear_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [{"text": f"t{i}", "label": "same"} for i in range(30)])
    with pytest.raises(UserError, match=r"no category can be benchmarked \(label: only one class"):
        run_classify(ClassifyConfig(data=path, label_column="label", models=FAST))


def _lang_rows(n_per_lang: int = 40) -> list[dict[str, Any]]:
    rows = []
    for lang, offset in (("en", 0), ("fr", 1000)):
        for row in annotated_rows(
            {"c": {"a": n_per_lang // 2, "b": n_per_lang // 2}}, n_rows=n_per_lang, seed=offset
        ):
            rows.append({**row, "lang": lang})
    return rows


def test_by_language_with_penalty_and_top(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", _lang_rows())
    out = tmp_path / "out"
    cfg = ClassifyConfig(
        data=path,
        annotation_column="annotation",
        models=["char-svm", "sgd"],
        by_language=True,
        language_penalty=0.5,
        choose="top",
        output_dir=out,
    )
    result = run_classify(cfg)
    assert sorted({(r.category, r.language) for r in result.rows}) == [("c", "en"), ("c", "fr")]
    assert {b.penalty for b in result.language_balance} == {0.5}
    assert result.choice["mode"] == "top" and result.choice["model"] in ("char-svm", "sgd")
    assert sorted(Path(f.model_path).name for f in result.final) == [
        "model-c-en.joblib",
        "model-c-fr.joblib",
    ]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Language balance penalty in use: score = mean macro-F1 over languages − 0.5 × sd" in md
    assert "### c / en" in md
    assert "| c | en | 40 | 2 | 1.00 | 1.000 | 0.500 | balanced | yes |" in md

    # without the penalty: the best model per language
    result = run_classify(
        ClassifyConfig(
            data=path,
            annotation_column="annotation",
            models=["char-svm", "sgd"],
            by_language=True,
            choose="top",
            output_dir=tmp_path / "o2",
        )
    )
    assert set(result.choice["models_by_language"]) == {"en", "fr"}
    assert result.language_balance == []


def test_manual_choice_per_language(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", _lang_rows())
    base: dict[str, Any] = {
        "data": path,
        "annotation_column": "annotation",
        "models": ["char-svm", "sgd"],
        "by_language": True,
        "output_dir": tmp_path / "out",
    }
    result = run_classify(
        ClassifyConfig(**base, choose_by_language={"en": "sgd", "fr": "char-svm"})
    )
    assert result.choice["mode"] == "manual"
    assert {(f.language, f.candidate) for f in result.final} == {("en", "sgd"), ("fr", "char-svm")}
    card = json.loads(Path(result.final[0].card_path).read_text(encoding="utf-8"))
    assert card["chosen_because"] == "chosen by name for this language"
    with pytest.raises(
        UserError, match=r"choice for en: 'mlp' is not among the models benchmarked"
    ):
        run_classify(ClassifyConfig(**base, choose_by_language={"en": "mlp"}))
    with pytest.raises(UserError, match=r"no benchmarked cell in 'de' \(languages: en, fr\)"):
        run_classify(ClassifyConfig(**base, choose_by_language={"de": "sgd"}))


def test_multilingual_data_needs_multilingual_candidates(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", _lang_rows())
    cfg = ClassifyConfig(
        data=path, annotation_column="annotation", models=["tfidf-logreg", "complement-nb"]
    )
    with pytest.raises(UserError, match=r"2 languages \(en, fr\) and one model serves them all"):
        run_classify(cfg)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"models": ["bert"]},
            "unknown model 'bert' (catalog: tfidf-logreg, char-svm, complement-nb, sgd, mlp)",
        ),
        (
            {"models": ["sgd", "majority"]},
            "pick at least 2 candidates besides the baseline (given: sgd;",
        ),
        ({"epochs": 0}, "epochs: 0 is not a whole number from 1 to 50"),
        ({"choose": "mlp"}, "choose: 'mlp' is not among the benchmarked models"),
        ({"choose": "majority"}, "choose: 'majority' is the baseline"),
        (
            {"choose": "top", "output_dir": None},
            "choose 'top' saves models: give an output directory",
        ),
        ({"label_column": "label"}, "give exactly one of --label-column or --annotation-column"),
        ({"language_penalty": 0.5}, "a language balance penalty needs training by language"),
        ({"cv": 1}, "cv: 1 folds"),
        ({"test_size": 0.9}, "test size: 0.9 is not between 0.05 and 0.5"),
    ],
)
def test_config_errors_are_one_line(
    profiled_csv: Path, tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    base: dict[str, Any] = {
        "data": profiled_csv,
        "annotation_column": "annotation",
        "models": FAST,
        "output_dir": tmp_path,
    }
    base.update(changes)
    with pytest.raises(UserError) as info:
        run_classify(ClassifyConfig(**base))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_cross_validation_needs_enough_rows_per_class(profiled_csv: Path) -> None:
    cfg = ClassifyConfig(data=profiled_csv, annotation_column="annotation", models=FAST, cv=3)
    result = run_classify(cfg)
    assert all(r.folds == 3 for r in result.results)
    assert all(r.f1_macro_sd is not None for r in result.results if r.ok)
    with pytest.raises(
        UserError, match="'spam': 10-fold cross-validation needs 10 rows in every class"
    ):
        # spam has 20 rows in its smallest class: fine; tiny categories are not. Use a
        # dataset whose smallest class has 6 rows:
        rows = annotated_rows({"spam": {"ham": 30, "spam": 6}}, n_rows=36)
        path = write_csv(profiled_csv.parent / "small.csv", rows)
        run_classify(ClassifyConfig(data=path, annotation_column="annotation", models=FAST, cv=10))


def test_core_classify_imports_no_ui_and_its_package_stays_light() -> None:
    code = (
        "import sys\n"
        "import tui_bench.core.classify as c\n"
        "heavy = {'sklearn', 'numpy', 'pyarrow', 'textual', 'rich'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "from tui_bench.core.classify import runner, report, corpora, final, train, rank\n"
        "assert c.run_classify is runner.run_classify\n"
        "assert 'textual' not in sys.modules\n"
        # scikit-learn >= 1.9 loads rich itself (sklearn.callback's progress bar) when rich
        # is installed; tui-bench's own modules never do.
        "assert 'rich' not in sys.modules or 'sklearn.callback._progressbar' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    package = Path(__file__).resolve().parents[2] / "tui_bench" / "core" / "classify"
    for source in package.glob("*.py"):
        for line in source.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if words[:1] in (["import"], ["from"]) and len(words) > 1:
                assert words[1].split(".")[0] not in ("textual", "rich"), (source.name, line)


def test_a_result_comes_back_from_its_stored_form(profiled_csv: Path, tmp_path: Path) -> None:
    """data.json / the history database hold ``to_dict``; ``from_dict`` gives back a result
    that serialises the same and reports the same figures (report rebuilt from history)."""
    from tui_bench.core.classify.report import render_markdown
    from tui_bench.core.classify.runner import ClassifyResult

    results = [
        run_classify(
            ClassifyConfig(
                data=profiled_csv,
                annotation_column="annotation",
                models=FAST,
                choose="top",
                output_dir=tmp_path / "a",
            )
        ),
        run_classify(
            ClassifyConfig(
                data=write_csv(tmp_path / "d.csv", _lang_rows()),
                annotation_column="annotation",
                models=["char-svm", "sgd"],
                by_language=True,
                language_penalty=0.5,
                choose="top",
                output_dir=tmp_path / "b",
            )
        ),
    ]
    for result in results:
        stored = json.loads(json.dumps(result.to_dict()))
        back = ClassifyResult.from_dict(stored)
        assert json.loads(json.dumps(back.to_dict())) == stored
        assert back.final and back.rows and back.suggested.keys() == result.suggested.keys()
        md = render_markdown(back)
        for row in stored["results"]:
            if row["rank"] == 1:
                assert f"| {row['model']} | {row['f1_macro']:.3f} |" in md.replace("**", "")
    balance = ClassifyResult.from_dict(results[1].to_dict()).language_balance
    assert [b.to_dict() for b in balance] == [b.to_dict() for b in results[1].language_balance]
