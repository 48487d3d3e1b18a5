"""GPU telemetry through a run, against the stand-in NVML (tests/fake_nvml.py): a device
failing mid-run reaches the samples, the run log (once per device) and the request's
flags; the idle baseline is kept per device and only the model's devices' is subtracted;
per-process memory found unreadable while a model runs reaches its info and the report;
free memory after the load is shown beside free memory before it; pipeline and
classifier runs record the GPUs like LLM runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from energy_helpers import MS, Clock
from fake_nvml import GPU_IS_LOST, MB, Dev, FakeNvml

from tui_bench.core.backends.llama_devices import offload_status, with_free_after
from tui_bench.core.energy import idle_for
from tui_bench.core.events import Log, ModelLoaded, RequestFinished, RunFinished
from tui_bench.core.fmt import model_setup
from tui_bench.core.gpu import GpuProbe
from tui_bench.core.gpu.procs import MISSES_FOR_CONTAINER
from tui_bench.core.metrics import FLAG_TEXT, RawTiming
from tui_bench.core.report import run_data_from_store, write_reports
from tui_bench.core.results import GenOutcome, RequestRecord, build_record
from tui_bench.core.store import Store
from tui_bench.core.telemetry import Telemetry

H100 = "NVIDIA H100 80GB HBM3"


def h100(n: int, **kw: Any) -> Dev:
    kw.setdefault("bus", f"00000000:{0x10 * (n + 1):02x}:00.0")
    return Dev(H100, f"GPU-{n:08x}-1111-2222-3333-444455556666", 81559.0, **kw)


def telemetry(
    monkeypatch: pytest.MonkeyPatch, fake: FakeNvml, events: list[Any] | None = None
) -> tuple[Telemetry, Clock]:
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    clock = Clock()  # 5 ms a reading: a sample (two readings) every 10 ms
    publish = events.append if events is not None else None
    return Telemetry(publish, gpu=GpuProbe(env={}), clock=clock), clock


def on_gpus(*numbers: int) -> dict[str, Any]:
    """A llama.cpp model's load facts: offloaded to these GPUs (as llama.cpp reports them)."""
    return {
        "n_gpu_layers": -1,
        "gpu_offload_supported": True,
        "gpu_devices": [
            {
                "name": f"CUDA{n}",
                "description": H100,
                "pci_bus_id": f"0000:{0x10 * (n + 1):02x}:00.0",
            }
            for n in numbers
        ],
    }


def request(t: Telemetry, clock: Clock) -> RequestRecord:
    """One request window of 12 samples, 10 ms apart: sent 5 ms after the window opened,
    first token 25 ms in, the last (the 9th) 105 ms in."""
    t.window_start()
    w0 = clock.now
    for _ in range(10):
        t.sample()
    peaks = t.window_end()
    times = [w0 + 25 * MS + i * 10 * MS for i in range(9)]
    outcome = GenOutcome(
        raw=RawTiming(w0 + 5 * MS, w0 + 25 * MS, times, [1] * 9),
        n_in=20,
        n_out=9,
        finish_reason="length",
    )
    return build_record(
        run_id=1, seq=0, model="m", prompt="p", task="analysis", repeat=0, warmup=False,
        started_at="2026-01-01T00:00:00+00:00", outcome=outcome, prompt_cache=False,
        load_ms=None, window=peaks,
    )  # fmt: skip


# --------------------------------------------------------------------------- failures


