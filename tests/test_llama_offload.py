"""The worker's truth about a real load (SmolLM2 on this machine's llama-cpp-python):
what went where, with what, the threads it chose, and llama.cpp's own warnings and errors
reaching the run log and the failure reason."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from typing import Any

import pytest

from tui_bench.core.backends.llama_cpp import LlamaCppBackend
from tui_bench.core.backends.llama_devices import gpu_backend_of, gpu_libraries
from tui_bench.core.cpus import default_threads
from tui_bench.core.engine import Engine
from tui_bench.core.events import Event, Log, ModelLoaded, RunStarted
from tui_bench.core.plan import LoadedPlan, ModelSpec, parse_plan
from tui_bench.headless import LogSink

pytestmark = pytest.mark.real
ll = pytest.importorskip("llama_cpp.llama_cpp")

SMOL = {"id": "smol", "source": "builtin:smollm2-135m", "n_ctx": 512, "repack": False}


def plan_for(model: dict[str, Any], **defaults: Any) -> LoadedPlan:
    raw: dict[str, Any] = {
        "name": "offload-test",
        "repeats": 1,
        "warmup": 0,
        "defaults": {"max_tokens": 4, "ignore_eos": True, **defaults},
        "models": [model],
        "prompts": [{"id": "p", "text": "Name a colour."}],
    }
    return LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def logs(self, level: str) -> list[str]:
        return [e.message for e in self.events if isinstance(e, Log) and e.level == level]


def run(loaded: LoadedPlan) -> tuple[Any, Collect]:
    sink = Collect()
    engine = Engine(loaded, sinks=[sink], write_history=False, telemetry=False)
    return asyncio.run(engine.run()), sink


def this_build() -> str:
    """What the installed llama-cpp-python is, from its files (not from the worker)."""
    ll.llama_backend_init()
    if gpu_backend_of(gpu_libraries(ll)) is None and not ll.llama_supports_gpu_offload():
        return "cpu_build"
    return "gpu_build"


def test_a_cpu_load_records_layers_buffers_threads_and_flash_attention() -> None:
    outcome, sink = run(plan_for(SMOL))
    assert [r.ok for r in outcome.records] == [True]
    info = outcome.model_info["smol"]
    # llama.cpp counts the output layer: SmolLM2's 30 blocks + 1
    assert info["gpu_layers"] == {"offloaded": 0, "total": 31}
    assert info["gpu_devices"] == []
    expected = "cpu_build" if this_build() == "cpu_build" else "cpu_only"
    assert info["offload"]["kind"] == expected
    if expected == "cpu_build":  # recorded beside the driver's CUDA version
        assert info["cuda_runtime"] == {"version": None, "note": "CPU build"}
    buffers = info["buffers_mib"]
    # the weights, mapped from the file: llama.cpp's own size of the model
    assert buffers["model"] == {"CPU_Mapped": pytest.approx(info["size_bytes"] / 2**20, abs=0.01)}
    # K and V, f16: n_ctx x 30 layers x (3 KV heads x 64) x 2 bytes, each
    assert buffers["kv"] == {"CPU": pytest.approx(2 * 512 * 30 * 3 * 64 * 2 / 2**20, abs=0.01)}
    assert buffers["compute"]["CPU"] > 0
    # no n_threads in the plan: the host's default, and why
    count = default_threads()
    assert (info["n_threads"], info["n_threads_from"]) == (count.n, count.reason)
    assert info["threadpool"]["n_threads"] == count.n
    # flash attention left to llama.cpp (auto), which said what it chose
    assert info["flash_attn"]["asked"] == "auto"
    assert info["flash_attn"]["set_via"] == "flash_attn_type"
    assert info["flash_attn"]["resolved"] in ("enabled", "disabled")
    assert info["placement"]["split_mode"] == "none" and info["placement"]["reason"] == "no GPU"
    assert sink.logs("warning") == [] and info["llama_warnings"] == []
    assert "warning" not in info


def test_plan_threads_and_flash_attention_off_are_applied() -> None:
    outcome, _ = run(plan_for({**SMOL, "n_threads": 1, "flash_attn": False}))
    info = outcome.model_info["smol"]
    assert (info["n_threads"], info["n_threads_from"]) == (1, "plan")
    assert info["flash_attn"]["asked"] == "off" and info["flash_attn"]["resolved"] is None


def test_a_cpu_run_hides_the_gpus_from_its_worker(smollm2_path: Path) -> None:
    async def environ(spec: ModelSpec) -> dict[str, str]:
        backend = LlamaCppBackend(spec, smollm2_path)
        await backend.load()
        try:
            assert backend.pid is not None
            raw = Path(f"/proc/{backend.pid}/environ").read_bytes()
        finally:
            await backend.close()
        return dict(kv.split("=", 1) for kv in raw.decode().split("\0") if "=" in kv)

    cpu = asyncio.run(environ(ModelSpec(**SMOL)))
    assert cpu["CUDA_VISIBLE_DEVICES"] == "" and cpu["TUI_BENCH_HIDE_GPUS"] == "1"
    gpu = asyncio.run(environ(ModelSpec(**{**SMOL, "n_gpu_layers": -1})))
    assert gpu.get("CUDA_VISIBLE_DEVICES") == os.environ.get("CUDA_VISIBLE_DEVICES")
    assert "TUI_BENCH_HIDE_GPUS" not in gpu


def test_llama_cpp_warnings_reach_the_run_log() -> None:
    # a context larger than the model was trained for: llama.cpp warns (SmolLM2: 8192)
    outcome, sink = run(plan_for({**SMOL, "n_ctx": 16384}))
    assert [r.ok for r in outcome.records] == [True]
    warning = "llama_context: n_ctx_seq (16384) > n_ctx_train (8192) -- possible training context overflow"
    assert sink.logs("warning") == [f"smol: llama.cpp: {warning}"]
    assert outcome.model_info["smol"]["llama_warnings"] == [warning]


def test_a_native_abort_is_reported_with_llama_cpps_cause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUI_BENCH_FAULT_NATIVE_ABORT", "CUDA error: out of memory")
    outcome, sink = run(plan_for(SMOL))
    (rec,) = outcome.records
    assert not rec.ok
    assert rec.error == "crashed: worker killed by SIGABRT: CUDA error: out of memory"
    assert sink.logs("error")[:2] == [
        "smol: llama.cpp: CUDA error: out of memory",
        "smol: llama.cpp: current device: 0, in function native_abort (fault switch)",
    ]


def test_the_run_header_says_the_default_threads_and_why() -> None:
    outcome, sink = run(plan_for(SMOL))
    started = next(e for e in sink.events if isinstance(e, RunStarted))
    count = default_threads()
    assert started.host["threads"]["n"] == count.n
    out = io.StringIO()
    LogSink(out).handle(started)
    header = out.getvalue().splitlines()[1]
    assert f"; llama.cpp default {count.n} threads: {count.reason}; GPU: " in header
    loaded = next(e for e in sink.events if isinstance(e, ModelLoaded))
    out = io.StringIO()
    LogSink(out).handle(loaded)
    assert f"{count.n} threads ({count.reason})" in out.getvalue()
    assert outcome.model_info["smol"]["n_threads"] == count.n
