"""The headless drivers: a plan's run (``run_plan``) and a classifier benchmark
(``run_classify``), each from its start to its exit code, in one shape.

Both print progress lines on stderr (NDJSON events on stdout too with ``as_json``), stop
cleanly on SIGINT, SIGTERM or SIGHUP (``signals``), and end with the same last lines: the
report files, the history entry, then what went wrong or what an interruption kept. The
exit code comes from ``core.errors.exit_code_for``: 0, 1 (a plan below its threshold), 3
(finished and in history, but a report or a classifier's chosen model not written), 130.
Heavy imports wait for the call: importing this module costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tui_bench.core.errors import exit_code_for
from tui_bench.core.events import Event, RunStarted
from tui_bench.headless.log import ClassifyLogSink, JsonSink, LineSink, LogSink
from tui_bench.headless.signals import cancel_on_signals


def run_plan(
    loaded: Any,
    output: Path,
    *,
    as_json: bool,
    telemetry: bool,
    verbose: bool,
    label: str | None = None,
) -> int:
    """Run the plan ``loaded`` (a ``core.plan.LoadedPlan``), its reports into ``output``;
    ``label`` names the run in history (``tui-bench compare`` takes it for its id)."""
    import asyncio

    from tui_bench.core.engine import Engine
    from tui_bench.core.report import ReportSink
    from tui_bench.core.store import Store

    report = ReportSink(output, loaded.plan.model_dump(mode="json"), label=label)
    log = LogSink(verbose=verbose, report=report)
    store = Store()
    sinks = [report, *_outputs(log, as_json), *([_Labeller(store, label)] if label else [])]
    engine = Engine(loaded, store=store, sinks=sinks, telemetry=telemetry, output_dir=output)
    try:
        with cancel_on_signals(engine.cancel, log.line, step="token"):
            outcome = asyncio.run(engine.run())
    finally:
        store.close()
    run_id = outcome.run_id
    error = None
    if report.error:
        error = (
            f"the reports of run {run_id} could not be written ({report.error}); "
            f"the results are in history: tui-bench report {run_id} -o FOLDER writes them"
        )
    return _finish(
        log,
        outcome.status,
        passed=outcome.passed,
        written=report.error is None,
        reports=report.written,
        output=output,
        kept=f"{outcome.summary.overall.n_ok} finished request(s)",
        history=_history_line(store.path, run_id),
        error=error,
    )


def run_classify(config: Any, *, as_json: bool, verbose: bool) -> int:
    """Run the classifier benchmark ``config`` (a ``ClassifyConfig``): the benchmark, then
    its history entry, then its files (the reports, the chosen model), so that a file that
    cannot be written never loses the benchmark."""
    from tui_bench.core.classify import runner
    from tui_bench.core.classify.history import update_classify_run
    from tui_bench.core.classify.summary import ranking_lines

    log = ClassifyLogSink(verbose=verbose)
    publish = _publisher([*_outputs(log, as_json), _EstimateLine(log)])
    cancel = threading.Event()
    with cancel_on_signals(cancel.set, log.line, step="epoch"):
        result = runner.run_classify(config, publish, cancel=cancel, save=False)
    for line in ranking_lines(result):  # the verdicts, intervals and ties, before the files
        log.line(line)
    stored = _record_classify(result, log)
    report = runner.ClassifyReportSink()
    saved = runner.save_result(result, publish, report=report)  # its error: a Log line
    chose = result.config.get("choose") != "none" or result.config.get("choose_by_language")
    if stored is not None and chose:
        run_id, db = stored
        update_classify_run(run_id, result, db)  # the choice, with its models or its errors
    return _finish(
        log,
        result.status,
        passed=True,  # a classifier benchmark has no threshold to miss
        written=saved.error is None,
        reports=report.written,
        output=config.output_dir,
        kept="finished results",
    )


class _EstimateLine:
    """Says the classifier's duration estimate before the first training starts."""

    def __init__(self, log: LineSink) -> None:
        from tui_bench.core.classify.events import DurationEstimated

        self.log, self.kind = log, DurationEstimated

    def handle(self, event: Event) -> None:
        if isinstance(event, self.kind):
            self.log.line(f"[estimate] {event.text}")  # type: ignore[attr-defined]


class _Labeller:
    """Names the run in history as soon as it has an id, so that an interrupted run
    keeps its label too."""

    def __init__(self, store: Any, label: str) -> None:
        self.store, self.label = store, label

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted) and event.run_id:
            self.store.set_label(event.run_id, self.label)