def test_a_gpu_failing_mid_run_is_logged_once_and_its_requests_flagged_without_energy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    g0 = h100(0, used_mb=1000.0, energy_mj=10_000, energy_step_mj=100)
    g1 = h100(1, used_mb=3000.0, energy_mj=50_000, energy_step_mj=200)
    events: list[Any] = []
    t, clock = telemetry(monkeypatch, FakeNvml([g0, g1]), events)
    info = on_gpus(0, 1)
    t.model_loaded("m", None, info)
    clean = request(t, clock)
    # 300 mJ every 10 ms: 30 W; 100 ms from send to the last token
    assert clean.energy_j == pytest.approx(3.0) and clean.flags == []

    g1.fail["*"] = GPU_IS_LOST
    s = t.sample()
    assert s.gpu_partial and s.gpu_errors == ("GPU 1: NVML: GPU is lost",)
    # GPU 1's last figures stand in: the sums do not halve
    assert (s.vram_used_mb, s.vram_total_mb) == (pytest.approx(4000), pytest.approx(2 * 81559))
    rec = request(t, clock)
    # GPU 1's counter stands still: a sum would count 10 W, not 30; no figure instead
    assert rec.ok and rec.energy_j is None and rec.energy_idle_w is None
    assert rec.flags == ["gpu_partial"] and rec.vram_peak_mb == pytest.approx(4000)
    assert "under-counted" in FLAG_TEXT["gpu_partial"]
    logs = [(e.level, e.message) for e in events if isinstance(e, Log)]
    assert logs == [
        (
            "warning",
            f"GPU 1 ({H100}) stopped answering (NVML: GPU is lost): its last readings stand "
            "in, and requests measured meanwhile are flagged gpu_partial (no energy figure)",
        )
    ]  # one line, though every sample since failed

    g0.fail["*"] = GPU_IS_LOST
    s = t.sample()
    assert (s.vram_used_mb, s.vram_total_mb, s.energy_mj) == (None, None, None)  # never zero
    rec = request(t, clock)
    assert rec.flags == ["gpu_partial"] and rec.vram_peak_mb is None
    assert len([e for e in events if isinstance(e, Log)]) == 2  # GPU 0's first failure
    t.model_ended(info)
    assert info["gpu_telemetry"]["failures"] == [
        "GPU 1: NVML: GPU is lost",
        "GPU 0: NVML: GPU is lost",
    ]
    assert "GPU stopped answering: GPU 1: NVML: GPU is lost; GPU 0: NVML: GPU is lost" in (
        model_setup(info)
    )


# --------------------------------------------------------------------------- idle baseline


def test_the_idle_baseline_is_per_device_and_only_the_models_gpus_are_subtracted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    g0 = h100(0, energy_mj=0, energy_step_mj=750)
    g1 = h100(1, energy_mj=0, energy_step_mj=1200)
    t, clock = telemetry(monkeypatch, FakeNvml([g0, g1]))
    line = t.measure_idle(0.1)
    # the baseline's samples are three clock readings (15 ms) apart: 750 mJ / 15 ms = 50 W
    assert t.idle_by_device == {"GPU 0": pytest.approx(50.0), "GPU 1": pytest.approx(80.0)}
    assert line == (
        "idle baseline: 130.0 W on the GPUs over 0.1 s: GPU 0 50.0 W, GPU 1 80.0 W "
        "(energy figures are also given net of the idle watts of the model's GPUs)"
    )
    g1.energy_step_mj = 3000  # the model at work on GPU 1: 3 J every 10 ms, 300 W
    t.model_loaded("m", None, on_gpus(1))
    rec = request(t, clock)
    assert rec.energy_j == pytest.approx(30.0)  # GPU 1 only: 300 W x 100 ms
    assert rec.energy_idle_w == pytest.approx(80.0)  # GPU 1's idle, not both GPUs' 130 W
    assert rec.energy_net_w == pytest.approx(300.0 - 80.0)
    assert rec.energy_net_j == pytest.approx(30.0 - 80.0 * 0.1)


def test_idle_watts_of_a_selection() -> None:
    idle = {"GPU 0": 50.0, "GPU 1": 80.0}
    assert idle_for(idle, ["GPU 1"]) == 80.0
    assert idle_for(idle, ["GPU 0", "GPU 1"]) == 130.0
    assert idle_for(idle, ["GPU 1", "GPU 2"]) is None  # GPU 2 has no baseline: no net figure
    assert idle_for(idle, []) is None and idle_for({}, None) is None
    assert idle_for({"": 80.0}, None) == 80.0  # a probe that does not name its devices


