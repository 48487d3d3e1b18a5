"""The live view: cancel with confirmation, a flood of tokens, quitting, errors, CLI start."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual import events
from tui_helpers import SIZE, make_app, mock_loaded, screen_name, wait_for, wait_results

from tui_bench.core.engine import Engine
from tui_bench.core.errors import EXIT_BELOW_THRESHOLD, EXIT_INTERRUPTED, EXIT_OK
from tui_bench.tui.screens import live as live_screen
from tui_bench.tui.screens.live import LiveScreen
from tui_bench.tui.widgets.ranking import RankingTable


def slow_second_model() -> dict:
    return {
        "models": [
            {
                "id": "fast",
                "backend": "mock",
                "mock": {"ttft_ms": 2, "tokens_per_s": 5000, "load_ms": 1},
            },
            # 400 tokens at 10 tok/s: 40 seconds per request, long enough to cancel, and to
            # tell "stopped at the next token" from "after the request" on a busy host
            {
                "id": "slow",
                "backend": "mock",
                "mock": {"ttft_ms": 5, "tokens_per_s": 10, "load_ms": 1},
            },
        ],
        "defaults": {"max_tokens": 400},
        "warmup": 0,
    }


async def test_cancel_asks_first_then_keeps_partial_results() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        run = app.start_run(mock_loaded(**slow_second_model()))
        assert run is not None
        live = app.screen
        assert isinstance(live, LiveScreen)
        await wait_for(
            pilot, lambda: run.state.current.model == "slow" and run.state.current.n_out > 2
        )
        await pilot.press("c")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
        await pilot.press("n")  # declining keeps the run going
        await wait_for(pilot, lambda: screen_name(app) == "LiveScreen")
        assert run.running and not run.state.cancelling
        await pilot.press("c")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
        t0 = time.monotonic()
        await pilot.press("y")
        results = await wait_results(pilot, app)
        assert time.monotonic() - t0 < 20  # stopped at the next token, not after the request
        row = app.store.get_run(results.run_id)
        assert row.status == "cancelled"
        recs = app.store.get_requests(results.run_id)
        fast_ok = [r for r in recs if r.model == "fast" and r.ok]
        assert len(fast_ok) == 4  # everything finished before the cancel is kept
        assert any(r.model == "slow" and r.finish_reason == "cancelled" for r in recs)
        table = results.query_one(RankingTable)
        # the slow model has no valid value: fast is first, alone, without a medal
        assert table.row_count == 2 and table.medal_order() == []
        head = str(results.query_one("#results-head").render())
        assert "CANCELLED" in head and "partial results" in head


async def test_flood_of_tokens_keeps_the_ui_responsive_and_refreshes_bounded() -> None:
    hz = 5.0
    app = make_app(refresh_hz=hz)
    raw = {
        "models": [
            {
                "id": "flood",
                "backend": "mock",
                "mock": {"ttft_ms": 1, "tokens_per_s": 50000, "load_ms": 1, "jitter": 0},
            }
        ],
        "prompts": [{"id": "a", "task": "analysis", "text": "Explain distillation"}],
        "defaults": {"max_tokens": 25000},
        "repeats": 3,
        "warmup": 0,
    }
    async with app.run_test(size=SIZE) as pilot:
        shown = time.monotonic()  # the live view's timer starts with the screen
        run = app.start_run(mock_loaded(**raw))
        assert run is not None
        live = run.screen
        await wait_for(pilot, lambda: run.state.tokens_total > 5000)
        # a key press is handled while tokens pour in: post it as the terminal would and
        # time it (Pilot.press also waits for the app to be idle, which a flood never is)
        t0 = time.monotonic()
        app.post_message(events.Key("f1", None))
        await wait_for(pilot, lambda: screen_name(app) == "HelpScreen", timeout=2, step=0.005)
        latency = time.monotonic() - t0
        assert run.running, "the run should still be going"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not run.running, timeout=30)
        elapsed = time.monotonic() - shown
        assert latency < 1.0
        assert run.state.tokens_total == 75000
        assert run.state.token_events > 20
        # repaints are bounded by the timer, not by tokens or events
        assert live.refreshes <= live.ticks <= elapsed * hz + 2
        assert live.refreshes < run.state.token_events
        # while a request is measured the panels repaint at the slower streaming rate (a
        # repaint may also fall between two of the three requests, and at the end)
        assert live.refreshes <= elapsed * live_screen.DEFAULT_STREAM_REFRESH_HZ + 2 * 3 + 2
        rec = [r for r in app.store.get_requests(run.outcome.run_id) if r.ok]  # type: ignore[union-attr]
        assert len(rec) == 3 and all(r.n_out == 25000 for r in rec)


async def test_ctrl_q_during_a_run_confirms_cancels_and_exits_130() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        run = app.start_run(mock_loaded(**slow_second_model()))
        assert run is not None
        await wait_for(pilot, lambda: run.state.current.model == "slow")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(pilot, lambda: not run.running, timeout=10)
        await pilot.pause(0.2)
    assert app.return_value == EXIT_INTERRUPTED
    assert run.outcome is not None and run.outcome.status == "cancelled"


async def test_ctrl_q_without_a_run_quits_at_once() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == EXIT_OK


async def test_an_engine_failure_becomes_an_error_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: Engine) -> None:
        raise RuntimeError("the history database is locked")

    monkeypatch.setattr(Engine, "run", broken)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        run = app.start_run(mock_loaded())
        assert run is not None
        await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen")
        assert "database is locked" in str(app.screen.query_one(".dialog-body").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "LiveScreen")
        assert app.is_running and not app.run_in_progress


@pytest.mark.parametrize(("fail", "code"), [(False, EXIT_OK), (True, EXIT_BELOW_THRESHOLD)])
async def test_cli_start_opens_live_then_results_and_exit_code(
    tmp_path: Path, fail: bool, code: int
) -> None:
    plan = tmp_path / "cli.toml"
    plan.write_text(
        'name = "cli"\nsuccess_threshold = 1.0\nrepeats = 1\nwarmup = 0\n'
        "[defaults]\nmax_tokens = 6\n"
        '[[models]]\nid = "m"\nbackend = "mock"\n[models.mock]\nload_ms = 1\ntokens_per_s = 3000\n'
        + ('fail_prompts = ["b"]\n' if fail else "")
        + '[[prompts]]\nid = "a"\ntext = "hello there"\n'
        + '[[prompts]]\nid = "b"\ntext = "hello again"\n'
    )
    out = tmp_path / "out"
    app = make_app(plan_path=plan, start=True, output_dir=out)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.active is not None)
        await wait_results(pilot, app)
        assert (out / "report.md").exists() and (out / "data.json").exists()
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == code
