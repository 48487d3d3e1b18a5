"""The regression gate on the compare screen: with a threshold set (t), a candidate made
slower on purpose FAILs with its regressions named, a rerun of the baseline PASSes, an
invalid threshold is refused in the prompt; the same verdict as the CLI's gate."""

from __future__ import annotations

from textual.widgets import Input
from tui_helpers import SIZE, add_run, make_app, text_of, wait_for

from tui_bench.core.compare.gate import gate
from tui_bench.core.compare.render import gate_line
from tui_bench.core.compare.sources import source_from_store
from tui_bench.core.store import Store
from tui_bench.tui.screens.dialogs import PathPrompt
from tui_bench.tui.screens.history import CompareScreen

BASE = [100.0, 102.0, 98.0, 101.0, 99.0, 100.5, 99.5, 100.0]


def three_runs() -> tuple[int, int, int]:
    store = Store()
    try:

        def run(rates: list[float], ttft: float, minute: int) -> int:
            return add_run(
                store,
                plan="gate",
                started=f"2025-03-01T10:{minute:02d}:00+00:00",
                finished=f"2025-03-01T10:{minute:02d}:30+00:00",
                status="completed",
                rates={"m": rates},
                ttfts={"m": ttft},
            )

        base = run(BASE, 20.0, 0)
        again = run([r * 1.001 for r in BASE], 20.0, 1)  # a rerun: within noise
        slower = run([r * 0.5 for r in BASE], 40.0, 2)  # half the decode rate
        return base, again, slower
    finally:
        store.close()


async def gate_text(a: int, b: int, threshold: str) -> tuple[str, CompareScreen]:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = CompareScreen(a, b)
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.result is not None)
        assert text_of(app, "#compare-gate") == "gate: none (t sets a regression threshold)"
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
        field = app.screen.query_one(Input)
        field.value = "five"
        await pilot.press("enter")  # refused in the prompt, one line
        assert "threshold five: give a percentage, e.g. 5%" in text_of(app, "#prompt-error")
        field.value = threshold
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.gate_result is not None)
        await pilot.pause()
        return text_of(app, "#compare-gate"), screen


async def test_a_slower_candidate_fails_the_gate_and_a_rerun_passes() -> None:
    base, again, slower = three_runs()
    failed, screen = await gate_text(base, slower, "5%")
    assert screen.threshold == 0.05
    assert failed.startswith("✗ gate: FAIL: ")
    assert "beyond 5%: m decode_tps -50" in failed
    passed, _ = await gate_text(base, again, "5")
    assert passed == "✓ gate: PASS: no metric regressed significantly beyond 5%"
    # the CLI's gate says the same of the same runs
    store = Store()
    try:
        cli = gate(
            source_from_store(store, base, ""), source_from_store(store, slower, ""), threshold=0.05
        )
    finally:
        store.close()
    assert cli.exit_code == 1 and ("m", "decode_tps") in [
        (g.model, m.metric) for g, m in cli.regressions
    ]
    assert failed == "✗ " + gate_line(cli)