def test_the_models_info_says_whether_its_own_devices_have_an_energy_counter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run's fact covers both GPUs (one counter: "supported"); the model used the GPU
    without one, and its info says so."""
    fake = FakeNvml([h100(0), h100(1, energy_mj=1000, energy_step_mj=10)])
    t, _ = telemetry(monkeypatch, fake)
    assert t.gpu.describe()["energy"]["supported"] is True
    info = on_gpus(0)
    t.model_loaded("m", None, info)
    energy = info["gpu_telemetry"]["energy"]
    assert energy["supported"] is False and energy["reason"].startswith("GPU 0: ")
    other = on_gpus(1)
    t.model_loaded("n", None, other)
    assert other["gpu_telemetry"]["energy"] == {
        "supported": True,
        "reason": "every device the model uses has a counter",
    }


# --------------------------------------------------------------------------- containers


def test_per_process_memory_found_unreadable_mid_run_reaches_the_models_info(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every listed PID exists here (PID 1), but the worker, which reported the GPU it
    uses, is never among them: a container, found only while the model runs."""
    t, _ = telemetry(monkeypatch, FakeNvml([h100(0, used_mb=900.0, procs=[(1, 5000 * MB)])]))
    info = on_gpus(0)
    t.model_loaded("m", os.getpid(), info)
    use = info["gpu_telemetry"]
    assert use["devices"] == [f"GPU 0 ({H100})"]
    assert use["selection"] == "CUDA 0 (the devices llama.cpp reports for the model)"
    assert use["proc_memory"]["state"] == "unknown"
    samples = [t.sample() for _ in range(MISSES_FOR_CONTAINER)]
    assert all(s.vram_proc_mb is None for s in samples)
    assert [s.vram_proc_state for s in samples] == [None] * (MISSES_FOR_CONTAINER - 1) + [
        "n/a (container PIDs)"
    ]
    reason = samples[-1].vram_proc_reason
    assert reason is not None and reason.startswith(f"the worker (PID {os.getpid()}) uses the GPU")
    t.model_ended(info)
    assert info["gpu_telemetry"]["proc_memory"] == {
        "readable": False,
        "state": "n/a (container PIDs)",
        "reason": reason,
    }
    assert f"per-process VRAM n/a (container PIDs): {reason}" in model_setup(info)


# --------------------------------------------------------------------------- the report


def test_the_report_says_per_process_memory_n_a_free_memory_after_load_and_gpu_partial(
    tmp_path: Path,
) -> None:
    why = "the worker (PID 42) uses the GPU but NVML never lists it"
    info: dict[str, Any] = {
        "offload": offload_status(True, ["CUDA", "CPU"]).to_json(),
        "n_gpu_layers": -1,
        "gpu_offload_supported": True,
        "gpu_layers": {"offloaded": 31, "total": 31},
        "gpu_devices": [
            {"name": "CUDA0", "description": "NVIDIA H100", "free_mib": 80000.0, "free_after_mib": 61250.0}
        ],
        "gpu_telemetry": {"devices": ["GPU 0 (NVIDIA H100)"], "selection": "CUDA 0", "proc_memory": {"readable": True, "state": "yes", "reason": ""}},
    }  # fmt: skip
    gpu = {
        "available": True,
        "driver": "560.35",
        "devices": [{"index": 0, "name": "NVIDIA H100", "total_mb": 81559}],
        "energy": {"supported": True, "reason": "every device the model uses has a counter"},
    }
    store = Store(tmp_path / "history.db")
    try:
        rid = store.create_run(
            plan="gpu", plan_path=None,
            plan_raw={"name": "gpu", "models": [{"id": "g", "backend": "llama_cpp"}]},
            started_at="2026-01-01T00:00:00", host={"gpu": gpu}, threshold=0.5, n_planned=1,
        )  # fmt: skip
        store.handle(ModelLoaded("g", 900.0, 42, info))
        # found while the model ran (Telemetry.model_ended): the info the store holds
        info["gpu_telemetry"]["proc_memory"] = {
            "readable": False,
            "state": "n/a (container PIDs)",
            "reason": why,
        }
        rec = RequestRecord(
            run_id=rid, seq=0, model="g", prompt="p", task="analysis", repeat=0, warmup=False,
            ok=True, error=None, finish_reason="length", started_at="2026-01-01T00:00:00+00:00",
            ttft_ms=40.0, e2e_ms=200.0, decode_tps=56.25, n_in=40, n_out=10,
            flags=["gpu_partial"],
        )  # fmt: skip
        store.handle(RequestFinished(rec))
        store.handle(RunFinished(rid, "completed", 1, 0, 1, 1.0, 0.5, True, 1.0))
        out = tmp_path / "report"
        write_reports(run_data_from_store(store, rid), out)
    finally:
        store.close()
    md = (out / "report.md").read_text()
    model_line = next(line for line in md.splitlines() if line.startswith("- **Model** `g`"))
    assert "31/31 layers on CUDA0 (NVIDIA H100; free 80,000 → 61,250 MiB)" in model_line
    assert f"per-process VRAM n/a (container PIDs): {why}" in model_line
    assert f"flag `gpu_partial`: {FLAG_TEXT['gpu_partial']}" in md
    assert "Energy per token**: not measured: a GPU stopped answering NVML" in md
    data = json.loads((out / "data.json").read_text())
    (model,) = data["models"]
    assert model["info"]["gpu_telemetry"]["proc_memory"]["reason"] == why
    assert model["info"]["gpu_devices"][0]["free_after_mib"] == 61250.0
    assert data["energy_absent"]["g"].startswith("a GPU stopped answering NVML")


