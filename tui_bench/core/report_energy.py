"""The energy part of an LLM run's reports: the per-model table of ``report.md`` with its
legend, the energy columns of ``results.csv``, and why a model has no energy figures
(one line in the report, ``energy_absent`` in ``data.json``).

Figures and their definitions come from :mod:`tui_bench.core.energy` and the records'
derived properties; nothing here measures.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from tui_bench.core.energy import (
    FLAG_ENERGY_SHORT,
    FLAG_GPU_PARTIAL,
    model_uses_gpu,
    offloaded_layers,
)
from tui_bench.core.fmt import num
from tui_bench.core.gpu.facts import energy_support
from tui_bench.core.results import RequestRecord
from tui_bench.core.stats import Summary
from tui_bench.core.summary import GroupSummary, RunSummary

# results.csv: what was measured, then the figures most read
CSV_COLUMNS = (
    "energy_j",
    "energy_prefill_j",
    "energy_decode_j",
    "energy_idle_w",
    "energy_w",
    "energy_j_per_token",
    "energy_decode_j_per_token",
    "energy_net_j_per_token",
)

# no energy reading although the GPUs were there; the host facts of runs recorded before
# energy was measured do not say whether the GPUs had a counter
NO_READING = "the GPUs gave no energy reading during the requests"
NOT_RECORDED = (
    "no energy reading recorded (a run from before energy was measured, or GPUs without "
    "NVML's energy counter: Volta or newer has one, not per MIG slice)"
)


def has_energy(g: GroupSummary) -> bool:
    return g.metrics["energy_j_per_token"].n > 0


def absent_reason(g: GroupSummary, model: dict[str, Any], gpu: dict[str, Any]) -> str:
    """Why a model's requests carry no energy figure, most basic cause first."""
    info = model.get("info") or {}
    if not gpu.get("available"):
        return str(gpu.get("reason") or "no NVIDIA GPU")
    if info.get("simulated"):
        return "a simulated model (mock backend) uses no GPU"
    if g.n_timed == 0:
        return "no successful request to measure"
    if not model_uses_gpu(info):
        if "n_gpu_layers" in info and not info.get("n_gpu_layers"):
            return "the model ran on the CPU (n_gpu_layers = 0)"
        if info.get("gpu_offload_supported") is False:
            return "the model ran on the CPU (this llama.cpp build has no GPU offload)"
        if offloaded_layers(info) == 0:
            total = (info.get("gpu_layers") or {}).get("total")
            return f"the model ran on the CPU (llama.cpp offloaded 0/{total} layers)"
        return "the model did not run on this host's GPUs"
    counter = model_counter(info, gpu)
    if isinstance(counter, dict) and counter.get("supported") is False:
        return f"no energy counter ({counter.get('reason')})"
    if g.flags.get(FLAG_GPU_PARTIAL):
        return (
            "a GPU stopped answering NVML during the requests, so their energy would be "
            f"under-counted (flag {FLAG_GPU_PARTIAL}; the run log names the device and why)"
        )
    if g.flags.get(FLAG_ENERGY_SHORT):
        return (
            "every request was shorter than two updates of the GPU energy counter "
            f"(flag {FLAG_ENERGY_SHORT})"
        )
    return NO_READING if isinstance(counter, dict) else NOT_RECORDED


def model_counter(info: dict[str, Any], gpu: dict[str, Any]) -> Any:
    """Whether the model's own devices have an energy counter (``{"supported", "reason"}``).

    The run's facts (``gpu["energy"]``) cover every visible device, the model's info
    (``gpu_telemetry``) those it used: its ``energy`` where recorded, else its devices
    looked up in the run's per-GPU facts; the run's facts when neither says."""
    use = info.get("gpu_telemetry") or {}
    if isinstance(use.get("energy"), dict):
        return use["energy"]
    known: dict[str, dict[str, Any]] = {}
    for parent in gpu.get("gpus") or []:
        for d in (parent, *(parent.get("slices") or [])):
            mig = d.get("mig_index")
            known[f"GPU {d.get('index')}" + ("" if mig is None else f" MIG {mig}")] = d
    labels = [str(name).split(" (")[0] for name in use.get("devices") or []]
    if labels and all("energy" in known.get(label, {}) for label in labels):
        facts = [(label, known[label]) for label in labels]
        return energy_support(
            [(label, bool(d["energy"]), d.get("energy_note")) for label, d in facts]
        )
    return gpu.get("energy")


