"""The load view: a closed-loop sweep on the mock backend's simulated server (``slots``)
shown live (levels drawn as they finish, requests in flight during a level), the capacity
sentence and the level table on the results screen, live and reopened from history."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from tui_helpers import SIZE, make_app, mock_loaded, record, text_of, wait_for, wait_results

from tui_bench.core.events import (
    LevelFinished,
    LevelStarted,
    LoadFinished,
    LoadProgress,
    ModelLoaded,
    RequestFinished,
    RunStarted,
)
from tui_bench.tui.screens.live import LiveScreen
from tui_bench.tui.screens.results import ResultsScreen
from tui_bench.tui.state.llm import BridgeSink, LiveState
from tui_bench.tui.widgets.load import bar, counts_line, level_line

SERVER = {"ttft_ms": 10, "tokens_per_s": 400, "jitter": 0, "load_ms": 1, "slots": 2}


def load_plan() -> Any:
    return mock_loaded(
        models=[{"id": "srv", "backend": "mock", "mock": SERVER}],
        defaults={"max_tokens": 80},
        warmup=0,
        repeats=1,
        load={"concurrency": [1, 2, 4], "requests": 8},
        slo={"ttft_ms": 100, "decode_tps": 300},
    )


async def test_a_load_sweep_is_drawn_live_and_its_capacity_shown_on_results() -> None:
    app = make_app()
    seen: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        run = app.start_run(load_plan())
        assert run is not None
        live = app.screen
        assert isinstance(live, LiveScreen)
        load = run.state.load

        def first_level_in_flight() -> bool:
            cur = load.current
            return cur is not None and not cur.done and cur.in_flight > 0

        await wait_for(pilot, first_level_in_flight)
        seen["running"] = text_of(app, "#live-load")  # the panel renders the state as it is
        await wait_for(pilot, lambda: live.has_class("-load"))  # the next repaint shows it
        assert not live.query_one("#live-output").display

        # the first level finished, the second runs: one row of bars, then "running…"
        def second_level_running() -> bool:
            levels = load.levels
            return len(levels) == 2 and levels[0].done and levels[1].sent > 0 and not levels[1].done

        await wait_for(pilot, second_level_running)
        seen["second"] = text_of(app, "#live-load")
        results = await wait_results(pilot, app)
        assert isinstance(results, ResultsScreen)
        section = text_of(app, "#results-load")
        capacity = load.capacity["srv"]
        run_id = results.run_id

        app.pop_screen()  # reopened from history: the same sentence and table
        app.push_screen(ResultsScreen(run_id))
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", None) is not None)
        await pilot.pause()
        again = text_of(app, "#results-load")

    running = seen["running"]
    assert "c=1" in running and "1 user" in running and "in flight 1" in running
    assert "running… " in running
    second = seen["second"]
    rows = [ln for ln in second.splitlines() if ln.startswith("c=")]
    assert rows[0].startswith("c=1") and "█" in rows[0] and " ms" in rows[0]
    assert rows[1].startswith("c=2") and "running…" in rows[1]
    assert len(rows) == 2  # c=4 has not started: no row for it yet

    # 2 slots hold 2 users at 400 tok/s each; 4 users share them at 200 tok/s: SLO missed
    assert capacity.startswith("srv holds 2 users at once with first token < 100 ms")
    assert "at 4 users" in capacity
    assert "capacity: " + capacity in " ".join(section.split("\n"))
    table = [ln.strip() for ln in section.splitlines() if ln.strip().startswith("c=")]
    assert [row.split()[0] for row in table] == ["c=1", "c=2", "c=4"]
    assert [row.split()[1] for row in table] == ["8/8", "8/8", "8/8"]
    assert [row.split()[-1] for row in table] == ["✓", "✓", "✗"]
    assert again == section


def test_the_load_folds_keep_levels_progress_and_capacity() -> None:
    state = LiveState(clock=lambda: 0)
    sink = BridgeSink(state)
    sink.handle(LevelStarted("m", "r=2", 0, 2, "rate", 2.0))
    sink.handle(LoadProgress("m", "r=2", 2.0, 3, 1, 5, 1, 1, 80))
    lv = state.load.current
    assert lv is not None and not lv.done
    assert (lv.in_flight, lv.queued, lv.sent, lv.completed, lv.failed) == (3, 1, 5, 1, 1)
    assert lv.rate_now == 2.5  # 5 sent in 2 s
    assert state.load.peak_in_flight == 3
    summary = {"errors": {"http 503": 2, "timeout": 1}, "output_throughput_tps": 50.0}
    sink.handle(LevelFinished("m", "r=2", summary, {}))
    sink.handle(LevelStarted("m", "r=4", 1, 2, "rate", 4.0))
    sink.handle(LevelFinished("m", "r=4", {"errors": {"timeout": 2}}, {}))
    sink.handle(LoadFinished("m", "m holds 2 req/s", "no knee", ["r=2", "r=4"]))
    assert [x.level for x in state.load.levels] == ["r=2", "r=4"]
    assert state.load.levels[0].in_flight == 0 and state.load.levels[0].done
    assert state.load.errors() == {"http 503": 2, "timeout": 3}
    assert state.load.capacity == {"m": "m holds 2 req/s"} and state.load.knee == {"m": "no knee"}
    assert state.log[-1].text == "capacity: m holds 2 req/s"
    # one line per level in the log (headless writes the long form; figures missing: dashes)
    assert [e.text for e in list(state.log)[-3:-1]] == [
        "[m] r=2: 0/0 ok, 50.0 tok/s, TTFT p90 –, E2E p90 –",
        "[m] r=4: 0/0 ok, – tok/s, TTFT p90 –, E2E p90 –",
    ]


def test_a_levels_requests_are_not_logged_one_by_one() -> None:
    state = LiveState(clock=lambda: 0)
    sink = BridgeSink(state)
    plain = record(1, 1, "m", "p", "qa", 0, 10.0, 100.0)
    loaded = record(1, 2, "m", "p", "qa", 0, 10.0, 100.0, ok=False)
    loaded.level, loaded.finish_reason, loaded.error = "c=2", "error", "http 503"
    sink.handle(RequestFinished(plain))
    sink.handle(RequestFinished(loaded))
    assert [e.text.split(":")[0] for e in state.log] == ["✓ m / p / rep 1"]
    assert state.model("m").n_failed == 1  # counted all the same


def test_bars_in_eighths_against_a_fixed_upper_bound() -> None:
    assert bar(50.0, 100.0, 4) == "██  "
    assert bar(100.0, 100.0, 4) == "████"
    assert bar(1.0, 8.0, 1) == "▏"
    assert bar(None, 100.0, 3) == "   "
    assert bar(200.0, 100.0, 2) == "██"  # clipped to the panel


# -- a frozen load run: the snapshot and the 80x24 check ----------------------------------

MS = 1_000_000


def demo_load_state() -> LiveState:
    """Three levels of a sweep on 4 slots: two finished, the third half-way (frozen clock)."""
    t0 = 10_000 * MS
    state = LiveState(ram_total_kb=32 * 1024 * 1024, clock=lambda: t0 + 9_000 * MS)
    sink = BridgeSink(state)
    no_gpu = {"gpu": {"available": False, "reason": "no NVIDIA GPU (demo)"}}
    sink.handle(RunStarted(4, "load-demo", None, "2025-03-01T10:00:00", 48, 1, ["srv"], ["a"], 1, no_gpu))  # fmt: skip
    state.started_ns = t0
    sink.handle(ModelLoaded("srv", 12.0, None, {"desc": "simulated server"}))
    figures = [  # level, tok/s, TTFT p50/p90, E2E p90, concurrency, meets the SLOs, errors
        ("c=1", 380.0, 11.0, 12.5, 110.0, 1.0, True, {}),
        ("c=2", 742.0, 12.0, 14.0, 115.0, 2.0, True, {}),
        ("c=4", 1410.0, 14.0, 19.0, 121.0, 3.9, True, {"http 503": 1}),
        ("c=8", 1502.0, 29.0, 41.0, 230.0, 7.8, False, {}),
    ]
    for i, (level, tps, p50, p90, e2e, conc, meets, errors) in enumerate(figures):
        users = 2**i
        sink.handle(LevelStarted("srv", level, i, 5, "concurrency", float(users)))
        sink.handle(LoadProgress("srv", level, 1.0, users, 0, 16, 12, 0, 960))
        summary = {
            "level": level, "sent": 16, "completed": 16 - sum(errors.values()),
            "failed": sum(errors.values()), "errors": errors, "duration_s": 1.6,
            "output_throughput_tps": tps, "ttft_ms": {"p50": p50, "p90": p90},
            "e2e_ms": {"p90": e2e}, "achieved_concurrency": conc, "meets_slo": meets,
        }  # fmt: skip
        sink.handle(LevelFinished("srv", level, summary, {}))
    sink.handle(LevelStarted("srv", "c=16", 4, 5, "concurrency", 16.0))
    sink.handle(LoadProgress("srv", "c=16", 0.8, 12, 4, 20, 6, 0, 480))
    return state


def test_load_view_snapshot(snap_compare: Any) -> None:
    app = make_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        app.push_screen(LiveScreen(demo_load_state()))
        await wait_for(
            pilot, lambda: isinstance(app.screen, LiveScreen) and app.screen.has_class("-load")
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_the_load_view_fits_80x24() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(LiveScreen(demo_load_state()))
        await wait_for(
            pilot, lambda: isinstance(app.screen, LiveScreen) and app.screen.has_class("-load")
        )
        await pilot.pause()
        panel = app.screen.query_one("#live-load")
        height = panel.content_size.height
        lines = text_of(app, "#live-load").splitlines()
    # the running level, its counts, the curve's head and 5 rows, the errors: all visible
    assert height >= 9
    assert lines[0].startswith("● c=16") and "in flight 12" in lines[0] and "queued 4" in lines[0]
    assert [ln.split()[0] for ln in lines[3:8]] == ["c=1", "c=2", "c=4", "c=8", "c=16"]
    assert lines[8] == "errors: http 503 1"


def test_an_open_loop_level_says_its_target_and_achieved_rate() -> None:
    state = LiveState(clock=lambda: 0)
    sink = BridgeSink(state)
    sink.handle(LevelStarted("m", "r=4", 0, 1, "rate", 4.0))
    sink.handle(LoadProgress("m", "r=4", 2.0, 2, 0, 7, 5, 0, 300))
    lv = state.load.current
    assert lv is not None
    assert str(level_line(lv)) == "● r=4 · m · level 1/1 · target 4 req/s · in flight 2"
    assert str(counts_line(lv)) == "sent 7 · ok 5 · 2.0 s · rate 3.50 of 4 req/s achieved"
    summary = {"sent": 8, "completed": 8, "failed": 0, "duration_s": 2.1, "achieved_rate_rps": 3.81}
    sink.handle(LevelFinished("m", "r=4", summary, {}))
    assert str(counts_line(lv)) == "sent 8 · ok 8 · 2.1 s · rate 3.81 of 4 req/s achieved"


async def test_l_toggles_the_load_panel_and_the_log_under_load() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        live = LiveScreen(demo_load_state())
        app.push_screen(live)
        await wait_for(pilot, lambda: app.screen is live and live.has_class("-load"))
        panel, log, out = (live.query_one(f"#live-{w}") for w in ("load", "log", "output"))
        assert panel.display and log.display and not out.display
        await pilot.press("l")
        assert not panel.display and log.display and not out.display
        await pilot.press("l")
        assert panel.display and not log.display and not out.display
