"""Telemetry: RSS/CPU sampling of a process, NVML through a stand-in module, the no-GPU state."""

from __future__ import annotations

import mmap
import os
import sys
import time

import pytest
from fake_nvml import LIBRARY_NOT_FOUND, MB, Dev, FakeNvml

from tui_bench.core.telemetry import GpuProbe, GpuReading, Telemetry


def test_nvml_device_and_process_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe as the telemetry holds it: device memory summed over the GPUs, the
    worker's own share summed over them too."""
    me = os.getpid()
    gpus = [
        Dev("NVIDIA GeForce RTX 3090", "GPU-3090aaaa-0000-0000-0000-000000000000", 24576.0,
            used_mb=6000.0, procs=[(me, 5000 * MB), (1, 500 * MB)]),
        Dev("NVIDIA GeForce RTX 3090", "GPU-3090bbbb-0000-0000-0000-000000000000", 24576.0,
            used_mb=1000.0, bus="00000000:02:00.0", procs=[(me, 800 * MB)]),
    ]  # fmt: skip
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(gpus, driver="560.35").module())
    probe = GpuProbe()
    assert probe.available and probe.total_mb == pytest.approx(2 * 24576)
    g = probe.sample(me)
    assert g.used_mb == pytest.approx(7000) and g.total_mb == pytest.approx(49152)
    assert g.proc_mb == pytest.approx(5800)  # the model's process, summed over both devices
    assert probe.sample(12345).proc_mb is None  # a process the driver does not list
    d = probe.describe()
    assert d["available"] and d["driver"] == "560.35" and len(d["devices"]) == 2


def test_no_driver_is_a_clean_state(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml([], init_error=LIBRARY_NOT_FOUND)
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    probe = GpuProbe(env={"CUDA_VISIBLE_DEVICES": "0"})
    assert not probe.available
    assert probe.reason == "no NVIDIA GPU (NVML: NVML Shared Library Not Found)"
    assert probe.sample(1) == GpuReading()
    assert probe.describe() == {
        "available": False,
        "reason": probe.reason,
        "driver": None,
        "cuda_driver": None,
        "cuda_visible_devices": "0",
        "cuda_device_order": None,
    }


def test_rss_sampling_and_request_window(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml([], init_error=LIBRARY_NOT_FOUND)
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    samples = []
    t = Telemetry(samples.append, interval_s=0.01)
    t.set_target("me", os.getpid())
    t.window_start()
    before = t.sample().rss_kb
    # Grow RSS by 64 MiB inside the window. A fresh anonymous mapping, not a
    # bytearray: malloc may serve a large request from heap memory that earlier
    # tests freed but that is still resident, and then RSS does not move.
    blob = mmap.mmap(-1, 64 * 1024 * 1024)
    for offset in range(0, len(blob), mmap.PAGESIZE):
        blob[offset] = 1
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
    blob.close()


PRIORITIES = r"""
import asyncio, json, os, sys, threading
from tui_bench.core.backends.spawn import lower_this_thread_priority, start_process
from tui_bench.core.telemetry import GpuProbe, GpuReading, Telemetry

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
            return GpuReading()
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
