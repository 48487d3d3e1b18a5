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
from textual.timer import Timer

from tui_bench.core.pipeline.runner import PipelineConfig
from tui_bench.tui.runs import PipelineRun
from tui_bench.tui.screens.dialogs import ErrorScreen
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.live import LogTail
from tui_bench.tui.widgets.pipeline import QuestionBars, ShareBar
from tui_bench.tui.widgets.run_status import RunStatus


class PipelineRunScreen(Screen[None]):
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

    def __init__(self, config: PipelineConfig, *, refresh_hz: float = 4.0) -> None:
        super().__init__()
        self.config = config
        self.refresh_hz = refresh_hz
        self.run = PipelineRun(config, self)
        self.state = self.run.state
        self.refreshes = 0
        self._seen_version = -1
        self._timer: Timer | None = None

    @property
    def busy(self) -> bool:
        return self.run.running

    @property
    def outcome(self) -> Any:
        return self.run.outcome

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
        self._timer = self.set_interval(1 / self.refresh_hz, self._tick)
        if self.app.start(self.run) is None:  # type: ignore[attr-defined]
            self.app.pop_screen()  # another run is in progress (the app said so)
            return
        self._tick()

    # -- refresh ------------------------------------------------------------------------

    def repaint(self) -> None:
        self._tick()

    def _tick(self) -> None:
        view = self.state.snapshot()
        self.query_one(RunStatus).show(view.progress)
        if view.version == self._seen_version:
            return
        self._seen_version = view.version
        self.refreshes += 1
        self.query_one(ShareBar).show(view.medians, view.stages, view.bottleneck)
        self.query_one(QuestionBars).show(view.questions, view.stages)
        self.query_one(LogTail).set_lines(view.log)

    # -- the end of the run (told by the app) -------------------------------------------

    def run_ended(self, run: PipelineRun) -> None:
        self._tick()
        self.refresh_bindings()
        app = self.app
        if run.outcome is not None:
            if app.screen is self:
                self.action_open_results()
            else:
                self.notify(
                    "press o on the pipeline screen for its results",
                    title=f"Pipeline {run.outcome.status}",
                )
            return

        def back(_: None) -> None:
            if app.screen is self:
                app.pop_screen()  # back to the setup, to fix it

        app.push_screen(ErrorScreen("The pipeline stopped", run.error or ""), back)

    # -- actions ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_results":
            return True if self.outcome is not None else None
        if action == "cancel_run":
            return True if self.busy else None
        return True

    def action_cancel_run(self) -> None:
        self.app.request_cancel()  # type: ignore[attr-defined]

    def action_open_results(self) -> None:
        o = self.outcome
        if o is None or self.app.screen is not self:
            return
        from tui_bench.tui.screens.pipeline.results import PipelineResultsScreen

        self.app.switch_screen(
            PipelineResultsScreen(
                o.data, run_id=o.run_id, reports=o.reports, report_error=o.report_error
            )
        )

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        if self.busy:
            return [("Cancel pipeline", "Stop after the running stage", self.action_cancel_run)]
        if self.outcome is not None:
            return [("Open the results", "The pipeline's results", self.action_open_results)]
        return []
