"""The results view: ranking with medals and flags, sorting, winners per task, export."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input
from tui_helpers import SIZE, fill_history, make_app, screen_name, text_of, wait_for, wait_results

from tui_bench.core.metrics import FLAG_TEXT
from tui_bench.tui.screens.results import ResultsScreen
from tui_bench.tui.widgets.ranking import MEDALS, RankingTable


async def open_results(pilot, app, run_id: int) -> ResultsScreen:  # type: ignore[no-untyped-def]
    app.open_results(run_id)
    return await wait_results(pilot, app)


async def test_ranking_flags_winners_and_sorting() -> None:
    ids = fill_history()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        results = await open_results(pilot, app, ids["baseline"])
        table = results.query_one(RankingTable)
        assert table.order == ["fast", "slow"] and table.medal_order() == ["fast", "slow"]
        assert str(table.get_cell("fast", "rank")) == MEDALS[0]
        # the rate_mismatch flag of one slow request is shown beside the numbers it concerns
        assert str(table.get_cell("slow", "decode_tps")).endswith("⚑")
        assert str(table.get_cell("slow", "tpot_ms")).endswith("⚑")
        assert not str(table.get_cell("slow", "ttft_ms")).endswith("⚑")
        assert "rate_mismatch×1" in str(table.get_cell("slow", "flags"))
        assert str(table.get_cell("fast", "success")) == "8/8 100%"
        notes = str(results.query_one("#results-notes").render())
        assert FLAG_TEXT["rate_mismatch"] in notes
        winners = str(results.query_one("#results-winners").render())
        assert "analysis: fast (" in winners and "generation: fast (" in winners
        # s cycles the sort metric: TTFT (lower is better) keeps fast first
        await pilot.press("s")
        assert table.sort_metric == "ttft_ms" and table.medal_order() == ["fast", "slow"]
        await pilot.press("r")  # reversed display order, medals unchanged
        assert table.order == ["slow", "fast"] and table.medal_order() == ["fast", "slow"]
        for _ in range(5):
            await pilot.press("s")
        assert table.sort_metric == "decode_tps"


async def test_export_writes_the_three_reports(tmp_path: Path) -> None:
    ids = fill_history()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_results(pilot, app, ids["baseline"])
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(app) == "PathPrompt")
        field = app.screen.query_one("#path", Input)
        assert field.value.endswith(f"run-{ids['baseline']}-demo")  # an editable default
        field.value = str(tmp_path / "exported")
        await pilot.press("enter")
        target = tmp_path / "exported"
        await wait_for(pilot, lambda: (target / "results.csv").exists())
        assert {p.name for p in target.iterdir()} == {
            "report.md",
            "data.json",
            "results.csv",
            "chart_decode.svg",
            "chart_ttft.svg",
        }
        assert "fast" in (target / "report.md").read_text()


async def test_export_refuses_a_file_as_folder(tmp_path: Path) -> None:
    ids = fill_history()
    (tmp_path / "afile").write_text("x")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_results(pilot, app, ids["baseline"])
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(app) == "PathPrompt")
        app.screen.query_one("#path", Input).value = str(tmp_path / "afile")
        await pilot.press("enter")
        await pilot.pause()
        assert screen_name(app) == "PathPrompt"
        assert "not a folder" in str(app.screen.query_one("#prompt-error").render())


async def test_a_missing_run_is_a_message_not_a_crash() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.open_results(999)
        await wait_for(
            pilot,
            lambda: "cannot load run 999" in text_of(app, "#results-head"),
        )
        assert app.is_running


async def test_chart_titles_fit_their_canvas_at_80_columns() -> None:
    """plotext drops a title wider than its canvas: each chart shows its title, its short
    one, or that cut with "…", whichever plotext will draw at the chart's width."""
    import re

    from tui_bench.tui.widgets.charts import MetricChart

    ids = fill_history()
    app = make_app()
    long_name = "a-model-name-13"
    async with app.run_test(size=SIZE) as pilot:
        results = await open_results(pilot, app, ids["baseline"])
        decode = results.query_one("#chart-decode", MetricChart)
        shown = []
        for width, labels in (
            (100, ["fast"]),
            (80, ["fast"]),
            (80, [long_name]),
            (60, [long_name]),
        ):
            await pilot.resize_terminal(width, 24)
            await pilot.pause()
            decode.set_data(
                "decode tok/s (higher is better)",
                labels,
                [5.0],
                [4.0],
                short="decode tok/s ↑ better",
            )
            title = decode.fitted_title()
            decode.plt.plotsize(decode.size.width, decode.size.height)
            drawn = re.sub(r"\x1b\[[0-9;]*m", "", decode.plt.build())
            assert title and title in drawn.splitlines()[0], (width, labels, title)
            shown.append(title)
        assert shown[:3] == [
            "decode tok/s (higher is better)",
            "decode tok/s (higher is better)",  # 39 columns beside "fast"
            "decode tok/s ↑ better",
        ]
        assert shown[3].endswith("…") and "decode tok/s ↑ better".startswith(shown[3][:-1])
