"""The machine's facts: llama.cpp (probed in a child process, ``python -m
tui_bench.core.doctor --probe``: a wheel built for another CPU dies by SIGILL on import,
and that is a finding, not a reason to die), the CPU, NVIDIA GPUs, models found, and the
history database opened read-only.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from tui_bench.core.doctor.facts import (
    PROBE_TIMEOUT_S,
    CpuFacts,
    GpuFacts,
    HistoryFacts,
    LlamaFacts,
    ModelsFacts,
)
from tui_bench.core.errors import TuiBenchError

# system-info keys that describe the build, not instructions the CPU must have
BUILD_KEYS = frozenset({"OPENMP", "REPACK", "LLAMAFILE", "KLEIDIAI", "ACCELERATE"})


# CPU flags (``/proc/cpuinfo``) worth showing: what llama.cpp's CPU kernels use
CPU_FLAGS = (
    "avx2",
    "avx_vnni",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)


def parse_system_info(text: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """``llama_print_system_info()`` as (backends in order, {backend: {key: value}}).

    The text reads ``CUDA : ARCHS = 890 | USE_GRAPHS = 1 | CPU : SSE3 = 1 | AVX2 = 1 | ``:
    a ``NAME :`` starts a backend's section. Old builds have no section names: CPU.
    """
    backends: list[str] = []
    sections: dict[str, dict[str, str]] = {}
    current = "CPU"
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        head, colon, rest = part.partition(" : ")
        if colon and "=" not in head:
            current = head.strip()
            part = rest.strip()
        if current not in sections:
            backends.append(current)
            sections[current] = {}
        key, eq, value = part.partition("=")
        if eq:
            sections[current][key.strip()] = value.strip()
        elif part:
            sections[current][part] = ""
    return backends, sections


def apply_system_info(facts: LlamaFacts, text: str) -> None:
    backends, sections = parse_system_info(text)
    facts.system_info = text
    facts.backends = backends or ["CPU"]
    cpu = sections.get("CPU", {})
    facts.cpu_features = [k for k, v in cpu.items() if v == "1" and k not in BUILD_KEYS]
    facts.openmp = cpu.get("OPENMP") == "1" if "OPENMP" in cpu else None
    facts.repack = cpu.get("REPACK") == "1" if "REPACK" in cpu else None


def probe_here() -> dict[str, Any]:
    """Run in the probe child: import llama-cpp-python and read what it was built with."""
    import llama_cpp
    import llama_cpp.llama_cpp as ll

    ll.llama_backend_init()
    out: dict[str, Any] = {
        "llama_cpp_python": getattr(llama_cpp, "__version__", None),
        "gpu_offload": bool(ll.llama_supports_gpu_offload()),
        "system_info": ll.llama_print_system_info().decode(errors="replace").strip(),
    }
    with contextlib.suppress(Exception):
        out["libllama"] = ll.llama_version().decode(errors="replace")
    with contextlib.suppress(Exception):
        from tui_bench.core.backends.llama_devices import cuda_runtime, registry

        out["cuda_runtime"] = cuda_runtime(ll, [b["name"] for b in registry(ll)[0]])
    # ggml_version / ggml_commit are exported by libggml-base but not bound in Python
    with contextlib.suppress(Exception):
        lib_dir = os.path.dirname(ll._lib._name)
        for name in sorted(os.listdir(lib_dir)):
            if not name.startswith("libggml"):
                continue
            lib = ctypes.CDLL(os.path.join(lib_dir, name))
            if hasattr(lib, "ggml_version") and hasattr(lib, "ggml_commit"):
                for fn in ("ggml_version", "ggml_commit"):
                    getattr(lib, fn).restype = ctypes.c_char_p
                out["ggml"] = lib.ggml_version().decode(errors="replace")
                out["ggml_commit"] = lib.ggml_commit().decode(errors="replace")
                break
    return out


def signal_of(returncode: int | None) -> str | None:
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def probe_llama() -> LlamaFacts:
    """llama-cpp-python's facts, read in a child process."""
    from tui_bench.core.hostinfo import package_version

    version = package_version("llama-cpp-python")
    facts = LlamaFacts(installed=version is not None, importable=False, llama_cpp_python=version)
    if version is None:
        facts.error = "llama-cpp-python is not installed (pip install llama-cpp-python)"
        return facts
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tui_bench.core.doctor", "--probe"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    except subprocess.TimeoutExpired:
        facts.error = f"importing llama-cpp-python did not finish in {PROBE_TIMEOUT_S:g} s"
        return facts
    except OSError as exc:
        facts.error = f"cannot start {sys.executable}: {exc.strerror or exc}"
        return facts
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        sig = signal_of(proc.returncode)
        how = f"killed by {sig}" if sig else f"exit code {proc.returncode}"
        last = next((ln for ln in reversed(proc.stderr.splitlines()) if ln.strip()), "")
        facts.error = f"importing llama-cpp-python failed ({how})" + (f": {last}" if last else "")
        return facts
    data = json.loads(lines[-1])
    facts.importable = True
    facts.llama_cpp_python = data.get("llama_cpp_python") or version
    facts.libllama = data.get("libllama")
    facts.ggml = data.get("ggml")
    facts.ggml_commit = data.get("ggml_commit")
    facts.gpu_offload = bool(data.get("gpu_offload"))
    facts.cuda_runtime = data.get("cuda_runtime")
    apply_system_info(facts, str(data.get("system_info") or ""))
    if facts.ggml_commit:
        facts.build_note = (
            f"llama.cpp libllama {facts.libllama or '?'}, ggml {facts.ggml} "
            f"(commit {facts.ggml_commit})"
        )
    else:
        facts.build_note = (
            "llama-cpp-python does not say which llama.cpp commit it was built from; "
            f"it is the one vendored with llama-cpp-python {facts.llama_cpp_python}"
        )
    return facts


