"""What ``tui-bench doctor`` finds, as plain dataclasses, and its constants and exit codes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tui_bench.core.errors import EXIT_BAD_INPUT, EXIT_OK

SELFTEST_SOURCE = "builtin:smollm2-135m"


SELFTEST_TOKENS = 16


SELFTEST_PROMPT = "The three primary colours are"


PROBE_TIMEOUT_S = 60.0


CACHE_FILE = "doctor.json"


# a CPU run cannot work here: llama-cpp-python does not import, or neither self-test decodes
EXIT_CANNOT_RUN = 1


# the history database is damaged or unreadable: the code every command using it exits with
EXIT_HISTORY = EXIT_BAD_INPUT


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
    # the CUDA runtime the build loaded: {"version": "12.4" | None, "note"} (llama_devices)
    cuda_runtime: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class CpuFacts:
    model: str
    cores_logical: int | None
    amx: bool | None  # None: /proc/cpuinfo unreadable (not Linux)
    flags: list[str] = field(default_factory=list)


@dataclass
class GpuFacts:
    """NVIDIA GPUs as :class:`~tui_bench.core.gpu.GpuProbe` describes them."""

    available: bool  # the worker can use at least one device
    reason: str | None = None  # why not, when not
    driver: str | None = None
    devices: list[dict[str, Any]] = field(default_factory=list)  # the worker's devices
    can_offload: bool = False  # a GPU, and a llama.cpp build that can use it
    cuda_driver: str | None = None  # the newest CUDA the driver runs
    cuda_visible_devices: str | None = None  # as set (None: unset)
    cuda_device_order: str | None = None
    visible: str | None = None  # how the worker's devices follow from those two
    order_exact: bool | None = None  # False: CUDA's numbering is estimated
    gpus: list[dict[str, Any]] = field(default_factory=list)  # every GPU NVML lists
    errors: list[str] = field(default_factory=list)  # devices that failed, with reasons
    proc_memory: dict[str, Any] = field(default_factory=dict)  # readable, state, reason
    energy: dict[str, Any] = field(default_factory=dict)  # supported, reason


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
    #: the gaps between consecutive tokens (ms): what the two settings are compared on
    itl_ms: list[float] = field(default_factory=list)


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
