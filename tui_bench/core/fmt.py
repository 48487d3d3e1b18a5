"""Formatting shared by the reports, the headless log and the TUI.

One wording for the same fact everywhere: what a loaded model ran with; numbers, the
missing-value mark and classifier cell names.
"""

from __future__ import annotations

from typing import Any


def model_setup(info: dict[str, Any]) -> list[str]:
    """What a model was loaded with, as short phrases (description, offload, threads,
    repacking, threadpool); the fallback reason, if any, is left to the caller to stress."""
    bits: list[str] = []
    if info.get("desc"):
        bits.append(str(info["desc"]))
    if info.get("simulated"):
        bits.append("simulated")
        return bits
    if isinstance(info.get("offload"), dict):
        bits += _offload(info)
    elif "gpu_offload_supported" in info:  # recorded before the offload facts were
        offload = "GPU offload available" if info["gpu_offload_supported"] else "CPU-only build"
        bits.append(f"{offload}, n_gpu_layers={info.get('n_gpu_layers')}")
    if info.get("n_threads"):
        source = info.get("n_threads_from")
        why = f" ({source})" if source and source != "plan" else ""
        bits.append(f"{info['n_threads']} threads{why}")
    pool = info.get("threadpool") or {}
    if pool.get("attached"):
        bits.append(f"poll {pool.get('poll')}, prio {pool.get('prio')}")
    if "repack" in info:
        bits.append("repacking " + ("on" if info["repack"] else "off"))
    flash = info.get("flash_attn")
    if isinstance(flash, dict):
        resolved = f": {flash['resolved']}" if flash.get("resolved") else ""
        note = f" ({flash['note']})" if flash.get("note") else ""
        bits.append(f"flash attention {flash.get('asked')}{resolved}{note}")
    buffers = _buffers(info.get("buffers_mib"))
    if buffers:
        bits.append(buffers)
    bits += _gpu_telemetry(info.get("gpu_telemetry"))
    return bits


def _gpu_telemetry(use: Any) -> list[str]:
    """What the GPU probe could not read for the model (telemetry.py ``gpu_telemetry``):
    its own VRAM where the process list cannot name it, devices that stopped answering."""
    if not isinstance(use, dict):
        return []
    bits = []
    proc = use.get("proc_memory") or {}
    if proc.get("readable") is False and use.get("devices"):  # not for a model on the CPU
        bits.append(f"per-process VRAM {proc.get('state')}: {proc.get('reason')}")
    if use.get("failures"):
        bits.append("GPU stopped answering: " + "; ".join(use["failures"]))
    return bits


def _offload(info: dict[str, Any]) -> list[str]:
    """Where the layers went: the build's status, layers offloaded, devices, placement."""
    status = info["offload"]
    if status.get("kind") == "cpu_only":  # the label says n_gpu_layers = 0
        return [str(status.get("label"))]
    head = f"{status.get('label')}, n_gpu_layers={info.get('n_gpu_layers')}"
    layers = info.get("gpu_layers") or {}
    if not layers.get("offloaded"):
        return [head]
    devices = info.get("gpu_devices") or []
    where = ", ".join(f"{d.get('name')} ({d.get('description')}{_free(d)})" for d in devices)
    where = where or "GPU"
    bits = [f"{head}: {layers['offloaded']}/{layers.get('total')} layers on {where}"]
    place = info.get("placement") or {}
    if place.get("split_mode"):
        split, chosen = place["split_mode"], place.get("devices")
        main = place.get("main_gpu") or 0
        if chosen:  # the plan's device list: main_gpu counts in it
            on = f" on {chosen[main]}" if split == "none" and main < len(chosen) else ""
            text = f"split {split}{on} (devices {', '.join(chosen)})"
        else:
            text = f"split {split}" + (f" on GPU {main}" if split == "none" else "")
        if place.get("tensor_split"):
            text += " (tensor_split " + ", ".join(f"{x:g}" for x in place["tensor_split"]) + ")"
        if place.get("chosen_by") == "auto":
            text += f": {place.get('reason')}"
        bits.append(text)
    return bits


def _free(device: dict[str, Any]) -> str:
    """``; free 80,000 → 61,250 MiB``: the device's free memory before the model loaded
    and after its context was created (llama.cpp's figures), where known."""
    before, after = device.get("free_mib"), device.get("free_after_mib")
    if before is None and after is None:
        return ""
    shown = [MISSING if x is None else f"{x:,.0f}" for x in (before, after)]
    return f"; free {shown[0]} → {shown[1]} MiB" if after is not None else f"; free {shown[0]} MiB"


def _buffers(buffers: Any) -> str:
    """llama.cpp's buffer sizes: ``buffers model CUDA0 24277.8 + CPU_Mapped 1064.6 MiB, ...``."""
    if not isinstance(buffers, dict) or not buffers:
        return ""
    parts = []
    for kind, label in (("model", "model"), ("kv", "KV"), ("compute", "compute")):
        sizes = buffers.get(kind) or {}
        if sizes:
            each = " + ".join(f"{name} {mib:.1f}" for name, mib in sizes.items())
            parts.append(f"{label} {each} MiB")
    return "buffers " + ", ".join(parts) if parts else ""


# -- Numbers, missing values, cell names ---------------------------------------------------
# One mark and one shape per fact, so a report and the screen showing the same run read alike.

MISSING = "–"  # a value that was not measured or does not apply


def num(value: float | None, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals and thousands separators: ``1,234.5``."""
    return MISSING if value is None else f"{value:,.{digits}f}"


def signed(value: float | None, digits: int = 3) -> str:
    """A difference, its sign always shown: ``+0.120``, ``-0.034`` (scores by default)."""
    return MISSING if value is None else f"{value:+,.{digits}f}"


def score(value: float | None) -> str:
    """A score between 0 and 1 (F1, accuracy) with three decimals: ``0.812``."""
    return num(value, 3)


def pct(value: float | None) -> str:
    """A share between 0 and 1 as a whole percentage: ``85%``."""
    return MISSING if value is None else f"{100 * value:.0f}%"


def or_missing(text: str | None) -> str:
    """A label that may be absent (a language, a profile)."""
    return text if text else MISSING


def cell_name(category: str, language: str | None) -> str:
    """A classifier cell: ``topic / en``, or the category alone when not split by language
    (spaced, so a category holding a slash still reads apart from its language)."""
    return f"{category} / {language}" if language else category


def signed_pct(value: float | None, digits: int = 1) -> str:
    """A relative difference (a share, 0.12 for 12 %) as a signed percentage: ``+12.0%``."""
    return MISSING if value is None else f"{signed(100 * value, digits)}%"
