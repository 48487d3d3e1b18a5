"""The results screen's verdicts: shared places marked as ties, the quality/speed lines."""

from __future__ import annotations

from tui_helpers import SIZE, add_run, make_app, wait_results

from tui_bench.core.store import Store
from tui_bench.tui.widgets.ranking import MEDALS, RankingTable


def tied_history() -> int:
    """a and b decode at the same rates in another order; c is clearly slower."""
    rates = [101.0, 99.0, 100.5, 98.5, 100.0, 102.0, 99.5, 100.2]
    store = Store()
    try:
        return add_run(
            store,
            plan="ties",
            started="2025-05-01T10:00:00+00:00",
            finished="2025-05-01T10:00:09+00:00",
            status="completed",
            rates={"a": rates, "b": list(reversed(rates)), "c": [r / 2 for r in rates]},
            ttfts={"a": 30.0, "b": 30.0, "c": 60.0},
        )
    finally:
        store.close()


async def test_tied_models_share_the_gold_and_the_next_is_third() -> None:
    run_id = tied_history()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.open_results(run_id)
        results = await wait_results(pilot, app)
        table = results.query_one(RankingTable)
        assert table.sort_metric == "decode_tps"
        assert table.tied() == [["a", "b"]]
        assert (
            str(table.get_cell("a", "rank")) == str(table.get_cell("b", "rank")) == f"{MEDALS[0]}="
        )
        assert str(table.get_cell("c", "rank")) == MEDALS[2]  # two ahead of it: third
        assert table.medal_order() == ["a", "b", "c"]
        caption = str(results.query_one("#ranking-caption").render())
        assert "= tied: a, b (their difference is within chance)" in caption
        winners = str(results.query_one("#results-winners").render())
        assert "analysis: a (" in winners and "(tied) > c (" in winners
        # nothing was scored: the quality/speed lines say speed only, fastest first
        assert "analysis: speed only (quality not scored): " in winners
        # TTFT: a and b equal again, c slower
        results.sort_by("ttft_ms")
        await pilot.pause()
        assert table.tied() == [["a", "b"]] and table.placings["c"].place == 3
