"""The headless front end: progress lines on stderr, NDJSON events on stdout, exit codes.

Exit codes (in one place): 0 the success rate meets the plan's threshold; 1 it does not;
2 bad input; 3 the run finished and is in history, but its reports could not be written;
130 interrupted (Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import IO, Any

from tui_bench.core.events import (
    Event,
    Log,
    ModelFailed,
    ModelLoaded,
    ModelLoading,
    RequestFinished,
    RunFinished,
    RunStarted,
    TelemetrySample,
    TokensGenerated,
)
from tui_bench.core.fmt import model_setup
from tui_bench.core.printable import one_line


class LogSink:
    """Readable progress lines (stderr by default)."""

    def __init__(
        self, stream: IO[str] | None = None, *, verbose: bool = False, report: Any = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.total = 0
        self.done = 0
        self.report_files: list[str] = []
        # the run's ReportSink, published to before this sink: its ``error`` is known
        # when the verdict line is written
        self.report = report

    def _w(self, text: str) -> None:
        # one event, one line: a name or error with a newline or an escape sequence in it
        # (an old history entry, a worker's message) is shown escaped
        self.stream.write(one_line(text) + "\n")
        self.stream.flush()

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.total = event.n_measured + event.n_warmup
            gpu = event.host.get("gpu", {})
            gpu_text = (
                ", ".join(d["name"] for d in gpu.get("devices", []))
                if gpu.get("available")
                else gpu.get("reason", "no GPU")
            )
            self._w(
                f"[run {event.run_id}] {event.plan}: {len(event.models)} model(s) × {len(event.prompts)} prompt(s) "
                f"× {event.repeats} repeat(s) = {event.n_measured} measured + {event.n_warmup} warm-up request(s)"
            )
            self._w(f"[run {event.run_id}] host: {event.host.get('cpu')}; GPU: {gpu_text}")
        elif isinstance(event, ModelLoading):
            self._w(f"[{event.model}] loading {event.source} ...")
        elif isinstance(event, ModelLoaded):
            bits = [f"loaded in {event.load_ms:.0f} ms", *model_setup(event.info)]
            self._w(f"[{event.model}] " + "; ".join(bits))
        elif isinstance(event, ModelFailed):
            self._w(f"[{event.model}] FAILED: {event.error}")
        elif isinstance(event, RequestFinished):
            self.done += 1
            r = event.record
            width = len(str(self.total))
            kind = "warm-up" if r.warmup else f"rep {r.repeat + 1}"
            head = f"[{self.done:>{width}}/{self.total}] {r.model} / {r.prompt} / {kind}"
            if r.ok:
                tps = f"{r.decode_tps:7.1f} tok/s" if r.decode_tps is not None else "      – tok/s"
                ttft = f"{r.ttft_ms:7.1f}" if r.ttft_ms is not None else "      –"
                e2e = f"{r.e2e_ms / 1000:.2f} s" if r.e2e_ms is not None else "–"
                line = f"{head}: TTFT {ttft} ms  {tps}  {r.n_out} tok  {e2e}  ({r.finish_reason})"
                if r.flags:
                    line += "  FLAGS: " + ",".join(r.flags)
            else:
                line = f"{head}: {r.finish_reason}: {r.error or ''}".rstrip(": ")
            self._w(line)
        elif isinstance(event, Log):
            if event.level != "info" or self.verbose:
                self._w(f"{event.level}: {event.message}")
        elif isinstance(event, RunFinished):
            rate = "–" if event.success_rate is None else f"{100 * event.success_rate:.0f}%"
            verdict = (
                "PASS" if event.passed else ("CANCELLED" if event.status == "cancelled" else "FAIL")
            )
            if getattr(self.report, "error", None):
                verdict = f"REPORTS NOT WRITTEN (measured: {verdict})"
            self._w(
                f"[run {event.run_id}] {event.status} in {event.duration_s:.1f} s: {event.n_ok}/{event.n_measured} ok "
                f"(success {rate}, threshold {100 * event.threshold:.0f}%): {verdict}"
            )


class JsonSink:
    """NDJSON events on stdout (one object per line)."""

    def __init__(self, stream: IO[str] | None = None, *, telemetry: bool = True) -> None:
        self.stream = stream or sys.stdout
        self.telemetry = telemetry

    def handle(self, event: Event) -> None:
        if isinstance(event, TelemetrySample) and not self.telemetry:
            return
        self.stream.write(json.dumps(_jsonable(event.to_json()), ensure_ascii=False) + "\n")
        if not isinstance(event, TokensGenerated | TelemetrySample):
            self.stream.flush()


def _jsonable(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_jsonable(v) for v in data]
    if isinstance(data, Path):
        return str(data)
    return data


async def run_engine_with_signals(engine: Any, log: LogSink | None = None) -> Any:
    """Run the engine; the first Ctrl-C/SIGTERM cancels cleanly, a second one aborts."""
    loop = asyncio.get_running_loop()
    hits = {"n": 0}

    def on_signal(signame: str) -> None:
        hits["n"] += 1
        if hits["n"] == 1:
            if log is not None:
                log._w(
                    f"{signame}: stopping after the current token; finished results are kept (again to abort now)"
                )
            engine.cancel()
        else:
            raise KeyboardInterrupt

    installed = []
    # SIGHUP: the SSH session went away; stop cleanly rather than die mid-request
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            loop.add_signal_handler(sig, on_signal, sig.name)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread
            pass
    try:
        return await engine.run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


class ClassifyLogSink:
    """Readable progress lines for a classifier benchmark (stderr by default)."""

    def __init__(self, stream: IO[str] | None = None, *, verbose: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.done = 0
        self.total = 0

    def _w(self, text: str) -> None:
        self.stream.write(one_line(text) + "\n")  # one event, one line (see LogSink)
        self.stream.flush()

    def handle(self, event: Event) -> None:
        from tui_bench.core.classify import events as ce

        if isinstance(event, ce.ClassifyStarted):
            self.total = event.n_trainings
            langs = f", languages {', '.join(event.languages)}" if event.languages else ""
            self._w(
                f"[classify] {event.data}: {event.n_rows} rows; categories {', '.join(event.categories)}; "
                f"models {', '.join(event.models)}{langs}; {event.epochs} epoch(s); {event.n_trainings} trainings, "
                f"{event.jobs} job(s)"
            )
        elif isinstance(event, ce.ImbalanceAnalysed):
            for a in event.imbalance:
                ratio = a.get("imbalance_ratio")
                self._w(
                    f"[imbalance] {a['category']}: {a.get('n_classes')} classes, {a.get('n_samples')} rows, "
                    f"ratio {ratio if ratio is None else f'{ratio:.2f}'}, "
                    f"entropy {a.get('normalized_entropy') or 0:.3f}: {a.get('profile') or 'excluded'}"
                )
            for ex in event.excluded:
                self._w(f"[imbalance] excluded {ex['category']}: {ex['reason']}")
            picks = ", ".join(f"{k}={v or '–'}" for k, v in event.suggested.items())
            self._w(f"[imbalance] suggested: {picks}")
        elif isinstance(event, ce.EpochProgress):
            if self.verbose:
                f1 = "–" if event.val_f1_macro is None else f"{event.val_f1_macro:.3f}"
                self._w(
                    f"  {event.candidate} / {event.category}: epoch {event.epoch}/{event.n_epochs} val F1 {f1}"
                )
        elif isinstance(event, ce.CandidateFinished):
            self.done += 1
            r = event.result
            cell = r.category + (f"/{r.language}" if r.language else "")
            head = f"[{self.done:>{len(str(self.total))}}/{self.total}] {r.candidate} on {cell}"
            if r.error:
                self._w(f"{head}: {r.error}")
            else:
                self._w(
                    f"{head}: macro-F1 {r.f1_macro:.3f}  accuracy {r.accuracy:.3f}  "
                    f"balanced {r.balanced_accuracy:.3f}  train {r.train_time_s:.2f} s"
                )
        elif isinstance(event, ce.FinalModelSaved):
            self._w(
                f"[final] {event.candidate} trained on all of {event.category}: {event.model_path}"
            )
        elif isinstance(event, Log):
            if event.level != "info" or self.verbose:
                self._w(f"{event.level}: {event.message}")
        elif isinstance(event, ce.ClassifyFinished):
            wins = "; ".join(f"{cell}: {model}" for cell, model in event.winners.items())
            self._w(
                f"[classify] {event.status} in {event.duration_s:.1f} s: {event.n_results} results, "
                f"{event.n_failed} failed" + (f"; best: {wins}" if wins else "")
            )
