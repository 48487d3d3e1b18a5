"""The whole report: gathering, the verdict and exit code, the cache the app reads, and
the one-line summary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui_bench import __version__
from tui_bench.core.backends.llama_devices import OffloadStatus, offload_status
from tui_bench.core.doctor.facts import (
    CACHE_FILE,
    EXIT_CANNOT_RUN,
    EXIT_HISTORY,
    SELFTEST_SOURCE,
    DoctorReport,
    SelfTest,
)
from tui_bench.core.doctor.selftest import recommend, run_selftest
from tui_bench.core.doctor.system import (
    cpu_facts,
    gpu_facts,
    history_facts,
    models_facts,
    probe_llama,
)
from tui_bench.core.errors import EXIT_OK, TuiBenchError


def gather(
    *,
    selftest: bool = True,
    models_dirs: list[Path] | None = None,
    stores: bool = True,
    history_path: Path | None = None,
    full_check: bool = True,
) -> DoctorReport:
    """Every fact, and the self-test unless ``selftest`` is False."""
    import platform

    llama = probe_llama()
    report = DoctorReport(
        tui_bench=__version__,
        python=platform.python_version(),
        llama=llama,
        cpu=cpu_facts(),
        gpu=gpu_facts(llama),
        models=models_facts(models_dirs, stores=stores),
        history=history_facts(history_path, full=full_check),
    )
    if not selftest:
        report.selftest_note = "skipped (--no-selftest)"
    elif not llama.importable:
        report.selftest_note = "skipped: llama-cpp-python does not import"
    else:
        _add_selftest(report)
    _judge(report)
    return report


def _add_selftest(report: DoctorReport) -> None:
    from tui_bench.core.models import resolve_source

    try:
        path = resolve_source(SELFTEST_SOURCE)
    except TuiBenchError as exc:
        report.selftest_note = f"skipped: {exc}"
        return
    on = run_selftest(True, path)
    off = run_selftest(False, path)
    report.selftest = [on, off]
    report.recommendation = recommend(on, off)


def _judge(report: DoctorReport) -> None:
    problems: list[str] = []
    code = EXIT_OK
    if report.history.state not in ("absent", "ok"):
        problems.append(
            f"{report.history.path}: the history database is {report.history.state} "
            f"({report.history.error or report.history.check}); it was left as it is"
        )
        code = EXIT_HISTORY
    if not report.llama.importable:
        problems.append(report.llama.error or "llama-cpp-python does not import")
        code = EXIT_CANNOT_RUN
    elif report.selftest is not None and not any(t.ok for t in report.selftest):
        problems.append(f"{SELFTEST_SOURCE} decodes neither with repacking on nor off")
        code = EXIT_CANNOT_RUN
    report.problems = problems
    report.exit_code = code


def cache_path() -> Path:
    from tui_bench.core import paths

    return paths.home() / CACHE_FILE


def save_cache(report: DoctorReport) -> Path | None:
    """Keep a report with a self-test for the app's first screen (None if not written)."""
    if report.selftest is None:
        return None
    from tui_bench.core import paths
    from tui_bench.core.hostinfo import now_iso

    try:
        path = paths.data_dir() / CACHE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"saved_at": now_iso(), "report": report.to_dict()}, indent=1))
        tmp.replace(path)
    except (OSError, TuiBenchError):
        return None
    return path


def load_cache() -> dict[str, Any] | None:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("report"), dict) else None


def _selftest_from(data: dict[str, Any]) -> list[SelfTest] | None:
    tests = data.get("selftest")
    if not isinstance(tests, list) or len(tests) != 2:
        return None
    try:
        return [SelfTest(**t) for t in tests]
    except TypeError:
        return None


def quick_report(models_dirs: list[Path] | None = None, *, stores: bool = True) -> DoctorReport:
    """What the app shows on its first screen: no model run, the quick database check,
    and the self-test of the last ``tui-bench doctor`` made with this same llama.cpp."""
    report = gather(selftest=False, models_dirs=models_dirs, stores=stores, full_check=False)
    report.selftest_note = "repacking self-test not run yet: tui-bench doctor runs it (seconds)"
    cached = load_cache()
    if cached is not None:
        old = cached["report"].get("llama") or {}
        same = (old.get("llama_cpp_python"), old.get("ggml_commit")) == (
            report.llama.llama_cpp_python,
            report.llama.ggml_commit,
        )
        tests = _selftest_from(cached["report"]) if same else None
        if tests is not None:
            report.selftest = tests
            report.recommendation = recommend(*tests)
            report.selftest_note = f"from tui-bench doctor, {cached.get('saved_at', '?')}"
    _judge(report)
    return report


def cpu_label(report: DoctorReport) -> str:
    """The instruction sets that matter most to llama.cpp's CPU kernels."""
    feats = set(report.llama.cpu_features)
    flags = set(report.cpu.flags)
    parts = []
    if "AVX512" in feats or (not feats and "avx512f" in flags):
        parts.append("AVX512")
    elif "AVX2" in feats or (not feats and "avx2" in flags):
        parts.append("AVX2")
    if "AMX_INT8" in feats or report.cpu.amx:
        parts.append("AMX")
    return "CPU " + (" ".join(parts) if parts else "no AVX2")


