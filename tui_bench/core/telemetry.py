"""Process and GPU samplers: RSS/CPU of the model's worker (psutil), VRAM through NVML.

A background thread samples the current target process every ``interval_s`` and hands
each sample to a callback (the engine forwards them as events). Per-request peaks are
kept between :meth:`Telemetry.window_start` and :meth:`Telemetry.window_end`, which also
take a sample themselves so that even a very short request has two.

The GPU side is :class:`~tui_bench.core.gpu.GpuProbe` (the devices the model's worker
uses, read through NVML). Without an NVIDIA driver it reports a clean "no NVIDIA GPU"
state with the reason, and VRAM figures are ``None``, never zero. A device that stops
answering mid-run is said once in the run log (a ``Log`` through ``publish``), and every
request window that saw it is marked partial (flag ``gpu_partial``, no energy figure).
:meth:`Telemetry.model_loaded` and :meth:`Telemetry.model_ended` keep in the model's info
what was measured for it (``gpu_telemetry``: devices, per-process memory, failures).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.energy import (
    FLAG_GPU_PARTIAL,
    RequestEnergy,
    UpdatePeriod,
    idle_for,
    idle_power_w,
    model_uses_gpu,
    request_energy,
    throttle_flags,
)
from tui_bench.core.events import Event, Log, TelemetrySample

# The GPU probe lives in tui_bench.core.gpu; these names stay importable from here.
from tui_bench.core.gpu import MB, GpuDevice, GpuProbe, GpuReading
from tui_bench.core.metrics import RawTiming

__all__ = ["MB", "GpuDevice", "GpuProbe", "GpuReading", "Peaks", "Telemetry"]


@dataclass
class Peaks:
    """What the samples of one request window showed: memory peaks, and for its energy
    the counter's readings and the slowdown reasons seen (core/energy.py), with the
    counter's update period and the idle baseline known when the window closed."""

    rss_kb: int | None = None
    vram_used_mb: float | None = None
    vram_proc_mb: float | None = None
    energy: list[tuple[int, float]] = field(default_factory=list)  # (t_ns, mJ)
    throttle: set[str] = field(default_factory=set)
    gpu: bool = True  # the model runs on the GPU: its energy and slowdowns are the model's
    period_ns: int | None = None
    idle_w: float | None = None
    partial: bool = False  # some GPU did not answer during the window (last figures stood in)

    def update(self, s: TelemetrySample) -> None:
        self.partial = self.partial or s.gpu_partial
        if s.rss_kb is not None:
            self.rss_kb = max(self.rss_kb or 0, s.rss_kb)
        if s.vram_used_mb is not None:
            self.vram_used_mb = max(self.vram_used_mb or 0.0, s.vram_used_mb)
        if s.vram_proc_mb is not None:
            self.vram_proc_mb = max(self.vram_proc_mb or 0.0, s.vram_proc_mb)
        if s.energy_mj is not None:
            self.energy.append((s.t_ns, s.energy_mj))
        self.throttle.update(s.throttle)

    def request_energy(self, raw: RawTiming) -> RequestEnergy:
        """The request's joules (``raw``: its timestamps, on the samples' clock) and flags."""
        if self.partial:  # a device's counter stood still: the sum would leave it out
            flags = throttle_flags(self.throttle) if self.gpu else []
            return RequestEnergy(flags=[*flags, FLAG_GPU_PARTIAL])
        if not self.gpu:
            return RequestEnergy()
        tokens = raw.token_t_ns
        return request_energy(
            self.energy,
            period_ns=self.period_ns,
            t_send_ns=raw.t_send_ns,
            t_first_ns=tokens[0] if tokens else None,
            t_last_ns=tokens[-1] if tokens else None,
            idle_w=self.idle_w,
            throttle=self.throttle,
        )


# The idle baseline: how long it is measured, and how often the counter is read meanwhile.
IDLE_BASELINE_S = 2.0
IDLE_STEP_S = 0.01


