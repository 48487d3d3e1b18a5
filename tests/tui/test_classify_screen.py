"""The classifier benchmark screens driven from the keyboard: from the wizard to the
ranking and a saved model, cancelling, a bad column, the CLI's preset, the house rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import joblib
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList, Select
from tui_helpers import (
    SIZE,
    hold_after_first_candidate,
    make_app,
    screen_name,
    start_preset_benchmark,
    text_of,
    wait_for,
    wait_loaded,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))
from classify_helpers import annotated_rows, write_csv
from test_snapshots import demo_classify_outcome

from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.core.store import Store
from tui_bench.tui.app import TuiBenchApp
from tui_bench.tui.classify_columns import guess_columns
from tui_bench.tui.screens.classify import ClassifySetupScreen
from tui_bench.tui.screens.classify_live import ClassifyRunScreen
from tui_bench.tui.screens.classify_results import (
    ClassifyResultsScreen,
    PickModelScreen,
)
from tui_bench.tui.screens.dialogs import ConfirmScreen
from tui_bench.tui.screens.help import HelpScreen

FAST = ["tfidf-logreg", "complement-nb", "sgd"]


@pytest.fixture
def two_categories(tmp_path: Path) -> Path:
    """90 rows, two categories of known imbalance.

    - sentiment (binary): pos 45 / neg 45 → ratio 1.0, balanced
    - topic (3 classes): a 50 / b 25 / c 10 → ratio 5.0, imbalanced
    """
    rows = annotated_rows(
        {"sentiment": {"pos": 45, "neg": 45}, "topic": {"a": 50, "b": 25, "c": 10}}, n_rows=90
    )
    return write_csv(tmp_path / "two.csv", rows)


async def open_classifier_from_wizard(pilot: Pilot[Any], app: TuiBenchApp) -> ClassifySetupScreen:
    """The plan list's "benchmark text classifiers…" entry, just above "compose"."""
    await pilot.pause()
    await pilot.press("end", "up", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
    screen = app.screen
    assert isinstance(screen, ClassifySetupScreen)
    return screen


async def wait_ranking(pilot: Pilot[Any], app: TuiBenchApp, timeout: float = 120.0) -> Any:
    await wait_for(pilot, lambda: isinstance(app.screen, ClassifyResultsScreen), timeout)
    await pilot.pause()
    return app.screen


def table_rows(table: DataTable[Any]) -> list[tuple[str, str]]:
    """(row key, rank cell) in display order."""
    return [
        (str(row.key.value), str(table.get_cell(row.key, "rank"))) for row in table.ordered_rows
    ]


async def test_from_the_wizard_to_the_ranking_and_a_saved_model(two_categories: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        setup = await open_classifier_from_wizard(pilot, app)
        assert setup.step == "cl-step-data"
        # 1 data: type the path; the columns come from the file's header, guessed
        await pilot.press(*str(two_categories), "enter")
        await wait_loaded(pilot, setup)
        assert setup.load_error is None, setup.load_error
        assert setup.loaded is not None
        assert setup.loaded.key[1:] == ("text", "annotation", "annotation", "")
        columns = ["id", "text", "annotation"]
        for sel_id, values in (
            ("#cl-text", columns),
            ("#cl-labels", columns),
            ("#cl-lang", ["", *columns]),  # "" is "none"
        ):
            options = setup.query_one(sel_id, Select)._options  # no public accessor in 8.2.8
            assert [v for _label, v in options if v != Select.NULL] == values
        assert "90 rows" in text_of(app, "#cl-data-info")

        # 2 categories: the imbalance table, the core's suggestions preselected
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "cl-categories")
        profiles = {a.category: (a.profile, a.imbalance_ratio) for a in setup.loaded.analysis}
        assert profiles == {"sentiment": ("balanced", 1.0), "topic": ("imbalanced", 5.0)}
        assert setup.selected_categories == ["sentiment", "topic"]
        detail = text_of(app, "#cl-cat-detail")
        assert "imbalance ratio (max/min class count) <= 1.5" in detail
        assert "moderate: none with this profile" in detail
        # space toggles the highlighted category; ctrl+g restores the suggestions
        await pilot.press("home", "space")
        await wait_for(pilot, lambda: setup.selected_categories == ["topic"])
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: setup.selected_categories == ["sentiment", "topic"])

        # 3 candidates: the default set; fewer than two is refused with the core's message
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "cl-models")
        assert setup.selected_models == ["tfidf-logreg", "char-svm", "complement-nb", "sgd"]
        await pilot.press("home", "space", "down", "space", "down", "space")  # keep sgd only
        await wait_for(pilot, lambda: setup.selected_models == ["sgd"])
        assert setup.config is None
        assert "pick at least 2 candidates besides the baseline" in (setup.error or "")
        assert "pick at least 2 candidates" in text_of(app, "#cl-status")
        await pilot.press("ctrl+r")  # refused: the screen stays
        await pilot.pause()
        assert isinstance(app.screen, ClassifySetupScreen)
        await pilot.press("space", "up", "up", "space")  # + complement-nb, tfidf-logreg
        await wait_for(pilot, lambda: setup.selected_models == FAST)

        # 4 run: settings, then start
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: setup.step == "cl-step-run")
        assert setup.config is not None and setup.config.epochs == 3 and setup.config.jobs == 1
        assert "2 categories × (3 candidates + baseline) = 8 trainings" in text_of(
            app, "#cl-review"
        )
        await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "cl-start")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: screen_name(app) in ("ClassifyRunScreen", "ClassifyResultsScreen")
        )

        # 5 ranking: one table per category, in the core's order, medals and baselines
        ranking = await wait_ranking(pilot, app)
        result = ranking.result
        assert result.status == "completed"
        assert ranking.cells == [("sentiment", None), ("topic", None)]
        for i, cell in enumerate(ranking.cells):
            rows = [r for r in result.rows if r.cell == cell]
            table = ranking.query_one(f"#clres-rank-{i}", DataTable)
            shown = table_rows(table)
            assert [key for key, _rank in shown] == [r.model for r in rows]
            # the baselines, last, no medal
            assert shown[-2:] == [("majority", "–"), ("stratified", "–")]
            expected = [r.medal or f"{r.rank}." for r in rows if not r.baseline]
            assert [rank for _key, rank in shown[:-2]] == expected
            assert [r.rank for r in rows] == [1, 2, 3, None, None]
            assert rows[0].medal == "🥇" and rows[0].f1_vs_baseline > 0.3
            # the interval beside the difference, the verdict in words
            top = str(table.get_cell(rows[0].model, "delta"))
            assert (
                top
                == f"{rows[0].f1_vs_baseline:+.3f} [{rows[0].ci_low:+.3f},{rows[0].ci_high:+.3f}]"
            )
            assert str(table.get_cell(rows[0].model, "verdict")) == "better than chance"
            # the highlighted candidate's panel: its classes and their confusion
            panel = text_of(app, f"#clres-detail-{i}")
            assert panel.startswith(f"{rows[0].model} · macro-F1 ") and "MCC" in panel
            assert "prec." in panel and " │" in panel
        # binary and multi-class never mixed: one aggregate table each, and one over both
        assert ranking.groups == ["binary", "multiclass", "all"]
        for group in ("binary", "multiclass", "all"):
            agg = ranking.query_one(f"#clres-agg-{group}", DataTable)
            assert agg.row_count == 3
        # reports and the history entry
        assert [p.name for p in ranking.outcome.reports] == [
            "report.md",
            "data.json",
            "results.csv",
            "chart_ranking.svg",
            "chart_confusion.svg",
        ]
        assert all(p.is_file() for p in ranking.outcome.reports)
        store = Store()
        try:
            runs = store.list_runs(kind="classify")
            assert [(r.id, r.status) for r in runs] == [(ranking.outcome.run_id, "completed")]
        finally:
            store.close()
        assert f"run {ranking.outcome.run_id}" in text_of(app, "#clres-paths")

        # 6 final choice: the top model, trained on all the rows of each category
        top = ranking.top["model"]
        assert top in FAST
        await pilot.press("t")
        await wait_for(pilot, lambda: bool(result.final) and not ranking.busy, 60)
        assert [(f.candidate, f.category) for f in result.final] == [
            (top, "sentiment"),
            (top, "topic"),
        ]
        for f in result.final:
            assert Path(f.model_path).is_file() and Path(f.card_path).is_file()
        model = joblib.load(result.final[1].model_path)
        assert set(model.predict(["topicacue0 topicacue1 topicacue2 w1"])) <= {"a", "b", "c"}
        await pilot.pause(0.3)
        assert "model-topic.joblib" in text_of(app, "#clres-final")
        # the history entry now holds the choice and the saved models
        store = Store()
        try:
            stored = store.get_run(ranking.outcome.run_id).summary
        finally:
            store.close()
        assert stored["choice"]["mode"] == "top" and stored["choice"]["model"] == top
        assert [f["model_path"] for f in stored["final"]] == [f.model_path for f in result.final]


