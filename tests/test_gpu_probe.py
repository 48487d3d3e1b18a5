"""The GPU probe against a stand-in NVML shaped like real boxes (tests/fake_nvml.py):
per-device failures at start-up and mid-run, MIG slices, memory v2, energy, throttle
reasons, old drivers, and per-process memory inside containers."""

from __future__ import annotations

import os
import sys

import pytest
from fake_nvml import (
    FUNCTION_NOT_FOUND,
    GPU_IS_LOST,
    MB,
    NO_PERMISSION,
    NOT_SUPPORTED,
    Dev,
    FakeNvml,
    mig_slice,
)

from tui_bench.core.gpu import GpuProbe, GpuReading
from tui_bench.core.gpu.procs import MISSES_FOR_CONTAINER

H100 = "NVIDIA H100 80GB HBM3"
# Above Linux's largest possible PID (PID_MAX_LIMIT, 2**22): never a process here, as a
# host PID seen from inside a container usually is not.
HOST_PID = 5_000_001


def h100(n: int, **kw: object) -> Dev:
    kw.setdefault("bus", f"00000000:{0x10 * (n + 1):02x}:00.0")
    return Dev(H100, f"GPU-{n:08x}-1111-2222-3333-444455556666", 81559.0, **kw)  # type: ignore[arg-type]


def probe(monkeypatch: pytest.MonkeyPatch, fake: FakeNvml, **env: str) -> GpuProbe:
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    return GpuProbe(env=env)


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("fail", "reason"),
    [
        ({"nvmlDeviceGetHandleByIndex": GPU_IS_LOST}, "NVML: GPU is lost"),
        ({"nvmlDeviceGetName": NO_PERMISSION}, "NVML: Insufficient Permissions"),
    ],
)
def test_one_of_two_gpus_failing_at_start_up_is_kept_and_the_other_works(
    monkeypatch: pytest.MonkeyPatch, fail: dict[str, int], reason: str
) -> None:
    fake = FakeNvml([h100(0, used_mb=1000.0), h100(1, used_mb=2000.0, fail=fail)])
    p = probe(monkeypatch, fake)
    assert p.available and p.total_mb == pytest.approx(81559)
    d = p.describe()
    assert d["errors"] == [f"GPU 1: {reason}"]
    assert [(x["index"], x["error"]) for x in d["devices"]] == [(0, None), (1, reason)]
    assert "total_mb" not in d["devices"][1]  # unknown, not zero
    g = p.sample(None)
    assert (g.used_mb, g.total_mb) == (pytest.approx(1000), pytest.approx(81559))
    assert not g.partial  # a device known to be out from the start is not a surprise


def test_every_gpu_failing_at_start_up_is_a_clean_no_gpu_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lost = {"nvmlDeviceGetHandleByIndex": GPU_IS_LOST}
    p = probe(monkeypatch, FakeNvml([h100(0, fail=dict(lost)), h100(1, fail=dict(lost))]))
    assert not p.available and p.total_mb is None
    assert (
        p.reason == "NVML error on every device: GPU 0: NVML: GPU is lost; GPU 1: NVML: GPU is lost"
    )
    assert p.sample(os.getpid()) == GpuReading()
    assert p.describe()["devices"] == []


def test_a_gpu_failing_mid_run_keeps_the_sums_and_flags_the_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    g0 = h100(0, used_mb=1000.0, energy_mj=10_000, energy_step_mj=100)
    g1 = h100(1, used_mb=3000.0, energy_mj=50_000, energy_step_mj=200)
    p = probe(monkeypatch, FakeNvml([g0, g1]))
    first = p.sample(None)
    assert (first.used_mb, first.total_mb) == (pytest.approx(4000), pytest.approx(2 * 81559))
    assert first.energy_mj == 10_200 + 50_400  # start-up read once, this sample once more
    assert not first.partial and first.errors == ()

    g1.fail["*"] = GPU_IS_LOST
    g0.used_mb = 1500.0
    lost = p.sample(None)
    # GPU 1's last figures stand in: used and total do not drop by half
    assert (lost.used_mb, lost.total_mb) == (pytest.approx(4500), pytest.approx(2 * 81559))
    assert lost.energy_mj == 10_300 + 50_400
    assert lost.partial and lost.errors == ("GPU 1: NVML: GPU is lost",)

    g0.fail["*"] = GPU_IS_LOST
    none = p.sample(None)
    assert (none.used_mb, none.total_mb, none.energy_mj) == (None, None, None)  # never zero
    assert none.partial
    assert none.errors == ("GPU 0: NVML: GPU is lost", "GPU 1: NVML: GPU is lost")


