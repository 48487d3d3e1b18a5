"""The GPU facts recorded with every run and shown by ``tui-bench doctor``: driver and
CUDA versions, every GPU NVML lists (MIG mode and slices, compute capability, power
limit, energy counter), the CUDA variables as set, the devices the worker will use, and
whether per-process memory can be read, each "no" with its reason.

Readers rely on ``available``, ``reason``, ``driver`` and ``devices[i]["name"/"total_mb"]``
(``total_mb`` is left out where NVML gives no memory figure).
"""

from __future__ import annotations

from typing import Any, Protocol

from tui_bench.core.gpu.device import GpuDevice
from tui_bench.core.gpu.procs import ProcMemory


class ProbeState(Protocol):
    """What :func:`describe` reads of a probe (:class:`~tui_bench.core.gpu.GpuProbe`)."""

    available: bool
    reason: str
    driver: str | None
    cuda_driver: str | None
    cuda_visible: str | None
    cuda_order: str | None
    gpus: list[GpuDevice]
    visible_note: str
    order_exact: bool
    selection_note: str
    procs: ProcMemory

    @property
    def devices(self) -> list[GpuDevice]: ...


def device_facts(d: GpuDevice) -> dict[str, Any]:
    out: dict[str, Any] = {"index": d.index, "cuda_index": d.cuda_index, "name": d.name}
    if d.total_mb is not None:
        out["total_mb"] = round(d.total_mb)
    out |= {
        "uuid": d.uuid,
        "pci_bus_id": d.pci_bus_id,
        "mig_index": d.mig_index,
        "compute_capability": d.compute_capability,
        "error": d.error,
    }
    if d.error is not None:
        return out
    if d.total_mb is None:
        out["memory"] = f"n/a ({d.memory_note})"
    else:
        out["memory"] = "v2 (used without reserved)" if d.memory_v2 else "v1 (used with reserved)"
    out["energy"] = d.energy
    if not d.energy:
        out["energy_note"] = d.energy_note
    if not d.is_slice:
        out["mig_mode"] = d.mig_mode
        out["power_limit_w"] = d.power_limit_w
    return out


def _gpu_facts(g: GpuDevice) -> dict[str, Any]:
    out = device_facts(g)
    if g.mig_mode == "enabled":
        out["slices"] = [device_facts(s) for s in g.slices]
    return out


def _energy(devices: list[GpuDevice]) -> dict[str, Any]:
    working = [(d.label, d.energy, d.energy_note) for d in devices if d.error is None]
    return energy_support(working)


def energy_support(working: list[tuple[str, bool, str | None]]) -> dict[str, Any]:
    """Whether a reading of these devices has energy (``supported``) and why: each device
    that answered as (label, has a counter, why not)."""
    with_counter = [label for label, energy, _ in working if energy]
    without = [f"{label}: {note}" for label, energy, note in working if not energy]
    if not working:
        return {"supported": False, "reason": "no device to measure"}
    if not without:
        return {"supported": True, "reason": "every device the model uses has a counter"}
    if with_counter:
        why = f"summed over {', '.join(with_counter)}; not on " + "; ".join(without)
        return {"supported": True, "reason": why}
    return {"supported": False, "reason": "; ".join(without)}


def describe(probe: ProbeState) -> dict[str, Any]:
    out: dict[str, Any] = {"available": probe.available}
    if not probe.available:
        out["reason"] = probe.reason
    out |= {
        "driver": probe.driver,
        "cuda_driver": probe.cuda_driver,
        "cuda_visible_devices": probe.cuda_visible,
        "cuda_device_order": probe.cuda_order,
    }
    if not probe.gpus:
        return out
    devices = probe.devices if probe.available else []
    out |= {
        "visible": probe.visible_note,
        "order_exact": probe.order_exact,
        "selection": probe.selection_note,
        "devices": [device_facts(d) for d in devices],
        "gpus": [_gpu_facts(g) for g in probe.gpus],
        "errors": [f"{d.label}: {d.error}" for g in probe.gpus for d in (g, *g.slices) if d.error],
        "proc_memory": {
            "readable": probe.procs.readable,
            "state": probe.procs.label,
            "reason": probe.procs.reason,
        },
        "energy": _energy(devices),
    }
    return out


def in_use(probe: ProbeState, failures: dict[str, str] | None = None) -> dict[str, Any]:
    """What the probe measured for one model, kept in its info (``gpu_telemetry``): the
    devices and why those, whether its own memory could be read (found out while it ran:
    a container may show only then), whether those devices have an energy counter and
    the devices that stopped answering meanwhile."""
    out: dict[str, Any] = {
        "devices": [f"{d.label} ({d.name})" for d in probe.devices],
        "selection": probe.selection_note,
        "proc_memory": {
            "readable": probe.procs.readable,
            "state": probe.procs.label,
            "reason": probe.procs.reason,
        },
        # the model's own devices: the run's facts (describe) cover every visible one
        "energy": _energy(probe.devices),
    }
    if failures:
        out["failures"] = [f"{label}: {why}" for label, why in failures.items()]
    return out


def host_line(gpu: dict[str, Any], runtime: dict[str, Any] | None = None) -> str:
    """A report's GPU line from :func:`describe`'s facts: the model's devices (memory
    where NVML gives it), driver and CUDA versions (the newest CUDA the driver runs, then
    the runtime the llama.cpp build loaded: ``runtime``, a model's ``cuda_runtime``),
    ``CUDA_VISIBLE_DEVICES`` when set, and per-process memory when it cannot be read.
    Older records lack the newer keys."""
    names = ", ".join(
        f"{d['name']} ({d['total_mb']} MiB)" if d.get("total_mb") is not None else d["name"]
        for d in gpu.get("devices", [])
    )
    text = f"{names}, driver {gpu.get('driver')}"
    if gpu.get("cuda_driver"):
        text += f" (CUDA {gpu['cuda_driver']})"
    if runtime:
        version = runtime.get("version")
        text += f"; llama.cpp CUDA {version}" if version else f"; llama.cpp {runtime.get('note')}"
    if gpu.get("cuda_visible_devices") is not None:
        text += f"; CUDA_VISIBLE_DEVICES={gpu['cuda_visible_devices']}"
    proc = gpu.get("proc_memory") or {}
    if proc.get("readable") is False:
        text += f"; per-process VRAM {proc.get('state')}"
    return text