async def test_pick_a_model_then_stop(two_categories: Path) -> None:
    config = ClassifyConfig(
        data=two_categories,
        annotation_column="annotation",
        models=["complement-nb", "tfidf-logreg"],
        categories=["topic"],
        choose="complement-nb",
        output_dir=two_categories.parent / "out",
    )
    app = make_app(classify_config=config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
        setup = app.screen
        await wait_loaded(pilot, setup)  # type: ignore[arg-type]
        # the command's settings are preset, and the screen opens on the categories
        await wait_for(pilot, lambda: setup.step == "cl-step-categories")  # type: ignore[attr-defined]
        assert setup.selected_categories == ["topic"]  # type: ignore[attr-defined]
        assert setup.selected_models == ["tfidf-logreg", "complement-nb"]  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        ranking = await wait_ranking(pilot, app)
        assert app.exit_code == 0
        # the pick dialog highlights the model the command named
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PickModelScreen))
        ol = app.screen.query_one(OptionList)
        assert ol.get_option_at_index(ol.highlighted or 0).id == "complement-nb"
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(ranking.result.final) and not ranking.busy, 60)
        assert [f.candidate for f in ranking.result.final] == ["complement-nb"]
        assert (two_categories.parent / "out" / "model-topic.joblib").is_file()
        await pilot.press("s")
        await pilot.pause()
        assert "no model trained" in text_of(app, "#clres-final")
        await pilot.press("ctrl+q")
    assert app.return_value == 0