def cpu_facts() -> CpuFacts:
    from tui_bench.core.hostinfo import host

    flags: set[str] | None = None
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    h = host()
    return CpuFacts(
        model=str(h["cpu"]),
        cores_logical=h["cores_logical"],
        amx=None if flags is None else "amx_tile" in flags,
        flags=[f for f in CPU_FLAGS if flags and f in flags],
    )


def gpu_facts(llama: LlamaFacts) -> GpuFacts:
    """The GPUs, the devices the worker will use (``CUDA_VISIBLE_DEVICES`` applied), and
    what can be measured on them, each "no" with its reason."""
    from tui_bench.core.gpu import GpuProbe

    probe = GpuProbe()
    try:
        d = probe.describe()
    finally:
        probe.close()
    return GpuFacts(
        available=bool(d["available"]),
        reason=d.get("reason"),
        driver=d.get("driver"),
        devices=list(d.get("devices", [])),
        can_offload=bool(d["available"] and llama.gpu_offload),
        cuda_driver=d.get("cuda_driver"),
        cuda_visible_devices=d.get("cuda_visible_devices"),
        cuda_device_order=d.get("cuda_device_order"),
        visible=d.get("visible"),
        order_exact=d.get("order_exact"),
        gpus=list(d.get("gpus", [])),
        errors=list(d.get("errors", [])),
        proc_memory=dict(d.get("proc_memory", {})),
        energy=dict(d.get("energy", {})),
    )


def models_facts(models_dirs: list[Path] | None = None, *, stores: bool = True) -> ModelsFacts:
    from tui_bench.core import models as registry

    dirs = registry.models_dirs(models_dirs or [])
    store_dirs: dict[str, list[str]] = {}
    if stores:
        store_dirs = {
            "hf_cache": [str(registry.hf_cache_dir())],
            "lmstudio": [str(p) for p in registry.lmstudio_dirs()],
            "ollama": [str(p) for p in registry.ollama_dirs()],
        }
    entries = [e for e in registry.discover(dirs, stores=stores) if e.kind == "model"]
    by_origin: dict[str, int] = {}
    for e in entries:
        by_origin[e.origin] = by_origin.get(e.origin, 0) + 1
    return ModelsFacts([str(d) for d in dirs], store_dirs, len(entries), by_origin)


def history_facts(path: Path | None = None, *, full: bool = True) -> HistoryFacts:
    """The history database, looked at without creating or changing it.

    ``full``: ``PRAGMA integrity_check``; otherwise the faster ``quick_check``.
    """
    if path is None:
        from tui_bench.core import paths

        try:
            path = paths.db_path()
        except TuiBenchError as exc:
            return HistoryFacts(str(paths.home()), "unreadable", error=str(exc))
    facts = HistoryFacts(str(path), "absent")
    if not path.exists():
        return facts
    if not path.is_file():
        facts.state, facts.error = "unreadable", "not a file"
        return facts
    facts.size_bytes = path.stat().st_size
    # Read-only: a WAL database opened so would leave -wal/-shm files behind where none
    # were; with none there (no writer, closed cleanly) the file is read as immutable.
    wal = path.with_name(path.name + "-wal").exists()
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("" if wal else "&immutable=1")
    pragma = "integrity_check" if full else "quick_check"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            rows = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}").fetchall()]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        text = str(exc)
        damaged = "not a database" in text or "malformed" in text
        facts.state = "damaged" if damaged else "unreadable"
        facts.error = text
        return facts
    facts.check = "; ".join(rows[:3]) + (f" (+{len(rows) - 3} more)" if len(rows) > 3 else "")
    facts.state = "ok" if rows == ["ok"] else "damaged"
    return facts
