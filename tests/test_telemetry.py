"""Telemetry: RSS/CPU sampling of a process, NVML through a stand-in module, the no-GPU state."""

from __future__ import annotations

import os
import sys
import time
import types
from typing import Any

import pytest

from tui_bench.core.telemetry import MB, GpuProbe, Telemetry


class _Mem:
    def __init__(self, used: int, total: int) -> None:
        self.used, self.total = used, total


class _Proc:
    def __init__(self, pid: int, used: int | None) -> None:
        self.pid, self.usedGpuMemory = pid, used


def fake_nvml(
    devices: list[dict[str, Any]], fail_init: Exception | None = None
) -> types.ModuleType:
    """A stand-in for pynvml with the calls GpuProbe makes, and nothing else."""
    m = types.ModuleType("pynvml")

    def init() -> None:
        if fail_init:
            raise fail_init

    m.nvmlInit = init  # type: ignore[attr-defined]
    m.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    m.nvmlSystemGetDriverVersion = lambda: "560.35"  # type: ignore[attr-defined]
    m.nvmlDeviceGetCount = lambda: len(devices)  # type: ignore[attr-defined]
    m.nvmlDeviceGetHandleByIndex = lambda i: devices[i]  # type: ignore[attr-defined]
    m.nvmlDeviceGetName = lambda h: h["name"]  # type: ignore[attr-defined]
    m.nvmlDeviceGetUUID = lambda h: "GPU-" + h["name"]  # type: ignore[attr-defined]
    m.nvmlDeviceGetMemoryInfo = lambda h: _Mem(h["used"], h["total"])  # type: ignore[attr-defined]
    m.nvmlDeviceGetComputeRunningProcesses = lambda h: [_Proc(p, u) for p, u in h["procs"]]  # type: ignore[attr-defined]
    return m


def test_nvml_device_and_process_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = [
        {
            "name": "RTX 3090",
            "used": 6000 * MB,
            "total": 24576 * MB,
            "procs": [(4242, 5000 * MB), (99, 500 * MB)],
        },
        {"name": "RTX 3090", "used": 1000 * MB, "total": 24576 * MB, "procs": [(4242, 800 * MB)]},
    ]
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(devices))
    probe = GpuProbe()
    assert probe.available and probe.total_mb == pytest.approx(2 * 24576)
    used, total, proc = probe.sample(4242)
    assert used == pytest.approx(7000) and total == pytest.approx(49152)
    assert proc == pytest.approx(5800)  # the model's process, summed over both devices
    assert probe.sample(12345)[2] is None  # a process the driver does not list
    d = probe.describe()
    assert d["available"] and d["driver"] == "560.35" and len(d["devices"]) == 2


def test_no_driver_is_a_clean_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        sys.modules,
        "pynvml",
        fake_nvml([], fail_init=RuntimeError("NVML Shared Library Not Found")),
    )
    probe = GpuProbe()
    assert not probe.available
    assert probe.reason == "no NVIDIA GPU (NVML: NVML Shared Library Not Found)"
    assert probe.sample(1) == (None, None, None)
    assert probe.describe() == {"available": False, "reason": probe.reason}


def test_rss_sampling_and_request_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([], fail_init=RuntimeError("no driver")))
    samples = []
    t = Telemetry(samples.append, interval_s=0.01)
    t.set_target("me", os.getpid())
    t.window_start()
    before = t.sample().rss_kb
    blob = bytearray(64 * 1024 * 1024)  # grow RSS by 64 MiB inside the window
    blob[::4096] = b"x" * len(blob[::4096])
    s = t.sample()
    peaks = t.window_end()
    assert before is not None and s.rss_kb is not None and s.vram_used_mb is None
    assert s.rss_kb - before >= 60 * 1024
    assert peaks.rss_kb is not None and peaks.rss_kb >= s.rss_kb
    assert peaks.vram_used_mb is None
    t.start()
    time.sleep(0.1)
    t.stop()
    assert samples and all(x.model == "me" for x in samples)
    del blob
