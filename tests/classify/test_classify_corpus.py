"""A real labelled corpus shipped offline by a package, end to end through the runner.

The ChatterBot corpus (package ``chatterbot-corpus``, BSD-3-Clause) ships YAML dialogs
labelled by topic in its wheel; ``corpora.export_corpus`` turns it into a CSV or JSONL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui_bench.core.classify.corpora import chatterbot_rows, export_corpus
from tui_bench.core.classify.runner import ClassifyConfig, run_classify
from tui_bench.core.errors import UserError


def test_export_english(tmp_path: Path) -> None:
    export = export_corpus("chatterbot", tmp_path / "en.csv", languages=["en"])
    assert export.n_rows == 2026 and export.languages == {"en": 2026}
    assert export.topics == 21
    header = (tmp_path / "en.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "text,topic,language,annotation"


def test_export_jsonl_and_unknown_names(tmp_path: Path) -> None:
    export = export_corpus("chatterbot", tmp_path / "c.jsonl", languages=["it", "japanese"])
    assert set(export.languages) == {"it", "ja"}
    first = json.loads((tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert json.loads(first["annotation"]) == {"topic": first["topic"]}
    with pytest.raises(UserError, match="no language 'klingon'"):
        chatterbot_rows(["klingon"])
    with pytest.raises(UserError, match="unknown corpus 'imdb'"):
        export_corpus("imdb", tmp_path / "x.csv")
    with pytest.raises(UserError, match=r"export as \.csv or \.jsonl"):
        export_corpus("chatterbot", tmp_path / "x.parquet")


def test_english_topics_end_to_end_beat_the_baseline_widely(tmp_path: Path) -> None:
    data = tmp_path / "en.csv"
    export_corpus("chatterbot", data, languages=["en"])
    out = tmp_path / "out"
    result = run_classify(
        ClassifyConfig(data=data, label_column="topic", choose="top", output_dir=out, jobs=1)
    )
    [topic] = result.imbalance
    # 21 topics; "health" has 1 conversation and is dropped; tech support 1050 / history 8
    assert topic.dropped_classes == {"health": 1}
    assert topic.n_classes == 20 and topic.imbalance_ratio == pytest.approx(1050 / 8)
    assert topic.profile == "imbalanced"
    rows = [r for r in result.rows if r.category == "topic"]
    best, baseline = rows[0], next(r for r in rows if r.baseline)
    assert best.rank == 1 and best.medal == "🥇"
    assert best.f1_macro - baseline.f1_macro >= 0.2  # measured here: 0.82 vs 0.03
    assert all(r.f1_vs_baseline > 0.2 for r in rows if r.rank)
    # real topics keep the medal: the 95% interval over the baseline lies well above zero
    # (20 classes: guessing by the priors is expected to score about 1/20)
    guess = next(r for r in rows if r.model == "stratified")
    assert guess.best_baseline and 0.02 < guess.f1_macro < 0.08
    assert best.verdict == "better than chance" and best.ci_low is not None
    assert 0.2 < best.ci_low < best.f1_vs_baseline < best.ci_high  # type: ignore[operator]
    md = (out / "report.md").read_text(encoding="utf-8")
    shown = f"[{best.ci_low:+.3f}, {best.ci_high:+.3f}] | better than chance"
    assert (
        f"| 🥇 1 | {best.model} | {best.f1_macro:.3f} | {best.f1_vs_baseline:+.3f} | {shown}" in md
    )
    assert (out / "model-topic.joblib").exists() and (out / "report.md").exists()
    card = json.loads((out / "model-topic.json").read_text(encoding="utf-8"))
    assert card["dropped_classes"] == {"health": 1} and card["n_samples"] == 2025
    assert card["candidate"] == result.choice["model"] == best.model


def test_by_language_on_two_languages(tmp_path: Path) -> None:
    data = tmp_path / "it_ja.jsonl"
    export_corpus("chatterbot", data, languages=["it", "ja"])
    result = run_classify(
        ClassifyConfig(
            data=data,
            annotation_column="annotation",
            language_column="language",
            models=["char-svm", "sgd", "complement-nb"],
            by_language=True,
            language_penalty=0.5,
            jobs=2,
        )
    )
    assert result.languages == ["it", "ja"]
    for lang in ("it", "ja"):
        rows = [r for r in result.rows if r.language == lang]
        base = next(r for r in rows if r.baseline)
        assert rows[0].f1_macro - base.f1_macro >= 0.2
    assert result.language_balance and result.language_balance[0].penalty == 0.5
