"""Which devices the model's worker sees, and its numbers for them: ``CUDA_VISIBLE_DEVICES``
and ``CUDA_DEVICE_ORDER`` applied to the GPUs NVML found, and llama.cpp's own device list
matched to them.

NVML ignores both variables and numbers GPUs in PCI bus order. CUDA numbers them fastest
first unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID``, and NVIDIA does not document how "fastest"
is decided. Here: higher compute capability first, PCI order among equals. That is exact
when the GPUs are all of one model (the usual server) and marked as estimated otherwise;
numbers in ``CUDA_VISIBLE_DEVICES`` are read in that order. UUIDs (``GPU-...``,
``MIG-...``, abbreviated as CUDA allows) are exact. Once a model is loaded, the PCI bus
ids llama.cpp reports for its devices are exact too (:func:`match_reported`).

A MIG-enabled GPU is seen through its MIG devices (slices). A CUDA process enumerates one
MIG device: the first given by ``MIG-`` UUID, or, when the GPU itself is visible, its
first slice in NVML's order (then an estimate, said in the note, when it has several).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tui_bench.core.gpu.device import GpuDevice

VISIBLE_ENV = "CUDA_VISIBLE_DEVICES"
ORDER_ENV = "CUDA_DEVICE_ORDER"


@dataclass
class Visible:
    devices: list[GpuDevice]  # in the worker's (CUDA's) order, ``cuda_index`` set
    exact: bool  # the numbering is certain, not estimated
    note: str  # how they were chosen, in words


def _key(d: GpuDevice) -> tuple[int, int]:
    cc = d.compute_capability
    if not cc:
        return (-1, -1)  # unknown: after every GPU whose capability is known
    major, _, minor = cc.partition(".")
    return (int(major), int(minor or 0)) if major.isdigit() else (-1, -1)


def cuda_order(gpus: list[GpuDevice], order: str | None) -> tuple[list[GpuDevice], bool]:
    """The GPUs in CUDA's numbering, and whether that numbering is certain."""
    if (order or "").strip().upper() == "PCI_BUS_ID":
        return list(gpus), True
    ranked = sorted(gpus, key=lambda d: tuple(-k for k in _key(d)))  # stable: PCI order
    kinds = {(d.name, d.compute_capability) for d in gpus}
    return ranked, len(kinds) <= 1 and all(d.error is None for d in gpus)


def units(gpu: GpuDevice) -> list[GpuDevice]:
    """What a GPU is measured through: its MIG slices when MIG is on, else itself."""
    return list(gpu.slices) if gpu.mig_mode == "enabled" else [gpu]


def cuda_units(gpu: GpuDevice) -> list[GpuDevice]:
    """What CUDA enumerates of a visible GPU: itself, or with MIG on a single MIG device
    (a CUDA process enumerates one MIG device), taken to be the first slice NVML lists."""
    return list(gpu.slices[:1]) if gpu.mig_mode == "enabled" else [gpu]


def _one_mig(chosen: list[GpuDevice], guessed: bool) -> tuple[list[GpuDevice], str]:
    """CUDA enumerates one MIG device per process: the first of ``chosen``'s slices;
    ``guessed``: a whole MIG GPU was made visible, so which of its slices is an estimate."""
    slices = [d for d in chosen if d.is_slice]
    if not slices or (len(slices) == 1 and not guessed):
        return chosen, ""
    kept = [d for d in chosen if not d.is_slice or d is slices[0]]
    return kept, (
        "; MIG: a CUDA process enumerates one MIG device, taken to be "
        f"{slices[0].label} (estimated)"
    )


def _by_prefix(devices: list[GpuDevice], prefix: str) -> GpuDevice | None:
    """CUDA accepts the first characters of a UUID when they name one device."""
    p = prefix.lower()
    found = [d for d in devices if d.uuid and d.uuid.lower().startswith(p)]
    return found[0] if len(found) == 1 else None


def _mig(gpus: list[GpuDevice], token: str) -> GpuDevice | None:
    slices = [s for g in gpus for s in g.slices]
    legacy = re.fullmatch(r"MIG-(GPU-[0-9A-Fa-f-]+)/(\d+)/(\d+)", token)
    if legacy:  # drivers before R470: MIG-<GPU UUID>/<GPU instance>/<compute instance>
        parent = _by_prefix(gpus, legacy.group(1))
        gi, ci = int(legacy.group(2)), int(legacy.group(3))
        return next(
            (
                s
                for s in (parent.slices if parent else [])
                if (s.gpu_instance, s.compute_instance) == (gi, ci)
            ),
            None,
        )
    return _by_prefix(slices, token)


