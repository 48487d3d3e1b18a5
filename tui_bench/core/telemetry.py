"""Process and GPU samplers: RSS/CPU of the model's worker (psutil), VRAM through NVML.

A background thread samples the current target process every ``interval_s`` and hands
each sample to a callback (the engine forwards them as events). Per-request peaks are
kept between :meth:`Telemetry.window_start` and :meth:`Telemetry.window_end`, which also
take a sample themselves so that even a very short request has two.

The GPU side is :class:`~tui_bench.core.gpu.GpuProbe` (the devices the model's worker
uses, read through NVML). Without an NVIDIA driver it reports a clean "no NVIDIA GPU"
state with the reason, and VRAM figures are ``None``, never zero.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.energy import (
    RequestEnergy,
    UpdatePeriod,
    idle_power_w,
    model_uses_gpu,
    request_energy,
)
from tui_bench.core.events import TelemetrySample

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

    def update(self, s: TelemetrySample) -> None:
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
        publish: Callable[[TelemetrySample], None] | None = None,
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
        self.idle_w: float | None = None  # idle baseline (measure_idle)
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

    def sample(self) -> TelemetrySample:
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
        )
        with self._lock:
            self._period.feed(s.t_ns, s.energy_mj)
            if self._window is not None:
                self._window.update(s)
        return s

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            s = self.sample()
            if self.publish is not None:
                try:
                    self.publish(s)
                except RuntimeError:  # event loop closed while shutting down
                    return

    def window_start(self) -> None:
        with self._lock:
            self._window = Peaks(gpu=self._uses_gpu, idle_w=self.idle_w)
        self.sample()

    def window_end(self) -> Peaks:
        self.sample()
        with self._lock:
            peaks, self._window = self._window or Peaks(), None
            peaks.period_ns = self._period.period_ns
        return peaks

    def measure_idle(self, seconds: float = IDLE_BASELINE_S) -> str:
        """The GPUs' idle power over ``seconds``, before a model is loaded: later request
        windows carry it (their net figures subtract it). Sampled every ``IDLE_STEP_S``,
        which also pins down the counter's update period. Returns the run log's line."""
        if not self.gpu.available:
            return f"idle baseline not measured: {self.gpu.reason}"
        points: list[tuple[int, float]] = []
        end = self._clock() + int(seconds * 1e9)
        while True:
            s = self.sample()
            if s.energy_mj is not None:
                points.append((s.t_ns, s.energy_mj))
            if self._clock() >= end:
                break
            time.sleep(IDLE_STEP_S)
        watts = idle_power_w(points)
        with self._lock:
            self.idle_w = watts
        if watts is not None:
            return (
                f"idle baseline: {watts:.1f} W on the GPUs over {seconds:g} s "
                "(energy figures are also given net of it)"
            )
        if not points:
            return "idle baseline not measured: the GPUs expose no energy counter"
        return f"idle baseline not measured: the energy counter did not move twice in {seconds:g} s"
