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
from dataclasses import dataclass
from typing import Any

from tui_bench.core.events import TelemetrySample

# The GPU probe lives in tui_bench.core.gpu; these names stay importable from here.
from tui_bench.core.gpu import MB, GpuDevice, GpuProbe, GpuReading

__all__ = ["MB", "GpuDevice", "GpuProbe", "GpuReading", "Peaks", "Telemetry"]


@dataclass
class Peaks:
    rss_kb: int | None = None
    vram_used_mb: float | None = None
    vram_proc_mb: float | None = None

    def update(self, s: TelemetrySample) -> None:
        if s.rss_kb is not None:
            self.rss_kb = max(self.rss_kb or 0, s.rss_kb)
        if s.vram_used_mb is not None:
            self.vram_used_mb = max(self.vram_used_mb or 0.0, s.vram_used_mb)
        if s.vram_proc_mb is not None:
            self.vram_proc_mb = max(self.vram_proc_mb or 0.0, s.vram_proc_mb)


class Telemetry:
    """Samples the target process and the GPU on a background thread."""

    def __init__(
        self,
        publish: Callable[[TelemetrySample], None] | None = None,
        *,
        interval_s: float = 0.1,
        gpu: GpuProbe | None = None,
    ) -> None:
        self.publish = publish
        self.interval_s = interval_s
        self.gpu = gpu if gpu is not None else GpuProbe()
        self._lock = threading.Lock()
        self._model: str | None = None
        self._proc: Any = None
        self._pid: int | None = None
        self._window: Peaks | None = None
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

    def set_target(self, model: str | None, pid: int | None) -> None:
        import psutil

        proc = None
        if pid is not None:
            try:
                proc = psutil.Process(pid)
                proc.cpu_percent(None)  # prime the CPU counter
            except psutil.Error:
                proc = None
        with self._lock:
            self._model, self._pid, self._proc = model, pid, proc

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
        g = self.gpu.sample(pid)
        s = TelemetrySample(
            model,
            time.perf_counter_ns(),
            rss,
            cpu,
            g.used_mb,
            g.total_mb,
            g.proc_mb,
            g.energy_mj,
            g.throttle,
        )
        with self._lock:
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
            self._window = Peaks()
        self.sample()

    def window_end(self) -> Peaks:
        self.sample()
        with self._lock:
            peaks, self._window = self._window or Peaks(), None
        return peaks
