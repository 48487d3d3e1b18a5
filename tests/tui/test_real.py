"""One real run through the TUI: SmolLM2 in its llama.cpp worker, a handful of tokens."""

from __future__ import annotations

import pytest
from tui_helpers import SIZE, make_app, wait_results

from tui_bench.core.plan import LoadedPlan, parse_plan
from tui_bench.tui.widgets.ranking import RankingTable

pytestmark = pytest.mark.real


async def test_smollm2_live_then_ranked() -> None:
    raw = {
        "name": "tui-real",
        "repeats": 2,
        "warmup": 0,
        "defaults": {"max_tokens": 6, "ignore_eos": True},
        "models": [{"id": "smollm2", "source": "builtin:smollm2-135m", "n_ctx": 256}],
        "prompts": [{"id": "hi", "task": "qa", "text": "Say hello."}],
    }
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        run = app.start_run(LoadedPlan(plan=parse_plan(raw), path=None, raw=raw))
        assert run is not None
        results = await wait_results(pilot, app, timeout=120)
        assert run.state.tokens_total == 12
        assert run.state.rss_kb, "the worker's RSS was sampled"
        table = results.query_one(RankingTable)
        assert table.row_count == 1 and table.medal_order() == []  # alone: no one to beat
        recs = [r for r in app.store.get_requests(results.run_id) if r.ok]
        assert len(recs) == 2 and all(r.n_out == 6 and (r.decode_tps or 0) > 0 for r in recs)
