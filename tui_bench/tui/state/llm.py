"""The LLM run's live state and the engine sink that keeps it.

The engine calls :meth:`BridgeSink.handle` on the event loop for every event, up to
hundreds per second under a flood of tokens. The sink never touches a widget and never
posts a message: it updates counters, ring buffers and the latest text in a
:class:`LiveState`, in O(batch) time, and bumps ``version``. The live screen reads the
state on a timer (a few times per second) and repaints only when ``version`` moved, so
the cost of the UI is bounded by the timer rate, not by the token rate.

The engine is an async worker on the UI's own event loop, so the sink writes from the
UI's thread: it folds token batches without taking the state's lock (see
:mod:`tui_bench.tui.state.base`), and the live view's panels read the state directly.

No Textual import here: plain Python, tested as such.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tui_bench.core.energy import PowerMeter
from tui_bench.core.events import (
    ModelFailed,
    ModelLoaded,
    ModelLoading,
    ModelUnloaded,
    RequestFinished,
    RequestStarted,
    RunFinished,
    RunStarted,
    TelemetrySample,
    TokensGenerated,
)
from tui_bench.core.fmt import MISSING, model_setup, num, pct
from tui_bench.tui.state.base import EventSink, LiveStateBase, folds
from tui_bench.tui.state.load import LoadFolds, LoadLive

BUCKET_NS = 250_000_000  # token-rate sparkline: tokens per 250 ms bucket
RATE_BUCKETS = 480  # two minutes of history per model
TELEMETRY_POINTS = 600  # one minute at the engine's 100 ms sampling interval
TEXT_TAIL_CHARS = 4000


@dataclass
class ModelLive:
    """What the live view shows of one model."""

    id: str
    status: str = "waiting"  # waiting, loading, ready, generating, failed, done
    load_ms: float | None = None
    error: str | None = None
    desc: str = ""
    fallback: str | None = None  # the configuration changed after a crash, and why
    buckets: deque[int] = field(default_factory=lambda: deque(maxlen=RATE_BUCKETS))
    last_bucket: int | None = None  # absolute index of buckets[-1]
    ttft_ms: list[float] = field(default_factory=list)  # every request, warm-ups included
    decode_tps: list[float] = field(default_factory=list)  # measured, successful requests
    n_done: int = 0
    n_ok: int = 0
    n_failed: int = 0
    tokens: int = 0

    def add_tokens(self, bucket: int, n: int) -> None:
        if self.last_bucket is None:
            self.buckets.append(n)
            self.last_bucket = bucket
            return
        gap = bucket - self.last_bucket
        if gap > 0:
            if gap > RATE_BUCKETS:
                self.buckets.clear()
                self.buckets.append(n)
            else:
                self.buckets.extend([0] * (gap - 1))
                self.buckets.append(n)
            self.last_bucket = bucket
        else:
            back = -gap
            if back < len(self.buckets):
                self.buckets[len(self.buckets) - 1 - back] += n

    def rates(self) -> list[float]:
        """Tokens per second in each 250 ms bucket, oldest first."""
        scale = 1e9 / BUCKET_NS
        return [c * scale for c in self.buckets]


@dataclass
class CurrentRequest:
    label: str = ""
    model: str = ""
    index: int = 0
    warmup: bool = False
    n_out: int = 0
    t_send_ns: int | None = None
    t_first_ns: int | None = None
    t_last_ns: int | None = None

    @property
    def ttft_ms(self) -> float | None:
        if self.t_first_ns is None or self.t_send_ns is None:
            return None
        return (self.t_first_ns - self.t_send_ns) / 1e6

    @property
    def decode_tps(self) -> float | None:
        """Decode rate so far, after the first token (the same definition as the metric)."""
        if self.t_first_ns is None or self.t_last_ns is None or self.n_out < 2:
            return None
        dt = self.t_last_ns - self.t_first_ns
        return (self.n_out - 1) / (dt / 1e9) if dt > 0 else None


class LiveState(LiveStateBase):
    """Everything the live view renders, updated by :class:`BridgeSink`. ``label`` is
    the plan's name; ``done`` and ``total`` count requests, warm-ups included."""

    CANCEL_LINE = "cancelling: stopping after the current token"

    def __init__(
        self, *, ram_total_kb: int | None = None, clock: Callable[[], int] = time.perf_counter_ns
    ) -> None:
        super().__init__(clock=clock)
        self.models: dict[str, ModelLive] = {}
        self.prompts: list[str] = []
        self.n_measured = 0
        self.t0_ns: int | None = None  # first token of the run: origin of the rate buckets
        self.current = CurrentRequest()
        self.in_flight = False  # a request is being measured (RequestStarted .. Finished)
        self.text_tail = ""
        self.tokens_total = 0
        self.token_events = 0
        self.ram_total_kb = ram_total_kb
        self.gpu_available = False
        self.gpu_reason = "no NVIDIA GPU"
        self.gpu_name = ""
        self.vram_total_mb: float | None = None
        self.telemetry_model: str | None = None
        self.rss_kb: deque[float] = deque(maxlen=TELEMETRY_POINTS)
        self.vram_used_mb: deque[float] = deque(maxlen=TELEMETRY_POINTS)
        self.vram_proc_mb: deque[float | None] = deque(maxlen=TELEMETRY_POINTS)  # None: n/a
        # what NVML says of per-process memory (host facts: "n/a (container PIDs)" ...),
        # and whether any sample gave the model's own VRAM: until one does, no zero is shown
        self.vram_proc_note = ""
        self.vram_proc_reason = ""  # why the latest sample gave none (a container found mid-run)
        self.vram_proc_seen = False
        # the GPUs' power (from their energy counter), the slowdown reasons active now,
        # and the last request's energy figures (None where not measured)
        self.power = PowerMeter()
        self.throttle: tuple[str, ...] = ()
        self.last_j_per_token: float | None = None
        self.last_w: float | None = None
        self.cpu_percent: float | None = None
        self.finished: RunFinished | None = None
        self.load = LoadLive()  # a plan with load levels: folded by LoadFolds

    # -- helpers ----------------------------------------------------------------------

    def model(self, model_id: str) -> ModelLive:
        m = self.models.get(model_id)
        if m is None:
            m = self.models[model_id] = ModelLive(model_id)
        return m

    @property
    def plan(self) -> str:
        return self.label

    def current_label(self) -> str:
        return self.current.label


