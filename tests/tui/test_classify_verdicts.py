"""What a classifier user sees in the app: no medal for a label column of noise ("not
better than chance" on every candidate), a candidate's classes in its panel, the
duration estimate in the setup's review, and candidate lists per language."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Select
from tui_helpers import make_app, start_preset_benchmark, text_of, wait_for, wait_loaded

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))
from classify_helpers import annotated_rows, labelled_rows, write_csv

from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.tui.screens.classify import ClassifySetupScreen
from tui_bench.tui.screens.classify_results import ClassifyResultsScreen

SMALL = (80, 24)


def _shuffled(path: Path) -> Path:
    rows = labelled_rows({"a": 90, "b": 60, "c": 30}, seed=1)
    labels = [r["label"] for r in rows]
    random.Random(7).shuffle(labels)
    return write_csv(path, [{**r, "label": lab} for r, lab in zip(rows, labels, strict=True)])


async def _ranking(pilot: Any, app: Any) -> ClassifyResultsScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, ClassifyResultsScreen), 120)
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ClassifyResultsScreen)
    return screen


async def test_a_shuffled_label_column_wins_no_medal_on_screen(tmp_path: Path) -> None:
    config = ClassifyConfig(
        data=_shuffled(tmp_path / "noise.csv"),
        label_column="label",
        output_dir=tmp_path / "out",
    )
    app = make_app(classify_config=config)
    async with app.run_test(size=SMALL) as pilot:
        await start_preset_benchmark(pilot, app)
        ranking = await _ranking(pilot, app)
        table = ranking.query_one("#clres-rank-0", DataTable)
        rows = [r for r in ranking.result.rows if not r.baseline]
        assert len(rows) == 4
        for row in rows:  # every candidate, in words, with its interval
            assert str(table.get_cell(row.model, "verdict")) == "not better than chance"
            # the place, shared when the interval to the place above holds zero
            assert str(table.get_cell(row.model, "rank")) == f"{row.shown_place}."
            assert row.place is not None and row.place <= row.rank
            assert f"[{row.ci_low:+.3f},{row.ci_high:+.3f}]" in str(
                table.get_cell(row.model, "delta")
            )
        shown = "".join(str(c) for t in ranking.query(DataTable) for c in _cells(t))
        assert not any(m in shown for m in ("🥇", "🥈", "🥉"))
        assert str(table.get_cell("stratified", "verdict")) == "best baseline"
        # the top candidate's panel, then the next one's after a key press
        assert "not better than chance · the top candidate" in text_of(app, "#clres-detail-0")
        table.focus()
        await pilot.press("down")
        await pilot.pause()
        panel = text_of(app, "#clres-detail-0")
        assert panel.startswith(f"{rows[1].model} · macro-F1 {rows[1].f1_macro:.3f}")
        assert f"tied with {rows[0].model}" in panel
        # the classes: precision, recall, F1, support, and the confusion matrix
        res = ranking.result.result_for(rows[1].model, "label", None)
        assert res is not None
        for i, label in enumerate(res.classes):
            line = next(x for x in panel.splitlines() if x.startswith(f"{label} "))
            figures, matrix = line.split("│")
            m = res.per_class[label]
            expected = [label, *(f"{m[k]:.3f}" for k in ("precision", "recall", "f1"))]
            assert figures.split() == [*expected, str(m["support"])]
            assert matrix.split() == [str(n) for n in res.confusion[i]]
        detail = ranking.query_one("#clres-detail-0")
        assert detail.region.right <= SMALL[0] and detail.virtual_size.width <= SMALL[0]
        for t in ranking.query(DataTable):  # every column on screen at 80 columns
            assert t.virtual_size.width <= t.region.width, t.id


def _cells(table: DataTable[Any]) -> list[Any]:
    return [
        table.get_cell_at((r, c)) for r in range(table.row_count) for c in range(len(table.columns))
    ]


async def test_the_review_says_how_long_it_should_take(tmp_path: Path) -> None:
    config = ClassifyConfig(
        data=_shuffled(tmp_path / "noise.csv"),
        label_column="label",
        models=["complement-nb", "tfidf-logreg"],
    )
    app = make_app(classify_config=config)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
        setup = app.screen
        assert isinstance(setup, ClassifySetupScreen)
        await wait_loaded(pilot, setup)
        setup.goto("cl-step-run")
        await wait_for(pilot, lambda: "an estimate: a probe fit" in text_of(app, "#cl-review"), 60)
        review = text_of(app, "#cl-review")
        line = next(x for x in review.splitlines() if x.startswith("time "))
        seconds = line.split("about ", 1)[1].split(" ", 1)[0]
        assert float(seconds) > 0
        assert "paired bootstrap" in review
        # new settings: estimated again for them
        setup.query_one("#cl-set-cv").value = "3"  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "estimating" in text_of(app, "#cl-review"))
        await wait_for(pilot, lambda: "× 3 folds" in text_of(app, "#cl-review"), 60)
        assert "corrected resampled t-test" in text_of(app, "#cl-review")


async def test_candidate_lists_per_language(tmp_path: Path) -> None:
    rows = []
    for lang, seed in (("en", 0), ("fr", 1000)):
        for row in annotated_rows({"c": {"a": 25, "b": 25}}, n_rows=50, seed=seed):
            rows.append({**row, "lang": lang})
    config = ClassifyConfig(
        data=write_csv(tmp_path / "langs.csv", rows),
        annotation_column="annotation",
        language_column="lang",
        models=["char-svm", "sgd"],
        by_language=True,
        output_dir=tmp_path / "out",
    )
    app = make_app(classify_config=config)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
        setup = app.screen
        assert isinstance(setup, ClassifySetupScreen)
        await wait_loaded(pilot, setup)
        setup.goto("cl-step-models")
        await pilot.pause()
        scope = setup.query_one("#cl-model-scope", Select)
        assert scope.display
        options = [v for _label, v in scope._options if v != Select.NULL]  # no public accessor
        assert options == ["*", "en", "fr"]
        scope.value = "fr"  # the toggles now edit the French rows' own list
        await wait_for(pilot, lambda: setup.model_scope == "fr")
        setup.query_one("#cl-models").focus()
        # catalog order: tfidf-logreg, char-svm, complement-nb, sgd, mlp
        await pilot.press("home", "space", "down", "space", "down", "space", "down", "space")
        await wait_for(
            pilot, lambda: setup.models_by_language == {"fr": ["tfidf-logreg", "complement-nb"]}
        )
        assert setup.selected_models == ["char-svm", "sgd"]  # the default list, untouched
        assert setup.config is not None
        assert setup.config.models_by_language == {"fr": ["tfidf-logreg", "complement-nb"]}
        setup.goto("cl-step-run")
        await pilot.pause()
        review = text_of(app, "#cl-review")
        assert "fr: tfidf-logreg, complement-nb" in review
        assert "(candidates + baseline; en: 2, fr: 2) = 6 trainings" in review
        await pilot.press("ctrl+r")
        ranking = await _ranking(pilot, app)
        assert ranking.result.models == {
            "en": ["char-svm", "sgd"],
            "fr": ["tfidf-logreg", "complement-nb"],
        }
        fr = {r.model for r in ranking.result.rows if r.language == "fr" and not r.baseline}
        assert fr == {"tfidf-logreg", "complement-nb"}


def test_the_run_log_says_the_estimate() -> None:
    from tui_bench.core.classify.events import DurationEstimated
    from tui_bench.tui.state.classify import ClassifyLiveState, ClassifySink

    state = ClassifyLiveState()
    text = "about 12 s (an estimate: a probe fit of each candidate on 200 rows, ...)"
    ClassifySink(state).handle(DurationEstimated(12.0, text, {"seconds": 12.0}))
    assert [(line.level, line.text) for line in state.snapshot().log] == [
        ("info", f"estimated duration: {text}")
    ]
