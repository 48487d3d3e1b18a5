"""The energy part of the reports: the per-model table where figures exist, and one line
saying why where they do not (from the GPU facts, the model's load facts, the flags)."""

from __future__ import annotations

from typing import Any

import pytest

from tui_bench.core import report_energy
from tui_bench.core.results import RequestRecord
from tui_bench.core.summary import summarize_run

GPU = {
    "available": True,
    "driver": "560.35",
    "devices": [{"index": 0, "name": "NVIDIA H100", "total_mb": 81559}],
    "energy": {"supported": True, "reason": "every device the model uses has a counter"},
}
ON_GPU = {"n_gpu_layers": -1, "gpu_offload_supported": True}


def _rec(seq: int, model: str, energy_j: float | None, **kw: Any) -> RequestRecord:
    # 200 ms end to end, 10 output tokens, 40 prompt tokens
    return RequestRecord(
        run_id=1, seq=seq, model=model, prompt="p", task="analysis", repeat=seq, warmup=False,
        ok=True, error=None, finish_reason="length", started_at="2026-01-01T00:00:00+00:00",
        ttft_ms=40.0, e2e_ms=200.0, decode_tps=56.25, n_in=40, n_out=10, energy_j=energy_j,
        **kw,
    )  # fmt: skip


def _lines(records: list[RequestRecord], infos: dict[str, dict[str, Any]], gpu: Any) -> list[str]:
    summary = summarize_run(records, list(infos))
    models = [{"id": m, "info": info} for m, info in infos.items()]
    return report_energy.markdown(summary, models, {"host": {"gpu": gpu}}, records)


def test_the_table_gives_medians_per_model_and_net_figures_with_an_idle_baseline() -> None:
    recs = [
        # J/token 3.0, 4.0, 5.0 -> median 4.0; W 150, 200, 250 -> median 200
        _rec(0, "g", 30.0, energy_decode_j=27.0, energy_idle_w=50.0),
        _rec(1, "g", 40.0, energy_decode_j=36.0, energy_idle_w=50.0),
        _rec(2, "g", 50.0, energy_decode_j=45.0, energy_prefill_j=4.0, energy_idle_w=50.0),
        _rec(3, "c", None),
    ]
    lines = _lines(recs, {"g": ON_GPU, "c": {"n_gpu_layers": 0}}, GPU)
    assert lines[:4] == [
        "## Energy (GPU)",
        "",
        "| model | n | J/token median | W median | decode J/token | prefill J/prompt token"
        " | net J/token | net W |",
        "|---|---|---|---|---|---|---|---|",
    ]
    # decode J/token: 27/9, 36/9, 45/9 -> median 4.0; prefill: 4 J / 40 tokens (one request);
    # net: minus 50 W x 0.2 s = 10 J -> 20/10, 30/10, 40/10 -> median 3.0; net W 200 - 50
    assert lines[4] == "| g | 3 | 4.0000 | 200.0 | 4.0000 | 0.10000 | 3.0000 | 150.0 |"
    assert lines[6] == "- `c`: not measured: the model ran on the CPU (n_gpu_layers = 0)"
    assert any("idle baseline (50.0 W" in line for line in lines)


def test_without_an_idle_baseline_the_net_columns_are_left_out() -> None:
    lines = _lines([_rec(0, "g", 30.0)], {"g": ON_GPU}, GPU)
    assert lines[2].endswith("| prefill J/prompt token |")
    assert lines[4] == "| g | 1 | 3.0000 | 150.0 | – | – |"
    assert not any("idle baseline" in line for line in lines)


