"""Plain dataclasses the engine publishes, and the sink protocol that receives them.

Sinks (SQLite store, report builder, headless logger, TUI bridge) subscribe to these;
the engine never knows which front end is listening.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class RequestKey:
    model: str
    prompt: str
    repeat: int
    warmup: bool = False

    def label(self) -> str:
        kind = "warmup" if self.warmup else f"rep {self.repeat + 1}"
        return f"{self.model} / {self.prompt} / {kind}"


@dataclass
class Event:
    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["event"] = type(self).__name__
        return data


@dataclass
class RunStarted(Event):
    run_id: int
    plan: str
    plan_path: str | None
    started_at: str
    n_measured: int
    n_warmup: int
    models: list[str]
    prompts: list[str]
    repeats: int
    host: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelLoading(Event):
    model: str
    source: str
    path: str | None


@dataclass
class ModelLoaded(Event):
    model: str
    load_ms: float
    pid: int | None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelFailed(Event):
    model: str
    error: str


@dataclass
class ModelUnloaded(Event):
    model: str


@dataclass
class RequestStarted(Event):
    key: RequestKey
    index: int  # 0-based position among all requests of the run (warm-ups included)
    total: int


@dataclass
class TokensGenerated(Event):
    """A batch of tokens, timestamped in the generating process."""

    key: RequestKey
    t_ns: list[int]
    n: list[int]
    text: str
    n_out: int  # tokens generated so far in this request
    t_send_ns: int


@dataclass
class TelemetrySample(Event):
    model: str | None
    t_ns: int
    rss_kb: int | None
    cpu_percent: float | None
    vram_used_mb: float | None
    vram_total_mb: float | None
    vram_proc_mb: float | None
    # Cumulative energy counter of the model's GPUs (NVML, millijoules, summed over the
    # devices that have one); None where no device exposes it. Differences between two
    # samples give the energy spent between them.
    energy_mj: float | None = None
    # Active clock-event (throttle) reasons on the model's GPUs: "power", "thermal", ...
    throttle: tuple[str, ...] = ()
    # Some GPU did not answer this sample: its last figures stood in for it in the sums;
    # which device and why ("GPU 1: NVML: GPU is lost")
    gpu_partial: bool = False
    gpu_errors: tuple[str, ...] = ()
    # Why vram_proc_mb cannot be read while a model runs: the per-process memory state
    # ("n/a (container PIDs)", "no") and its reason; None while it can be
    vram_proc_state: str | None = None
    vram_proc_reason: str | None = None


@dataclass
class RequestFinished(Event):
    record: Any  # core.results.RequestRecord; typed loosely to keep events import-light

    def to_json(self) -> dict[str, Any]:
        return {"event": "RequestFinished", "record": self.record.to_dict(raw=False)}


@dataclass
class Log(Event):
    level: str  # "info" | "warning" | "error"
    message: str


@dataclass
class RunFinished(Event):
    run_id: int
    status: str  # "completed" | "cancelled" | "failed"
    n_ok: int
    n_failed: int
    n_measured: int
    success_rate: float | None
    threshold: float
    passed: bool
    duration_s: float
    output_dir: str | None = None
    db_path: str | None = None
    finished_at: str | None = None  # as history has it: the reports say the same


# -- load tests (core/load): one model served to several users at once, level by level.
# A front end draws its live load view from these three; the figures of a finished level
# are in LevelFinished.summary (core/load/summary.py: LevelSummary.as_dict()).


@dataclass
class LevelStarted(Event):
    """A load level begins (after its warm-ups): ``kind`` "concurrency" (``target`` users,
    a closed loop) or "rate" (``target`` requests per second, an open loop)."""

    model: str
    level: str  # its label, as records carry it: "c=4", "r=0.5"
    index: int  # 0-based, in the plan's order
    n_levels: int
    kind: str
    target: float


@dataclass
class LoadProgress(Event):
    """A few times a second while a level runs (never per token): what is in flight."""

    model: str
    level: str
    elapsed_s: float  # since the level's first scheduled send
    in_flight: int  # requests the backend is serving now
    queued: int  # sent by their users but waiting for the backend (it serves fewer at once)
    sent: int  # measured requests dispatched so far
    completed: int
    failed: int
    output_tokens: int  # of the requests finished so far


@dataclass
class LevelFinished(Event):
    """A level's figures (``summary``) and what they were computed from beside its records
    (``context``: target, bounds, resource peaks, server counters; stored in history)."""

    model: str
    level: str
    summary: dict[str, Any]
    context: dict[str, Any]


@dataclass
class LoadFinished(Event):
    """A model's sweep is over: its capacity in one sentence and its knee, if any."""

    model: str
    capacity: str
    knee: str | None
    levels: list[str] = field(default_factory=list)


class Sink(Protocol):
    """Anything that wants the engine's events. Called on the engine's event loop."""

    def handle(self, event: Event) -> None: ...
