"""SVG snapshots of the main screens, from fixed data (never the timings of a live run).

Update after an intended change of the UI: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_helpers import HERE, SIZE, fill_history, make_app, record, wait_for, wait_results

from tui_bench.core.events import (
    ModelLoaded,
    ModelLoading,
    ModelUnloaded,
    RequestFinished,
    RequestKey,
    RequestStarted,
    RunStarted,
    TelemetrySample,
    TokensGenerated,
)
from tui_bench.tui.classify_bridge import ClassifyOutcome
from tui_bench.tui.screens.classify_results import ClassifyResultsScreen
from tui_bench.tui.screens.history import CompareScreen, HistoryScreen
from tui_bench.tui.screens.live import LiveScreen
from tui_bench.tui.state.llm import BridgeSink, LiveState

MS = 1_000_000


def demo_live_state() -> LiveState:
    """A run half-way through, built from hand-made events with a frozen clock."""
    t0 = 10_000 * MS
    state = LiveState(ram_total_kb=32 * 1024 * 1024, clock=lambda: t0 + 6_500 * MS)
    sink = BridgeSink(state)
    gpu = {
        "available": True,
        "driver": "550.54",
        "devices": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "total_mb": 81559}],
    }
    sink.handle(
        RunStarted(
            3,
            "demo",
            None,
            "2025-03-01T10:00:00",
            8,
            2,
            ["fast", "slow"],
            ["explain", "story"],
            2,
            {"gpu": gpu},
        )
    )
    state.started_ns = t0
    seq = 0
    t = t0
    for model, tps, ttft, n_req in (("fast", 400.0, 25.0, 5), ("slow", 120.0, 80.0, 2)):
        sink.handle(ModelLoading(model, "mock", None))
        sink.handle(ModelLoaded(model, 12.0, 4242, {"simulated": True}))
        for i in range(n_req):
            prompt, task = (("explain", "analysis"), ("story", "generation"))[i % 2]
            key = RequestKey(model, prompt, max(0, i - 1) // 2, warmup=i == 0)
            sink.handle(RequestStarted(key, seq, 10))
            t_send = t
            t_first = t_send + int(ttft * MS)
            n = 48 if model == "fast" or i < n_req - 1 else 30
            step = int(1e9 / tps)
            for b in range(0, n, 8):
                ts = [t_first + (b + j) * step for j in range(min(8, n - b))]
                words = " ".join(["the model explains how the idea works"] * 1)
                sink.handle(
                    TokensGenerated(key, ts, [1] * len(ts), " " + words, b + len(ts), t_send)
                )
                rss = 310_000 + 2_000 * b if model == "fast" else 520_000 + 1_000 * b
                vram = 1_450.0 + 3.0 * b if model == "fast" else 2_100.0 + 2.0 * b
                sink.handle(TelemetrySample(model, ts[-1], rss, 180.0, vram + 600, 81559.0, vram))
            t = t_first + n * step + 5 * MS
            if model == "slow" and i == n_req - 1:
                break  # the request in flight
            sink.handle(
                RequestFinished(
                    record(
                        3,
                        seq,
                        model,
                        prompt,
                        task,
                        key.repeat,
                        ttft * (1 + 0.03 * i),
                        tps * (1 - 0.01 * i),
                        n_out=n,
                        warmup=key.warmup,
                    )
                )
            )
            seq += 1
        if model == "fast":
            sink.handle(ModelUnloaded(model))
    return state


# (model, macro-F1, accuracy, balanced accuracy, minority F1, train s) per category
DEMO_CLASSIFY: dict[str, dict[str, Any]] = {
    "sentiment": {
        "counts": {"pos": 60, "neg": 60},
        "models": [
            ("char-svm", 0.958, 0.958, 0.958, 0.957, 0.41),
            ("tfidf-logreg", 0.917, 0.917, 0.917, 0.916, 0.62),
            ("sgd", 0.917, 0.917, 0.917, 0.913, 0.83),
            ("complement-nb", 0.874, 0.875, 0.875, 0.870, 0.05),
            ("majority", 0.333, 0.500, 0.500, 0.000, 0.0),
        ],
    },
    "topic": {
        "counts": {"a": 60, "b": 36, "c": 24},
        "models": [
            ("complement-nb", 0.912, 0.917, 0.905, 0.889, 0.06),
            ("char-svm", 0.905, 0.917, 0.889, 0.857, 0.52),
            ("tfidf-logreg", 0.861, 0.875, 0.850, 0.800, 0.71),
            ("sgd", 0.790, 0.833, 0.778, 0.667, 0.95),
            ("majority", 0.222, 0.500, 0.333, 0.000, 0.0),
        ],
    },
}


def demo_classify_outcome() -> ClassifyOutcome:
    """A finished classifier benchmark from fixed numbers (no training, no timing)."""
    from tui_bench.core.classify import imbalance as imb
    from tui_bench.core.classify import rank as rk
    from tui_bench.core.classify.runner import ClassifyConfig, ClassifyResult
    from tui_bench.core.classify.train import CandidateResult

    config = ClassifyConfig(
        data="demo.csv",
        annotation_column="annotation",
        models=["tfidf-logreg", "char-svm", "complement-nb", "sgd"],
        output_dir="runs/classify-demo",
    )
    analysis = [
        imb.analyse_counts(spec["counts"], category=name) for name, spec in DEMO_CLASSIFY.items()
    ]
    results = []
    for name, spec in DEMO_CLASSIFY.items():
        classes = sorted(spec["counts"])
        for model, f1, acc, bacc, min_f1, secs in spec["models"]:
            results.append(
                CandidateResult(
                    candidate=model,
                    category=name,
                    language=None,
                    baseline=model == "majority",
                    n_classes=len(classes),
                    classes=classes,
                    n_train=96,
                    n_test=24,
                    folds=1,
                    f1_macro=f1,
                    accuracy=acc,
                    balanced_accuracy=bacc,
                    minority_class=classes[-1],
                    minority_f1=min_f1,
                    train_time_s=secs,
                    predict_ms_per_1k=1.5,
                )
            )
    rows = rk.rank_cells(results)
    result = ClassifyResult(
        status="completed",
        config=config.to_dict(),
        dataset={"path": "demo.csv", "format": "csv", "n_rows": 120, "skipped_no_text": 0},
        thresholds=imb.thresholds(),
        imbalance=analysis,
        cell_imbalance=[],
        excluded=[],
        suggested=imb.suggest(analysis),
        categories=list(DEMO_CLASSIFY),
        languages=[None],
        models={"*": ["tfidf-logreg", "char-svm", "complement-nb", "sgd"]},
        results=results,
        rows=rows,
        aggregates=rk.aggregate(rows),
        language_balance=[],
        choice={"mode": "none", "reason": "stopped after the benchmark"},
        final=[],
        started_at="2025-03-01T10:00:00+00:00",
        duration_s=12.3,
        output_dir="runs/classify-demo",
    )
    reports = [Path("runs/classify-demo") / n for n in ("report.md", "data.json", "results.csv")]
    return ClassifyOutcome(result, reports, 7, Path("history.sqlite3"))


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause(0.3)
    await pilot.wait_for_scheduled_animations()


def test_wizard_snapshot(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)  # plan paths are shown relative to the working directory
    app = make_app(plans_dirs=[Path("plans")])

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_wizard_review_snapshot(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    app = make_app(plans_dirs=[Path("plans")])

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("enter")  # demo is preselected (the broken plan is listed, disabled)
        await wait_for(
            pilot, lambda: app.screen.step == "step-review" and app.screen.estimate is not None
        )  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_live_snapshot(snap_compare: Any) -> None:
    app = make_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        app.push_screen(LiveScreen(demo_live_state()))
        await wait_for(
            pilot, lambda: isinstance(app.screen, LiveScreen) and app.screen.refreshes > 0
        )
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_results_snapshot(snap_compare: Any) -> None:
    ids = fill_history()
    app = make_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        app.open_results(ids["baseline"])
        await wait_results(pilot, app)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_history_snapshot(snap_compare: Any) -> None:
    fill_history()
    app = make_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_compare_snapshot(snap_compare: Any) -> None:
    fill_history()
    app = make_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        await pilot.press("d")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.result is not None
        )
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_classify_results_snapshot(snap_compare: Any) -> None:
    app = make_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        app.push_screen(ClassifyResultsScreen(demo_classify_outcome()))
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifyResultsScreen))
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
