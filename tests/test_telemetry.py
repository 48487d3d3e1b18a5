"""Telemetry: RSS/CPU sampling of a process, NVML through a stand-in module, the no-GPU state."""

from __future__ import annotations

import os
import sys
import time
import types
from typing import Any

import pytest

from tui_bench.core.telemetry import MB, GpuProbe, GpuReading, Telemetry


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
    g = probe.sample(4242)
    assert g.used_mb == pytest.approx(7000) and g.total_mb == pytest.approx(49152)
    assert g.proc_mb == pytest.approx(5800)  # the model's process, summed over both devices
    assert probe.sample(12345).proc_mb is None  # a process the driver does not list
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
    assert probe.sample(1) == GpuReading()
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


PRIORITIES = r"""
import asyncio, json, os, sys, threading
from tui_bench.core.backends.spawn import lower_this_thread_priority, start_process
from tui_bench.core.telemetry import GpuProbe, Telemetry

def policy(tid):
    return {"nice": os.getpriority(os.PRIO_PROCESS, tid), "idle": os.sched_getscheduler(tid) == os.SCHED_IDLE}

out = {}
def front_end():
    lower_this_thread_priority()
    out["front_end"] = policy(threading.get_native_id())
    seen = threading.Event()
    class Probe(GpuProbe):
        def sample(self, pid):  # runs in the sampler thread
            out.setdefault("sampler", policy(threading.get_native_id()))
            seen.set()
            return None, None, None
    tel = Telemetry(lambda event: None, interval_s=0.01, gpu=Probe())
    tel.start()
    seen.wait(5)
    tel.stop()
    async def child():
        proc = await start_process([sys.executable, "-c", "import os; print(os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0) == os.SCHED_IDLE)"], env=dict(os.environ), limit=1 << 16)
        line = (await proc.stdout.readline()).decode().split()
        proc.popen.wait()
        return {"nice": int(line[0]), "idle": line[1] == "True"}
    out["worker"] = asyncio.run(child())
t = threading.Thread(target=front_end)
t.start(); t.join()
out["start"] = os.getpriority(os.PRIO_PROCESS, 0)
print(json.dumps(out))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities")
def test_a_lowered_front_end_leaves_the_model_and_the_sampler_at_full_priority() -> None:
    """The TUI's thread yields the CPU (nice 19, SCHED_IDLE); the model's worker process
    and the telemetry sampler keep the priority the program started with."""
    import json
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", PRIORITIES], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    start = out["start"]
    assert out["front_end"] == {"nice": min(19, start + 19), "idle": True}
    assert out["worker"] == {"nice": start, "idle": False}
    assert out["sampler"] == {"nice": start, "idle": False}
