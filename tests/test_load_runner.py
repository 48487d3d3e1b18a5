"""Load levels on the mock backend: closed and open loops, the backend's gate, warm-ups,
duration bounds, cancellation, the simulated server's slots, the headless lines and a
run rebuilt from history (core/load/runner.py)."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tui_bench.core.backends.base import GenRequest
from tui_bench.core.backends.mock import MockBackend
from tui_bench.core.engine import Engine
from tui_bench.core.events import (
    Event,
    LevelFinished,
    LevelStarted,
    LoadFinished,
    LoadProgress,
    RequestFinished,
    RunFinished,
)
from tui_bench.core.load.arrivals import schedule
from tui_bench.core.load.spec import MAX_LEVEL_REQUESTS
from tui_bench.core.load.summary import summarize_level
from tui_bench.core.plan import LoadedPlan, ModelSpec, parse_plan
from tui_bench.core.report import ReportSink, run_data_from_store, to_json, write_reports
from tui_bench.core.results import RequestRecord
from tui_bench.core.store import Store
from tui_bench.headless.log import LogSink

# ~8 ms of prefill + 20 tokens at 1000 tok/s: about 30 ms a request
MOCK = {"ttft_ms": 5, "tokens_per_s": 1000, "load_ms": 1, "jitter": 0}


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def plan(load: dict[str, Any], *, mock: dict[str, Any] | None = None, **over: Any) -> LoadedPlan:
    raw: dict[str, Any] = {
        "name": "load-test",
        "warmup": 1,
        "defaults": {"max_tokens": 20},
        "models": [{"id": "m", "backend": "mock", "mock": MOCK | (mock or {})}],
        "prompts": [
            {"id": "a", "task": "qa", "text": "Explain what a benchmark measures"},
            {"id": "b", "task": "qa", "text": "Name a colour"},
        ],
        "load": load,
    }
    raw.update(over)
    return LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)


def run(loaded: LoadedPlan, *sinks: Any, **kw: Any) -> tuple[Engine, Collect]:
    c = Collect()
    engine = Engine(loaded, sinks=[c, *sinks], telemetry=False, **kw)
    asyncio.run(engine.run())
    return engine, c


def measured(records: list[RequestRecord], level: str) -> list[RequestRecord]:
    return [r for r in records if r.level == level and not r.warmup]


def test_closed_loop_sweep_on_a_backend_that_serves_one_at_a_time() -> None:
    engine, c = run(
        plan({"concurrency": [1, 2, 4], "requests": 6, "warmup_requests": 2}),
        write_history=False,
    )
    assert [e.level for e in c.of(LevelStarted)] == ["c=1", "c=2", "c=4"]
    finished = {e.level: e for e in c.of(LevelFinished)}
    records = engine.records
    # one plan-wide warm-up through the engine, then per level 2 warm-ups and 6 measured
    assert [r.warmup for r in records if r.level is None] == [True]
    for label, users in (("c=1", 1), ("c=2", 2), ("c=4", 4)):
        s = finished[label].summary
        assert (s["sent"], s["completed"], s["failed"]) == (6, 6, 0)
        warm = [r for r in records if r.level == label and r.warmup]
        assert len(warm) == 2 and len(measured(records, label)) == 6
        assert s["backend_max_concurrency"] == 1
        # Little's law with the queue counted: never more than the users
        assert 0 < s["achieved_concurrency"] <= users + 1e-9
        # the figures are the stored records' (a rebuild gives the same)
        again = summarize_level(finished[label].context, records).as_dict()
        assert again == s
    # four users, one served at a time: the others queue, and that is their latency
    s4 = finished["c=4"].summary
    assert s4["achieved_concurrency"] > 1
    assert s4["queue_ms"]["p90"] > 0
    for r in measured(records, "c=4"):
        assert r.dispatch_lag_us is not None and r.queue_us is not None
        assert r.dispatch_lag_us >= r.queue_us >= 0
        assert r.ttft_sched_ms == pytest.approx(r.ttft_ms + r.dispatch_lag_us / 1000)
    # every request has its own seq; the prompts take turns
    assert sorted(r.seq for r in records) == list(range(len(records)))
    assert [r.prompt for r in measured(records, "c=1")] == ["a", "b"] * 3
    # live progress: the backend never held more than one, the rest were queued
    progress = c.of(LoadProgress)
    assert all(p.in_flight <= 1 for p in progress)
    assert all(p.queued <= 3 for p in progress if p.level == "c=4")
    last = [p for p in progress if p.level == "c=4"][-1]
    assert (last.sent, last.completed, last.in_flight, last.queued) == (6, 6, 0, 0)
    (done,) = c.of(LoadFinished)
    assert done.levels == ["c=1", "c=2", "c=4"] and done.capacity.startswith("m: ")


def test_unique_prompts_get_a_random_line_and_plain_ones_do_not() -> None:
    seen: list[str] = []
    original = MockBackend.generate

    async def spy(self: MockBackend, request: GenRequest, on_tokens: Any) -> Any:
        seen.append(request.prompt.text)
        return await original(self, request, on_tokens)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MockBackend, "generate", spy)
        run(plan({"concurrency": [2], "requests": 4}), write_history=False)
        unique = list(seen)
        seen.clear()
        run(plan({"concurrency": [2], "requests": 4, "unique_prompts": False}), write_history=False)
    loaded = unique[1:]  # the plan-wide warm-up goes through the engine, unchanged
    assert len(set(loaded)) == 4
    assert all(
        t.split("\n", 1)[1] in ("Explain what a benchmark measures", "Name a colour")
        for t in loaded
    )
    assert all(t.startswith("[") and t.index("]") == 13 for t in loaded)
    assert seen[1:] == ["Explain what a benchmark measures", "Name a colour"] * 2


def test_open_loop_follows_its_schedule_and_counts_queueing_from_it() -> None:
    load = {"rate": [4, 100], "arrival": "constant", "requests": 8}
    engine, c = run(plan(load), write_history=False)
    records = engine.records
    slow, fast = measured(records, "r=4"), measured(records, "r=100")
    # sent at the scheduled instants: every 250 ms, every 10 ms
    assert sorted(r.t_sched_us for r in slow) == [k * 250_000 for k in range(8)]
    assert sorted(r.t_sched_us for r in fast) == [k * 10_000 for k in range(8)]
    assert all(r.dispatch_lag_us is not None and r.dispatch_lag_us >= 0 for r in slow + fast)
    finished = {e.level: e.summary for e in c.of(LevelFinished)}
    s4, s100 = finished["r=4"], finished["r=100"]
    assert s4["target_rate_rps"] == 4 and s4["achieved_rate_rps"] is not None
    # 100 requests/s into a backend that serves one ~30 ms request at a time: they wait
    # for it, and latency counted from the schedule shows it (from t_send it would not)
    assert s100["e2e_ms"]["p50"] > s4["e2e_ms"]["p50"]
    assert s100["e2e_ms"]["p90"] > s100["e2e_from_send_ms"]["p90"]
    assert s100["dispatch_lag_ms"]["p99"] > s4["dispatch_lag_ms"]["p99"]


def test_poisson_arrivals_are_seeded() -> None:
    load = {"rate": [50], "arrival": "poisson", "seed": 7, "requests": 10}
    first, _ = run(plan(load), write_history=False)
    second, _ = run(plan(load), write_history=False)
    due = [
        o // 1000
        for o in schedule(
            50, arrival="poisson", seed=7, key="m:r=50", count=10, duration_s=None, limit=100
        )
    ]
    assert due[0] == 0 and len(set(due)) == 10
    for engine in (first, second):
        assert sorted(r.t_sched_us for r in measured(engine.records, "r=50")) == due
    other = [
        o // 1000
        for o in schedule(
            50, arrival="poisson", seed=8, key="m:r=50", count=10, duration_s=None, limit=100
        )
    ]
    assert other != due


def test_levels_bounded_by_duration_end_in_time() -> None:
    # open loop: 20/s for 0.25 s is due at 0, 50, 100, 150, 200 ms, and nothing at 250
    engine, c = run(
        plan({"rate": [20], "arrival": "constant", "duration_s": 0.25}), write_history=False
    )
    assert sorted(r.t_sched_us for r in measured(engine.records, "r=20")) == [
        k * 50_000 for k in range(5)
    ]
    # closed loop: nothing is sent at or after the end; what was in flight finishes
    engine, c = run(plan({"concurrency": [2], "duration_s": 0.3}), write_history=False)
    rs = measured(engine.records, "c=2")
    assert len(rs) >= 2 and all(r.ok for r in rs)
    assert max(r.t_sched_us for r in rs) < 300_000
    (s,) = [e.summary for e in c.of(LevelFinished)]
    longest = max(r.e2e_sched_ms for r in rs)
    assert s["duration_s"] <= 0.3 + longest / 1000
    assert s["bounds"] == {"requests": None, "duration_s": 0.3}


def test_cancelling_a_level_stops_it_and_keeps_what_finished() -> None:
    loaded = plan({"concurrency": [2, 4], "duration_s": 30})
    engine = Engine(loaded, telemetry=False, write_history=False)

    class CancelAfterFour:
        n = 0

        def handle(self, event: Event) -> None:
            if isinstance(event, RequestFinished) and event.record.level is not None:
                self.n += 1
                if self.n == 4:
                    engine.cancel()

    c = Collect()
    engine.sinks += [CancelAfterFour(), c]
    outcome = asyncio.run(engine.run())
    assert outcome.status == "cancelled"
    (s,) = [e.summary for e in c.of(LevelFinished)]
    assert s["status"] == "cancelled" and s["level"] == "c=2"
    assert 4 <= s["sent"] < MAX_LEVEL_REQUESTS and s["completed"] >= 4
    assert len(c.of(LoadFinished)) == 1


def test_mock_slots_share_the_decode_rate_and_queue_the_first_token() -> None:
    spec = ModelSpec(
        id="srv", backend="mock", mock={"ttft_ms": 20, "tokens_per_s": 100, "jitter": 0,
                                       "prompt_tokens_per_s": 1e9, "slots": 2, "load_ms": 0},
    )  # fmt: skip
    loaded = plan({"concurrency": [1], "requests": 1})
    backend = MockBackend(spec)
    assert backend.max_concurrency is None
    assert MockBackend(ModelSpec(id="one", backend="mock")).max_concurrency == 1

    async def four_at_once() -> list[Any]:
        await backend.load()
        req = GenRequest(
            loaded.plan.prompts[1], loaded.plan.defaults.model_copy(update={"max_tokens": 4})
        )
        return await asyncio.gather(*(backend.generate(req, lambda b: None) for _ in range(4)))

    outcomes = asyncio.run(four_at_once())
    ttft = [(o.raw.token_t_ns[0] - o.raw.t_send_ns) / 1e6 for o in outcomes]
    # arriving 1st..4th with 2 slots: TTFT x max(1, n / 2)
    assert ttft == pytest.approx([20.0, 20.0, 30.0, 40.0], abs=1e-3)
    # four in flight on two slots: each decodes at half the rate, a token every 20 ms
    first = outcomes[0].raw.token_t_ns
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(first)]
    assert gaps == pytest.approx([20.0, 20.0, 20.0], abs=1e-3)


def test_a_simulated_server_saturates_and_the_report_says_so(tmp_path: Path) -> None:
    loaded = plan(
        {"concurrency": [1, 2, 4, 8], "requests": 8},
        mock={"slots": 2, "tokens_per_s": 400},
        slo={"ttft_ms": 100, "decode_tps": 300},
    )
    _, c = run(loaded, write_history=False)
    finished = [e.summary for e in c.of(LevelFinished)]
    assert [s["backend_max_concurrency"] for s in finished] == [None] * 4
    assert [s["meets_slo"] for s in finished][:2] == [True, True]
    assert finished[2]["meets_slo"] is False  # 4 users on 2 slots: 200 tok/s each
    (done,) = c.of(LoadFinished)
    assert done.capacity.startswith(
        "m holds 2 users at once with first token < 100 ms and ≥ 300 tok/s each for 90% of requests; at 4 users, "
    )


def test_headless_lines_per_level_and_the_capacity(tmp_path: Path) -> None:
    out = io.StringIO()
    run(plan({"concurrency": [1, 2], "requests": 4}), LogSink(out), write_history=False)
    lines = out.getvalue().splitlines()
    levels = [ln for ln in lines if ln.startswith("[m] 1 user:") or ln.startswith("[m] 2 users:")]
    assert len(levels) == 2
    assert "4/4 ok" in levels[0] and "TTFT p90" in levels[0] and "achieved concurrency" in levels[0]
    assert any(ln.startswith("[m] capacity: m: ") for ln in lines)
    assert not any("c=1 #" in ln for ln in lines)  # no line per request under load


def test_a_load_run_rebuilt_from_history_reports_the_same(tmp_path: Path, bench_home: Path) -> None:
    loaded = plan(
        {"rate": [20, 60], "arrival": "poisson", "seed": 3, "requests": 6, "warmup_requests": 1},
        slo={"ttft_ms": 50},
    )
    store = Store(bench_home / "h.sqlite3")
    live = ReportSink(tmp_path / "live", loaded.raw)
    engine, c = run(loaded, live, store=store, write_history=False)
    assert c.of(RunFinished)[0].status == "completed"
    rebuilt = run_data_from_store(store, engine.run_id)
    write_reports(rebuilt, tmp_path / "again")
    store.close()
    a = json.loads((tmp_path / "live" / "data.json").read_text())
    b = json.loads((tmp_path / "again" / "data.json").read_text())
    assert a["load"] == b["load"] and a["requests"] == b["requests"]
    assert [lv["level"] for lv in a["load"]["levels"]] == ["r=20", "r=60"]
    assert a["load"]["models"]["m"]["capacity"].startswith("m ")
    live_csv = (tmp_path / "live" / "results.csv").read_text()
    assert live_csv == (tmp_path / "again" / "results.csv").read_text()
    header = live_csv.splitlines()[0].split(",")
    assert header[header.index("level") : header.index("level") + 4] == [
        "level", "t_scheduled_ms", "dispatch_lag_ms", "queue_ms",
    ]  # fmt: skip
    md = (tmp_path / "live" / "report.md").read_text()
    section = md[md.index("## Load levels") : md.index("## Cold start")]
    again_md = (tmp_path / "again" / "report.md").read_text()
    assert section == again_md[again_md.index("## Load levels") : again_md.index("## Cold start")]
    assert "## Load levels" in md and "**Capacity**" in md and "**Knee**" in md
    assert "The backend serves one request at a time" in md
    req = next(r for r in a["requests"] if r.get("level") == "r=60" and not r["warmup"])
    assert {"t_scheduled_ms", "dispatch_lag_ms", "queue_ms", "ttft_from_scheduled_ms"} <= set(req)
    assert to_json(rebuilt)["load"] == b["load"]


class WallClockGpu:
    """A GPU whose energy counter runs at ``WATTS`` on the perf_counter clock the records
    use: over any span it holds exactly WATTS x the span."""

    WATTS = 50.0
    available = True
    reason = ""

    def sample(self, pid: int | None) -> Any:
        from tui_bench.core.telemetry import GpuReading

        return GpuReading(energy_mj=self.WATTS * time.perf_counter_ns() / 1e6)

    def describe(self) -> dict[str, object]:
        return {"available": True, "devices": []}

    def use_model_devices(self, devices: object) -> None:
        pass

    def close(self) -> None:
        pass


def test_energy_and_memory_are_measured_per_level(monkeypatch: pytest.MonkeyPatch) -> None:
    import tui_bench.core.engine as engine_mod
    import tui_bench.core.telemetry as telemetry_mod

    real = telemetry_mod.Telemetry

    def telemetry(publish: Any, interval_s: float = 0.1) -> Any:
        return real(publish, interval_s=0.01, gpu=WallClockGpu())  # type: ignore[arg-type]

    monkeypatch.setattr(engine_mod, "Telemetry", telemetry)
    # the simulated model is taken to run on the GPU, so the GPU's joules are its own
    monkeypatch.setattr(telemetry_mod, "model_uses_gpu", lambda info: True)
    loaded = plan({"concurrency": [1, 2], "requests": 6})
    c = Collect()
    engine = Engine(loaded, sinks=[c], telemetry=True, write_history=False)
    asyncio.run(engine.run())
    for e in c.of(LevelFinished):
        s, ctx = e.summary, e.context
        assert set(ctx["window"]) == {"peak_rss_kb", "vram_peak_mb", "vram_proc_peak_mb"}
        # joules from the level's first send to its last token: 50 W over D
        joules = ctx["energy"]["energy_j"]
        assert joules == pytest.approx(WallClockGpu.WATTS * s["duration_s"], rel=0.01)
        assert s["energy_j_per_output_token"] == round(joules / s["output_tokens"], 6)
        assert not [r for r in engine.records if r.level == e.level and r.energy_j is not None]
