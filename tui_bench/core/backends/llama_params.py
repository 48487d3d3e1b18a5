"""A load command's settings on llama.cpp's model and context parameter structs.

Every field is set only where the binding's struct has it (``_fields_``): ctypes accepts
any attribute on a structure silently, so a field an older llama-cpp-python lacks would
otherwise do nothing and say nothing. What could not be applied is said in the model's
info, or is an error when ignoring it would change what is measured.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.backends.llama_devices import (
    SPLIT_MODES,
    Placement,
    device_handles,
    has_field,
)
from tui_bench.core.backends.llama_embed import embedding_params

# llama_flash_attn_type
FA_AUTO, FA_DISABLED, FA_ENABLED = -1, 0, 1


@dataclass
class ModelSettings:
    params: Any
    placement: Placement
    keep: list[Any] = field(default_factory=list)  # ctypes arrays the params point to


def model_params(
    ll: Any, cmd: dict[str, Any], placement: Placement, *, hide_gpus: bool
) -> ModelSettings:
    """``llama_model_params`` for a load command, with a placement already chosen."""
    mparams = ll.llama_model_default_params()
    keep: list[Any] = []
    ngl = int(cmd.get("n_gpu_layers", 0))
    mparams.n_gpu_layers = 1_000_000 if ngl < 0 else ngl
    repack = bool(cmd.get("repack", True))
    if has_field(mparams, "use_extra_bufts"):
        mparams.use_extra_bufts = repack
    elif not repack:
        raise RuntimeError(
            "this llama-cpp-python cannot turn weight repacking off (no use_extra_bufts): "
            "upgrade it, or set repack = true"
        )
    if hide_gpus:
        # the worker's environment already hides CUDA devices; an empty NULL-terminated
        # device list hides those of any other backend (Vulkan, Metal ...) too
        if has_field(mparams, "devices"):
            none = (ctypes.c_void_p * 1)(None)
            keep.append(none)
            mparams.devices = ctypes.cast(none, ctypes.c_void_p)
        mparams.n_gpu_layers = 0
    elif ngl != 0:
        _set_placement(ll, mparams, placement, keep)
    return ModelSettings(mparams, placement, keep)


def _set_placement(ll: Any, mparams: Any, placement: Placement, keep: list[Any]) -> None:
    needed = ["split_mode", "main_gpu"] + (["tensor_split"] if placement.tensor_split else [])
    needed += ["devices"] if placement.devices else []
    missing = [name for name in needed if not has_field(mparams, name)]
    if missing:
        raise RuntimeError(
            f"this llama-cpp-python cannot set {', '.join(missing)}: upgrade it, "
            "or leave them out of the plan"
        )
    mparams.split_mode = SPLIT_MODES[placement.split_mode]
    mparams.main_gpu = placement.main_gpu
    if placement.tensor_split:
        n = int(ll.llama_max_devices()) if hasattr(ll, "llama_max_devices") else 16
        if len(placement.tensor_split) > n:
            raise RuntimeError(f"tensor_split has more than {n} entries (llama.cpp's maximum)")
        arr = (ctypes.c_float * n)(*placement.tensor_split)
        keep.append(arr)
        mparams.tensor_split = ctypes.cast(arr, ctypes.POINTER(ctypes.c_float))
    if placement.devices:
        # ggml_backend_dev_t *: a NULL-terminated list; the binding types it void *
        handles = device_handles(ll, placement.devices)
        devs = (ctypes.c_void_p * (len(handles) + 1))(*handles, None)
        keep.append(devs)
        mparams.devices = ctypes.cast(devs, ctypes.c_void_p)


def context_params(ll: Any, cmd: dict[str, Any], n_threads: int) -> tuple[Any, dict[str, Any]]:
    """``llama_context_params`` for a load command, and what became of flash attention.

    ``flash_attn``: None leaves llama.cpp's own default (auto: on where the device
    supports it), True / False turn it on / off. The newer ``flash_attn_type`` field
    takes all three; the older ``flash_attn`` bool only on and off."""
    cparams = ll.llama_context_default_params()
    cparams.n_ctx = int(cmd.get("n_ctx", 2048))
    cparams.n_batch = int(cmd.get("n_batch", 512))
    cparams.n_ubatch = (
        min(cparams.n_ubatch, cparams.n_batch) if cparams.n_ubatch else cparams.n_batch
    )
    cparams.n_threads = n_threads
    cparams.n_threads_batch = n_threads
    if has_field(cparams, "no_perf"):
        cparams.no_perf = False
    fa = cmd.get("flash_attn")
    asked = "auto" if fa is None else ("on" if fa else "off")
    flash: dict[str, Any] = {"asked": asked, "set_via": None, "note": None}
    if has_field(cparams, "flash_attn_type"):
        cparams.flash_attn_type = FA_AUTO if fa is None else (FA_ENABLED if fa else FA_DISABLED)
        flash["set_via"] = "flash_attn_type"
    elif has_field(cparams, "flash_attn"):
        if fa is None:
            flash["note"] = "this binding has no automatic setting: its default (off) stays"
            cparams.flash_attn = False
        else:
            cparams.flash_attn = bool(fa)
        flash["set_via"] = "flash_attn"
    else:
        flash["note"] = "not applied: this binding has no flash attention setting"
    if cmd.get("embeddings"):
        embedding_params(cparams, cmd)
    return cparams, flash
