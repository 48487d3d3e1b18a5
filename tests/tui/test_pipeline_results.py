"""A pipeline run opened from history: the stage table, the stacked bar of median shares,
the bottleneck sentence, the thresholds and the questions, checked against hand
computation; the bar's cells; the snapshot; the 80x24 fit."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Select
from tui_helpers import SIZE, make_app, screen_name, text_of, wait_for

from tui_bench.core.pipeline.history import record_pipeline_run
from tui_bench.core.pipeline.result import PipelineResult, QuestionResult
from tui_bench.core.pipeline.spans import StageSpan
from tui_bench.tui.screens.history import HistoryScreen
from tui_bench.tui.screens.pipeline.results import PipelineResultsScreen
from tui_bench.tui.widgets.pipeline import bar_cells

ORDER = ["retrieve", "classify", "generate"]
THRESHOLDS = {"success_rate": 0.8, "ndcg@10": 0.6, "accuracy": 0.75, "quality": 0.5}


def _question(
    qid: str, label: str, spans: tuple[float, float, float], predicted: str, ndcg: float, ok: bool
) -> QuestionResult:
    q = QuestionResult(
        id=qid, label=label, spans=[StageSpan(s, ms) for s, ms in zip(ORDER, spans, strict=True)]
    )
    q.retrieve = {"top": [], "metrics": {"ndcg@10": ndcg, "recall@10": 1.0}}
    q.classify = {"label": predicted, "confidence": 0.9, "correct": predicted == label}
    q.generate = {"ok": ok, "quality": {"contains": 1.0 if ok else 0.0}}
    if not ok:
        q.error = "generate: mock failure"
    return q


def demo_result() -> PipelineResult:
    """Three questions; shares (retrieve, classify, generate): .1 .3 .6 / .5 .25 .25 /
    .4 .4 .2, so the medians are .4, .3 and .25 and retrieve is the bottleneck."""
    questions = [
        _question("q01", "billing", (10.0, 30.0, 60.0), "billing", 0.9, True),
        _question("q02", "account", (50.0, 25.0, 25.0), "billing", 0.5, False),
        _question("q03", "billing", (40.0, 40.0, 20.0), "billing", 0.7, True),
    ]
    return PipelineResult(
        scenario={
            "id": "support-rag",
            "name": "Support desk",
            "description": "demo",
            "tasks_total": 24,
            "thresholds": THRESHOLDS,
            "source": "shipped",
        },
        config={"model": "mock:", "max_tokens": 8, "limit": 3},
        started_at="2025-03-01T10:00:00+00:00",
        stages=list(ORDER),
        setup={
            "retrieve": {"setup_ms": 120.0, "detail": {}},
            "classify": {
                "setup_ms": 30.0,
                "detail": {},
                "metrics": {"accuracy": 2 / 3, "macro_f1": 0.4, "n": 3},
            },
            "generate": {"setup_ms": 12.0, "detail": {"model": "mock"}},
        },
        questions=questions,
        status="completed",
        finished_at="2025-03-01T10:00:05+00:00",
    )


def column(table: DataTable[Any], key: str) -> list[str]:
    return [str(v) for v in table.get_column(key)]


def test_bar_cells_by_largest_remainder() -> None:
    medians = {"retrieve": 0.4, "classify": 0.3, "generate": 0.25}
    # scaled to the bar: .4/.95 × 20 = 8.42, 6.32, 5.26 → 8 + 6 + 5 = 19, the cell left
    # to the largest remainder (retrieve's .42)
    assert bar_cells(medians, ORDER, 20) == [("retrieve", 9), ("classify", 6), ("generate", 5)]
    assert bar_cells({"retrieve": 0.5, "generate": 0.5}, ORDER, 5) == [
        ("retrieve", 3),  # a tie goes to the earlier stage
        ("generate", 2),
    ]
    assert bar_cells({"retrieve": 0.0}, ORDER, 10) == [("retrieve", 0)]


async def test_a_stored_pipeline_opens_from_history() -> None:
    run_id, _db = record_pipeline_run(demo_result())
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        hist = app.screen
        assert isinstance(hist, HistoryScreen)
        assert hist.rows == []  # LLM runs by default
        hist.query_one("#filter-kind", Select).value = "pipeline"
        await wait_for(pilot, lambda: [r.id for r in hist.rows] == [run_id])
        row = hist.rows[0]
        assert (row.kind, row.plan, row.n_ok, row.n_measured) == ("pipeline", "support-rag", 2, 3)
        await pilot.press("b")  # marks are for LLM runs
        await pilot.pause()
        assert hist.baseline_id is None
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineResultsScreen))
        await pilot.pause()
        screen = app.screen
        head = text_of(app, "#pr-head")
        assert head == (
            f"support-rag · completed · FAIL · run {run_id} · 3 of 24 questions · success 67% "
            "· model mock:"
        )

        stages = screen.query_one("#pr-stages", DataTable)
        assert column(stages, "stage") == ["retrieve ◀", "classify", "generate"]
        # wall medians 40 / 30 / 25; p90 (linear) 40 + .8 × 10, 30 + .8 × 10, 25 + .8 × 35
        assert column(stages, "median") == ["40.00", "30.00", "25.00"]
        assert column(stages, "p90") == ["48.00", "38.00", "53.00"]
        assert column(stages, "share") == ["40%", "30%", "25%"]
        assert column(stages, "setup") == ["120.0", "30.0", "12.0"]

        # the bar over 98 cells (100 columns, a margin each side): .4/.95 × 98 = 41.26,
        # 30.95, 25.79 → 41 + 30 + 25 = 96; the 2 cells left to classify and generate
        bar, legend = text_of(app, "#pr-bar").splitlines()
        assert bar == "░" * 41 + "▒" * 31 + "█" * 26
        assert legend == "░ retrieve 40% ◀ bottleneck  ▒ classify 30%  █ generate 25%"
        assert text_of(app, "#pr-sentence") == (
            "The bottleneck is the retrieve stage: 40.0% of a question's end-to-end time at "
            "the median (others: classify 30.0%, generate 25.0%)."
        )

        quality = screen.query_one("#pr-quality", DataTable)
        assert column(quality, "stage") == ["pipeline", "retrieve", "classify", "generate"]
        # success 2/3, nDCG mean (.9 + .5 + .7) / 3, accuracy 2/3, contains (1 + 0 + 1) / 3
        assert column(quality, "value") == ["0.667", "0.700", "0.667", "0.667"]
        assert column(quality, "verdict") == ["BELOW", "pass", "BELOW", "pass"]

        questions = screen.query_one("#pr-questions", DataTable)
        assert column(questions, "id") == ["q01", "q02", "q03"]
        assert column(questions, "predicted") == ["billing", "billing", "billing"]
        assert column(questions, "ndcg") == ["0.900", "0.500", "0.700"]
        assert column(questions, "span-generate") == ["60.00", "25.00", "20.00"]
        assert column(questions, "e2e") == ["100.0", "100.0", "100.0"]
        assert column(questions, "ok") == ["yes", "no", "yes"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "HistoryScreen")


async def test_a_skipped_stage_is_not_judged() -> None:
    result = demo_result()
    result.setup["classify"] = {"setup_ms": None, "skipped": "no classifier given"}
    for q in result.questions:
        q.spans = [s for s in q.spans if s.stage != "classify"]
        q.classify = None
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(PipelineResultsScreen(result.to_dict(), run_id=3))
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineResultsScreen))
        await pilot.pause()
        screen = app.screen
        stages = screen.query_one("#pr-stages", DataTable)
        assert column(stages, "stage")[-1] == "classify"
        assert column(stages, "n")[-1] == "skipped"
        quality = screen.query_one("#pr-quality", DataTable)
        assert column(quality, "verdict")[2] == "not judged"
        assert column(quality, "metric")[2] == "accuracy (classify stage skipped)"
        # shares without classify: .143 .857 / .667 .333 / .667 .333 → medians .667, .333
        assert text_of(app, "#pr-bar").splitlines()[1] == (
            "░ retrieve 67% ◀ bottleneck  █ generate 33%"
        )


def test_pipeline_results_snapshot(snap_compare: Any) -> None:
    app = make_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        app.push_screen(PipelineResultsScreen(demo_result().to_dict(), run_id=7))
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineResultsScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24)])
async def test_the_pipeline_results_fit_80x24(size: tuple[int, int]) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        app.push_screen(PipelineResultsScreen(demo_result().to_dict(), run_id=7))
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineResultsScreen))
        await pilot.pause()
        screen = app.screen
        bottom = size[1] - 1  # the footer's row
        bar = screen.query_one("#pr-bar")
        sentence = screen.query_one("#pr-sentence")
        stages = screen.query_one("#pr-stages", DataTable)
        # the bar, its legend, the whole sentence and the stage table, without scrolling
        assert bar.region.bottom <= bottom and bar.region.width == 78
        assert sentence.region.bottom <= bottom
        assert stages.region.bottom <= bottom
        lines = text_of(app, "#pr-bar").splitlines()
        assert len(lines[0]) == 78
        assert lines[1] == "░ retrieve 40% ◀ bottleneck  ▒ classify 30%  █ generate 25%"