def _gpu(run: dict[str, Any]) -> dict[str, Any]:
    return (run.get("host") or {}).get("gpu") or {}


def absent(
    summary: RunSummary, models: Sequence[dict[str, Any]], run: dict[str, Any]
) -> dict[str, str]:
    """model -> why it has no energy figures, for the models without any (``run``: the
    run's facts, whose host names the GPUs or why there are none)."""
    gpu = _gpu(run)
    by_id = {m["id"]: m for m in models}
    return {
        g.key["model"]: absent_reason(g, by_id.get(g.key["model"], {}), gpu)
        for g in summary.per_model
        if not has_energy(g)
    }


def _f(s: Summary, digits: int) -> str:
    return num(s.median if s.n else None, digits)


def _idle_w(records: Sequence[RequestRecord]) -> float | None:
    values = [r.energy_idle_w for r in records if r.energy_idle_w is not None]
    return statistics.median(values) if values else None


def markdown(
    summary: RunSummary,
    models: Sequence[dict[str, Any]],
    run: dict[str, Any],
    records: Sequence[RequestRecord],
) -> list[str]:
    """The report's energy lines: a table with its legend where a model has figures,
    else one line saying why there are none."""
    missing = absent(summary, models, run)
    groups = [g for g in summary.per_model if has_energy(g)]
    if not groups:
        reasons = set(missing.values())
        if len(reasons) == 1:
            return [f"- **Energy per token**: not measured: {reasons.pop()}", ""]
        return [
            f"- **Energy per token** `{m}`: not measured: {why}" for m, why in missing.items()
        ] + [""]
    idle = _idle_w(records)
    header = [
        "model",
        "n",
        "J/token median",
        "W median",
        "decode J/token",
        "prefill J/prompt token",
    ]
    if idle is not None:
        header += ["net J/token", "net W"]
    out = ["## Energy (GPU)", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for g in groups:
        m = g.metrics
        cells = [
            g.key["model"],
            str(m["energy_j_per_token"].n),
            _f(m["energy_j_per_token"], 4),
            _f(m["energy_w"], 1),
            _f(m["energy_decode_j_per_token"], 4),
            _f(m["energy_prefill_j_per_token"], 5),
        ]
        if idle is not None:
            cells += [_f(m["energy_net_j_per_token"], 4), _f(m["energy_net_w"], 1)]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out += [f"- `{m}`: not measured: {why}" for m, why in missing.items()]
    out += [
        "- **J/token**: energy of the model's GPUs from sending the request to its last token, "
        "divided by the output tokens (the prompt's processing included); **W**: that energy "
        "over the end-to-end time.",
        "- **decode J/token**: energy from the first to the last token / (output tokens − 1); "
        "**prefill J/prompt token**: energy up to the first token / prompt tokens. A phase "
        "shorter than two updates of the energy counter has no figure of its own.",
        "- The energy counter (NVML, summed over the model's GPUs) is interpolated linearly "
        "between the telemetry samples around each instant; a request shorter than two "
        f"counter updates is flagged `{FLAG_ENERGY_SHORT}` and has no figure.",
    ]
    if idle is not None:
        out.append(
            f"- **net**: minus the idle baseline ({num(idle, 1)} W median, the idle power of "
            "the model's GPUs, measured before the first model loaded) over the same time."
        )
    out.append("")
    return out
