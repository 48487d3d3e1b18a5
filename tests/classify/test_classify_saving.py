"""A finished benchmark survives whatever happens to its files: an output folder that cannot
be written is an error before any training; a chosen model that cannot be trained or
saved is one line (SaveError, exit code 3) while the ranking and the report stay; every
category gets its own model file, whatever its name."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import joblib
import pytest
from classify_helpers import annotated_rows, labelled_rows, read_only_folder, write_csv

from tui_bench.core.classify.events import ClassifyFinished, FinalModelSaved
from tui_bench.core.classify.runner import (
    ClassifyConfig,
    run_classify,
    save_result,
    train_chosen,
)
from tui_bench.core.errors import EXIT_SAVE_FAILED, SaveError, UserError
from tui_bench.core.events import Log
from tui_bench.core.output_dir import check_output_dir

LONG = "c" * 300  # longer than any file system allows for one name


def _sentiment_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "sentiment.csv", labelled_rows({"pos": 30, "neg": 30}))


def _no_words_csv(tmp_path: Path) -> Path:
    """Texts of one-letter tokens: word TF-IDF finds no vocabulary (tfidf-logreg fails),
    character n-grams learn them (char-svm works)."""
    rows = [
        {"text": " ".join(["a b c", "x y z"][i % 2] for _ in range(2)), "label": ["p", "q"][i % 2]}
        for i in range(40)
    ]
    return write_csv(tmp_path / "no-words.csv", rows)


@pytest.mark.parametrize("case", ["file", "under a file", "name too long", "read-only"])
def test_an_unwritable_output_folder_stops_before_training(tmp_path: Path, case: str) -> None:
    data = _sentiment_csv(tmp_path)
    (tmp_path / "taken").write_text("a file\n")
    out, expected = {
        "file": (tmp_path / "taken", "is a file, not a folder"),
        "under a file": (tmp_path / "taken" / "out", f"{tmp_path / 'taken'} is a file"),
        "name too long": (tmp_path / LONG / "out", "is longer than the 255 bytes"),
        "read-only": (tmp_path / "ro" / "out", "cannot write"),
    }[case]
    events: list[Any] = []
    cfg = ClassifyConfig(data=data, label_column="label", choose="top", output_dir=out)
    ro = read_only_folder(tmp_path / "ro") if case == "read-only" else contextlib.nullcontext()
    with ro:
        with pytest.raises(UserError) as err:
            run_classify(cfg, events.append)
        message = str(err.value)
        assert message.startswith(f"output folder {out}: ") and expected in message
        assert "\n" not in message
        assert events == []  # nothing started, nothing trained
        with pytest.raises(UserError):
            check_output_dir(out)
    check_output_dir(tmp_path / "fresh" / "nested")  # absent but creatable: fine
    assert not (tmp_path / "fresh").exists()  # and the check created nothing
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_chosen_model_that_failed_in_the_benchmark_keeps_the_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    events: list[Any] = []
    cfg = ClassifyConfig(
        data=_no_words_csv(tmp_path),
        label_column="label",
        models=["char-svm", "tfidf-logreg"],
        choose="tfidf-logreg",
        output_dir=out,
    )
    result = run_classify(cfg, events.append)

    failed = result.result_for("tfidf-logreg", "label", None)
    assert failed is not None and failed.error is not None and "empty vocabulary" in failed.error
    winner = result.result_for("char-svm", "label", None)
    assert winner is not None and winner.f1_macro == 1.0
    expected = (
        f"final model tfidf-logreg for 'label' not trained: it failed in the benchmark "
        f"({failed.error})"
    )
    assert result.save_error == expected
    assert result.final == [] and result.choice["errors"] == [expected]
    assert [e.message for e in events if isinstance(e, Log) and e.level == "error"] == [expected]
    assert isinstance(events[-1], ClassifyFinished) and events[-1].status == "completed"
    stored = json.loads((out / "data.json").read_text(encoding="utf-8"))
    assert stored["choice"]["errors"] == [expected]
    assert [r["model"] for r in stored["results"] if r["rank"] == 1] == ["char-svm"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Not saved:" in md and "it failed in the benchmark" in md
    assert not list(out.glob("model-*"))

    # The shared path of the app's final choice: the same error, raised as one line.
    with pytest.raises(SaveError) as err:
        train_chosen(result, "tfidf-logreg")
    assert str(err.value) == expected and err.value.exit_code == EXIT_SAVE_FAILED == 3
    assert train_chosen(result, "char-svm")[0].candidate == "char-svm"  # another choice works
    assert "errors" not in result.choice


def test_a_model_that_cannot_be_saved_keeps_the_results_and_the_other_models(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    data = write_csv(
        tmp_path / "two.csv",
        annotated_rows(
            {"sentiment": {"pos": 30, "neg": 30}, "spam": {"ham": 40, "spam": 20}}, n_rows=60
        ),
    )
    (out / "model-spam.joblib").mkdir(parents=True)  # in the way of the spam model
    events: list[Any] = []
    cfg = ClassifyConfig(
        data=data,
        annotation_column="annotation",
        categories=["sentiment", "spam"],
        models=["char-svm", "complement-nb"],
        choose="char-svm",
        output_dir=out,
    )
    result = run_classify(cfg, events.append)

    blocked = out / "model-spam.joblib"
    assert (
        result.save_error == f"final model char-svm for 'spam' not saved: {blocked}: Is a directory"
    )
    assert [f.category for f in result.final] == ["sentiment"]
    assert [e.category for e in events if isinstance(e, FinalModelSaved)] == ["sentiment"]
    assert (
        joblib.load(out / "model-sentiment.joblib").predict(["poscue0 poscue1 poscue2"])[0] == "pos"
    )
    stored = json.loads((out / "data.json").read_text(encoding="utf-8"))
    assert [f["category"] for f in stored["final"]] == ["sentiment"]
    assert stored["choice"]["errors"] == [result.save_error]
    assert len(stored["results"]) == 8  # two candidates and the two baselines, per category


def test_save_later_after_recording(tmp_path: Path) -> None:
    """``save=False`` writes nothing; ``save_result`` then writes the reports and the
    chosen model, as ``run_classify`` does at once."""
    out = tmp_path / "out"
    cfg = ClassifyConfig(
        data=_sentiment_csv(tmp_path), label_column="label",
        models=["char-svm", "complement-nb"], choose="top", output_dir=out,
    )  # fmt: skip
    result = run_classify(cfg, save=False)
    assert not out.exists() and result.final == [] and result.config["choose"] == "top"
    saved = save_result(result)
    assert saved.error is None and result.save_error is None
    assert sorted(p.name for p in saved.reports.values()) == [
        "chart_confusion.svg",
        "chart_ranking.svg",
        "data.json",
        "report.md",
        "results.csv",
    ]
    assert [Path(f.model_path).name for f in result.final] == ["model-label.joblib"]
    assert (
        json.loads((out / "data.json").read_text())["final"][0]["candidate"]
        == result.choice["model"]
    )


def test_categories_that_slug_alike_get_their_own_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    counts = {"pos": 30, "neg": 30}
    rows = annotated_rows({"x/y": counts, "x y": counts, LONG: counts}, n_rows=60)
    cfg = ClassifyConfig(
        data=write_csv(tmp_path / "alike.csv", rows),
        annotation_column="annotation",
        categories=["x/y", "x y", LONG],
        models=["char-svm", "complement-nb"],
        choose="char-svm",
        output_dir=out,
    )
    result = run_classify(cfg)

    assert result.save_error is None
    paths = [Path(f.model_path) for f in result.final]
    assert len(set(paths)) == 3 and all(p.parent == out and p.exists() for p in paths)
    assert all(len(p.name.encode()) <= 255 for p in paths)
    for fm in result.final:
        card = json.loads(Path(fm.card_path).read_text(encoding="utf-8"))
        assert card["category"] == fm.category and card["model_file"] == Path(fm.model_path).name
        probe = f"{fm.category}poscue0 {fm.category}poscue1 {fm.category}poscue2"
        assert joblib.load(fm.model_path).predict([probe])[0] == "pos"
    assert len(list(out.glob("model-*.joblib"))) == 3
