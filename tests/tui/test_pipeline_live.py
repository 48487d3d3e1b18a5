"""A pipeline started from the app on support-rag with the simulated model (``mock:``):
set up from F5, live bars as questions finish, the results with the bottleneck named,
the run in history and its report files; cancel keeps the finished questions; a bad
classifier path is one line before anything runs."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input
from tui_helpers import SIZE, make_app, screen_name, text_of, wait_for

from tui_bench.core.fmt import num, pct
from tui_bench.core.history_query import RunFilter
from tui_bench.tui.screens.pipeline.live import PipelineRunScreen
from tui_bench.tui.screens.pipeline.results import PipelineResultsScreen
from tui_bench.tui.screens.pipeline.setup import PipelineSetupScreen
from tui_bench.tui.state.pipeline import PipelineLiveState, PipelineSink
from tui_bench.tui.widgets.pipeline import QuestionBars, bar_cells, question_shares

# a slow first token, so that a question's bar can be seen before the next one ends;
# prompts are read at 1M tokens/s: the retrieved context costs no simulated time
SLOW_MOCK = "mock:ttft_ms=1200,tokens_per_s=4000,load_ms=1,prompt_tokens_per_s=1000000,jitter=0"


async def _set_up(pilot, app, **values: str) -> PipelineSetupScreen:  # type: ignore[no-untyped-def]
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(app.screen, PipelineSetupScreen))
    setup = app.screen
    assert isinstance(setup, PipelineSetupScreen)
    assert setup.scenario == "support-rag"  # the catalog's first, highlighted
    for key, value in values.items():
        setup.query_one(f"#pl-set-{key}", Input).value = value
    await pilot.pause()
    return setup


async def test_a_pipeline_runs_live_from_the_app(tmp_path: Path) -> None:
    out = tmp_path / "out"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        setup = await _set_up(
            pilot, app, model=SLOW_MOCK, max_tokens="4", limit="2", output=str(out)
        )
        assert setup.config is not None and setup.error is None
        assert (setup.config.limit, setup.config.max_tokens) == (2, 4)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineRunScreen))
        live = app.screen
        assert isinstance(live, PipelineRunScreen)
        # the first question's bar while the second one is still generating
        await wait_for(pilot, lambda: "q01" in text_of(app, "#plr-questions"), timeout=60)
        bars = text_of(app, "#plr-questions").splitlines()
        assert live.run.running
        view = live.state.snapshot()
        q01 = view.questions[0]
        assert q01["id"] == "q01" and list(q01["spans"]) == ["retrieve", "generate"]
        # its bar: the question's own shares over the cells between its id and its time
        width = live.query_one(QuestionBars).content_size.width - QuestionBars.RESERVED
        cells = dict(bar_cells(question_shares(q01), view.stages, width))
        assert len(bars) == 1 and bars[0].startswith("q01   ")
        bar = bars[0][6 : 6 + width]
        assert bar == "░" * cells["retrieve"] + "█" * cells["generate"]
        assert cells["generate"] > width // 2  # a 1.2 s first token against a TF-IDF search
        assert bars[0].endswith(f"{num(q01['e2e_ms'], 1)} ms ✓")
        m = view.medians  # one question so far: its shares
        assert text_of(app, "#plr-shares").splitlines()[1] == (
            f"░ retrieve {pct(m['retrieve'])}  █ generate {pct(m['generate'])} ◀ bottleneck"
        )

        await wait_for(pilot, lambda: isinstance(app.screen, PipelineResultsScreen), timeout=60)
        await pilot.pause()
        results = app.screen
        assert isinstance(results, PipelineResultsScreen)
        data = results.data
        assert [q["id"] for q in data["questions"]] == ["q01", "q02"]
        assert data["bottleneck"]["stage"] == "generate"  # a 1.2 s first token
        assert text_of(app, "#pr-sentence").startswith("The bottleneck is the generate stage:")
        assert data["ran"] == ["retrieve", "generate"]  # no classifier: classify skipped
        assert live.run.exit_code == 1  # completed, below the scenario's thresholds

    rows = app.store.runs.page(RunFilter(kind="pipeline"), limit=10)
    assert [(r.id, r.plan, r.status, r.n_measured) for r in rows] == [
        (results.run_id, "support-rag", "completed", 2)
    ]
    assert sorted(p.name for p in out.iterdir()) == ["data.json", "report.md"]


async def test_cancel_keeps_the_finished_questions(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _set_up(pilot, app, model=SLOW_MOCK, limit="5", output=str(tmp_path))
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineRunScreen))
        live = app.screen
        assert isinstance(live, PipelineRunScreen)
        await wait_for(pilot, lambda: live.state.done >= 1, timeout=60)
        await pilot.press("c")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineResultsScreen), timeout=60)
        data = app.screen.data  # type: ignore[attr-defined]
        assert data["status"] == "cancelled"
        assert 1 <= len(data["questions"]) < 5
        assert live.run.exit_code == 130
        rows = app.store.runs.page(RunFilter(kind="pipeline"), limit=10)
        assert [r.status for r in rows] == ["cancelled"]


async def test_a_bad_classifier_path_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        setup = await _set_up(pilot, app, classifier=str(missing))
        assert setup.config is None
        assert setup.error == f"classifier: {missing}: no such card, model or folder"
        assert text_of(app, "#pl-status") == f"✗ {setup.error}"
        setup.query_one("#pl-set-classifier", Input).value = str(tmp_path)  # a folder, no card
        await pilot.pause()
        assert setup.error is not None and "no model card (model-*.json)" in setup.error
        setup.query_one("#pl-set-model", Input).value = "mock:ttft=5"
        setup.query_one("#pl-set-classifier", Input).value = ""
        await pilot.pause()
        assert setup.error == "--model: mock:ttft=5: ttft: Extra inputs are not permitted"
        await pilot.press("ctrl+r")  # refused: nothing starts
        await pilot.pause()
        assert isinstance(app.screen, PipelineSetupScreen)


def test_the_live_state_folds_the_runners_events() -> None:
    from tui_bench.core.pipeline import events as pe

    state = PipelineLiveState(clock=lambda: 0)
    sink = PipelineSink(state)
    sink.handle(pe.PipelineStarted("s", ["retrieve", "classify", "generate"], 3, "t"))
    sink.handle(pe.StageReady("classify", None, skipped="no classifier"))
    sink.handle(pe.StageStarted(1, "q01", "generate"))
    assert state.progress().current == "q01 · generate"

    def question(qid: str, r: float, g: float) -> dict[str, object]:
        spans = {
            "retrieve": {"wall_ms": r, "share": r / (r + g)},
            "generate": {"wall_ms": g, "share": g / (r + g)},
        }
        return {"id": qid, "label": "x", "success": True, "error": None, "e2e_ms": r + g,
                "spans": spans, "retrieve": None, "classify": None, "generate": None}  # fmt: skip

    for i, (r, g) in enumerate([(10.0, 90.0), (60.0, 40.0), (30.0, 70.0)], 1):
        sink.handle(pe.QuestionFinished(i, 3, question(f"q{i:02d}", r, g)))
    view = state.snapshot()
    assert view.stages == ["retrieve", "generate"]
    assert view.skipped == {"classify": "no classifier"}
    assert view.in_flight is None and view.progress.done == 3
    # retrieve .1 .6 .3 → median .3; generate .9 .4 .7 → median .7
    assert view.medians == {"retrieve": 0.3, "generate": 0.7}
    assert view.bottleneck == "generate"
