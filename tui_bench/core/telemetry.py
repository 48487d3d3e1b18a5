"""Process and GPU samplers: RSS/CPU of the model's worker (psutil), VRAM through NVML.

A background thread samples the current target process every ``interval_s`` and hands
each sample to a callback (the engine forwards them as events). Per-request peaks are
kept between :meth:`Telemetry.window_start` and :meth:`Telemetry.window_end`, which also
take a sample themselves so that even a very short request has two.

Without an NVIDIA driver the GPU probe reports a clean "no NVIDIA GPU" state with the
reason, and VRAM figures are ``None``, never zero.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui_bench.core.events import TelemetrySample

MB = 1024 * 1024


@dataclass
class GpuReading:
    """One sample of the model's GPUs: memory summed over them, the model process's own
    share, the cumulative energy counter and the active throttle reasons. Every figure
    is None when no device answered, never zero."""

    used_mb: float | None = None
    total_mb: float | None = None
    proc_mb: float | None = None
    energy_mj: float | None = None
    throttle: tuple[str, ...] = ()


@dataclass
class GpuDevice:
    index: int
    name: str
    total_mb: float
    driver: str | None = None
    uuid: str | None = None


class GpuProbe:
    """NVML access with a clear "not available" state."""

    def __init__(self) -> None:
        self.available = False
        self.reason = ""
        self.devices: list[GpuDevice] = []
        self._handles: list[Any] = []
        self._nvml: Any = None
        try:
            import pynvml
        except ImportError:
            self.reason = "no NVIDIA GPU (nvidia-ml-py is not installed)"
            return
        try:
            pynvml.nvmlInit()
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded ...
            self.reason = f"no NVIDIA GPU ({_nvml_reason(exc)})"
            return
        self._nvml = pynvml
        try:
            driver = _text(pynvml.nvmlSystemGetDriverVersion())
            for i in range(pynvml.nvmlDeviceGetCount()):
                h = pynvml.nvmlDeviceGetHandleByIndex(i)
                mem = pynvml.nvmlDeviceGetMemoryInfo(h)
                self._handles.append(h)
                self.devices.append(
                    GpuDevice(
                        i,
                        _text(pynvml.nvmlDeviceGetName(h)),
                        mem.total / MB,
                        driver,
                        _text(pynvml.nvmlDeviceGetUUID(h)),
                    )
                )
        except Exception as exc:
            self.reason = f"NVML error: {_nvml_reason(exc)}"
            return
        if not self._handles:
            self.reason = "no NVIDIA GPU (NVML found no device)"
            return
        self.available = True

    @property
    def total_mb(self) -> float | None:
        return sum(d.total_mb for d in self.devices) if self.available else None

    def sample(self, pid: int | None) -> GpuReading:
        """Device used/total MB and the MB used by ``pid``, summed over devices."""
        if not self.available:
            return GpuReading()
        nv = self._nvml
        used = total = 0.0
        proc: float | None = None
        for h in self._handles:
            try:
                mem = nv.nvmlDeviceGetMemoryInfo(h)
            except Exception:
                continue
            used += mem.used / MB
            total += mem.total / MB
            if pid is None:
                continue
            try:
                procs = nv.nvmlDeviceGetComputeRunningProcesses(h)
            except Exception:
                continue
            for p in procs:
                if p.pid == pid and p.usedGpuMemory is not None:
                    proc = (proc or 0.0) + p.usedGpuMemory / MB
        return GpuReading(used, total, proc)

    def describe(self) -> dict[str, Any]:
        if not self.available:
            return {"available": False, "reason": self.reason}
        return {
            "available": True,
            "driver": self.devices[0].driver,
            "devices": [
                {"index": d.index, "name": d.name, "total_mb": round(d.total_mb)}
                for d in self.devices
            ],
        }

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
            self._nvml = None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _nvml_reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"NVML: {text}"


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
