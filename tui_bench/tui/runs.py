"""The runs the app drives, one controller per kind: an LLM plan (:class:`LlmRun`), a
classifier benchmark (:class:`ClassifyRun`), the training of the model chosen from its
ranking (:class:`FinalTraining`) and a scenario's pipeline (:class:`PipelineRun`).

The app starts every controller the same way (one worker per run, in the group named by
``kind``, ``exit_on_error=False``), routes the end of its worker back to it, and asks the
active one whether quitting must wait. A controller owns its live state, how it cancels
and its exit code; the screen it names shows that state and is told when it has ended.
The command that opened the app exits with the code of the last run it started
(:func:`command_exit_code`).
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.worker import Worker, get_current_worker

from tui_bench.core.errors import EXIT_INTERNAL, TuiBenchError, exit_code_for
from tui_bench.core.events import Event, RunFinished
from tui_bench.core.report import ReportSink
from tui_bench.tui.classify_bridge import REPORT_FILES, ClassifyOutcome, run_at_start_priority
from tui_bench.tui.format import error_text, num, pct
from tui_bench.tui.state.classify import ClassifyLiveState, ClassifySink

if TYPE_CHECKING:
    from tui_bench.core.classify.runner import ClassifyConfig
    from tui_bench.core.engine import Engine, RunOutcome
    from tui_bench.core.pipeline.runner import PipelineConfig, PipelineRunner
    from tui_bench.core.plan import LoadedPlan
    from tui_bench.core.store import Store
    from tui_bench.tui.pipeline_bridge import PipelineOutcome
    from tui_bench.tui.state.llm import LiveState

RUN_GROUPS = ("run-llm", "run-classify", "train-final", "run-pipeline")

# (title, body, yes, no) of the confirmation dialogs
Prompt = tuple[str, str, str, str]


class RunController(ABC):
    """One run: started by the app, ended by its worker, shown by ``screen``."""

    kind: ClassVar[str]  # the worker group
    thread: ClassVar[bool] = False  # a thread worker (else a coroutine on the loop)
    cancellable: ClassVar[bool] = True
    cancel_prompt: ClassVar[Prompt]
    quit_prompt: ClassVar[Prompt]

    def __init__(self, screen: Any, *, from_cli: bool = False) -> None:
        self.screen = screen
        self.from_cli = from_cli
        self.worker: Worker[Any] | None = None
        self.result: Any = None
        self.error: str | None = None
        self.failure: BaseException | None = None
        self.ended = False

    @property
    def running(self) -> bool:
        return not self.ended

    busy = running

    @property
    @abstractmethod
    def cancelling(self) -> bool: ...

    @abstractmethod
    def cancel(self) -> None:
        """Ask the run to stop at its next safe point (the app has confirmed)."""

    @abstractmethod
    def work(self) -> Any:
        """The worker's body: a coroutine function, or a function when ``thread``."""

    @property
    def exit_code(self) -> int | None:
        """What the command exits with after this run; None: the run leaves it as it is."""
        if self.failure is not None:
            err = self.failure
            return err.exit_code if isinstance(err, TuiBenchError) else EXIT_INTERNAL
        return None

    def succeeded(self, result: Any) -> None:
        self.result, self.ended = result, True

    def failed(self, err: BaseException) -> None:
        self.failure, self.error, self.ended = err, error_text(err), True

    @abstractmethod
    def present(self, app: Any) -> None:
        """Show the end of the run (results, an error); not called when quitting."""


def command_exit_code(runs: Sequence[RunController], *, before: int) -> int:
    """The exit code of the command that opened the app: that of the last run it started
    (``from_cli``) that has ended with one, else ``before`` (what the command exits with
    while none has). A run started from the interface leaves it as it is."""
    for run in reversed(runs):
        code = run.exit_code if run.from_cli and run.ended else None
        if code is not None:
            return code
    return before


class ThreadedReport:
    """The core's ReportSink, with the final write (data.json holds every raw series)
    done in a thread instead of on the event loop the UI shares."""

    def __init__(self, inner: ReportSink) -> None:
        self.inner = inner
        self.pending: asyncio.Future[None] | None = None

    @property
    def written(self) -> list[Path]:
        return self.inner.written

    @property
    def error(self) -> str | None:
        return self.inner.error

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            loop = asyncio.get_running_loop()
            self.pending = loop.run_in_executor(None, self.inner.handle, event)
        else:
            self.inner.handle(event)

    async def wait(self) -> None:
        if self.pending is not None:
            await self.pending


