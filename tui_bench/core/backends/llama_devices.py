"""Which GPUs llama.cpp can use, whether its build can use any, and where a model goes.

Worker side (ctypes, after ``llama_backend_init``): :func:`registry` lists ggml's
backends and their devices (llama-cpp-python binds none of these functions; libggml and
libggml-base export them, found by :func:`loaded_libraries`); :func:`gpu_libraries`
lists GPU backend libraries installed beside libllama.

Anywhere (pure): :func:`offload_status` tells a CPU-only build from a GPU build that sees
no GPU (each needs another fix: a rebuild, or a driver / container / CUDA_VISIBLE_DEVICES
matter), and :func:`choose_placement` decides where a model goes.

The placement rule, when the plan names no ``split_mode`` (nor ``tensor_split``): one GPU,
``main_gpu`` (default 0, llama.cpp's first device: the fastest, or the first of
``CUDA_VISIBLE_DEVICES``), if the model is likely to fit in its free memory: the GGUF's
size plus 10 % and 1 GiB for the KV cache and compute buffers. If it does not and the
plan did not name ``main_gpu``, the GPU with the most free memory where it fits; if it
fits on none, split by layer across all of them (llama.cpp's default).
"""

from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

# ggml backend registry names of GPU backends (RPC and BLAS are not local GPUs)
GPU_BACKENDS = ("CUDA", "ROCm", "HIP", "MUSA", "Vulkan", "Metal", "MTL", "SYCL", "OpenCL", "CANN")
GPU_LIBRARY = re.compile(r"^(?:lib)?ggml-(cuda|hip|musa|vulkan|metal|sycl|opencl|cann)\b", re.I)
# enum ggml_backend_dev_type: CPU 0, GPU 1, IGPU 2 (ACCEL in builds older than IGPU)
DEV_GPU, DEV_IGPU = 1, 2
FIT_FACTOR, FIT_MARGIN_MIB = 1.10, 1024.0
SPLIT_MODES = {"none": 0, "layer": 1, "row": 2}  # enum llama_split_mode
REINSTALL_HINT = 'rebuild llama-cpp-python with CUDA (README: "On an NVIDIA machine")'


def has_field(struct: Any, name: str) -> bool:
    """Whether a ctypes structure has a field: ctypes accepts any attribute silently."""
    return any(f[0] == name for f in type(struct)._fields_)


def gpu_backend_of(names: Sequence[str]) -> str | None:
    """The first GPU backend among ggml backend (or library) names."""
    for name in names:
        for known in GPU_BACKENDS:
            if name.lower() == known.lower():
                return known
    return None


@dataclass
class OffloadStatus:
    """What the build can do with GPUs here; ``kind`` is one of:

    ``gpu`` (a GPU build that sees a GPU), ``cpu_only`` (a GPU build whose GPUs were
    hidden from this worker on purpose: a CPU run), ``no_gpu_visible`` (a GPU build that
    sees none), ``cpu_build`` (built without GPU support)."""

    kind: str
    label: str
    advice: str | None = None
    gpu_backend: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def offload_status(
    gpu_offload: bool,
    backends: Sequence[str],
    gpu_libs: Sequence[str] = (),
    hidden: bool = False,
) -> OffloadStatus:
    """``gpu_offload``: ``llama_supports_gpu_offload()``, false for a GPU build that sees no
    GPU; ``backends``: ggml's backend names (registry or ``llama_print_system_info``);
    ``gpu_libs``: GPU backend library names installed (e.g. ``cuda``); ``hidden``: the
    worker's GPUs were hidden on purpose."""
    backend = gpu_backend_of(backends) or gpu_backend_of(gpu_libs)
    if backend is None:
        if gpu_offload:  # an RPC build, or a backend this list does not know
            return OffloadStatus("gpu", "GPU offload available")
        return OffloadStatus("cpu_build", "CPU-only build", REINSTALL_HINT)
    if hidden:
        return OffloadStatus(
            "cpu_only",
            f"CPU only ({backend} build, GPUs hidden: n_gpu_layers = 0)",
            None,
            backend,
        )
    if gpu_offload:
        return OffloadStatus("gpu", f"GPU offload available ({backend})", None, backend)
    return OffloadStatus(
        "no_gpu_visible",
        f"{backend} build, no GPU visible",
        "no rebuild needed: check the driver (nvidia-smi), the container's GPU access "
        "(e.g. docker --gpus all) and CUDA_VISIBLE_DEVICES",
        backend,
    )


