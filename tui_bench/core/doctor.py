"""``tui-bench doctor``: what this machine offers before anything is benchmarked.

Gathers, without a front end:

- versions: tui-bench, llama-cpp-python, and llama.cpp's own (libllama, ggml and its
  commit, read from the shared libraries llama-cpp-python ships);
- llama.cpp's system info, parsed: the CPU features it was built for (AVX2, AVX512,
  AMX_INT8 ...), OpenMP, weight repacking, the backends compiled in, GPU offload; and
  whether the CPU has AMX (``amx_tile`` in ``/proc/cpuinfo``), where llama.cpp's weight
  repacking has crashed;
- NVIDIA GPUs through :class:`~tui_bench.core.telemetry.GpuProbe` (with its "no GPU" reason);
- a 16-token decode of ``builtin:smollm2-135m`` with weight repacking on, then off, each
  in its own worker process (:class:`~tui_bench.core.backends.llama_cpp.LlamaCppBackend`):
  a crash with its signal, or the decode rate, and the recommendation that follows;
- where models are looked for and how many were found;
- the history database: path, size and ``PRAGMA integrity_check``, opened read-only
  (never created, written, or repaired here).

llama-cpp-python is imported in a child process (``python -m tui_bench.core.doctor
--probe``), never here: a wheel built for another CPU dies by SIGILL on import, and that
is a finding to report, not a reason for the doctor to die. It also keeps the app that
shows these facts free of llama.cpp's libraries (and of a CUDA context).

Exit codes (:attr:`DoctorReport.exit_code`): 0 when a CPU run can work; 1 when it
cannot (llama-cpp-python does not import, or neither self-test decodes); 2 when the
history database is damaged or unreadable (what every command that uses it refuses with).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tui_bench import __version__
from tui_bench.core.errors import EXIT_BAD_INPUT, EXIT_OK, TuiBenchError

SELFTEST_SOURCE = "builtin:smollm2-135m"
SELFTEST_TOKENS = 16
SELFTEST_PROMPT = "The three primary colours are"
PROBE_TIMEOUT_S = 60.0
CACHE_FILE = "doctor.json"

# a CPU run cannot work here: llama-cpp-python does not import, or neither self-test decodes
EXIT_CANNOT_RUN = 1
# the history database is damaged or unreadable: the code every command using it exits with
EXIT_HISTORY = EXIT_BAD_INPUT

# system-info keys that describe the build, not instructions the CPU must have
_BUILD_KEYS = frozenset({"OPENMP", "REPACK", "LLAMAFILE", "KLEIDIAI", "ACCELERATE"})
# CPU flags (``/proc/cpuinfo``) worth showing: what llama.cpp's CPU kernels use
_CPU_FLAGS = (
    "avx2",
    "avx_vnni",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)


# --------------------------------------------------------------------------- facts


@dataclass
class LlamaFacts:
    """llama-cpp-python and the llama.cpp it carries, as its child process saw them."""

    installed: bool
    importable: bool
    llama_cpp_python: str | None = None
    libllama: str | None = None  # llama_version(): libllama's own version
    ggml: str | None = None
    ggml_commit: str | None = None
    build_note: str = ""
    system_info: str | None = None
    backends: list[str] = field(default_factory=list)
    cpu_features: list[str] = field(default_factory=list)
    openmp: bool | None = None
    repack: bool | None = None
    gpu_offload: bool | None = None
    error: str | None = None


@dataclass
class CpuFacts:
    model: str
    cores_logical: int | None
    amx: bool | None  # None: /proc/cpuinfo unreadable (not Linux)
    flags: list[str] = field(default_factory=list)


@dataclass
class GpuFacts:
    available: bool
    reason: str | None = None
    driver: str | None = None
    devices: list[dict[str, Any]] = field(default_factory=list)
    can_offload: bool = False  # a GPU, and a llama.cpp build that can use it


@dataclass
class SelfTest:
    """One short decode of the builtin model in its own worker."""

    repack: bool
    ok: bool
    n_out: int = 0
    decode_tps: float | None = None
    load_ms: float | None = None
    crashed: bool = False
    signal: str | None = None  # SIGSEGV ... when the worker died by a signal
    stage: str | None = None  # "load" or "decode" where it failed
    error: str | None = None
    repack_applied: bool | None = None  # what the worker reported (info["repack"])
    threadpool: dict[str, Any] | None = None


@dataclass
class ModelsFacts:
    dirs: list[str]
    stores: dict[str, list[str]]
    found: int
    by_origin: dict[str, int]


@dataclass
class HistoryFacts:
    path: str
    state: str  # "absent", "ok", "damaged", "unreadable"
    size_bytes: int | None = None
    check: str | None = None  # what the integrity check answered
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.state in ("absent", "ok")


@dataclass
class DoctorReport:
    tui_bench: str
    python: str
    llama: LlamaFacts
    cpu: CpuFacts
    gpu: GpuFacts
    models: ModelsFacts
    history: HistoryFacts
    selftest: list[SelfTest] | None = None
    selftest_note: str | None = None  # why there is none, or where it came from
    recommendation: str | None = None
    problems: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["history"]["ok"] = self.history.ok
        return out


# --------------------------------------------------------------------------- llama.cpp


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


def _apply_system_info(facts: LlamaFacts, text: str) -> None:
    backends, sections = parse_system_info(text)
    facts.system_info = text
    facts.backends = backends or ["CPU"]
    cpu = sections.get("CPU", {})
    facts.cpu_features = [k for k, v in cpu.items() if v == "1" and k not in _BUILD_KEYS]
    facts.openmp = cpu.get("OPENMP") == "1" if "OPENMP" in cpu else None
    facts.repack = cpu.get("REPACK") == "1" if "REPACK" in cpu else None


def _probe_here() -> dict[str, Any]:
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


def _signal_of(returncode: int | None) -> str | None:
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
        sig = _signal_of(proc.returncode)
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
    _apply_system_info(facts, str(data.get("system_info") or ""))
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


# --------------------------------------------------------------------------- CPU, GPU


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
        flags=[f for f in _CPU_FLAGS if flags and f in flags],
    )


def gpu_facts(llama: LlamaFacts) -> GpuFacts:
    from tui_bench.core.telemetry import GpuProbe

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
    )


# --------------------------------------------------------------------------- models, history


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


# --------------------------------------------------------------------------- self-test


def run_selftest(repack: bool, path: Path) -> SelfTest:
    """One 16-token decode of the builtin model, in its own worker, repacking on or off."""
    return asyncio.run(_selftest(repack, path))


async def _selftest(repack: bool, path: Path) -> SelfTest:
    from tui_bench.core.backends.base import GenRequest
    from tui_bench.core.backends.llama_cpp import LlamaCppBackend
    from tui_bench.core.errors import BackendError
    from tui_bench.core.hostinfo import now_iso
    from tui_bench.core.plan import Generation, ModelSpec, PromptSpec
    from tui_bench.core.results import build_record

    spec = ModelSpec(
        id=f"selftest-repack-{'on' if repack else 'off'}",
        source=SELFTEST_SOURCE,
        n_ctx=256,
        repack=repack,
        load_timeout_s=120,
    )
    prompt = PromptSpec(id="selftest", task="other", text=SELFTEST_PROMPT)
    gen = Generation(max_tokens=SELFTEST_TOKENS, ignore_eos=True, mode="completion", timeout_s=120)
    backend = LlamaCppBackend(spec, path)
    result = SelfTest(repack=repack, ok=False)
    try:
        try:
            load = await backend.load()
        except BackendError as exc:
            result.stage, result.error = "load", str(exc)
            result.signal = _signal_of(backend.proc.returncode if backend.proc else None)
            result.crashed = result.signal is not None
            return result
        result.load_ms = load.load_ms
        result.repack_applied = load.info.get("repack")
        result.threadpool = load.info.get("threadpool")
        started = now_iso()
        outcome = await backend.generate(GenRequest(prompt, gen), lambda _batch: None)
        record = build_record(
            run_id=0,
            seq=0,
            model=spec.id,
            prompt=prompt.id,
            task=prompt.task,
            repeat=0,
            warmup=False,
            started_at=started,
            outcome=outcome,
            prompt_cache=False,
            load_ms=load.load_ms,
        )
        result.n_out = record.n_out
        result.decode_tps = record.decode_tps
        result.ok = record.ok and record.decode_tps is not None
        if not result.ok:
            result.stage = "decode"
            result.error = record.error or (
                f"{record.n_out} token(s): no decode rate" if record.ok else record.finish_reason
            )
            if not backend.alive and backend.proc is not None:
                result.signal = _signal_of(backend.proc.returncode)
                result.crashed = result.signal is not None
        return result
    finally:
        await backend.close()


def recommend(on: SelfTest, off: SelfTest) -> str:
    """What the two self-tests mean for the ``repack`` setting of a model."""
    if not on.ok and off.ok:
        how = f"the worker was killed by {on.signal}" if on.crashed else (on.error or "failed")
        return (
            f'repacking crashes on this host ({how}): keep repack = "auto" (it falls back '
            "to repacking off) or set repack = false"
        )
    if on.ok and not off.ok:
        return 'repacking off fails on this host: keep repack = "auto" or set repack = true'
    if not on.ok and not off.ok:
        return "llama.cpp decodes with neither setting on this host: see the errors above"
    assert on.decode_tps is not None and off.decode_tps is not None
    diff = 100.0 * (on.decode_tps / off.decode_tps - 1.0)
    word = "faster" if diff >= 0 else "slower"
    advice = 'keep repack = "auto"' if diff >= 0 else "consider repack = false on this host"
    return (
        f"both work: repacking on decodes {abs(diff):.0f}% {word} than off "
        f"({SELFTEST_TOKENS} tokens, a rough figure): {advice}"
    )


# --------------------------------------------------------------------------- the report


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


# --------------------------------------------------------------------------- cache


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


# --------------------------------------------------------------------------- one line


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


def gpu_label(report: DoctorReport) -> str:
    gpu = report.gpu
    if not gpu.available:
        return "no NVIDIA GPU"
    first = gpu.devices[0] if gpu.devices else {}
    name = str(first.get("name", "GPU")).removeprefix("NVIDIA ")
    more = f" +{len(gpu.devices) - 1}" if len(gpu.devices) > 1 else ""
    gb = f" {first['total_mb'] / 1024:.0f} GB" if first.get("total_mb") else ""
    tail = "" if gpu.can_offload else " (CPU-only build)"
    return f"{name}{gb}{more}{tail}"


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


if __name__ == "__main__" and sys.argv[1:] == ["--probe"]:
    # the probe child: one JSON line on stdout (native code logs to stderr)
    sys.stdout.write(json.dumps(_probe_here()) + "\n")
