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


class Sink(Protocol):
    """Anything that wants the engine's events. Called on the engine's event loop."""

    def handle(self, event: Event) -> None: ...