class LlmRun(RunController):
    """A plan's run: the engine on the app's event loop, its LiveScreen, its reports."""

    kind = "run-llm"
    cancel_prompt = (
        "Cancel the run?",
        "It stops after the current token. Every finished request is kept in the "
        "history; the partial results open when it has stopped.",
        "Cancel run",
        "Keep running",
    )
    quit_prompt = (
        "Quit tui-bench?",
        "A run is in progress. Quitting cancels it after the current token; finished "
        "requests stay in the history.",
        "Cancel run and quit",
        "Keep running",
    )

    def __init__(
        self,
        loaded: LoadedPlan,
        engine: Engine,
        state: LiveState,
        screen: Any,  # its LiveScreen
        output_dir: Path,
        report: ThreadedReport,
        store: Store,
        *,
        from_cli: bool = False,
        warm: threading.Thread | None = None,
    ) -> None:
        super().__init__(screen, from_cli=from_cli)
        self.loaded, self.engine, self.state = loaded, engine, state
        self.output_dir, self.report, self.store = output_dir, report, store
        self.warm = warm

    @classmethod
    def create(
        cls,
        loaded: LoadedPlan,
        out: Path,
        *,
        telemetry: bool,
        refresh_hz: float,
        from_cli: bool,
        warm: threading.Thread | None,
    ) -> LlmRun:
        """A plan's run, ready to start: its engine, sinks, history connection and screen."""
        import psutil

        from tui_bench.core.engine import Engine
        from tui_bench.core.store import Store
        from tui_bench.tui.screens.live import LiveScreen
        from tui_bench.tui.state.llm import BridgeSink, LiveState

        state = LiveState(ram_total_kb=psutil.virtual_memory().total // 1024)
        report = ThreadedReport(ReportSink(out, loaded.plan.model_dump(mode="json")))
        store = Store()
        sinks = [report, BridgeSink(state)]
        engine = Engine(loaded, store=store, sinks=sinks, telemetry=telemetry, output_dir=out)
        screen = LiveScreen(state, refresh_hz=refresh_hz, plan_name=loaded.plan.name)
        return cls(loaded, engine, state, screen, out, report, store, from_cli=from_cli, warm=warm)

    @property
    def outcome(self) -> RunOutcome | None:
        return self.result  # type: ignore[no-any-return]

    @property
    def cancelling(self) -> bool:
        return self.state.cancelling

    def cancel(self) -> None:
        self.state.request_cancel()
        self.engine.cancel()

    async def work(self) -> RunOutcome:
        try:
            if self.warm is not None and self.warm.is_alive():
                # never measure while this process is still importing (a second of CPU)
                self.state.add_log("info", "preparing…")
                await asyncio.to_thread(self.warm.join)
            outcome = await self.engine.run()
            try:
                await self.report.wait()
            except Exception as exc:  # the run is stored; only the files are missing
                self.screen.notify(f"reports not written: {exc}", severity="error")
            return outcome
        finally:
            self.store.close()

    @property
    def exit_code(self) -> int | None:
        o = self.outcome
        if o is None:
            return super().exit_code
        return exit_code_for(o.status, o.passed, outputs_written=self.report.error is None)

    def failed(self, err: BaseException) -> None:
        super().failed(err)
        self.error = str(err) or type(err).__name__
        self.state.fail(self.error, f"the run stopped: {self.error}")

    def present(self, app: Any) -> None:
        from tui_bench.tui.screens.dialogs import ErrorScreen

        outcome = self.outcome
        if outcome is None:
            app.push_screen(ErrorScreen("The run stopped with an error", self.error or ""))
            return
        reports = f"\nreports: {self.output_dir}" if self.report.written else ""
        severity = "information" if outcome.status == "completed" else "warning"
        if self.report.error:
            # the run is in history, but a finished run without its files is no success
            reports, severity = f"\nreports NOT written: {self.report.error}", "error"
            self.state.add_log("error", f"reports not written: {self.report.error}")
        app.notify(
            f"run {outcome.run_id} {outcome.status} in {num(outcome.duration_s)} s"
            f" · success {pct(outcome.success_rate)}{reports}",
            title="Run finished",
            severity=severity,
            timeout=6,
        )
        app.show_results_of(self)


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


class ModeRun(RunController):
    """A mode's run in a worker thread, its live state folding the mode's events (the
    classifier benchmark, the pipeline): the outcome is the thread's result; cancelling
    is the state's flag; a failure is said in the state's log; the end goes to the
    mode's run screen (:class:`~tui_bench.tui.screens.mode_run.ModeRunScreen`)."""

    STOPPED = "the run stopped"
    state: Any

    @property
    def outcome(self) -> Any:
        return self.result

    @property
    def cancelling(self) -> bool:
        return bool(self.state.cancel.is_set())

    def cancel(self) -> None:
        self.state.request_cancel()
        self.screen.repaint()

    def failed(self, err: BaseException) -> None:
        super().failed(err)
        self.state.fail(self.error or "", f"{self.STOPPED}: {self.error}")

    def present(self, app: Any) -> None:
        if self.outcome is not None or self.error is not None:  # else: abandoned
            self.screen.run_ended(self)


class ClassifyRun(ModeRun):
    """A classifier benchmark in a thread; its ClassifyRunScreen shows the state."""

    kind = "run-classify"
    thread = True
    STOPPED = "the benchmark stopped"
    cancel_prompt = (
        "Cancel the benchmark?",
        "It stops after the current epoch (a candidate that fits in one go finishes "
        "first). Finished candidates are kept, ranked and reported.",
        "Cancel benchmark",
        "Keep running",
    )
    quit_prompt = (
        "Quit tui-bench?",
        "A classifier benchmark is running. Quitting cancels it after the current "
        "epoch; finished candidates are kept in the report and the history.",
        "Cancel and quit",
        "Keep running",
    )

    def __init__(
        self, config: ClassifyConfig, screen: Any, *, from_cli: bool
    ) -> None:  # screen: its ClassifyRunScreen (repaint, run_ended)
        super().__init__(screen, from_cli=from_cli)
        self.config = config
        self.state = ClassifyLiveState(label=Path(config.data).name)

    @property
    def outcome(self) -> ClassifyOutcome | None:
        return self.result  # type: ignore[no-any-return]

    def work(self) -> ClassifyOutcome | None:
        worker = get_current_worker()
        config, state = self.config, self.state
        return run_at_start_priority(
            lambda: run_benchmark(config, state), abandon=lambda: worker.is_cancelled
        )

    @property
    def exit_code(self) -> int | None:
        if self.outcome is not None:  # a classifier benchmark has no threshold to miss
            return exit_code_for(self.outcome.result.status, passed=True)
        return super().exit_code


class FinalTraining(RunController):
    """The chosen model, trained on all the rows and saved; it cannot be cancelled. Started
    from the ranking of the command's own benchmark (``from_cli``), it sets the command's
    exit code as the headless command does: a model not trained or not saved is 3."""

    kind = "train-final"
    thread = True
    cancellable = False

    def __init__(
        self,
        screen: Any,  # the ClassifyResultsScreen (final_ended)
        outcome: ClassifyOutcome,
        choose: str,
        by_language: dict[str, str] | None,
        *,
        from_cli: bool = False,
    ) -> None:
        super().__init__(screen, from_cli=from_cli)
        self.outcome, self.choose, self.by_language = outcome, choose, by_language
        self.state = ClassifyLiveState()

    @property
    def cancelling(self) -> bool:
        return False

    def cancel(self) -> None:  # pragma: no cover - never offered (not cancellable)
        pass

    def _train(self) -> Any:
        from tui_bench.core.classify.runner import train_chosen

        outcome, result = self.outcome, self.outcome.result
        finals = train_chosen(
            result,
            self.choose,
            choose_by_language=self.by_language,
            publish=ClassifySink(self.state).handle,
        )
        if outcome.run_id is not None:  # the history entry gets the choice too
            from tui_bench.core.classify.history import update_classify_run

            update_classify_run(outcome.run_id, result, outcome.db_path)
        return finals

    def work(self) -> Any:
        worker = get_current_worker()
        return run_at_start_priority(self._train, abandon=lambda: worker.is_cancelled)

    @property
    def exit_code(self) -> int | None:
        if not self.ended:
            return None
        err = self.failure
        if err is not None and not isinstance(err, TuiBenchError):
            return EXIT_INTERNAL  # a bug, not a lost output
        # Even a UserError (an output folder that became unwritable) is 3, not 2: the
        # command's input was good, the benchmark ran; what it had to write was lost.
        status = self.outcome.result.status
        return exit_code_for(status, passed=True, outputs_written=err is None)

    def present(self, app: Any) -> None:
        self.screen.final_ended(self)


class PipelineRun(ModeRun):
    """A scenario's pipeline in a thread (the runner's own event loop drives the model);
    its PipelineRunScreen shows the state. The run is stored in history, then reported."""

    kind = "run-pipeline"
    thread = True
    STOPPED = "the pipeline stopped"
    cancel_prompt = (
        "Cancel the pipeline?",
        "It stops after the running stage (a generating answer stops at its next token). "
        "Finished questions are kept, stored in the history and reported.",
        "Cancel pipeline",
        "Keep running",
    )
    quit_prompt = (
        "Quit tui-bench?",
        "A pipeline is running. Quitting cancels it after the running stage; finished "
        "questions stay in the history.",
        "Cancel and quit",
        "Keep running",
    )

    def __init__(self, config: PipelineConfig, screen: Any, *, from_cli: bool = False) -> None:
        from tui_bench.tui.state.pipeline import PipelineLiveState

        super().__init__(screen, from_cli=from_cli)  # screen: its PipelineRunScreen
        self.config = config
        self.state = PipelineLiveState(label=config.scenario)
        self.runner: PipelineRunner | None = None

    @property
    def outcome(self) -> PipelineOutcome | None:
        return self.result  # type: ignore[no-any-return]

    def cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
        super().cancel()

    def _run(self) -> PipelineOutcome:
        from tui_bench.core.pipeline.runner import PipelineRunner
        from tui_bench.tui.pipeline_bridge import run_scenario
        from tui_bench.tui.state.pipeline import PipelineSink

        self.runner = PipelineRunner(self.config, PipelineSink(self.state).handle)
        if self.state.cancel.is_set():  # cancelled before the runner existed
            self.runner.cancel()
        return run_scenario(self.runner, self.state)

    def work(self) -> PipelineOutcome | None:
        worker = get_current_worker()
        return run_at_start_priority(self._run, abandon=lambda: worker.is_cancelled)

    @property
    def exit_code(self) -> int | None:
        o = self.outcome
        if o is None:
            return super().exit_code
        return exit_code_for(o.status, o.passed, outputs_written=o.report_error is None)
