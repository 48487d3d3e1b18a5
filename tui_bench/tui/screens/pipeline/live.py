"""A pipeline as it runs: the question and stage running, the stages' median shares so
far as a stacked bar with the current bottleneck, a bar per finished question (newest
on top), and the log; cancel keeps the finished questions.

The app runs the pipeline (a :class:`~tui_bench.tui.runs.PipelineRun` this screen hands
it) and cancels it; nothing here reacts to an event. A timer takes a snapshot of the
state a few times a second and repaints when it moved. When the run has ended (stored in
history and reported, in the same thread), the app tells this screen, and the results
replace it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui_bench.core.pipeline.runner import PipelineConfig
from tui_bench.tui.runs import PipelineRun
from tui_bench.tui.screens.mode_run import ModeRunScreen
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.live import LogTail
from tui_bench.tui.widgets.pipeline import QuestionBars, ShareBar
from tui_bench.tui.widgets.run_status import RunStatus


class PipelineRunScreen(ModeRunScreen):
    DEFAULT_CSS = """
    PipelineRunScreen #plr-status { margin: 0 1; }
    PipelineRunScreen #plr-shares { height: 4; border: round $primary 40%; padding: 0 1; }
    PipelineRunScreen #plr-questions { height: 1fr; min-height: 4; }
    PipelineRunScreen #plr-log { height: 8; border: round $primary 40%; padding: 0 1; }
    """
    HELP = (
        "A scenario's pipeline as it runs, question by question. Above: the question and "
        "stage running, and the stages' median shares of a question's end-to-end time so "
        "far as one stacked bar (░ retrieve, ▒ classify, █ generate); the stage with the "
        "largest median share is the bottleneck so far. Then a bar per finished question, "
        "newest on top, with its end-to-end time. Cancelling stops after the running "
        "stage; finished questions are stored in the history and reported."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_run", "Cancel run", id="pipeline-run.cancel"),
        Binding("o", "open_results", "Results", id="pipeline-run.results"),
    ]

    RESULTS_HINT = "press o on the pipeline screen for its results"
    STOPPED = "The pipeline stopped"
    CANCEL_COMMAND = ("Cancel pipeline", "Stop after the running stage")
    RESULTS_COMMAND = ("Open the results", "The pipeline's results")

    def __init__(self, config: PipelineConfig, *, refresh_hz: float = 4.0) -> None:
        super().__init__()
        self.config = config
        self.run = PipelineRun(config, self)
        self._init_refresh(refresh_hz)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield RunStatus(
            unit="questions",
            waiting="loading the scenario and its stages…",
            stops="the running stage",
            id="plr-status",
        )
        shares = ShareBar(id="plr-shares")
        shares.border_title = "median share of a question's time, so far"
        yield shares
        bars = QuestionBars(id="plr-questions")
        bars.border_title = "questions · newest on top"
        yield bars
        log = LogTail(id="plr-log")
        log.border_title = "log"
        yield log
        yield Footer()

    def on_mount(self) -> None:
        self.title = "tui-bench · pipeline"
        self.sub_title = self.config.scenario
        self.start_run()

    # -- refresh ------------------------------------------------------------------------

    def paint(self, view: Any) -> None:
        self.query_one(ShareBar).show(view.medians, view.stages, view.bottleneck)
        self.query_one(QuestionBars).show(view.questions, view.stages)
        self.query_one(LogTail).set_lines(view.log)

    def ended_title(self, run: Any) -> str:
        return f"Pipeline {run.outcome.status}"

    def results_screen(self, outcome: Any) -> Screen[Any]:
        from tui_bench.tui.screens.pipeline.results import PipelineResultsScreen

        o = outcome
        return PipelineResultsScreen(
            o.data, run_id=o.run_id, reports=o.reports, report_error=o.report_error
        )
