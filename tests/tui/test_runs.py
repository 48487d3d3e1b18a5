"""The app owns every run: a crash of either kind exits with the documented code for an
internal error (not 1, the verdict "below the threshold"; not 0), and the classifier's
benchmark is a worker of the app in its own group, ended by the app's one handler."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from tui_helpers import (
    SIZE,
    hold_after_first_candidate,
    make_app,
    screen_name,
    start_preset_benchmark,
    wait_for,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))
from classify_helpers import annotated_rows, write_csv

from tui_bench.core.classify import runner
from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.core.engine import Engine
from tui_bench.core.errors import EXIT_INTERNAL, EXIT_INTERRUPTED
from tui_bench.tui.screens.classify import ClassifySetupScreen
from tui_bench.tui.screens.classify_live import ClassifyRunScreen
from tui_bench.tui.screens.dialogs import ConfirmScreen


def test_the_internal_error_code_is_its_own() -> None:
    from tui_bench.core import errors

    codes = [errors.EXIT_OK, errors.EXIT_BELOW_THRESHOLD, errors.EXIT_BAD_INPUT]
    assert EXIT_INTERNAL == 4 and EXIT_INTERNAL not in [*codes, errors.EXIT_SAVE_FAILED]


async def test_a_crashed_classifier_benchmark_exits_with_the_internal_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("the training pool died")

    monkeypatch.setattr(runner, "run_classify", broken)
    rows = annotated_rows({"sentiment": {"pos": 20, "neg": 20}}, n_rows=40)
    data = write_csv(tmp_path / "d.csv", rows)
    config = ClassifyConfig(
        data=data,
        annotation_column="annotation",
        models=["complement-nb", "sgd"],
        output_dir=tmp_path,
    )
    app = make_app(classify_config=config)
    async with app.run_test(size=SIZE) as pilot:
        await start_preset_benchmark(pilot, app)
        await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen")
        assert "the training pool died" in str(app.screen.query_one(".dialog-body").render())
        run = app.active
        assert run is not None and run.kind == "run-classify" and not run.running
        assert run.worker is not None and run.worker.group == "run-classify"
        assert app.exit_code == EXIT_INTERNAL
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == EXIT_INTERNAL


async def test_a_crashed_llm_run_from_the_command_line_exits_with_the_internal_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Engine) -> None:
        raise RuntimeError("the history database is locked")

    monkeypatch.setattr(Engine, "run", broken)
    plan = tmp_path / "cli.toml"
    plan.write_text(
        'name = "cli"\nrepeats = 1\nwarmup = 0\n'
        '[[models]]\nid = "m"\nbackend = "mock"\n'
        '[[prompts]]\nid = "a"\ntext = "hello there"\n'
    )
    app = make_app(plan_path=plan, start=True, output_dir=tmp_path / "out")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: screen_name(app) == "ErrorScreen")
        run = app.active
        assert run is not None and run.kind == "run-llm" and run.worker is not None
        assert run.worker.group == "run-llm"
        await pilot.press("escape")
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == EXIT_INTERNAL


async def test_quitting_during_a_classifier_benchmark_asks_once_then_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ctrl+q: the app's one confirmation, worded for the benchmark; yes cancels it, and
    the app exits once it has stopped, with the cancelled benchmark's code."""
    gate = hold_after_first_candidate(monkeypatch)
    rows = annotated_rows({"sentiment": {"pos": 20, "neg": 20}}, n_rows=40)
    config = ClassifyConfig(
        data=write_csv(tmp_path / "d.csv", rows),
        annotation_column="annotation",
        models=["complement-nb", "sgd"],
        output_dir=tmp_path / "out",
    )
    app = make_app(classify_config=config)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await start_preset_benchmark(pilot, app)
            await wait_for(pilot, lambda: isinstance(app.screen, ClassifyRunScreen))
            run = app.active
            assert run is not None and run.kind == "run-classify"
            await wait_for(pilot, lambda: run.state.snapshot().n_done == 1)  # type: ignore[attr-defined]
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            body = str(app.screen.query_one(".dialog-body").render())
            assert "A classifier benchmark is running" in body
            await pilot.press("ctrl+q")  # a second ctrl+q opens no second dialog
            await pilot.pause()
            assert sum(isinstance(s, ConfirmScreen) for s in app.screen_stack) == 1
            await pilot.press("y")
            await wait_for(pilot, lambda: run.cancelling)
            gate.set()
            await wait_for(pilot, lambda: not app.is_running)
    finally:
        gate.set()
    assert run.exit_code == EXIT_INTERRUPTED and app.return_value == EXIT_INTERRUPTED
