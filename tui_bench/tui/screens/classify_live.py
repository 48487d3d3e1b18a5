"""The classifier benchmark as it runs: progress, the candidates in training with their
validation macro-F1 per epoch, finished candidates, the log; cancel keeps what finished.

The app runs the benchmark (a :class:`~tui_bench.tui.runs.ClassifyRun` this screen hands
it) and cancels it; nothing here reacts to an event. A timer takes a snapshot of the state
a few times a second and repaints when it moved. When the run ends, its reports are
already written and its history entry recorded (in the same thread), the app tells this
screen, and the ranking replaces it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.tui.runs import ClassifyRun
from tui_bench.tui.screens.mode_run import ModeRunScreen
from tui_bench.tui.widgets.classify_live import DoneView, TrainingView
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.live import LogTail
from tui_bench.tui.widgets.run_status import RunStatus


class ClassifyRunScreen(ModeRunScreen):
    HELP = (
        "The classifier benchmark as it runs. Above: the candidates in training, with the "
        "validation macro-F1 of each epoch for learners that train by epochs (↑ marks the "
        "best epoch so far, the one kept). Below: finished trainings and the log. With one "
        "job every epoch shows live; with several, candidates train in parallel processes. "
        "Cancelling stops after the current epoch and ranks what finished."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_run", "Cancel run", id="classify-run.cancel"),
        Binding("o", "open_results", "Ranking", id="classify-run.results"),
    ]

    RESULTS_HINT = "press o on the run screen for the ranking"
    STOPPED = "The classifier benchmark stopped"
    CANCEL_COMMAND = ("Cancel classifier run", "Stop after the current epoch")
    RESULTS_COMMAND = ("Open the ranking", "The classifier ranking")

    def __init__(
        self,
        config: ClassifyConfig,
        *,
        from_cli: bool = False,
        choose_default: str = "top",
        refresh_hz: float = 4.0,
    ) -> None:
        super().__init__()
        self.config = config
        self.from_cli = from_cli
        self.choose_default = choose_default
        self.run = ClassifyRun(config, self, from_cli=from_cli)
        self._init_refresh(refresh_hz)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield RunStatus(
            unit="trainings",
            waiting="loading the data…",
            stops="the current epoch",
            id="clr-status",
        )
        training = TrainingView(id="clr-training")
        training.border_title = "in training · validation macro-F1 per epoch"
        yield training
        done = DoneView(id="clr-done")
        done.border_title = "finished"
        yield done
        log = LogTail(id="clr-log")
        log.border_title = "log"
        yield log
        yield Footer()

    def on_mount(self) -> None:
        self.title = "tui-bench · classifier benchmark"
        self.sub_title = str(self.config.data)
        self.start_run()

    # -- refresh ------------------------------------------------------------------------

    def paint_always(self, view: Any) -> None:
        self.query_one(TrainingView).show(view)  # elapsed times move every tick

    def paint(self, view: Any) -> None:
        self.query_one(DoneView).show(view)
        self.query_one(LogTail).set_lines(view.log)

    def ended_title(self, run: Any) -> str:
        return f"Classifier benchmark {run.outcome.result.status}"

    def results_screen(self, outcome: Any) -> Screen[Any]:
        from tui_bench.tui.screens.classify_results import ClassifyResultsScreen

        return ClassifyResultsScreen(
            outcome,
            choose_default=self.choose_default,
            refresh_hz=self.refresh_hz,
            from_cli=self.from_cli,
        )