def resolve(gpus: list[GpuDevice], visible: str | None, order: str | None) -> Visible:
    """Apply the two variables as CUDA does: an entry that names no device (or a
    negative number) ends the list, and only the devices before it are visible."""
    for g in gpus:
        for d in (g, *g.slices):
            d.cuda_index = None
    ranked, exact = cuda_order(gpus, order)
    how = "in PCI bus order" if (order or "").strip().upper() == "PCI_BUS_ID" else "fastest first"
    if not exact:
        how += " (estimated: NVML cannot tell CUDA's order of different GPU models)"
    chosen: list[GpuDevice] = []
    stopped: str | None = None
    # a whole MIG GPU with several slices made visible: which one CUDA takes is a guess
    guessed = False
    if visible is None:
        chosen = [u for g in ranked for u in cuda_units(g)]
        guessed = any(g.mig_mode == "enabled" and len(g.slices) > 1 for g in ranked)
        note = f"{VISIBLE_ENV} unset: every GPU, {how}"
    else:
        numbered = False
        g: GpuDevice | None
        for raw in visible.split(","):
            token = raw.strip()
            found: list[GpuDevice] = []
            g = None  # the GPU the entry names, MIG slices aside
            if re.fullmatch(r"[+-]?\d+", token):
                n = int(token)
                g = ranked[n] if 0 <= n < len(ranked) else None
                found = cuda_units(g) if g is not None else []
                numbered = numbered or bool(found)
            elif token.startswith("MIG-"):
                s = _mig(gpus, token)
                found = [s] if s is not None else []
            elif token.startswith("GPU-"):
                g = _by_prefix(gpus, token)
                found = cuda_units(g) if g is not None else []
            if g is not None and g.mig_mode == "enabled" and len(g.slices) > 1:
                guessed = True
            if not found:
                stopped = token
                break
            chosen += [u for u in found if u not in chosen]
        exact = exact or not numbered
        if visible.strip() == "":
            note = f"{VISIBLE_ENV} is empty: no GPU is visible to the worker"
        else:
            note = f"{VISIBLE_ENV}={visible}"
            if numbered:
                note += f", numbers counted {how}"
            if stopped is not None:
                note += f"; {stopped!r} names no device, so only the devices before it count"
    chosen, mig_note = _one_mig(chosen, guessed)
    for i, d in enumerate(chosen):
        d.cuda_index = i
    return Visible(chosen, exact and not mig_note, note + mig_note)


def _bus(bus_id: str | None) -> tuple[int, int, int, int] | None:
    """``00000000:01:00.0`` (NVML) and ``0000:01:00.0`` (CUDA, llama.cpp) alike."""
    m = re.fullmatch(
        r"(?:([0-9A-Fa-f]+):)?([0-9A-Fa-f]+):([0-9A-Fa-f]+)\.([0-9A-Fa-f])", (bus_id or "").strip()
    )
    if not m:
        return None
    return (int(m.group(1) or "0", 16), *(int(g, 16) for g in m.group(2, 3, 4)))


def match_reported(
    devices: list[GpuDevice], reported: list[dict[str, Any]]
) -> tuple[list[int], list[str]]:
    """The worker's CUDA numbers of the devices llama.cpp reports it uses, and what could
    not be matched.

    By PCI bus id first (exact; every slice of a MIG GPU shares its bus id, so the
    device name ``CUDA<n>`` picks among them), then by that name's number, then by the
    description when exactly one device has that name."""
    found: list[int] = []
    unmatched: list[str] = []
    for rep in reported:
        name = str(rep.get("name") or "")
        num = re.fullmatch(r"CUDA(\d+)", name)
        n = int(num.group(1)) if num else None
        bus = _bus(rep.get("pci_bus_id"))
        hits = [d for d in devices if bus is not None and _bus(d.pci_bus_id) == bus]
        if len(hits) > 1 and n is not None:
            hits = [d for d in hits if d.cuda_index == n] or hits
        if not hits and bus is None and n is not None:
            hits = [d for d in devices if d.cuda_index == n]
        if not hits and bus is None:
            same = [d for d in devices if d.name == rep.get("description")]
            hits = same if len(same) == 1 else []
        if not hits:
            unmatched.append(name or str(rep.get("description") or "?"))
        for d in hits:
            if d.cuda_index is not None and d.cuda_index not in found:
                found.append(d.cuda_index)
    return found, unmatched