async def test_cancel_keeps_the_finished_candidates(
    two_categories: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The training thread is held after the first finished candidate: cancel, confirm,
    release; the rest stop, the finished one is ranked, the history says cancelled."""
    gate = hold_after_first_candidate(monkeypatch)
    config = ClassifyConfig(
        data=two_categories,
        annotation_column="annotation",
        models=["complement-nb", "tfidf-logreg"],
        output_dir=two_categories.parent / "out",
    )
    app = make_app(classify_config=config)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await start_preset_benchmark(pilot, app)
            await wait_for(pilot, lambda: isinstance(app.screen, ClassifyRunScreen))
            run = app.screen
            assert isinstance(run, ClassifyRunScreen)
            await wait_for(pilot, lambda: run.state.snapshot().n_done == 1)
            await pilot.pause(0.3)  # one repaint
            assert "1/6 trainings" in str(run.query_one("#clr-status").render())
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: run.state.cancel.is_set())
            assert "cancelling" in str(run.query_one("#clr-status").render())
            gate.set()
            ranking = await wait_ranking(pilot, app)
            result = ranking.result
            assert result.status == "cancelled"
            done = [r for r in result.results if r.error != "cancelled" and not r.baseline]
            assert len(done) == 1 and done[0].ok
            # the finished one, and guessing's expected score in its category only
            ranked = [(r.model, r.rank) for r in result.rows]
            assert ranked == [(done[0].candidate, 1), ("stratified", None)]
            assert "cancelled: partial results, 1 of 6 trainings" in text_of(app, "#clres-head")
            store = Store()
            try:
                assert [r.status for r in store.list_runs(kind="classify")] == ["cancelled"]
            finally:
                store.close()
            assert app.exit_code == 130
    finally:
        gate.set()


async def test_a_bad_column_is_one_line_not_a_crash(tmp_path: Path) -> None:
    rows = [{"text": f"text {i} cue{i % 2}", "label": f"l{i % 2}"} for i in range(40)]
    path = write_csv(tmp_path / "d.csv", rows)
    config = ClassifyConfig(data=path, label_column="nope", models=["sgd", "char-svm"])
    app = make_app(classify_config=config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
        setup = app.screen
        assert isinstance(setup, ClassifySetupScreen)
        await wait_loaded(pilot, setup)
        assert setup.load_error == f"{path}: label column 'nope' not found (columns: text, label)"
        assert setup.load_error in text_of(app, "#cl-data-info")
        assert setup.load_error in text_of(app, "#cl-status")
        assert app.exit_code == 2  # bad input, until a benchmark runs
        await pilot.press("ctrl+r")  # refused, with the same line
        await pilot.pause()
        assert isinstance(app.screen, ClassifySetupScreen)
        # choosing the real label column fixes it
        setup.query_one("#cl-labels", Select).value = "label"
        await wait_for(pilot, lambda: setup.loaded is not None and setup.load_error is None)
        assert setup.selected_categories == ["label"]
        assert setup.config is not None
        # a file that does not exist
        field = setup.query_one("#cl-path")
        field.focus()
        field.value = str(tmp_path / "missing.csv")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: setup.file_error is not None)
        assert setup.file_error == f"{tmp_path / 'missing.csv'}: no such file"
        assert setup.config is None and screen_name(app) == "ClassifySetupScreen"


def test_column_guesses() -> None:
    rows = [
        {"id": i, "sentence": "a long sentence of words", "intent": "x", "lang": "en"}
        for i in range(5)
    ]
    g = guess_columns(["id", "sentence", "intent", "lang"], rows)
    assert (g.text, g.kind, g.labels, g.language) == ("sentence", "label", "intent", "lang")
    rows = [{"body": "some text here", "meta": '{"topic": "a"}', "n": i} for i in range(5)]
    g = guess_columns(["body", "meta", "n"], rows)
    assert (g.text, g.kind, g.labels, g.language) == ("body", "annotation", "meta", None)
    rows = [
        {"words": "short texts are long enough", "k": "a" if i % 2 else "b", "one": "z"}
        for i in range(6)
    ]
    g = guess_columns(["words", "k", "one"], rows)
    assert (g.text, g.kind, g.labels) == ("words", "label", "k")


# -- house rules for the classifier screens ------------------------------------------------


def test_the_house_rules_cover_the_classifier_screens() -> None:
    # the conventions test walks the interface package: these screens are in it, so their
    # bindings are checked there (ids, descriptions, uniqueness) with everyone else's
    from test_conventions import CLASSES

    assert {ClassifySetupScreen, ClassifyRunScreen, ClassifyResultsScreen, PickModelScreen} <= set(
        CLASSES
    )
    ids = {b.id for cls in CLASSES for b in cls.__dict__.get("BINDINGS", [])}
    assert {"app.classify", "classify.start", "classify-run.cancel", "classify-results.top"} <= ids


async def test_help_and_palette_fit_the_classifier_state(two_categories: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "Classifier benchmark" in {c.title for c in app.get_system_commands(app.screen)}
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
        setup = app.screen
        titles = {c.title for c in app.get_system_commands(setup)}
        assert {"Start classifier benchmark", "Suggested categories"} <= titles
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        ids = {row[2] for row in app.screen.rows}  # type: ignore[attr-defined]
        assert {"classify.next", "classify.back", "classify.start", "classify.suggested"} <= ids
        await pilot.press("escape")
        # escape on the first step goes back to the wizard; f4 returns to the same setup
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "WizardScreen")
        app.push_screen(ClassifyResultsScreen(demo_classify_outcome()))
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifyResultsScreen))
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Use the top model", "Pick a model to train", "Stop here"} <= titles
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        ids = {row[2] for row in app.screen.rows}  # type: ignore[attr-defined]
        assert {"classify-results.top", "classify-results.pick", "classify-results.stop"} <= ids


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_classifier_screen_fits(size: tuple[int, int], two_categories: Path) -> None:
    config = ClassifyConfig(
        data=two_categories,
        annotation_column="annotation",
        models=["complement-nb", "tfidf-logreg"],
        output_dir=two_categories.parent / "out",
    )
    app = make_app(classify_config=config)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
        setup = app.screen
        assert isinstance(setup, ClassifySetupScreen)
        await wait_loaded(pilot, setup)
        for step in ("cl-step-data", "cl-step-categories", "cl-step-models", "cl-step-run"):
            setup.goto(step)
            await pilot.pause()
            for sel in ("#cl-status", "Footer"):
                region = setup.query_one(sel).region
                assert region.height >= 1 and region.right <= size[0]
        setup.goto("cl-step-categories")
        await pilot.pause()
        assert setup.query_one("#cl-categories").region.height >= 3
        assert setup.query_one("#cl-cat-detail").region.height >= 3
        await pilot.press("ctrl+r")
        ranking = await wait_ranking(pilot, app)
        for table in ranking.query(DataTable):
            assert table.region.width <= size[0]
            assert table.virtual_size.width <= size[0], table.id  # no column hidden off screen
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PickModelScreen))
        assert app.screen.query_one(OptionList).region.height >= 2