class Telemetry:
    """Samples the target process and the GPU on a background thread."""

    def __init__(
        self,
        publish: Callable[[Event], None] | None = None,
        *,
        interval_s: float = 0.1,
        gpu: GpuProbe | None = None,
        clock: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        self.publish = publish
        self.interval_s = interval_s
        self._clock = clock  # the clock of the token timestamps (tests give their own)
        self.gpu = gpu if gpu is not None else GpuProbe()
        self._lock = threading.Lock()
        self._model: str | None = None
        self._proc: Any = None
        self._pid: int | None = None
        self._window: Peaks | None = None
        self._uses_gpu = False  # the current target runs on the GPU (energy is its own)
        self._period = UpdatePeriod()  # of the GPUs' energy counter
        self.idle_w: float | None = None  # idle baseline (measure_idle), every device
        self.idle_by_device: dict[str, float] = {}  # the same, by device label
        self._failures: dict[str, str] = {}  # label -> reason: each device's first failure
        self._model_failures: dict[str, str] = {}  # ... of those, while this model ran
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            from tui_bench.core.backends.spawn import start_thread

            self._thread = threading.Thread(
                target=self._loop, name="tui-bench-telemetry", daemon=True
            )
            start_thread(self._thread)  # full priority even under a lowered front end

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self.gpu.close()

    def set_target(
        self, model: str | None, pid: int | None, info: dict[str, Any] | None = None
    ) -> None:
        """Sample ``pid`` for ``model``; ``info`` (its load facts) says whether the GPUs'
        energy is the model's (without them, it is taken to be)."""
        import psutil

        proc = None
        if pid is not None:
            try:
                proc = psutil.Process(pid)
                proc.cpu_percent(None)  # prime the CPU counter
            except psutil.Error:
                proc = None
        uses_gpu = model is not None and (info is None or model_uses_gpu(info))
        with self._lock:
            self._model, self._pid, self._proc = model, pid, proc
            self._uses_gpu = uses_gpu

    def model_loaded(self, model: str, pid: int | None, info: dict[str, Any]) -> None:
        """Measure the devices llama.cpp reports for the loaded model (its ``gpu_devices``;
        without them, every visible one), sample its worker, and note in ``info`` what is
        measured (``gpu_telemetry``)."""
        self.gpu.use_model_devices(info.get("gpu_devices"))
        self.set_target(model, pid, info)
        with self._lock:
            self._model_failures = {}
        self._note(info)

    def model_ended(self, info: dict[str, Any] | None) -> None:
        """The model is unloaded: ``info`` gets what was learnt while it ran (per-process
        memory found unreadable, devices that failed), and sampling stops targeting it."""
        if info is not None:
            self._note(info)
        self.set_target(None, None)

    def _note(self, info: dict[str, Any]) -> None:
        from tui_bench.core.gpu.facts import in_use

        if isinstance(self.gpu, GpuProbe) and self.gpu.available:
            with self._lock:
                failures = dict(self._model_failures)
            info["gpu_telemetry"] = in_use(self.gpu, failures)

    def sample(self) -> TelemetrySample:
        return self._read()[0]

    def _read(self) -> tuple[TelemetrySample, GpuReading]:
        with self._lock:
            model, pid, proc = self._model, self._pid, self._proc
        rss = cpu = None
        if proc is not None:
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss // 1024
                    cpu = proc.cpu_percent(None)
            except Exception:
                rss = cpu = None
        t0 = self._clock()
        g = self.gpu.sample(pid)
        s = TelemetrySample(
            model,
            # halfway through the GPU read: the energy counter was read somewhere inside it
            (t0 + self._clock()) // 2,
            rss,
            cpu,
            g.used_mb,
            g.total_mb,
            g.proc_mb,
            g.energy_mj,
            g.throttle,
            g.partial,
            g.errors,
            g.proc_state,
            g.proc_reason,
        )
        with self._lock:
            self._period.feed(s.t_ns, s.energy_mj)
            if self._window is not None:
                self._window.update(s)
        if g.errors:
            self._first_failures(g.errors)
        return s, g

    def _first_failures(self, errors: tuple[str, ...]) -> None:
        """One run-log line for each device's first failure (the reading marks every one)."""
        fresh: list[tuple[str, str]] = []
        with self._lock:
            for err in errors:
                label, _, why = err.partition(": ")
                self._model_failures.setdefault(label, why)
                if label not in self._failures:
                    self._failures[label] = why
                    fresh.append((label, why))
        name_of = getattr(self.gpu, "name_of", None)
        for label, why in fresh:
            name = name_of(label) if name_of is not None else None
            device = f"{label} ({name})" if name else label
            self._emit(
                Log(
                    "warning",
                    f"{device} stopped answering ({why}): its last readings stand in, and "
                    f"requests measured meanwhile are flagged {FLAG_GPU_PARTIAL} (no energy figure)",
                )
            )

    def _emit(self, event: Event) -> None:
        if self.publish is not None:
            with contextlib.suppress(RuntimeError):  # event loop closed while shutting down
                self.publish(event)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            s = self.sample()
            if self.publish is not None:
                try:
                    self.publish(s)
                except RuntimeError:  # event loop closed while shutting down
                    return

    def window_start(self) -> None:
        # the idle watts of the devices measured now (the model's), not of every GPU
        idle = idle_for(self.idle_by_device, getattr(self.gpu, "energy_labels", None))
        with self._lock:
            self._window = Peaks(gpu=self._uses_gpu, idle_w=idle)
        self.sample()

    def window_end(self) -> Peaks:
        self.sample()
        with self._lock:
            peaks, self._window = self._window or Peaks(), None
            peaks.period_ns = self._period.period_ns
        return peaks

    def measure_idle(self, seconds: float = IDLE_BASELINE_S) -> str:
        """Each GPU's idle power over ``seconds``, before a model is loaded: later request
        windows carry the idle watts of the devices their model uses (their net figures
        subtract it). Sampled every ``IDLE_STEP_S``, which also pins down the counter's
        update period. Returns the run log's line."""
        if not self.gpu.available:
            return f"idle baseline not measured: {self.gpu.reason}"
        points: dict[str, list[tuple[int, float]]] = {}
        end = self._clock() + int(seconds * 1e9)
        while True:
            s, g = self._read()
            per = g.energy_by_device or ({"": s.energy_mj} if s.energy_mj is not None else {})
            for label, mj in per.items():
                points.setdefault(label, []).append((s.t_ns, mj))
            if self._clock() >= end:
                break
            time.sleep(IDLE_STEP_S)
        idle = {k: w for k, pts in points.items() if (w := idle_power_w(pts)) is not None}
        watts = sum(idle.values()) if idle else None
        with self._lock:
            self.idle_w, self.idle_by_device = watts, idle
        if watts is not None:
            each = [f"{k} {w:.1f} W" for k, w in idle.items() if k]
            each += [f"{k} not measured" for k in points if k not in idle]
            per_device = f": {', '.join(each)}" if len(each) > 1 else ""
            return (
                f"idle baseline: {watts:.1f} W on the GPUs over {seconds:g} s{per_device} "
                "(energy figures are also given net of the idle watts of the model's GPUs)"
            )
        if not points:
            return "idle baseline not measured: the GPUs expose no energy counter"
        return f"idle baseline not measured: the energy counter did not move twice in {seconds:g} s"
