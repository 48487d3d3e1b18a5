"""Training the chosen model after the benchmark (``train_chosen``): the same choice and the
same models as ``run_classify`` with ``choose`` set, reports rewritten, clear errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import joblib
import pytest
from classify_helpers import annotated_rows, write_csv

from tui_bench.core.classify.events import FinalModelSaved, FinalModelStarted
from tui_bench.core.classify.runner import (
    ClassifyConfig,
    preview_choice,
    run_classify,
    train_chosen,
)
from tui_bench.core.errors import UserError

FAST = ["complement-nb", "tfidf-logreg"]
PROBES = ["spamspamcue0 spamspamcue1 w3", "spamhamcue2 w7 w8", "topicacue1 w2", "w1 w2 w3"]


def _bench(data: Path, out: Path, **over: Any) -> Any:
    cfg = ClassifyConfig(
        data=data, annotation_column="annotation", models=FAST, output_dir=out, **over
    )
    return run_classify(cfg)


def test_top_after_the_benchmark_matches_choose_top(profiled_csv: Path, tmp_path: Path) -> None:
    result = _bench(profiled_csv, tmp_path / "later")
    assert result.choice["mode"] == "none" and result.final == []
    assert len(result._cells) == 3  # kept for later, in memory only
    assert "_cells" not in result.to_dict()

    events: list[Any] = []
    preview = preview_choice(result, "top")
    final = train_chosen(result, "top", publish=events.append)
    assert result.choice == preview
    assert result.final == final
    assert [f.candidate for f in final] == [preview["model"]] * 3

    # the same as choosing at benchmark time. Ties on macro-F1 and accuracy are broken by
    # training time, which two runs do not share: compare the choice where the ranks agree.
    direct = _bench(profiled_csv, tmp_path / "direct", choose="top")
    same_ranks = [(r.category, r.model, r.rank) for r in result.rows] == [
        (r.category, r.model, r.rank) for r in direct.rows
    ]
    if same_ranks:
        assert result.choice == direct.choice
    assert [(f.category, f.data_sha256, f.labels) for f in final] == [
        (f.category, f.data_sha256, f.labels) for f in direct.final
    ]
    for f, g in zip(final, direct.final, strict=True):
        assert Path(f.model_path).parent == tmp_path / "later"
        if f.candidate == g.candidate:  # same pipeline, same seed, same rows: same model
            ours, theirs = joblib.load(f.model_path), joblib.load(g.model_path)
            assert list(ours.predict(PROBES)) == list(theirs.predict(PROBES))
    assert [type(e) for e in events] == [FinalModelStarted, FinalModelSaved] * 3

    # the reports now say what was chosen and saved
    data = json.loads((tmp_path / "later" / "data.json").read_text(encoding="utf-8"))
    assert data["choice"]["mode"] == "top"
    assert [Path(f["model_path"]).name for f in data["final"]] == [
        "model-sentiment.joblib",
        "model-topic.joblib",
        "model-spam.joblib",
    ]
    assert data["config"]["choose"] == "top"
    assert "model-spam.joblib" in (tmp_path / "later" / "report.md").read_text(encoding="utf-8")


def test_a_model_by_name_and_choosing_again(profiled_csv: Path, tmp_path: Path) -> None:
    result = _bench(profiled_csv, tmp_path / "out")
    final = train_chosen(result, "complement-nb")
    assert {f.candidate for f in final} == {"complement-nb"}
    assert result.choice == {"mode": "model", "model": "complement-nb", "reason": "chosen by name"}
    card = json.loads(Path(final[0].card_path).read_text(encoding="utf-8"))
    assert card["candidate"] == "complement-nb"
    bench = result.result_for("complement-nb", "sentiment", None)
    assert card["benchmark_metrics"]["f1_macro"] == bench.f1_macro

    # choosing again replaces the models of each cell, in another folder when asked
    other = tmp_path / "other"
    final = train_chosen(result, "tfidf-logreg", output_dir=other)
    assert {f.candidate for f in final} == {"tfidf-logreg"}
    assert sorted(p.name for p in other.glob("*.joblib")) == [
        "model-sentiment.joblib",
        "model-spam.joblib",
        "model-topic.joblib",
    ]
    assert json.loads((other / "data.json").read_text(encoding="utf-8"))["final"][0][
        "candidate"
    ] == ("tfidf-logreg")

    # stopping here clears the choice
    assert train_chosen(result, "none") == []
    assert result.choice["mode"] == "none" and result.final == []


def test_manual_choice_per_language(tmp_path: Path) -> None:
    rows = []
    for lang, seed in (("en", 0), ("fr", 1000)):
        rows += [
            {**r, "lang": lang}
            for r in annotated_rows({"c": {"a": 20, "b": 20}}, n_rows=40, seed=seed)
        ]
    path = write_csv(tmp_path / "d.csv", rows)
    result = run_classify(
        ClassifyConfig(
            data=path,
            annotation_column="annotation",
            models=["char-svm", "sgd"],
            by_language=True,
            output_dir=tmp_path / "out",
        )
    )
    final = train_chosen(result, "none", choose_by_language={"en": "sgd", "fr": "char-svm"})
    assert {(f.language, f.candidate) for f in final} == {("en", "sgd"), ("fr", "char-svm")}
    assert result.choice["mode"] == "manual"
    # top per language
    final = train_chosen(result, "top")
    assert set(result.choice["models_by_language"]) == {"en", "fr"}
    assert sorted(Path(f.model_path).name for f in final) == [
        "model-c-en.joblib",
        "model-c-fr.joblib",
    ]
    with pytest.raises(UserError, match=r"no benchmarked cell in 'de'"):
        train_chosen(result, "none", choose_by_language={"de": "sgd"})


def test_bad_choices_are_one_line_errors(profiled_csv: Path, tmp_path: Path) -> None:
    result = _bench(profiled_csv, tmp_path / "out", categories=["sentiment"])
    with pytest.raises(UserError, match=r"choose: 'sgd' is not among the benchmarked models"):
        train_chosen(result, "sgd")
    with pytest.raises(UserError, match=r"choose: 'majority' is the baseline"):
        train_chosen(result, "majority")
    with pytest.raises(UserError, match=r"unknown model 'nope'"):
        train_chosen(result, "nope")
    with pytest.raises(UserError, match=r"a choice per language needs training by language"):
        train_chosen(result, "none", choose_by_language={"en": "sgd"})
    bare = dataclasses.replace(result, _cells=[])
    with pytest.raises(UserError, match=r"holds no training rows"):
        train_chosen(bare, "top")
    assert not list((tmp_path / "out").glob("*.joblib"))