def test_a_gpu_whose_memory_is_not_reported_is_said_once_not_flagged_every_sample(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unified-memory systems (GH200, GB10) answer NotSupported for device memory."""
    gh = Dev("NVIDIA GH200 480GB", "GPU-0000abcd-1111-2222-3333-444455556666", 97871.0)
    gh.fail["nvmlDeviceGetMemoryInfo"] = NOT_SUPPORTED
    gh.fail["nvmlDeviceGetMemoryInfo_v2"] = NOT_SUPPORTED
    p = probe(monkeypatch, FakeNvml([gh]))
    assert p.available and p.total_mb is None
    assert p.describe()["devices"][0]["memory"] == "n/a (NVML: Not Supported)"
    g = p.sample(None)
    assert (g.used_mb, g.total_mb, g.partial) == (None, None, False)


# --------------------------------------------------------------------------- memory, MIG


@pytest.mark.parametrize(("has_v2", "used"), [(True, 1000.0), (False, 1000.0 + 600.0)])
def test_memory_v2_is_used_when_the_driver_has_it(
    monkeypatch: pytest.MonkeyPatch, has_v2: bool, used: float
) -> None:
    """Version 1's "used" adds the memory the driver reserves (here 600 MB)."""
    fake = FakeNvml([h100(0, used_mb=1000.0, reserved_mb=600.0)], memory_v2=has_v2)
    p = probe(monkeypatch, fake)
    fake.calls.clear()
    assert p.sample(None).used_mb == pytest.approx(used)
    version = "nvmlDeviceGetMemoryInfo_v2" if has_v2 else "nvmlDeviceGetMemoryInfo"
    assert [c for c in fake.calls if c.startswith("nvmlDeviceGetMemoryInfo")] == [version]
    memory = p.describe()["devices"][0]["memory"]
    assert memory == ("v2 (used without reserved)" if has_v2 else "v1 (used with reserved)")


def mig_box() -> tuple[Dev, Dev, Dev, Dev]:
    """GPU 0 in MIG mode: a 3g.40gb slice, an empty slot, a 2g.20gb slice; GPU 1 whole."""
    a100 = Dev("NVIDIA A100-SXM4-80GB", "GPU-0a0a0a0a-1111-2222-3333-444455556666", 81920.0)
    a100.mig, a100.used_mb, a100.clocks = True, 30_000.0, 0x1 | 0x4  # idle + power cap
    a100.energy_mj = 7_000
    big = mig_slice(a100, 1, 3, 40_960.0, used_mb=12_000.0)
    small = mig_slice(a100, 2, 2, 19_968.0, used_mb=2_000.0)
    a100.slices = [big, None, small]
    other = Dev("NVIDIA A100-SXM4-80GB", "GPU-0b0b0b0b-1111-2222-3333-444455556666", 81920.0)
    other.bus, other.mig, other.used_mb = "00000000:41:00.0", False, 500.0
    other.energy_mj, other.energy_step_mj = 90_000, 1_000
    return a100, big, small, other


def test_a_mig_gpu_is_measured_through_one_slice_not_summed_with_the_parent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CUDA process enumerates one MIG device: of GPU 0's two slices, the first."""
    a100, big, _, other = mig_box()
    big.procs = [(os.getpid(), 11_000 * MB)]
    p = probe(monkeypatch, FakeNvml([a100, other]), CUDA_DEVICE_ORDER="PCI_BUS_ID")
    assert [d.label for d in p.devices] == ["GPU 0 MIG 0", "GPU 1"]
    assert [d.cuda_index for d in p.devices] == [0, 1]
    assert p.total_mb == pytest.approx(40_960 + 81_920)  # not the parent's 81920
    assert not p.order_exact  # which slice CUDA takes is an estimate
    g = p.sample(os.getpid())
    assert g.used_mb == pytest.approx(12_000 + 500)
    assert g.proc_mb == pytest.approx(11_000)  # through the slice's own handle
    assert g.energy_mj == 91_000 + 1_000  # slices have no counter; GPU 1 read twice
    assert g.throttle == ("power",)  # the parent's clocks; "idle" is no slowdown
    d = p.describe()
    parent = d["gpus"][0]
    assert parent["mig_mode"] == "enabled" and parent["cuda_index"] is None
    assert [(s["mig_index"], s["name"], s["total_mb"]) for s in parent["slices"]] == [
        (0, "NVIDIA A100-SXM4-80GB MIG 3g.40gb", 40960),
        (2, "NVIDIA A100-SXM4-80GB MIG 2g.20gb", 19968),
    ]
    assert parent["slices"][0]["energy_note"] == (
        "no energy counter on a MIG slice (NVML counts the whole GPU)"
    )
    assert d["energy"]["supported"] is True
    assert d["energy"]["reason"].startswith("summed over GPU 1; not on GPU 0 MIG 0: ")


def test_a_mig_slice_refusing_access_at_start_up_is_kept_with_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a100, _, small, other = mig_box()
    small.fail["nvmlDeviceGetName"] = NO_PERMISSION
    p = probe(monkeypatch, FakeNvml([a100, other]))
    assert p.describe()["errors"] == ["GPU 0 MIG 2: NVML: Insufficient Permissions"]
    assert p.sample(None).used_mb == pytest.approx(12_000 + 500)


# --------------------------------------------------------------------------- energy, clocks


def test_the_energy_counter_advances_and_only_slowdowns_are_throttle_reasons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    g0 = h100(0, energy_mj=1_000_000, energy_step_mj=350, clocks=0x1 | 0x2)  # idle, app clocks
    g1 = h100(1, energy_mj=2_000_000, energy_step_mj=650, clocks=0x20 | 0x8)  # thermal, HW
    p = probe(monkeypatch, FakeNvml([g0, g1]))
    a, b = p.sample(None), p.sample(None)
    assert a.energy_mj is not None and b.energy_mj is not None
    assert b.energy_mj - a.energy_mj == 350 + 650
    assert a.throttle == ("hw_slowdown", "thermal")
    g1.clocks = 0
    assert p.sample(None).throttle == ()


def test_throttle_reasons_on_a_driver_before_the_clock_event_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeNvml([h100(0, clocks=0x4 | 0x80)], events_api=False)
    p = probe(monkeypatch, fake)
    assert p.sample(None).throttle == ("power", "hw_power_brake")
    assert "nvmlDeviceGetCurrentClocksThrottleReasons" in fake.calls


# --------------------------------------------------------------------------- processes


def test_the_v3_process_call_missing_on_an_old_driver_falls_back_to_v2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeNvml([h100(0, procs=[(os.getpid(), 900 * MB), (1, 100 * MB)])], procs_v3=False)
    p = probe(monkeypatch, fake)
    assert p.sample(os.getpid()).proc_mb == pytest.approx(900)
    assert p.sample(os.getpid()).proc_mb == pytest.approx(900)
    procs = [c for c in fake.calls if "RunningProcesses" in c]
    # _v3 was tried once (start-up), then _v2 directly
    assert (
        procs
        == ["nvmlDeviceGetComputeRunningProcesses_v3"]
        + ["nvmlDeviceGetComputeRunningProcesses_v2"] * 3
    )
    assert p.describe()["proc_memory"]["state"] == "yes"


def test_host_pids_in_nvml_s_list_mark_per_process_memory_as_container_pids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeNvml([h100(0, procs=[(HOST_PID, 5000 * MB), (HOST_PID + 1, 700 * MB)])])
    p = probe(monkeypatch, fake)
    pm = p.describe()["proc_memory"]
    assert pm["readable"] is False and pm["state"] == "n/a (container PIDs)"
    assert pm["reason"] == (
        f"NVML lists PIDs that do not exist here ({HOST_PID}, {HOST_PID + 1}): it reports "
        "host PIDs, and this program runs in its own PID namespace (a container)"
    )
    assert p.sample(os.getpid()).proc_mb is None


def test_a_worker_on_the_gpu_never_listed_means_container_pids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every listed PID happens to exist here (PID 1), but the worker, which reported the
    GPU it uses, is never among them."""
    p = probe(monkeypatch, FakeNvml([h100(0, procs=[(1, 5000 * MB)])]))
    assert p.describe()["proc_memory"]["state"] == "unknown"
    bus = "0000:10:00.0"
    p.use_model_devices([{"name": "CUDA0", "description": H100, "pci_bus_id": bus}])
    for _ in range(MISSES_FOR_CONTAINER - 1):
        assert p.sample(os.getpid()).proc_mb is None
        assert p.procs.state == "unknown"
    p.sample(os.getpid())
    assert p.describe()["proc_memory"]["state"] == "n/a (container PIDs)"
    assert p.procs.reason.startswith(f"the worker (PID {os.getpid()}) uses the GPU but NVML")


def test_a_listed_worker_without_a_memory_figure_reads_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """usedGpuMemory is None where the driver cannot tell (nvidia-ml-py maps NVML's
    "not available" value to None)."""
    p = probe(monkeypatch, FakeNvml([h100(0, procs=[(os.getpid(), None)])]))
    assert p.sample(os.getpid()).proc_mb is None
    pm = p.describe()["proc_memory"]
    assert pm["state"] == "yes"
    assert pm["reason"] == "NVML lists the worker but not its memory (usedGpuMemory n/a)"


def test_process_listing_refused_everywhere_is_said_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeNvml([h100(0, fail={"nvmlDeviceGetComputeRunningProcesses_v3": NO_PERMISSION})])
    p = probe(monkeypatch, fake)
    pm = p.describe()["proc_memory"]
    assert (pm["readable"], pm["state"]) == (False, "no")
    assert pm["reason"] == "NVML does not list processes (GPU 0: NVML: Insufficient Permissions)"


def test_host_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml([h100(0, energy_mj=5, mig=False)], driver="570.86.15", cuda=12080)
    p = probe(monkeypatch, fake, CUDA_VISIBLE_DEVICES="0", CUDA_DEVICE_ORDER="PCI_BUS_ID")
    d = p.describe()
    assert {k: d[k] for k in ("driver", "cuda_driver", "cuda_visible_devices")} == {
        "driver": "570.86.15",
        "cuda_driver": "12.8",
        "cuda_visible_devices": "0",
    }
    assert d["cuda_device_order"] == "PCI_BUS_ID" and d["order_exact"] is True
    dev = d["devices"][0]
    assert dev["uuid"] == "GPU-00000000-1111-2222-3333-444455556666"
    assert (dev["compute_capability"], dev["power_limit_w"], dev["mig_mode"]) == (
        "9.0",
        700.0,
        "disabled",
    )
    assert (dev["pci_bus_id"], dev["energy"]) == ("00000000:10:00.0", True)
    assert d["energy"] == {"supported": True, "reason": "every device the model uses has a counter"}


def test_function_not_found_on_energy_is_a_reason_not_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    g = h100(0, energy_mj=1, fail={"nvmlDeviceGetTotalEnergyConsumption": FUNCTION_NOT_FOUND})
    p = probe(monkeypatch, FakeNvml([g]))
    assert p.available and p.sample(None).energy_mj is None
    assert p.describe()["energy"] == {
        "supported": False,
        "reason": "GPU 0: no energy counter (NVML: Function Not Found; Volta or newer has one)",
    }


def test_the_report_s_gpu_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_bench.core.gpu.facts import host_line

    fake = FakeNvml([h100(0, procs=[(HOST_PID, 1000 * MB)]), h100(1)])
    p = probe(monkeypatch, fake, CUDA_VISIBLE_DEVICES="1")
    assert host_line(p.describe()) == (
        "NVIDIA H100 80GB HBM3 (81559 MiB), driver 560.35.03 (CUDA 12.6); "
        "CUDA_VISIBLE_DEVICES=1; per-process VRAM n/a (container PIDs)"
    )
    # a record written before these facts existed
    old = {
        "available": True,
        "driver": "550.1",
        "devices": [{"name": "RTX 4090", "total_mb": 24564}],
    }
    assert host_line(old) == "RTX 4090 (24564 MiB), driver 550.1"
