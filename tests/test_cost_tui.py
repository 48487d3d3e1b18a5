"""The results screen says what a priced run cost, one line per model, within 80 columns."""

from __future__ import annotations

import time
from pathlib import Path

from test_cost import PLAN, PRICES

from tui_bench.core.engine import Engine
from tui_bench.core.plan import load_plan
from tui_bench.core.store import Store
from tui_bench.tui.app import create_app


async def test_results_screen_shows_the_cost_at_80x24(tmp_path: Path) -> None:
    plan = tmp_path / "priced.toml"
    plan.write_text(PLAN + PRICES)
    store = Store()
    try:
        engine = Engine(load_plan(plan), store=store, telemetry=False, write_history=False)
        run_id = (await engine.run()).run_id
    finally:
        store.close()
    app = create_app(
        plans_dirs=[tmp_path], models_dirs=[], discover_stores=False, cursor_blink=False,
        keymap={}, check_machine=False,
    )  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_results(run_id)
        t0 = time.monotonic()
        while getattr(app.screen, "loaded", None) is None:
            assert time.monotonic() - t0 < 30, "the results did not load"
            await pilot.pause(0.05)
        await pilot.pause()
        widget = app.screen.query_one("#results-winners")
        text, width = str(widget.render()), widget.content_region.width
    lines = text.splitlines()
    head = lines.index("Cost per request · per 1,000 output tokens · this run:")
    cost = lines[head + 1 : head + 3]
    # the figures of test_cost.test_reports_carry_the_costs, as the screen words them
    assert cost == [
        "  api: 0.000004200 USD/request · 0.0008400/1k tok · run 0.00001680",
        "  box: 0.00006400 USD/request · 0.01280/1k tok · run 0.0002560",
    ]
    assert all(len(line) <= width for line in cost)  # one screen line each at 80 columns
