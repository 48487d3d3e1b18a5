"""``tui-bench doctor``: what this machine offers before anything is benchmarked.

Gathers, without a front end:

- versions: tui-bench, llama-cpp-python, and llama.cpp's own (libllama, ggml and its
  commit, read from the shared libraries llama-cpp-python ships);
- llama.cpp's system info, parsed: the CPU features it was built for (AVX2, AVX512,
  AMX_INT8 ...), OpenMP, weight repacking, the backends compiled in, GPU offload; and
  whether the CPU has AMX (``amx_tile`` in ``/proc/cpuinfo``), where llama.cpp's weight
  repacking has crashed;
- NVIDIA GPUs through :class:`~tui_bench.core.gpu.GpuProbe`: the devices the model's worker
  will use (``CUDA_VISIBLE_DEVICES`` applied), their memory, MIG mode, energy counter, and
  whether per-process memory can be read, each "no" with its reason;
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

Modules: :mod:`.facts` (what is found), :mod:`.system` (llama.cpp, CPU, GPU, models,
history), :mod:`.selftest` (the two short model runs), :mod:`.report` (the report, its
verdict, the cache and the one-line summary).
"""

from __future__ import annotations

from tui_bench.core.doctor.facts import (
    CACHE_FILE,
    EXIT_CANNOT_RUN,
    EXIT_HISTORY,
    SELFTEST_PROMPT,
    SELFTEST_SOURCE,
    SELFTEST_TOKENS,
    CpuFacts,
    DoctorReport,
    GpuFacts,
    HistoryFacts,
    LlamaFacts,
    ModelsFacts,
    SelfTest,
)
from tui_bench.core.doctor.report import (
    cache_path,
    cpu_label,
    gather,
    gpu_label,
    gpu_rows,
    load_cache,
    quick_report,
    repack_label,
    save_cache,
    summary_line,
)
from tui_bench.core.doctor.selftest import recommend, run_selftest
from tui_bench.core.doctor.system import (
    cpu_facts,
    gpu_facts,
    history_facts,
    models_facts,
    parse_system_info,
    probe_llama,
)

__all__ = [
    "CACHE_FILE",
    "EXIT_CANNOT_RUN",
    "EXIT_HISTORY",
    "SELFTEST_PROMPT",
    "SELFTEST_SOURCE",
    "SELFTEST_TOKENS",
    "CpuFacts",
    "DoctorReport",
    "GpuFacts",
    "HistoryFacts",
    "LlamaFacts",
    "ModelsFacts",
    "SelfTest",
    "cache_path",
    "cpu_facts",
    "cpu_label",
    "gather",
    "gpu_facts",
    "gpu_label",
    "gpu_rows",
    "history_facts",
    "load_cache",
    "models_facts",
    "parse_system_info",
    "probe_llama",
    "quick_report",
    "recommend",
    "repack_label",
    "run_selftest",
    "save_cache",
    "summary_line",
]