def repack_label(report: DoctorReport) -> str:
    """Short, for one line at 80 columns: the recommendation says the rest."""
    tests = report.selftest
    if tests is None:
        return "repack untested"
    on, off = tests
    if on.ok and off.ok:
        return "repack ok"
    if off.ok:
        return "repack crashes" if on.crashed else "repack fails"
    if on.ok:
        return "repack off fails"
    return "self-test FAILED"


def _offload(report: DoctorReport) -> OffloadStatus:
    """A CPU-only build, or a GPU build that sees no GPU (each has its own fix)."""
    return offload_status(bool(report.llama.gpu_offload), report.llama.backends)


def gpu_label(report: DoctorReport) -> str:
    """The worker's first GPU, its memory, and how many more it uses."""
    gpu = report.gpu
    if not gpu.available:
        return "no GPU visible to the worker" if gpu.gpus else "no NVIDIA GPU"
    first = gpu.devices[0] if gpu.devices else {}
    name = str(first.get("name", "GPU")).removeprefix("NVIDIA ")
    more = f" +{len(gpu.devices) - 1}" if len(gpu.devices) > 1 else ""
    gib = f" {first['total_mb'] / 1024:.0f} GiB" if first.get("total_mb") else ""  # MiB / 1024
    tail = "" if gpu.can_offload else f" ({_offload(report).label})"
    return f"{name}{gib}{more}{tail}"


def summary_line(report: DoctorReport) -> str:
    """The report in one line: ``llama.cpp 0.3.36 · CPU AVX512 AMX · repack ok · ...``."""
    llama = report.llama
    if not llama.installed:
        head = "llama-cpp-python missing"
    elif not llama.importable:
        head = f"llama-cpp-python {llama.llama_cpp_python} does not import"
    else:
        head = f"llama.cpp {llama.llama_cpp_python}"
    n = report.models.found
    parts = [head, cpu_label(report), repack_label(report), gpu_label(report)]
    parts.append(f"{n} model{'s' if n != 1 else ''}")
    if not report.history.ok:
        parts.append(f"history {report.history.state.upper()}")
    return " · ".join(parts)


def _gib(mb: Any) -> str:
    return f"{mb / 1024:.1f} GiB" if isinstance(mb, (int, float)) else "memory n/a"


def _device_text(d: dict[str, Any]) -> str:
    if d.get("error"):
        name = f"{d.get('name')}: " if d.get("uuid") else ""  # the name, when NVML gave it
        return f"{name}FAILED ({d['error']})"
    parts = [str(d.get("name")), _gib(d.get("total_mb"))]
    if d.get("mig_index") is None:
        mode = d.get("mig_mode")
        parts.append(f"MIG {mode}" if mode else "no MIG")
        if d.get("compute_capability"):
            parts.append(f"cc {d['compute_capability']}")
        if d.get("power_limit_w") is not None:
            parts.append(f"{d['power_limit_w']:.0f} W limit")
    cuda = d.get("cuda_index")
    parts.append(f"worker's CUDA {cuda}" if cuda is not None else "not the worker's")
    return " · ".join(parts)


def gpu_rows(report: DoctorReport) -> list[tuple[str, str]]:
    """The GPU section as (label, text) rows: every GPU NVML lists (MIG slices under
    their GPU) and which of them the worker will use, the driver and CUDA versions, and
    whether per-process memory and energy can be read, with reasons."""
    gpu = report.gpu
    if not gpu.gpus:
        return [("GPU", str(gpu.reason))]
    rows: list[tuple[str, str]] = []
    for g in gpu.gpus:
        rows.append((f"GPU {g['index']}", _device_text(g)))
        for s in g.get("slices", []):
            rows.append((f"  MIG {s['mig_index']}", _device_text(s)))
    rows.append(("worker's GPUs", str(gpu.visible or "")))
    if not gpu.available:
        rows.append(("", str(gpu.reason)))
    cuda = f" (CUDA {gpu.cuda_driver})" if gpu.cuda_driver else ""
    runtime = report.llama.cuda_runtime or {}
    if runtime.get("version"):
        cuda += f" · llama.cpp's CUDA runtime {runtime['version']}"
    elif runtime:
        cuda += f" · llama.cpp's CUDA runtime: none ({runtime.get('note')})"
    can = "yes" if gpu.can_offload else f"no ({_offload(report).label})"
    rows.append(("NVIDIA driver", f"{gpu.driver}{cuda} · this build can offload: {can}"))
    if gpu.available:
        pm = gpu.proc_memory
        rows.append(("process memory", f"{pm.get('state')}: {pm.get('reason')}"))
        en = gpu.energy
        rows.append(
            ("energy counter", f"{'yes' if en.get('supported') else 'no'}: {en.get('reason')}")
        )
    return rows
