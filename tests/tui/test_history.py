"""History: browse and filter past runs, open one, mark baseline / candidate, compare."""

from __future__ import annotations

from textual.widgets import DataTable, Select, Static
from tui_helpers import SIZE, add_run, fill_history, make_app, screen_name, wait_for, wait_results

from tui_bench.core.store import Store
from tui_bench.tui.screens.history import PAGE, CompareScreen, HistoryScreen
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


def copies_of_a_run(n: int) -> list[int]:
    """``n`` runs of plan "nightly": one made by hand, the others copies of its rows made
    in SQL, as a team's CI piles them up. Their ids, newest first."""
    store = Store()
    try:
        first = add_run(
            store,
            plan="nightly",
            started="2025-04-01T02:00:00+00:00",
            finished="2025-04-01T02:00:09+00:00",
            status="completed",
            rates={"fast": [400.0, 402.0, 398.0, 401.0], "slow": [120.0, 121.0, 119.0, 120.5]},
            ttfts={"fast": 25.0, "slow": 80.0},
        )
        conn = store.conn
        for table, key in (("runs", "id"), ("models", "run_id"), ("requests", "run_id")):
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            values = [f"src.{key} + k.n" if c == key else f"src.{c}" for c in cols]
            conn.execute(
                "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?)"
                f" INSERT INTO {table} ({', '.join(cols)})"
                f" SELECT {', '.join(values)} FROM {table} AS src, k WHERE src.{key} = ?",
                (n - 1, first),
            )
        conn.commit()
    finally:
        store.close()
    return list(range(first + n - 1, first - 1, -1))


async def test_many_runs_show_a_page_at_a_time_and_the_next_on_demand() -> None:
    """A first page only, whatever the history holds; the next one is read when the
    scroll or the cursor nears the end of those shown, or on m; a mark keeps every run
    shown and the cursor's place; a run from a later page opens."""
    ids = copies_of_a_run(3 * PAGE + 50)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        hist = await open_history(pilot, app)
        table = hist.query_one("#runs", DataTable)
        more = hist.query_one("#history-more", Static)

        def shown() -> list[int]:
            return [int(str(v)) for v in table.get_column("id")]

        assert [r.id for r in hist.rows] == ids[:PAGE] and shown() == ids[:PAGE]
        assert hist.total == len(ids) and not hist.exhausted
        assert more.display and f"{PAGE} of {len(ids)} runs shown" in str(more.render())
        assert hist.check_action("more", ())
        # scrolling to the end of the table reads the next page
        table.scroll_to(y=table.max_scroll_y, animate=False)
        await wait_for(pilot, lambda: len(hist.rows) == 2 * PAGE)
        assert shown() == ids[: 2 * PAGE] and table.cursor_row == 0
        # so does the cursor on the last row; it stays there
        await pilot.press("ctrl+end")
        await wait_for(pilot, lambda: len(hist.rows) == 3 * PAGE)
        assert shown() == ids[: 3 * PAGE] and table.cursor_row == 2 * PAGE - 1
        await pilot.press("m")
        await wait_for(pilot, lambda: hist.exhausted)
        assert shown() == ids and [r.id for r in hist.rows] == ids
        assert not more.display and not hist.check_action("more", ())
        # a mark far down: every run stays shown, the cursor where it was
        table.move_cursor(row=3 * PAGE + 10)
        await pilot.pause()
        await pilot.press("b")
        await wait_for(pilot, lambda: str(table.get_row_at(3 * PAGE + 10)[-1]) == "◆ baseline")
        assert hist.baseline_id == ids[3 * PAGE + 10] and shown() == ids
        assert table.cursor_row == 3 * PAGE + 10
        await pilot.press("enter")
        results = await wait_results(pilot, app)
        assert results.run_id == ids[3 * PAGE + 10]
