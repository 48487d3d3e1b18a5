"""Regenerate the README's SVG screenshots of the TUI from the mock plan.

Runs the app headless (Textual's Pilot) on a throw-away history database: the wizard on
``plans/mock.toml``, the live view half-way through the run, the results, then a second
run of the same plan with the slow simulated model made faster (a "change" to compare),
the history with baseline and candidate marked, and the comparison. Then the classifier
benchmark on the real ChatterBot corpus (English; package ``chatterbot-corpus``): its
imbalance table (``classify-setup.svg``), the run (``classify-live.svg``) and the
ranking (``classify.svg``). And a load test: a concurrency sweep on the mock backend's
simulated server (4 slots), its live load panel with two levels drawn and the third
running (``load-live.svg``) and the capacity on the results screen (``load-results.svg``).
And the pipeline of the shipped ``support-rag`` scenario with the simulated model
(``mock:``): live with two questions' bars drawn (``pipeline-live.svg``), then its results
with the bottleneck named (``pipeline.svg``).

    python scripts/screenshots.py [--out screenshots] [--size 100x30]
        [--only llm|classify|load|pipeline]

Timings come from the simulated models (fixed rates with seeded jitter): the pictures
change little from one run to the next. The classifier's are real training times.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


async def _wait(pilot: Any, cond: Callable[[], bool], timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError("the app did not reach the expected state")
        await pilot.pause(0.05)


def quiet_app(plans: Path) -> Any:
    """The app on these plans only: no model-store scans, no keymap file, no blinking."""
    from tui_bench.tui.app import create_app

    return create_app(
        plans_dirs=[plans],
        models_dirs=[],
        discover_stores=False,
        cursor_blink=False,
        keymap={},
        check_machine=False,  # the machine line differs from one machine to the next
    )


def shooter(app: Any, out: Path, written: list[Path]) -> Callable[[str], None]:
    def shot(name: str) -> None:
        written.append(Path(app.save_screenshot(f"{name}.svg", str(out))))

    return shot


async def capture(out: Path, size: tuple[int, int]) -> list[Path]:
    from tui_bench.core.plan import LoadedPlan, load_plan, parse_plan
    from tui_bench.tui.screens.history import CompareScreen, HistoryScreen
    from tui_bench.tui.screens.live import LiveScreen
    from tui_bench.tui.screens.results import ResultsScreen
    from tui_bench.tui.screens.wizard import WizardScreen

    plans = REPO / "plans"
    app = quiet_app(plans)
    written: list[Path] = []
    shot = shooter(app, out, written)

    def results_ready() -> bool:
        return isinstance(app.screen, ResultsScreen) and app.screen.loaded is not None

    async with app.run_test(size=size) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        await pilot.pause(0.5)
        # highlight the mock plan in the catalog
        index = next(i for i, o in enumerate(wiz.options) if o.entry.id == "mock")
        await pilot.press("home", *(["down"] * index))
        await pilot.pause(0.3)
        shot("wizard")
        await pilot.press("enter")  # choose it: the review step
        await _wait(pilot, lambda: wiz.step == "step-review" and wiz.estimate is not None)
        await pilot.pause(0.2)
        shot("wizard-review")
        await pilot.press("ctrl+r")
        await _wait(pilot, lambda: isinstance(app.screen, LiveScreen))
        live = app.screen
        # half-way: the fast model done, the slow one generating
        await _wait(pilot, lambda: live.state.done >= 16 and 5 <= live.state.current.n_out <= 15)
        await pilot.pause(0.26)  # one repaint at the live view's 4 Hz
        shot("live")
        await _wait(pilot, results_ready)
        await pilot.pause(0.5)
        shot("results")

        # a second run "after a change": the slow simulated model made faster
        mock = load_plan(plans / "mock.toml")
        raw = copy.deepcopy(mock.plan.model_dump(mode="json", exclude_none=True))
        for m in raw["models"]:
            if m["id"] == "mock-slow":
                m["mock"]["tokens_per_s"] = 150.0
        app.start_run(LoadedPlan(plan=parse_plan(raw), path=mock.path, raw=raw))
        await _wait(pilot, lambda: isinstance(app.screen, LiveScreen))
        await _wait(pilot, results_ready)

        await pilot.press("f3")
        await _wait(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        await pilot.press("home", "c", "down", "b")  # newest = candidate, the first = baseline
        hist = app.screen
        assert isinstance(hist, HistoryScreen)
        await _wait(pilot, lambda: hist.baseline_id is not None and hist.candidate_id is not None)
        await pilot.pause(0.3)
        shot("history")
        await pilot.press("d")
        await _wait(
            pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.result is not None
        )
        await pilot.pause(0.3)
        shot("compare")
    return written


LOAD_PLAN: dict[str, Any] = {
    "name": "load-demo",
    "description": "a simulated server with 4 slots, swept from 1 to 16 users",
    "warmup": 1,
    "defaults": {"max_tokens": 64},
    "models": [
        {
            "id": "sim-server",
            "backend": "mock",
            "mock": {"ttft_ms": 40, "tokens_per_s": 120, "load_ms": 50, "slots": 4},
        }
    ],
    "prompts": [{"id": "explain", "task": "analysis", "text": "Explain what a benchmark is"}],
    "load": {"concurrency": [1, 2, 4, 8, 16], "requests": 16},
    "slo": {"ttft_ms": 200, "decode_tps": 60},
}


async def capture_load(out: Path, size: tuple[int, int]) -> list[Path]:
    from tui_bench.core.plan import LoadedPlan, parse_plan
    from tui_bench.tui.screens.live import LiveScreen
    from tui_bench.tui.screens.results import ResultsScreen

    app = quiet_app(REPO / "plans")
    written: list[Path] = []
    shot = shooter(app, out, written)
    async with app.run_test(size=size) as pilot:
        raw = copy.deepcopy(LOAD_PLAN)
        run = app.start_run(LoadedPlan(plan=parse_plan(raw), path=None, raw=raw))
        assert run is not None
        await _wait(pilot, lambda: isinstance(app.screen, LiveScreen))
        load = run.state.load

        def third_level_running() -> bool:
            cur = load.current
            return len(load.levels) == 3 and cur is not None and cur.completed >= 4

        await _wait(pilot, third_level_running, timeout=120)
        await pilot.pause(0.3)  # a repaint of the panel
        shot("load-live")
        await _wait(
            pilot,
            lambda: isinstance(app.screen, ResultsScreen) and app.screen.loaded is not None,
            timeout=120,
        )
        await pilot.pause(0.5)
        shot("load-results")
    return written


async def capture_classify(out: Path, size: tuple[int, int], workdir: Path) -> list[Path]:
    """The classifier benchmark on the ChatterBot corpus, from the wizard's entry."""
    from tui_bench.core.classify.corpora import export_corpus
    from tui_bench.tui.screens.classify import ClassifySetupScreen
    from tui_bench.tui.screens.classify_live import ClassifyRunScreen
    from tui_bench.tui.screens.classify_results import ClassifyResultsScreen

    os.chdir(workdir)  # short relative paths on screen
    export_corpus("chatterbot", workdir / "chatterbot-en.csv", languages=["en"])
    app = quiet_app(REPO / "plans")
    written: list[Path] = []
    shot = shooter(app, out, written)

    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.3)
        await pilot.press("f4")
        await _wait(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
        setup = app.screen
        assert isinstance(setup, ClassifySetupScreen)
        await pilot.press(*"chatterbot-en.csv", "enter")
        await _wait(pilot, lambda: setup.loaded is not None and not setup.analysing)
        await pilot.press("ctrl+n")
        await pilot.pause(0.3)
        shot("classify-setup")
        setup.query_one("#cl-set-output").value = "out-classify"  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        await pilot.press("ctrl+r")
        await _wait(pilot, lambda: isinstance(app.screen, ClassifyRunScreen))
        run = app.screen
        assert isinstance(run, ClassifyRunScreen)

        def epochs_shown() -> bool:
            view = run.state.snapshot()
            return any(len(t.epochs) >= 2 for t in view.in_flight) or view.finished is not None

        await _wait(pilot, epochs_shown, timeout=300)
        await pilot.pause(0.26)  # one repaint at 4 Hz
        if run.state.snapshot().finished is None:
            shot("classify-live")
        await _wait(pilot, lambda: isinstance(app.screen, ClassifyResultsScreen), timeout=300)
        await pilot.pause(0.5)
        shot("classify")
    return written


PIPELINE_MOCK = "mock:ttft_ms=400,tokens_per_s=300,load_ms=1,prompt_tokens_per_s=20000"


async def capture_pipeline(out: Path, size: tuple[int, int]) -> list[Path]:
    """support-rag's pipeline from F5, on the simulated model (no classifier: skipped)."""
    from tui_bench.tui.screens.pipeline.live import PipelineRunScreen
    from tui_bench.tui.screens.pipeline.results import PipelineResultsScreen
    from tui_bench.tui.screens.pipeline.setup import PipelineSetupScreen

    app = quiet_app(REPO / "plans")
    written: list[Path] = []
    shot = shooter(app, out, written)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.3)
        await pilot.press("f5")
        await _wait(pilot, lambda: isinstance(app.screen, PipelineSetupScreen))
        setup = app.screen
        for key, value in (("model", PIPELINE_MOCK), ("max_tokens", "32"), ("limit", "6")):
            setup.query_one(f"#pl-set-{key}").value = value  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        await pilot.press("ctrl+r")
        await _wait(pilot, lambda: isinstance(app.screen, PipelineRunScreen))
        run = app.screen
        assert isinstance(run, PipelineRunScreen)
        await _wait(pilot, lambda: run.state.done >= 2, timeout=120)
        await pilot.pause(0.3)  # a repaint at 4 Hz
        shot("pipeline-live")
        await _wait(pilot, lambda: isinstance(app.screen, PipelineResultsScreen), timeout=120)
        await pilot.pause(0.5)
        shot("pipeline")
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "screenshots")
    ap.add_argument("--size", default="100x30", help="terminal size, WIDTHxHEIGHT")
    ap.add_argument(
        "--only", choices=["llm", "classify", "load", "pipeline"], help="only these screenshots"
    )
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out.resolve()
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="tui-bench-shots-") as home:
        os.environ["TUI_BENCH_HOME"] = home  # never the user's history
        os.environ["HOME"] = home  # paths under it show as ~/..., as a user's own do
        if args.only in (None, "llm"):
            written += asyncio.run(capture(out, (width, height)))
        if args.only in (None, "load"):
            written += asyncio.run(capture_load(out, (width, height)))
        if args.only in (None, "pipeline"):
            written += asyncio.run(capture_pipeline(out, (width, height)))
        if args.only in (None, "classify"):
            cwd = Path.cwd()
            try:
                written += asyncio.run(capture_classify(out, (width, height), Path(home)))
            finally:
                os.chdir(cwd)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