def run_suite(
    plans: Sequence[str],
    output: Path,
    *,
    load: Callable[[str], Any],
    as_json: bool,
    telemetry: bool,
    verbose: bool,
) -> int:
    """Run ``plans`` (each loaded by ``load``) one after another, each into its folder of
    ``output``, then write the comparison of those that finished (``core.suite``). A plan
    that cannot load or fails is recorded with its reason and the suite goes on; a stop
    signal ends the plan running (its partial report kept) and the suite with it."""
    from tui_bench.core.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, TuiBenchError
    from tui_bench.core.output_dir import check_output_dir
    from tui_bench.core.suite import Suite

    log = LineSink(verbose=verbose)
    suite = Suite(output, list(plans))
    total = len(suite.entries)
    for i, entry in enumerate(suite.entries, 1):  # all checked first: a typo shows at once
        try:
            check_output_dir(suite.place(entry, load(entry.arg)))
        except TuiBenchError as exc:
            suite.fail(entry, exc.exit_code, str(exc))
            log.line(f"suite: plan {i}/{total} {entry.arg}: {exc} (not run)")
    stop = threading.Event()
    try:
        with cancel_on_signals(stop.set, log.line, step="plan"):
            for i, entry in enumerate(suite.entries, 1):
                if entry.loaded is None or stop.is_set():
                    continue
                log.line(f"suite: plan {i}/{total} {entry.name} -> {entry.folder}")
                try:
                    code = run_plan(
                        entry.loaded,
                        entry.folder,
                        as_json=as_json,
                        telemetry=telemetry,
                        verbose=verbose,
                    )
                    suite.done(entry, code)
                except TuiBenchError as exc:
                    suite.done(entry, exc.exit_code, str(exc))
                except Exception as exc:  # a bug in one plan's run: the others still run
                    suite.done(entry, EXIT_INTERNAL, f"{type(exc).__name__}: {exc}")
                if entry.exit_code == EXIT_INTERRUPTED or stop.is_set():
                    break
    except KeyboardInterrupt:  # a second stop signal: the plan running is abandoned
        running = next((e for e in suite.entries if e.loaded is not None), None)
        if running is not None:
            suite.done(running, EXIT_INTERRUPTED)
        stop.set()
    suite.stopped(interrupted=stop.is_set())
    written, error = suite.write_comparison()
    if written:
        log.line("suite comparison: " + ", ".join(str(p) for p in written))
    if error:
        log.line(f"error: the suite comparison could not be written ({error})")
    for i, entry in enumerate(suite.entries, 1):
        log.line(f"suite: {i}/{total} {entry.name or entry.arg}: {entry.outcome()}")
    return suite.final_code(error)


def _outputs(log: LineSink, as_json: bool) -> list[Any]:
    """The sinks that show a run: its log lines, and NDJSON events when asked."""
    return [log, JsonSink()] if as_json else [log]


def _publisher(sinks: Sequence[Any]) -> Callable[[Event], None]:
    def publish(event: Event) -> None:
        for sink in sinks:
            sink.handle(event)

    return publish


def _history_line(db: Path, run_id: int) -> str:
    return f"history: {db} (run {run_id})"


def _record(record: Any, result: Any, log: LineSink) -> tuple[int, Path] | None:
    """Record a mode's result in history (``record``: its ``record_*_run``) and say where:
    (run id, database), or None when it could not be (one error line; the files written
    next still keep the results)."""
    import sqlite3

    try:
        run_id, db = record(result)
    except (sqlite3.Error, OSError) as exc:
        log.line(f"error: history entry not recorded: {exc}")
        return None
    log.line(_history_line(db, run_id))
    return run_id, db


def _record_classify(result: Any, log: LineSink) -> tuple[int, Path] | None:
    from tui_bench.core.classify.history import record_classify_run

    return _record(record_classify_run, result, log)


def _finish(
    log: LineSink,
    status: str,
    *,
    passed: bool,
    written: bool,
    reports: Sequence[Path],
    output: Any,
    kept: str,
    history: str | None = None,
    error: str | None = None,
) -> int:
    """The last lines of a headless run, and its exit code. ``written``: every file of the
    run was written; ``history``: the history line, when not said already; ``error``: a
    last error line, when not said already; ``kept``: what an interruption kept."""
    if reports:
        log.line("report: " + ", ".join(str(p) for p in reports))
    if history is not None:
        log.line(history)
    if error is not None:
        log.line(f"error: {error}")
    elif status == "cancelled":
        log.line(f"interrupted: {kept} kept; partial report in {output}")
    return exit_code_for(status, passed, outputs_written=written)


def run_pipeline(config: Any, *, as_json: bool = False, verbose: bool = False) -> int:
    """Run a scenario's pipeline (``config``: a ``PipelineConfig``): a line per question,
    the summary, then the history entry before the report files, so that a report that
    cannot be written never loses the run (exit 3)."""
    from tui_bench.core.pipeline.report import write_reports
    from tui_bench.core.pipeline.runner import PipelineRunner
    from tui_bench.core.pipeline.summary import summary_lines
    from tui_bench.headless.pipeline_log import PipelineLogSink

    log = PipelineLogSink(verbose=verbose)
    runner = PipelineRunner(config, _publisher(_outputs(log, as_json)))
    with cancel_on_signals(runner.cancel, log.line, step="question"):
        result = runner.run()
    for line in summary_lines(result):
        log.line(line)
    history = _record_pipeline(result, log)
    reports: list[Path] = []
    error = None
    try:
        reports = write_reports(result, config.output_dir)
    except OSError as exc:
        error = f"the reports could not be written to {config.output_dir} ({exc})"
        if history is not None:
            error += "; the results are in history"
    return _finish(
        log,
        result.status,
        passed=result.passed(),
        written=error is None,
        reports=reports,
        output=config.output_dir,
        kept=f"{len(result.questions)} finished question(s)",
        error=error,
    )


def _record_pipeline(result: Any, log: LineSink) -> tuple[int, Path] | None:
    from tui_bench.core.pipeline.history import record_pipeline_run

    return _record(record_pipeline_run, result, log)