@pytest.mark.parametrize(
    ("gpu", "info", "flags", "why"),
    [
        (
            {"available": False, "reason": "no NVIDIA GPU (NVML: Driver Not Loaded)"},
            ON_GPU,
            [],
            "no NVIDIA GPU (NVML: Driver Not Loaded)",
        ),
        (GPU, {"simulated": True}, [], "a simulated model (mock backend) uses no GPU"),
        (
            GPU,
            {"n_gpu_layers": -1, "gpu_offload_supported": False},
            [],
            "the model ran on the CPU (this llama.cpp build has no GPU offload)",
        ),
        (
            {
                **GPU,
                "energy": {
                    "supported": False,
                    "reason": "GPU 0/1: no energy counter on a MIG slice",
                },
            },
            ON_GPU,
            [],
            "no energy counter (GPU 0/1: no energy counter on a MIG slice)",
        ),
        (
            GPU,
            ON_GPU,
            ["energy_short"],
            "every request was shorter than two updates of the GPU energy counter "
            "(flag energy_short)",
        ),
        (GPU, ON_GPU, [], report_energy.NO_READING),
        ({k: v for k, v in GPU.items() if k != "energy"}, ON_GPU, [], report_energy.NOT_RECORDED),
    ],
)
def test_absent_energy_is_one_line_with_the_reason(
    gpu: dict[str, Any], info: dict[str, Any], flags: list[str], why: str
) -> None:
    assert _lines([_rec(0, "m", None, flags=flags)], {"m": info}, gpu) == [
        f"- **Energy per token**: not measured: {why}",
        "",
    ]


def test_different_reasons_get_a_line_per_model_and_data_json_names_them() -> None:
    recs = [_rec(0, "a", None), _rec(1, "b", None)]
    infos = {"a": ON_GPU, "b": {"n_gpu_layers": 0}}
    assert _lines(recs, infos, GPU) == [
        f"- **Energy per token** `a`: not measured: {report_energy.NO_READING}",
        "- **Energy per token** `b`: not measured: the model ran on the CPU (n_gpu_layers = 0)",
        "",
    ]
    summary = summarize_run(recs, list(infos))
    models = [{"id": m, "info": i} for m, i in infos.items()]
    assert report_energy.absent(summary, models, {"host": {"gpu": GPU}}) == {
        "a": report_energy.NO_READING,
        "b": "the model ran on the CPU (n_gpu_layers = 0)",
    }


# two GPUs: GPU 0 a MIG parent whose slice 1 the model used (no counter on a slice),
# GPU 1 a whole H100 with one; the run's fact covers both, so it says "supported"
TWO = {
    **GPU,
    "energy": {"supported": True, "reason": "summed over GPU 1; not on GPU 0 MIG 1: MIG slice"},
    "gpus": [
        {
            "index": 0,
            "mig_index": None,
            "energy": True,
            "slices": [
                {"index": 0, "mig_index": 1, "energy": False, "energy_note": "MIG slice"},
            ],
        },
        {"index": 1, "mig_index": None, "energy": True},
    ],
}


def test_the_reason_reads_the_models_own_devices_not_every_visible_one() -> None:
    on_slice = {**ON_GPU, "gpu_telemetry": {"devices": ["GPU 0 MIG 1 (NVIDIA H100 1g.10gb)"]}}
    why = "no energy counter (GPU 0 MIG 1: MIG slice)"
    assert _lines([_rec(0, "m", None)], {"m": on_slice}, TWO)[0].endswith(why)
    # the model's own energy fact (recorded since) wins over the look-up
    own = {"supported": False, "reason": "GPU 3: NVML: Not Supported"}
    recorded = {**ON_GPU, "gpu_telemetry": {"devices": ["GPU 3 (X)"], "energy": own}}
    assert _lines([_rec(0, "m", None)], {"m": recorded}, TWO)[0].endswith(
        "no energy counter (GPU 3: NVML: Not Supported)"
    )
    # a whole GPU with a counter: no reading, not the slice's reason
    on_gpu1 = {**ON_GPU, "gpu_telemetry": {"devices": ["GPU 1 (NVIDIA H100)"]}}
    assert _lines([_rec(0, "m", None)], {"m": on_gpu1}, TWO)[0].endswith(report_energy.NO_READING)
    # a device the run's facts do not list: the run's fact
    unknown = {**ON_GPU, "gpu_telemetry": {"devices": ["GPU 7 (X)"]}}
    assert _lines([_rec(0, "m", None)], {"m": unknown}, TWO)[0].endswith(report_energy.NO_READING)


def test_no_layer_offloaded_means_the_cpu_whatever_was_asked() -> None:
    info = {**ON_GPU, "gpu_layers": {"offloaded": 0, "total": 31}}
    assert _lines([_rec(0, "m", None)], {"m": info}, GPU)[0].endswith(
        "the model ran on the CPU (llama.cpp offloaded 0/31 layers)"
    )