@dataclass
class Placement:
    split_mode: str  # none, layer, row
    main_gpu: int  # an index into ``devices`` where the plan names them
    tensor_split: list[float] | None
    chosen_by: str  # plan, default (one GPU or none), auto (the fit rule)
    reason: str
    devices: list[str] | None = None  # the plan's device list, by name; None: every GPU

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def pick_devices(gpus: list[dict[str, Any]], wanted: Sequence[str | int]) -> list[dict[str, Any]]:
    """The GPUs a plan's ``devices`` names, in its order: each a llama.cpp device name
    (``CUDA0``; case does not matter, as in ggml's look-up) or an index into llama.cpp's
    GPU list. Raises ValueError naming the GPUs visible."""
    names = ", ".join(str(g["name"]) for g in gpus) or "none"
    out = []
    for want in wanted:
        if isinstance(want, int):
            if want >= len(gpus):
                raise ValueError(
                    f"devices: GPU {want} asked, but {len(gpus)} GPU(s) are visible ({names})"
                )
            out.append(gpus[want])
            continue
        found = [g for g in gpus if str(g["name"]).lower() == want.lower()]
        if not found:
            raise ValueError(f"devices: no GPU named {want!r} (visible: {names})")
        out.append(found[0])
    return out


def choose_placement(
    *,
    split_mode: str | None,
    main_gpu: int | None,
    tensor_split: list[float] | None,
    gpus: list[dict[str, Any]],
    model_mib: float | None,
    devices: Sequence[str | int] | None = None,
) -> Placement:
    """Where the model's offloaded layers go (see the module's rule).

    ``gpus``: the GPUs llama.cpp would use, in its order, each with ``name`` and
    ``free_mib`` (None when unknown); ``devices``: the plan's list, which narrows them
    (and orders them: ``main_gpu`` and ``tensor_split`` then refer to it). Raises
    ValueError for a ``devices``, ``main_gpu`` or ``tensor_split`` that does not match
    (with no GPU at all they are not checked: the model runs on the CPU, as said)."""
    if devices is not None and gpus:
        gpus = pick_devices(gpus, devices)
        place = choose_placement(
            split_mode=split_mode,
            main_gpu=main_gpu,
            tensor_split=tensor_split,
            gpus=gpus,
            model_mib=model_mib,
        )
        place.devices = [str(g["name"]) for g in gpus]
        return place
    n = len(gpus)
    names = ", ".join(str(g["name"]) for g in gpus) or "none"
    if n and main_gpu is not None and main_gpu >= n:
        raise ValueError(f"main_gpu = {main_gpu}, but {n} GPU(s) are visible ({names})")
    if n and tensor_split is not None and len(tensor_split) > n:
        raise ValueError(
            f"tensor_split has {len(tensor_split)} entries, but {n} GPU(s) are visible ({names})"
        )
    target = main_gpu or 0
    if split_mode is not None or tensor_split is not None:
        mode = split_mode or "layer"
        return Placement(mode, target, tensor_split, "plan", "as the plan says")
    if n <= 1:
        why = "one GPU" if n == 1 else "no GPU"
        return Placement("none", target, None, "default", why)
    need = None if model_mib is None else model_mib * FIT_FACTOR + FIT_MARGIN_MIB
    free = [g.get("free_mib") for g in gpus]
    if need is None or free[target] is None:
        return Placement("none", target, None, "default", "free memory unknown: one GPU")
    if need <= free[target]:
        reason = f"fits on {gpus[target]['name']} (~{need:.0f} MiB needed, {free[target]:.0f} free)"
        return Placement("none", target, None, "auto", reason)
    known = [(f, i) for i, f in enumerate(free) if f is not None]
    most, best = max(known)
    if main_gpu is None and need <= most:
        reason = f"fits on {gpus[best]['name']} (~{need:.0f} MiB needed, {most:.0f} free)"
        return Placement("none", best, None, "auto", reason)
    reason = (
        f"~{need:.0f} MiB needed, at most {most:.0f} MiB free on one GPU: "
        f"split by layer across {n} GPUs"
    )
    return Placement("layer", target, None, "auto", reason)


