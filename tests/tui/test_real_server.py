"""One real run through the TUI against a real server: llama-cpp-python's, serving SmolLM2
on 127.0.0.1 through tui-bench's launcher (repacking off, llama.cpp's own counters on).

A closed-loop sweep (1 and 2 users) is drawn live in the load panel while it runs; the
results screen gives the level table and the capacity sentence; history holds every
request with its timings, token counts and their source, finish reason and the server's
own counters.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bench_helpers import smollm2_file
from servers.fixtures import RealServer, start_llama_server, stop_server
from tui_helpers import SIZE, make_app, text_of, wait_for, wait_results

from tui_bench.core.metrics import COUNT_TOLERANCE, FLAG_NO_FINISH, FLAG_TRUNCATED
from tui_bench.core.plan import LoadedPlan, parse_plan

pytestmark = pytest.mark.real

REQUESTS = 3
MAX_TOKENS = 8


@pytest.fixture(scope="module")
def smol_server() -> Iterator[RealServer]:
    server = start_llama_server(smollm2_file(), alias="smol", timings=True)
    try:
        yield server
    finally:
        stop_server(server.proc)


def plan(url: str) -> LoadedPlan:
    raw: dict[str, Any] = {
        "name": "tui-server",
        "warmup": 1,
        "defaults": {"max_tokens": MAX_TOKENS, "temperature": 0.0},
        "models": [{"id": "smol", "backend": "openai", "base_url": url, "model": "smol"}],
        "prompts": [{"id": "colours", "task": "qa", "text": "Name three colours."}],
        "load": {"concurrency": [1, 2], "requests": REQUESTS},
    }
    return LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)


async def test_a_sweep_against_a_real_server_is_live_then_ranked(smol_server: RealServer) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        run = app.start_run(plan(smol_server.url))
        assert run is not None
        load = run.state.load
        await wait_for(pilot, lambda: load.current is not None, 120)
        await wait_for(pilot, lambda: app.screen.has_class("-load"), 60)
        # the panel is shown with the class, and says "waiting" until it is laid out (its
        # size is 0 before the next layout pass): read it once it has drawn the level
        waiting = "waiting for the first load level"
        await wait_for(pilot, lambda: not text_of(app, "#live-load").startswith(waiting), 30)
        live = text_of(app, "#live-load")
        results = await wait_results(pilot, app, timeout=240)
        section = text_of(app, "#results-load")
        capacity = load.capacity.get("smol")
        requests = app.store.get_requests(results.run_id)

    assert "c=1" in live and "1 user" in live
    # the level table: every request of both levels answered
    rows = [ln.strip() for ln in section.splitlines() if ln.strip().startswith("c=")]
    assert [r.split()[:2] for r in rows] == [["c=1", f"{REQUESTS}/{REQUESTS}"], ["c=2", f"{REQUESTS}/{REQUESTS}"]]  # fmt: skip
    assert capacity and "capacity: " + capacity in " ".join(section.split("\n"))

    measured = [r for r in requests if r.level is not None and not r.warmup]
    assert sorted(r.level for r in measured) == ["c=1"] * REQUESTS + ["c=2"] * REQUESTS
    for r in measured:
        assert r.ok and r.finish_reason in ("stop", "length"), r
        assert FLAG_TRUNCATED not in r.flags and FLAG_NO_FINISH not in r.flags  # no cut stream
        assert r.ttft_ms is not None and 0 < r.ttft_ms <= r.e2e_ms
        # the count of output tokens and where it came from: this server streams no usage,
        # so its tokenize endpoint (/extras/tokenize) counted the answer
        assert 1 <= r.n_out <= MAX_TOKENS and r.n_out_source == "server_tokenize"
        # llama.cpp's own counters, as the server reported them, beside the client's: a
        # retokenized answer may merge two tokens into one, never more than that apart
        assert r.engine is not None and r.engine.origin == "server"
        assert r.engine.n_eval is not None and abs(r.engine.n_eval - r.n_out) <= COUNT_TOLERANCE
