"""What a fine-tuning worker did to its GPU: torch's own memory peak (every tensor it
allocated), and from NVML, sampled on a thread, the GPU's utilisation and the worker
process's memory as the driver sees it (the CUDA context included).

On the CPU it measures nothing and returns no figure. Every NVML failure (no driver, a
MIG slice, no per-process memory in a container) leaves its figure None, never zero:
the training goes on.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

import torch

INTERVAL_S = 0.2
MIB = 1024 * 1024


class GpuWatch:
    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._util: list[float] = []
        self._proc_mb: list[float] = []
        self._probe: Any = None
        self._handle: Any = None
        self._nvml: Any = None

    def start(self) -> None:
        if self.device.type != "cuda":
            return
        torch.cuda.reset_peak_memory_stats(self.device)
        with contextlib.suppress(Exception):  # NVML is a bonus: torch's peak stands alone
            self._open_nvml()
        if self._probe is not None or self._handle is not None:
            self._thread = threading.Thread(target=self._loop, name="gpu-watch", daemon=True)
            self._thread.start()

    def _open_nvml(self) -> None:
        from tui_bench.core.gpu.probe import GpuProbe

        probe = GpuProbe()
        if not probe.available:
            return
        self._probe = probe
        index = self.device.index if self.device.index is not None else torch.cuda.current_device()
        mine = [d for d in probe.devices if d.cuda_index == index and d.mig_index is None]
        if mine:
            import pynvml

            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(mine[0].index)

    def _loop(self) -> None:
        pid = os.getpid()
        while not self._stop.wait(INTERVAL_S):
            if self._handle is not None:
                with contextlib.suppress(Exception):
                    rates = self._nvml.nvmlDeviceGetUtilizationRates(self._handle)
                    self._util.append(float(rates.gpu))
            if self._probe is not None:
                with contextlib.suppress(Exception):
                    reading = self._probe.sample(pid)
                    if reading.proc_mb is not None:
                        self._proc_mb.append(float(reading.proc_mb))

    def stop(self) -> dict[str, Any]:
        """The figures (empty on the CPU): ``gpu_memory_peak_mib`` (torch), and from NVML
        ``gpu_util_mean_pct``, ``gpu_util_max_pct``, ``gpu_process_memory_peak_mib``."""
        if self.device.type != "cuda":
            return {}
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._probe is not None:
            with contextlib.suppress(Exception):
                self._probe.close()
        return {
            "gpu_memory_peak_mib": torch.cuda.max_memory_allocated(self.device) / MIB,
            "gpu_util_mean_pct": sum(self._util) / len(self._util) if self._util else None,
            "gpu_util_max_pct": max(self._util) if self._util else None,
            "gpu_process_memory_peak_mib": max(self._proc_mb) if self._proc_mb else None,
        }
