"""The app's first screen shows this machine's facts in one line, and F1 shows them in full
with the repacking advice of the last ``tui-bench doctor``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench_helpers import PLANS
from textual.pilot import Pilot
from textual.widgets import Static

from tui_bench.core import doctor
from tui_bench.core.doctor import SelfTest, quick_report, summary_line
from tui_bench.tui.app import create_app
from tui_bench.tui.screens.help import HelpScreen
from tui_bench.tui.screens.wizard import WizardScreen


async def _wait(pilot: Pilot[Any], cond: Any, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "condition not met"
        await pilot.pause(0.05)


def _app(**kw: Any) -> Any:
    return create_app(
        plans_dirs=[PLANS],
        models_dirs=[],
        discover_stores=False,
        cursor_blink=False,
        keymap={},
        **kw,
    )


def _cache_a_crashing_selftest() -> None:
    """What ``tui-bench doctor`` keeps on a host where repacking crashes (no model run
    here: the self-test itself is tested in test_doctor.py)."""
    report = doctor.gather(selftest=False, stores=False)
    report.selftest = [
        SelfTest(repack=True, ok=False, crashed=True, signal="SIGSEGV", stage="decode"),
        SelfTest(repack=False, ok=True, n_out=16, decode_tps=42.0),
    ]
    assert doctor.save_cache(report) is not None


async def test_wizard_shows_the_machine_line_and_f1_the_advice(bench_home: Path) -> None:
    _cache_a_crashing_selftest()
    expected = quick_report([], stores=False)
    line = summary_line(expected)
    assert " · repack crashes · " in line
    app = _app()
    async with app.run_test(size=(80, 24)) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        await _wait(pilot, lambda: wiz.doctor_report is not None)
        shown = wiz.query_one("#wizard-doctor", Static)
        assert str(shown.render()) == line
        assert shown.region.height == 1 and shown.region.width == 80  # one line at 80x24
        assert len(line) <= 78  # fits 80 columns with its padding
        await pilot.press("f1")
        await _wait(pilot, lambda: isinstance(app.screen, HelpScreen))
        machine = str(app.screen.query_one(".help-machine", Static).render())
        assert machine.startswith("This machine " + line.split(" · ")[0])
        assert expected.recommendation is not None
        assert " ".join(expected.recommendation.split()) in " ".join(machine.split())
        assert app.screen.query_one("#help-keys").region.height >= 5  # keys keep their room
        await pilot.press("escape")
        await _wait(pilot, lambda: isinstance(app.screen, WizardScreen))


async def test_before_any_doctor_run_the_line_says_repack_untested(bench_home: Path) -> None:
    app = _app()
    async with app.run_test(size=(100, 30)) as pilot:
        wiz = app.screen
        await _wait(pilot, lambda: wiz.doctor_report is not None)
        parts = str(wiz.query_one("#wizard-doctor", Static).render()).split(" · ")
        assert parts[2] == "repack untested"
        assert wiz.doctor_report.selftest is None


async def test_tests_and_screenshots_can_leave_the_machine_out(bench_home: Path) -> None:
    app = _app(check_machine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        wiz = app.screen
        assert wiz.query_one("#wizard-doctor", Static).display is False
        assert wiz.doctor_report is None and not wiz._doctor_started