# -- worker side: ggml's registry through ctypes ------------------------------------------


def loaded_libraries(ll: Any, prefixes: tuple[str, ...]) -> list[ctypes.CDLL]:
    """The copies of ggml's libraries (names starting with ``prefixes``) that libllama
    loaded, found beside it.

    A wheel holds copies, not links (``libggml-base.so``, ``.so.0``, ``.so.0.25.3``);
    libllama loads one by its soname. Opening another copy would load a second ggml with
    its own state (its own logger, its own backend registry), so only libraries already
    loaded are opened (``RTLD_NOLOAD``)."""
    lib_dir = os.path.dirname(ll._lib._name)
    nolo = getattr(os, "RTLD_NOLOAD", None)
    libs = []
    for name in sorted(os.listdir(lib_dir)):
        if not name.startswith(prefixes):
            continue
        path = os.path.join(lib_dir, name)
        try:
            libs.append(ctypes.CDLL(path, mode=nolo) if nolo is not None else ctypes.CDLL(path))
        except OSError:
            continue
    return libs


def _fn(libs: list[ctypes.CDLL], name: str, restype: Any, argtypes: list[Any]) -> Any:
    for lib in libs:
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype, fn.argtypes = restype, argtypes
            return fn
    raise AttributeError(name)


def registry(ll: Any, *, memory: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ggml's backends ``[{"name", "devices"}]`` and GPU devices ``[{"name", "description",
    "backend", "free_mib", "total_mib"}]`` in llama.cpp's order (discrete GPUs; integrated
    ones only when there is no discrete one, as llama.cpp picks them). Memory is read only
    with ``memory`` (it sets up each GPU's context). Empty lists where the functions are
    missing."""
    try:
        libs = loaded_libraries(ll, ("libggml.", "libggml-base.", "ggml.", "ggml-base."))
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        reg_count = _fn(libs, "ggml_backend_reg_count", sz, [])
        reg_get = _fn(libs, "ggml_backend_reg_get", vp, [sz])
        reg_name = _fn(libs, "ggml_backend_reg_name", ctypes.c_char_p, [vp])
        reg_devs = _fn(libs, "ggml_backend_reg_dev_count", sz, [vp])
        dev_count = _fn(libs, "ggml_backend_dev_count", sz, [])
        dev_get = _fn(libs, "ggml_backend_dev_get", vp, [sz])
        dev_name = _fn(libs, "ggml_backend_dev_name", ctypes.c_char_p, [vp])
        dev_desc = _fn(libs, "ggml_backend_dev_description", ctypes.c_char_p, [vp])
        dev_type = _fn(libs, "ggml_backend_dev_type", ctypes.c_int, [vp])
        dev_reg = _fn(libs, "ggml_backend_dev_backend_reg", vp, [vp])
        dev_mem = _fn(
            libs, "ggml_backend_dev_memory", None, [vp, ctypes.POINTER(sz), ctypes.POINTER(sz)]
        )
    except (AttributeError, OSError):
        return [], []
    backends = []
    for i in range(reg_count()):
        reg = reg_get(i)
        backends.append({"name": (reg_name(reg) or b"?").decode(), "devices": int(reg_devs(reg))})
    found: dict[int, list[dict[str, Any]]] = {DEV_GPU: [], DEV_IGPU: []}
    for i in range(dev_count()):
        dev = dev_get(i)
        kind = dev_type(dev)
        backend = (reg_name(dev_reg(dev)) or b"?").decode()
        if kind not in found or backend in ("RPC", "BLAS", "CPU"):
            continue
        entry: dict[str, Any] = {
            "name": (dev_name(dev) or b"?").decode(),
            "description": (dev_desc(dev) or b"").decode(errors="replace"),
            "backend": backend,
            "free_mib": None,
            "total_mib": None,
        }
        if memory:
            free, total = sz(0), sz(0)
            dev_mem(dev, ctypes.byref(free), ctypes.byref(total))
            if total.value:
                entry["free_mib"] = round(free.value / 2**20, 1)
                entry["total_mib"] = round(total.value / 2**20, 1)
        found[kind].append(entry)
    return backends, found[DEV_GPU] or found[DEV_IGPU]


def device_handles(ll: Any, names: Sequence[str]) -> list[int]:
    """ggml's device handles (``ggml_backend_dev_t``) for llama.cpp device names, through
    ``ggml_backend_dev_by_name``, for ``llama_model_params.devices``. Raises RuntimeError
    for a name ggml does not know, or a build that does not export the look-up."""
    try:
        libs = loaded_libraries(ll, ("libggml.", "libggml-base.", "ggml.", "ggml-base."))
        by_name = _fn(libs, "ggml_backend_dev_by_name", ctypes.c_void_p, [ctypes.c_char_p])
    except (AttributeError, OSError):
        raise RuntimeError(
            "this llama.cpp build does not export ggml_backend_dev_by_name"
        ) from None
    handles = []
    for name in names:
        dev = by_name(name.encode())
        if not dev:
            raise RuntimeError(f"devices: ggml knows no device named {name!r}")
        handles.append(int(dev))
    return handles


def with_free_after(
    devices: list[dict[str, Any]], after: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The devices of llama.cpp's load log (their ``free_mib``: free memory before the
    load) with ``free_after_mib``: free memory once the context was created, from
    :func:`registry` read then (``after``), matched by name (``CUDA0``); None where unknown."""
    free = {d.get("name"): d.get("free_mib") for d in after}
    return [d | {"free_after_mib": free.get(d.get("name"))} for d in devices]


def cuda_runtime(
    ll: Any, backends: Sequence[str] = (), maps: str = "/proc/self/maps"
) -> dict[str, Any]:
    """The CUDA runtime the llama.cpp build loaded (``version``: ``"12.4"``, from
    ``cudaRuntimeGetVersion`` of the ``libcudart`` in this process), beside the newest CUDA
    the driver runs (NVML's, in the GPU facts). ggml does not say it (its CUDA features
    list architectures and switches only); ``note`` says why there is no version.
    ``backends``: ggml's backend names (a CUDA backend built into libggml has no library
    of its own)."""
    libs = gpu_libraries(ll)
    if "cuda" not in libs and "CUDA" not in backends:
        note = "CPU build" if not libs else f"not a CUDA build ({', '.join(libs)})"
        return {"version": None, "note": note}
    try:
        with open(maps) as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "libcudart" in ln and "/" in ln})
    except OSError:
        return {"version": None, "note": "CUDA build; loaded libraries unreadable here"}
    nolo = getattr(os, "RTLD_NOLOAD", 0)
    for path in paths:
        try:
            fn = ctypes.CDLL(path, mode=nolo).cudaRuntimeGetVersion
        except (OSError, AttributeError):
            continue
        version = ctypes.c_int(0)
        if fn(ctypes.byref(version)) == 0 and version.value:
            major, minor = divmod(version.value // 10, 100)
            return {"version": f"{major}.{minor}", "note": os.path.basename(path)}
    return {"version": None, "note": "CUDA build; no libcudart loaded (linked statically?)"}


def gpu_libraries(ll: Any) -> list[str]:
    """GPU backend libraries beside libllama (``cuda``, ``vulkan`` ...)."""
    try:
        names = os.listdir(os.path.dirname(ll._lib._name))
    except (AttributeError, OSError):
        return []
    return sorted({m.group(1).lower() for n in names if (m := GPU_LIBRARY.match(n))})
