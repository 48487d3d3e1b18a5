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
from textual.timer import Timer

from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.tui.runs import ClassifyRun
from tui_bench.tui.screens.dialogs import ErrorScreen
from tui_bench.tui.widgets.classify_live import DoneView, TrainingView
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.live import LogTail
from tui_bench.tui.widgets.run_status import RunStatus


class ClassifyRunScreen(Screen[None]):
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
        self.refresh_hz = refresh_hz
        self.run = ClassifyRun(config, self, from_cli=from_cli)
        self.state = self.run.state
        self.refreshes = 0
        self._seen_version = -1
        self._timer: Timer | None = None

    @property
    def busy(self) -> bool:
        """True while the benchmark runs."""
        return self.run.running

    @property
    def outcome(self) -> Any:
        return self.run.outcome

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
        self.query_one(TrainingView).show(view)  # elapsed times move every tick
        if view.version == self._seen_version:
            return
        self._seen_version = view.version
        self.refreshes += 1
        self.query_one(DoneView).show(view)
        self.query_one(LogTail).set_lines(view.log)

    # -- the end of the run (told by the app) -------------------------------------------

    def run_ended(self, run: ClassifyRun) -> None:
        self._tick()
        self.refresh_bindings()
        app = self.app
        if run.outcome is not None:
            if app.screen is self:
                self.action_open_results()
            else:
                self.notify(
                    "press o on the run screen for the ranking",
                    title=f"Classifier benchmark {run.outcome.result.status}",
                )
            return

        def back(_: None) -> None:
            if app.screen is self:
                app.pop_screen()  # back to the setup, to fix it

        app.push_screen(ErrorScreen("The classifier benchmark stopped", run.error or ""), back)

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
        if self.outcome is None or self.app.screen is not self:
            return
        from tui_bench.tui.screens.classify_results import ClassifyResultsScreen

        self.app.switch_screen(
            ClassifyResultsScreen(
                self.outcome,
                choose_default=self.choose_default,
                refresh_hz=self.refresh_hz,
                from_cli=self.from_cli,
            )
        )

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        if self.busy:
            return [
                ("Cancel classifier run", "Stop after the current epoch", self.action_cancel_run)
            ]
        if self.outcome is not None:
            return [("Open the ranking", "The classifier ranking", self.action_open_results)]
        return []
