"""History: browse and filter past runs, open one, mark baseline / candidate, compare."""

from __future__ import annotations

from textual.widgets import DataTable, Select
from tui_helpers import SIZE, fill_history, make_app, screen_name, wait_for, wait_results

from tui_bench.tui.screens.history import CompareScreen, HistoryScreen
from tui_bench.tui.widgets.ranking import RankingTable


async def open_history(pilot, app) -> HistoryScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
    return app.screen  # type: ignore[return-value]


async def test_mark_and_compare_two_runs() -> None:
    ids = fill_history()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        hist = await open_history(pilot, app)
        table = hist.query_one("#runs", DataTable)
        assert [r.id for r in hist.rows] == [
            ids["other"],
            ids["cancelled"],
            ids["candidate"],
            ids["baseline"],
        ]
        assert table.row_count == 4
        # swap the stored roles from the keyboard: the old candidate becomes the baseline
        await pilot.press("home", "down", "down")  # the candidate run
        assert hist.selected_id() == ids["candidate"]
        await pilot.press("b")
        await pilot.press("down", "c")
        await wait_for(
            pilot,
            lambda: hist.baseline_id == ids["candidate"] and hist.candidate_id == ids["baseline"],
        )
        assert app.store.get_run(ids["candidate"]).label == "baseline"
        assert app.store.get_run(ids["baseline"]).label == "candidate"
        await pilot.press("d")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.result is not None
        )
        cmp_screen = app.screen
        ctable = cmp_screen.query_one(DataTable)
        labels = [str(c.label) for c in ctable.columns.values()]
        assert labels[:6] == ["model", "metric", "verdict", "Δ median", "95% CI of Δ", "p (MWU)"]

        def verdicts() -> dict[tuple[str, str], str]:
            shown = [str(v) for v in ctable.get_column("verdict")]
            rows = [
                (mc.model_baseline, c.metric)
                for mc in cmp_screen.result["comparisons"]
                for c in mc.rows
            ]
            return dict(zip(rows, shown, strict=True))

        # baseline = the faster run now: the fast model's decode rate got slower
        assert verdicts()[("fast", "decode_tps")] == "slower"
        assert verdicts()[("fast", "ttft_ms")] == "slower"
        assert verdicts()[("slow", "decode_tps")] == "no significant difference"
        assert [str(v) for v in ctable.get_column("model")][:2] == ["fast", ""]
        await pilot.press("s")  # swap: the other way round it is faster
        await wait_for(
            pilot,
            lambda: cmp_screen.result is not None and cmp_screen.baseline_id == ids["baseline"],
        )
        assert verdicts()[("fast", "decode_tps")] == "faster"
        deltas = [str(v) for v in ctable.get_column("delta")]
        assert deltas[1].startswith("+")  # decode rate of fast: + 12.6 %
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "HistoryScreen")


async def test_filters_and_open_results_of_a_past_run() -> None:
    ids = fill_history()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        hist = await open_history(pilot, app)
        hist.query_one("#filter-status", Select).value = "cancelled"
        await wait_for(pilot, lambda: [r.id for r in hist.rows] == [ids["cancelled"]])
        hist.query_one("#filter-status", Select).clear()
        hist.query_one("#filter-plan", Select).value = "other"
        await wait_for(pilot, lambda: [r.id for r in hist.rows] == [ids["other"]])
        await pilot.press("enter")
        results = await wait_results(pilot, app)
        assert results.run_id == ids["other"]
        table = results.query_one(RankingTable)
        assert table.row_count == 2
        assert table.medal_order() == ["m2", "m1"]  # 70 tok/s beats 50 tok/s
        notes = str(results.query_one("#results-notes").render())
        assert "m1: 1× mock failure injected" in notes
        # sorting by TTFT keeps the direction of the metric: lower is better
        results.sort_by("ttft_ms")
        await pilot.pause()
        assert table.medal_order() == ["m2", "m1"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "HistoryScreen")


async def test_compare_needs_both_marks() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        hist = await open_history(pilot, app)
        assert hist.rows == []
        await pilot.press("d")
        await pilot.pause()
        assert screen_name(app) == "HistoryScreen"


async def test_a_classifier_run_opens_from_the_history(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Classifier runs sit beside LLM runs (the kind selector); one opens on its ranking,
    rebuilt from the database alone, read-only: nothing to train, nothing to compare."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))
    from classify_helpers import annotated_rows, write_csv

    from tui_bench.core.classify.history import record_classify_run
    from tui_bench.core.classify.runner import ClassifyConfig, run_classify
    from tui_bench.core.store import Store
    from tui_bench.tui.screens.classify_results import ClassifyResultsScreen

    ids = fill_history()
    data = write_csv(
        tmp_path / "two.csv",
        annotated_rows({"sentiment": {"pos": 30, "neg": 30}}, n_rows=60),
    )
    result = run_classify(
        ClassifyConfig(
            data=data,
            annotation_column="annotation",
            models=["tfidf-logreg", "complement-nb"],
            choose="top",
            output_dir=tmp_path / "out",
        )
    )
    store = Store()
    try:
        run_id, _ = record_classify_run(result, store)
    finally:
        store.close()
    best = next(r for r in result.rows if r.rank == 1)

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        hist = await open_history(pilot, app)
        assert run_id not in [r.id for r in hist.rows]  # LLM runs first
        assert sorted(r.id for r in hist.rows) == sorted(ids.values())
        hist.query_one("#filter-kind", Select).value = "classify"
        await wait_for(pilot, lambda: [r.id for r in hist.rows] == [run_id])
        table = hist.query_one("#runs", DataTable)
        table.focus()
        await pilot.press("b")  # refused: compare is for LLM runs
        await pilot.pause()
        assert hist.baseline_id != run_id
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifyResultsScreen))
        res = app.screen
        assert res.archived and res.outcome.run_id == run_id
        ranking = res.query_one("#clres-rank-0", DataTable)
        first = ranking.ordered_rows[0].key
        assert str(ranking.get_cell(first, "model")).strip() == best.model
        final = str(res.query_one("#clres-final").render())
        assert "top" in final and "model-sentiment.joblib" in final
        assert not res.check_action("use_top", ())
        await pilot.press("t")  # hidden, and nothing happens
        await pilot.pause()
        assert not res.busy and isinstance(app.screen, ClassifyResultsScreen)