def _proc_note(state: object) -> str:
    """The live view's word for per-process memory that cannot be read: ``n/a (container
    PIDs)`` as NVML's state says it, else ``n/a`` (the reason follows it)."""
    text = str(state or "")
    return text if text.startswith("n/a") else "n/a"


class BridgeSink(LoadFolds, EventSink[LiveState]):
    """Engine sink: folds events into a :class:`LiveState`. O(batch) per event, no UI calls.
    The load events' folds come from :class:`LoadFolds`."""

    LOCKED = False  # the engine runs on the UI's event loop: nothing to lock against

    @folds(RequestStarted)
    def _request_started(self, e: RequestStarted) -> None:
        s, key = self.state, e.key
        s.current = CurrentRequest(
            label=key.label(), model=key.model, index=e.index, warmup=key.warmup
        )
        s.total = e.total
        s.in_flight = True
        s.model(key.model).status = "generating"

    @folds(RunStarted)
    def _run_started(self, e: RunStarted) -> None:
        s = self.state
        s.run_id, s.label, s.prompts = e.run_id, e.plan, list(e.prompts)
        s.total, s.n_measured = e.n_measured + e.n_warmup, e.n_measured
        s.start()
        for mid in e.models:
            s.model(mid)
        gpu = e.host.get("gpu") or {}
        s.gpu_available = bool(gpu.get("available"))
        if s.gpu_available:
            s.gpu_name = ", ".join(d.get("name", "") for d in gpu.get("devices", []))
            s.vram_total_mb = float(sum(d.get("total_mb", 0) for d in gpu.get("devices", [])))
            proc = gpu.get("proc_memory") or {}
            if proc.get("readable") is False:
                s.vram_proc_note = _proc_note(proc.get("state"))
                s.vram_proc_reason = str(proc.get("reason") or "")
        else:
            s.gpu_reason = str(gpu.get("reason") or "no NVIDIA GPU")
        if s.ram_total_kb is None and e.host.get("ram_gb"):
            s.ram_total_kb = int(float(e.host["ram_gb"]) * 1024 * 1024)
        s.add_log(
            "info",
            f"run {e.run_id} · {e.plan}: {len(e.models)} model(s) × "
            f"{len(e.prompts)} prompt(s) × {e.repeats} repeat(s) = "
            f"{e.n_measured} measured + {e.n_warmup} warm-up",
        )
        threads = e.host.get("threads") or {}
        if threads.get("n"):  # what a model without n_threads in its plan runs with
            s.add_log("info", f"llama.cpp default {threads['n']} threads: {threads['reason']}")

    @folds(ModelLoading)
    def _model_loading(self, e: ModelLoading) -> None:
        self.state.model(e.model).status = "loading"
        self.state.add_log("info", f"{e.model}: loading {e.source}")

    @folds(ModelLoaded)
    def _model_loaded(self, e: ModelLoaded) -> None:
        s = self.state
        m = s.model(e.model)
        m.status = "ready"
        m.load_ms = e.load_ms
        m.desc = str(e.info.get("desc") or "")
        s.telemetry_model = e.model
        bits = [f"loaded in {num(e.load_ms, 0)} ms", *model_setup(e.info)]
        s.add_log("info", f"{e.model}: " + "; ".join(bits))
        if e.info.get("fallback"):
            m.fallback = str(e.info["fallback"])
            s.add_log("warning", f"{e.model}: {m.fallback}")

    @folds(ModelFailed)
    def _model_failed(self, e: ModelFailed) -> None:
        m = self.state.model(e.model)
        m.status = "failed"
        m.error = e.error
        self.state.add_log("error", f"{e.model}: {e.error}")

    @folds(ModelUnloaded)
    def _model_unloaded(self, e: ModelUnloaded) -> None:
        m = self.state.model(e.model)
        if m.status != "failed":
            m.status = "done"
        self.state.telemetry_model = None

    @folds(RunFinished)
    def _run_finished(self, e: RunFinished) -> None:
        s = self.state
        s.finished = e
        s.finish(e.status)
        s.add_log(
            "ok" if e.passed else ("warning" if e.status == "cancelled" else "error"),
            f"run {e.run_id} {e.status} in {num(e.duration_s)} s: "
            f"{e.n_ok}/{e.n_measured} ok (success {pct(e.success_rate)}, threshold "
            f"{pct(e.threshold)})",
        )

    @folds(TokensGenerated)
    def _tokens(self, e: TokensGenerated) -> None:
        s = self.state
        s.token_events += 1
        if not e.t_ns:
            return
        n_batch = sum(e.n)
        s.tokens_total += n_batch
        if s.t0_ns is None:
            s.t0_ns = e.t_ns[0]
        m = s.model(e.key.model)
        m.tokens += n_batch
        t0 = s.t0_ns
        first_b = (e.t_ns[0] - t0) // BUCKET_NS
        last_b = (e.t_ns[-1] - t0) // BUCKET_NS
        if first_b == last_b:
            m.add_tokens(first_b, n_batch)
        else:  # a batch spans buckets only at a boundary: walk it once
            counts: dict[int, int] = {}
            for t, n in zip(e.t_ns, e.n, strict=False):
                b = (t - t0) // BUCKET_NS
                counts[b] = counts.get(b, 0) + n
            for b in sorted(counts):
                m.add_tokens(b, counts[b])
        cur = s.current
        if cur.t_send_ns is None:
            cur.t_send_ns = e.t_send_ns
        if cur.t_first_ns is None:  # the previous answer stays on screen until this one starts
            cur.t_first_ns = e.t_ns[0]
            s.text_tail = ""
        cur.t_last_ns = e.t_ns[-1]
        cur.n_out = e.n_out
        if e.text:
            tail = s.text_tail + e.text
            s.text_tail = tail[-TEXT_TAIL_CHARS:] if len(tail) > TEXT_TAIL_CHARS else tail

    @folds(TelemetrySample)
    def _telemetry(self, e: TelemetrySample) -> None:
        s = self.state
        if e.rss_kb is not None:
            s.rss_kb.append(float(e.rss_kb))
        if e.vram_used_mb is not None:
            s.vram_used_mb.append(e.vram_used_mb)
            s.vram_proc_seen = s.vram_proc_seen or e.vram_proc_mb is not None
            s.vram_proc_mb.append(e.vram_proc_mb)  # None stays None: never a made-up zero
            if e.vram_proc_state is not None:
                s.vram_proc_note = _proc_note(e.vram_proc_state)
                s.vram_proc_reason = e.vram_proc_reason or ""
            if e.vram_total_mb:
                s.vram_total_mb = e.vram_total_mb
        s.power.feed(e.t_ns, e.energy_mj)
        s.throttle = e.throttle
        s.cpu_percent = e.cpu_percent

    @folds(RequestFinished)
    def _request_finished(self, e: RequestFinished) -> None:
        s, r = self.state, e.record
        s.in_flight = False
        s.done += 1
        m = s.model(r.model)
        m.n_done += 1
        if r.ttft_ms is not None:
            m.ttft_ms.append(r.ttft_ms)
        kind = "warm-up" if r.warmup else f"rep {r.repeat + 1}"
        head = f"{r.model} / {r.prompt} / {kind}"
        # under load a level's requests are logged as one line when it ends (state/load.py)
        quiet = r.level is not None
        if r.ok:
            if not r.warmup:
                m.n_ok += 1
                if r.decode_tps is not None:
                    m.decode_tps.append(r.decode_tps)
            ttft = MISSING if r.ttft_ms is None else f"{num(r.ttft_ms)} ms"
            tps = MISSING if r.decode_tps is None else f"{num(r.decode_tps)} tok/s"
            line = f"✓ {head}: TTFT {ttft}, {tps}, {r.n_out} tok ({r.finish_reason})"
            if r.energy_j_per_token is not None:
                s.last_j_per_token, s.last_w = r.energy_j_per_token, r.energy_w
                line += f", {r.energy_j_per_token:.3g} J/tok"
            if r.flags:
                line += " ⚑ " + ",".join(r.flags)
            if not quiet:
                s.add_log("warning" if r.flags else "info", line)
        else:
            if not r.warmup and r.finish_reason != "cancelled":
                m.n_failed += 1
            level = "warning" if r.finish_reason == "cancelled" else "error"
            if not quiet:
                s.add_log(level, f"✗ {head}: {r.finish_reason}: {r.error or ''}".rstrip(": "))
