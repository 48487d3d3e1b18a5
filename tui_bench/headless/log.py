"""The headless sinks: readable progress lines (stderr) for a plan's run and for a
classifier benchmark, and NDJSON events (stdout)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

from tui_bench.core.events import (
    Event,
    LevelFinished,
    LoadFinished,
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
from tui_bench.core.fmt import MISSING, cell_name, model_setup, num, or_missing, pct, score
from tui_bench.core.load.summary import level_line
from tui_bench.core.printable import one_line


class LineSink:
    """One readable line per event worth telling, on a stream (stderr by default)."""

    def __init__(self, stream: IO[str] | None = None, *, verbose: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.total = 0
        self.done = 0

    def line(self, text: str) -> None:
        """Write ``text`` as one line, flushed."""
        # one event, one line: a name or error with a newline or an escape sequence in it
        # (an old history entry, a worker's message) is shown escaped
        self.stream.write(one_line(text) + "\n")
        self.stream.flush()

    def _progress(self) -> str:
        """``[done/total]``, counting one more finished item."""
        self.done += 1
        return f"[{self.done:>{len(str(self.total))}}/{self.total}]"

    def _log(self, event: Log) -> None:
        if event.level != "info" or self.verbose:
            self.line(f"{event.level}: {event.message}")


def gpu_header(gpu: dict[str, Any]) -> str:
    """The run header's GPUs: each device the worker will use with its memory and MIG
    mode, then whether per-process memory can be read (the reason when it cannot)."""
    if not gpu.get("available"):
        return str(gpu.get("reason", "no GPU"))
    shown = []
    for d in gpu.get("devices", []):
        total = d.get("total_mb")
        bits = [f"{total:,} MiB" if total is not None else f"memory {d.get('memory', 'n/a')}"]
        if d.get("mig_index") is not None:
            bits.append(f"MIG slice {d['mig_index']}")
        elif d.get("mig_mode"):
            bits.append(f"MIG {d['mig_mode']}")
        shown.append(f"{d.get('name')} ({', '.join(bits)})")
    text = ", ".join(shown)
    proc = gpu.get("proc_memory") or {}
    if proc:
        text += f"; per-process VRAM {proc.get('state')}"
        if proc.get("readable") is False and proc.get("reason"):
            text += f" ({proc['reason']})"
    return text


class LogSink(LineSink):
    """Readable progress lines of a plan's run (stderr by default)."""

    def __init__(
        self, stream: IO[str] | None = None, *, verbose: bool = False, report: Any = None
    ) -> None:
        super().__init__(stream, verbose=verbose)
        # the run's ReportSink, published to before this sink: its ``error`` is known
        # when the verdict line is written
        self.report = report

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.total = event.n_measured + event.n_warmup
            gpu_text = gpu_header(event.host.get("gpu", {}))
            self.line(
                f"[run {event.run_id}] {event.plan}: {len(event.models)} model(s) × {len(event.prompts)} prompt(s) "
                f"× {event.repeats} repeat(s) = {event.n_measured} measured + {event.n_warmup} warm-up request(s)"
            )
            threads = event.host.get("threads") or {}
            cpu_text = f"{event.host.get('cpu')}" + (
                f"; llama.cpp default {threads['n']} threads: {threads['reason']}"
                if threads.get("n")
                else ""
            )
            self.line(f"[run {event.run_id}] host: {cpu_text}; GPU: {gpu_text}")
        elif isinstance(event, ModelLoading):
            self.line(f"[{event.model}] loading {event.source} ...")
        elif isinstance(event, ModelLoaded):
            bits = [f"loaded in {num(event.load_ms, 0)} ms", *model_setup(event.info)]
            self.line(f"[{event.model}] " + "; ".join(bits))
        elif isinstance(event, ModelFailed):
            self.line(f"[{event.model}] FAILED: {event.error}")
        elif isinstance(event, LevelFinished):
            self.line(level_line(event.model, event.level, event.summary))
        elif isinstance(event, LoadFinished):
            self.line(f"[{event.model}] capacity: {event.capacity}")
            if event.knee:
                self.line(f"[{event.model}] {event.knee}")
        elif isinstance(event, RequestFinished):
            r = event.record
            if r.level is not None and not self.verbose:
                return  # under load: one line per level, not per request
            kind = "warm-up" if r.warmup else f"rep {r.repeat + 1}"
            if r.level is not None:
                kind = f"{r.level} #{r.repeat + 1}" + (" warm-up" if r.warmup else "")
            head = f"{self._progress()} {r.model} / {r.prompt} / {kind}"
            if r.ok:
                # right-aligned, so the numbers of successive lines stand in columns
                tps, ttft = f"{num(r.decode_tps):>7}", f"{num(r.ttft_ms):>7}"
                e2e = MISSING if r.e2e_ms is None else f"{num(r.e2e_ms / 1000, 2)} s"
                line = f"{head}: TTFT {ttft} ms  {tps} tok/s  {r.n_out} tok  {e2e}  ({r.finish_reason})"
                if r.flags:
                    line += "  FLAGS: " + ",".join(r.flags)
            else:
                line = f"{head}: {r.finish_reason}: {r.error or ''}".rstrip(": ")
            self.line(line)
        elif isinstance(event, Log):
            self._log(event)
        elif isinstance(event, RunFinished):
            verdict = (
                "PASS" if event.passed else ("CANCELLED" if event.status == "cancelled" else "FAIL")
            )
            if getattr(self.report, "error", None):
                verdict = f"REPORTS NOT WRITTEN (measured: {verdict})"
            self.line(
                f"[run {event.run_id}] {event.status} in {num(event.duration_s)} s: {event.n_ok}/{event.n_measured} ok "
                f"(success {pct(event.success_rate)}, threshold {pct(event.threshold)}): {verdict}"
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


class ClassifyLogSink(LineSink):
    """Readable progress lines of a classifier benchmark (stderr by default)."""

    def handle(self, event: Event) -> None:
        from tui_bench.core.classify import events as ce
        from tui_bench.core.classify.summary import epoch_line, step_line

        if isinstance(event, ce.ClassifyStarted):
            self.total = event.n_trainings
            langs = f", languages {', '.join(event.languages)}" if event.languages else ""
            self.line(
                f"[classify] {event.data}: {event.n_rows} rows; categories {', '.join(event.categories)}; "
                f"models {', '.join(event.models)}{langs}; {event.epochs} epoch(s); {event.n_trainings} trainings, "
                f"{event.jobs} job(s)"
            )
        elif isinstance(event, ce.ImbalanceAnalysed):
            for a in event.imbalance:
                ratio = a.get("imbalance_ratio")
                self.line(
                    f"[imbalance] {a['category']}: {a.get('n_classes')} classes, {a.get('n_samples')} rows, "
                    f"ratio {num(ratio, 2)}, "
                    f"entropy {score(a.get('normalized_entropy') or 0)}: {a.get('profile') or 'excluded'}"
                )
            for ex in event.excluded:
                self.line(f"[imbalance] excluded {ex['category']}: {ex['reason']}")
            picks = ", ".join(f"{k}={or_missing(v)}" for k, v in event.suggested.items())
            self.line(f"[imbalance] suggested: {picks}")
        elif isinstance(event, ce.EpochProgress):
            # a transformer's epochs take minutes: each is said; others with -v
            if self.verbose or event.examples_per_s is not None:
                self.line(epoch_line(event))
        elif isinstance(event, ce.StepProgress):
            if self.verbose:
                self.line(step_line(event))
        elif isinstance(event, ce.CandidateFinished):
            r = event.result
            head = f"{self._progress()} {r.candidate} on {cell_name(r.category, r.language)}"
            if r.error:
                self.line(f"{head}: {r.error}")
            else:
                self.line(
                    f"{head}: macro-F1 {score(r.f1_macro)}  accuracy {score(r.accuracy)}  "
                    f"balanced {score(r.balanced_accuracy)}  train {num(r.train_time_s, 2)} s"
                )
        elif isinstance(event, ce.FinalModelSaved):
            self.line(
                f"[final] {event.candidate} trained on all of {event.category}: {event.model_path}"
            )
        elif isinstance(event, Log):
            self._log(event)
        elif isinstance(event, ce.ClassifyFinished):
            wins = "; ".join(f"{cell}: {model}" for cell, model in event.winners.items())
            self.line(
                f"[classify] {event.status} in {num(event.duration_s)} s: {event.n_results} results, "
                f"{event.n_failed} failed" + (f"; best: {wins}" if wins else "")
            )
