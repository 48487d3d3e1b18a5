"""The classifier benchmark as it runs: progress, the candidates in training with their
validation macro-F1 per epoch, finished candidates, the log; cancel keeps what finished.

``run_classify`` runs in a thread worker (``exit_on_error=False``) and publishes to a
``ClassifySink``; nothing here reacts to an event. A timer takes a snapshot of the state
a few times a second and repaints when it moved. When the run ends, its reports are
already written and its history entry recorded (in the same thread), and the ranking
replaces this screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer
from textual.worker import Worker, WorkerState, get_current_worker

from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.core.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, UserError
from tui_bench.tui.classify_bridge import (
    REPORT_FILES,
    ClassifyOutcome,
    run_at_start_priority,
)
from tui_bench.tui.format import error_text
from tui_bench.tui.screens.dialogs import ConfirmScreen, ErrorScreen
from tui_bench.tui.state.classify import ClassifyLiveState, ClassifySink
from tui_bench.tui.widgets.classify_live import DoneView, TrainingView
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.live import LogTail
from tui_bench.tui.widgets.run_status import RunStatus

QUIT_GRACE_S = 15.0
EXIT_INTERNAL = 1


def run_benchmark(config: ClassifyConfig, state: ClassifyLiveState) -> ClassifyOutcome:
    """The whole benchmark, in the calling thread, in the order the headless driver keeps:
    the benchmark, its history entry, then its files (a file that cannot be written never
    loses the benchmark); the reports shown are the ones the sink wrote."""
    from tui_bench.core.classify.history import record_classify_run
    from tui_bench.core.classify.runner import ClassifyReportSink, run_classify, save_result

    publish = ClassifySink(state).handle
    result = run_classify(config, publish, cancel=state.cancel, save=False)
    outcome = ClassifyOutcome(result)
    try:
        outcome.run_id, outcome.db_path = record_classify_run(result)
    except Exception as exc:  # the benchmark is shown; only the history entry is missing
        state.add_log("error", f"history entry not recorded: {error_text(exc)}")
    report = ClassifyReportSink()
    save_result(result, publish, report=report)  # a file that fails: a Log line
    outcome.reports = sorted(report.written, key=lambda p: REPORT_FILES.index(p.name))
    return outcome


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
        self.state = ClassifyLiveState(label=Path(config.data).name)
        self.outcome: ClassifyOutcome | None = None
        self.error: str | None = None
        self.worker: Worker[ClassifyOutcome | None] | None = None
        self.quit_pending = False
        self.refreshes = 0
        self._seen_version = -1
        self._timer: Timer | None = None

    @property
    def busy(self) -> bool:
        """True while the benchmark runs (the app asks before leaving or quitting)."""
        return self.outcome is None and self.error is None

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
        self.worker = self.run_worker(
            self._work, thread=True, exit_on_error=False, name="classify-run"
        )
        self._tick()

    def _work(self) -> ClassifyOutcome | None:
        worker = get_current_worker()
        config, state = self.config, self.state
        return run_at_start_priority(
            lambda: run_benchmark(config, state), abandon=lambda: worker.is_cancelled
        )

    # -- refresh ------------------------------------------------------------------------

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

    # -- the worker ---------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker:
            return
        app: Any = self.app
        if event.state == WorkerState.SUCCESS:
            outcome = event.worker.result
            if outcome is None:
                return  # abandoned: the app is closing
            self.outcome = outcome
            cancelled = outcome.result.status == "cancelled"
            code = EXIT_INTERRUPTED if cancelled else EXIT_OK
            if self.from_cli and hasattr(app, "note_classify_exit"):
                app.note_classify_exit(code, ran=True)
            self._tick()
            self.refresh_bindings()
            if self.quit_pending:
                app.exit(app.exit_code if self.from_cli else EXIT_INTERRUPTED)
                return
            if app.screen is self:
                self.action_open_results()
            else:
                self.notify(
                    "press o on the run screen for the ranking",
                    title=f"Classifier benchmark {outcome.result.status}",
                )
        elif event.state == WorkerState.ERROR:
            err = event.worker.error
            self.error = error_text(err)
            self.state.fail(self.error, f"the benchmark stopped: {self.error}")
            code = EXIT_BAD_INPUT if isinstance(err, UserError) else EXIT_INTERNAL
            if self.from_cli and hasattr(app, "note_classify_exit"):
                app.note_classify_exit(code, ran=True)
            self._tick()
            self.refresh_bindings()
            if self.quit_pending:
                app.exit(code)
                return

            def back(_: None) -> None:
                if app.screen is self:
                    app.pop_screen()  # back to the setup, to fix it

            app.push_screen(ErrorScreen("The classifier benchmark stopped", self.error), back)

    # -- actions ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_results":
            return True if self.outcome is not None else None
        if action == "cancel_run":
            return True if self.busy else None
        return True

    def action_cancel_run(self) -> None:
        if not self.busy or self.state.cancel.is_set():
            self.notify("no benchmark to cancel", severity="warning")
            return

        def answer(yes: bool | None) -> None:
            if yes and self.busy:
                self.state.request_cancel()
                self._tick()

        self.app.push_screen(
            ConfirmScreen(
                "Cancel the benchmark?",
                "It stops after the current epoch (a candidate that fits in one go finishes "
                "first). Finished candidates are kept, ranked and reported.",
                yes="Cancel benchmark",
                no="Keep running",
            ),
            answer,
        )

    def confirm_quit(self) -> None:
        """ctrl+q while the benchmark runs: cancel it, then quit once it has stopped."""

        def answer(yes: bool | None) -> None:
            if yes and self.busy:
                self.quit_pending = True
                self.state.request_cancel()
                self.set_timer(QUIT_GRACE_S, lambda: self.app.exit(EXIT_INTERRUPTED))
            elif yes:
                app: Any = self.app
                app.exit(app.exit_code)

        self.app.push_screen(
            ConfirmScreen(
                "Quit tui-bench?",
                "A classifier benchmark is running. Quitting cancels it after the current "
                "epoch; finished candidates are kept in the report and the history.",
                yes="Cancel and quit",
                no="Keep running",
            ),
            answer,
        )

    def action_open_results(self) -> None:
        if self.outcome is None or self.app.screen is not self:
            return
        from tui_bench.tui.screens.classify_results import ClassifyResultsScreen

        self.app.switch_screen(
            ClassifyResultsScreen(
                self.outcome, choose_default=self.choose_default, refresh_hz=self.refresh_hz
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