def test_free_memory_after_the_load_is_matched_to_llama_cpps_devices_by_name() -> None:
    before = [
        {"name": "CUDA0", "description": "NVIDIA H100", "free_mib": 80000.0},
        {"name": "CUDA1", "description": "NVIDIA H100", "free_mib": 79000.0},
    ]
    after = [{"name": "CUDA1", "free_mib": 50000.5}, {"name": "CUDA0", "free_mib": 61250.0}]
    assert [d["free_after_mib"] for d in with_free_after(before, after)] == [61250.0, 50000.5]
    assert [d["free_after_mib"] for d in with_free_after(before, [])] == [None, None]
    assert with_free_after([], after) == []  # a CPU load: no device


# --------------------------------------------------------------------------- other runs


class CountingNvml(FakeNvml):
    shutdowns = 0

    def nvmlShutdown(self) -> None:
        CountingNvml.shutdowns += 1


class Classified:
    """What record_classify_run reads of a classifier benchmark's result."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": [],
            "config": {"data": "tickets.csv"},
            "started_at": "2026-01-01T00:00:00+00:00",
            "status": "completed",
        }


@pytest.mark.parametrize("kind", ["classify", "pipeline"])
def test_pipeline_and_classifier_runs_record_the_gpus(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = CountingNvml([h100(0)])
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    CountingNvml.shutdowns = 0
    store = Store()
    try:
        if kind == "classify":
            from tui_bench.core.classify.history import record_classify_run

            run_id, _ = record_classify_run(Classified(), store)
        else:
            from tui_bench.core.pipeline.history import record_pipeline_run
            from tui_bench.core.pipeline.result import PipelineResult

            result = PipelineResult(
                scenario={"id": "s", "name": "S", "description": "", "tasks_total": 0},
                config={}, started_at="2026-01-01T00:00:00+00:00", stages=[], setup={},
                questions=[], status="completed", finished_at="2026-01-01T00:00:01+00:00",
            )  # fmt: skip
            run_id, _ = record_pipeline_run(result, store)
        gpu = store.run_documents(run_id).host["gpu"]
    finally:
        store.close()
    assert gpu["available"] is True and gpu["driver"] == "560.35.03"
    assert [d["name"] for d in gpu["devices"]] == [H100]
    assert gpu["proc_memory"]["state"] == "unknown"
    assert CountingNvml.shutdowns == 1  # the probe is closed after


# --------------------------------------------------------------------------- the run header


def test_the_run_header_shows_each_devices_memory_mig_mode_and_per_process_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fake_nvml import mig_slice

    from tui_bench.headless.log import gpu_header

    a100 = Dev("NVIDIA A100-SXM4-80GB", "GPU-0a0a0a0a-1111-2222-3333-444455556666", 81920.0)
    a100.mig = True
    a100.slices = [mig_slice(a100, 1, 3, 40_960.0), mig_slice(a100, 2, 2, 19_968.0)]
    other = h100(1, mig=False, procs=[(5_000_001, 700 * MB)])  # a host PID: a container
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([a100, other]).module())
    p = GpuProbe(env={"CUDA_DEVICE_ORDER": "PCI_BUS_ID"})
    try:
        header = gpu_header(p.describe())
    finally:
        p.close()
    assert header == (
        "NVIDIA A100-SXM4-80GB MIG 3g.40gb (40,960 MiB, MIG slice 0), "
        f"{H100} (81,559 MiB, MIG disabled); per-process VRAM n/a (container PIDs) "
        "(NVML lists PIDs that do not exist here (5000001): it reports host PIDs, and this "
        "program runs in its own PID namespace (a container))"
    )
    assert gpu_header({"available": False, "reason": "no NVIDIA GPU"}) == "no NVIDIA GPU"
