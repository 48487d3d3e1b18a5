"""Formatting shared by the reports, the headless log and the TUI.

One wording for the same fact everywhere: what a loaded model ran with.
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
    if "gpu_offload_supported" in info:
        offload = "GPU offload available" if info["gpu_offload_supported"] else "CPU-only build"
        bits.append(f"{offload}, n_gpu_layers={info.get('n_gpu_layers')}")
    if info.get("n_threads"):
        bits.append(f"{info['n_threads']} threads")
    pool = info.get("threadpool") or {}
    if pool.get("attached"):
        bits.append(f"poll {pool.get('poll')}, prio {pool.get('prio')}")
    if "repack" in info:
        bits.append("repacking " + ("on" if info["repack"] else "off"))
    return bits
