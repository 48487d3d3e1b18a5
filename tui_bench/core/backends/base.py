"""The backend interface every model runner implements (in-process, mock, HTTP later).

A backend loads one model, then serves requests one at a time (or as many at once as its
``max_concurrency`` says). It reports tokens as they are generated through a callback
(timestamps taken where the tokens are made) and returns a
:class:`~tui_bench.core.results.GenOutcome` with the raw series. A backend never raises
for a failed request: the failure is part of the outcome. ``load`` may raise
:class:`~tui_bench.core.errors.BackendError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_bench.core.plan import Generation, ModelSpec, PromptSpec
from tui_bench.core.results import GenOutcome


@dataclass
class TokenBatch:
    t_ns: list[int]
    n: list[int]
    text: str
    n_out: int
    t_send_ns: int


@dataclass
class LoadInfo:
    load_ms: float
    pid: int | None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class GenRequest:
    prompt: PromptSpec
    gen: Generation


OnTokens = Callable[[TokenBatch], None]
# (level, message): a message for the run log from the engine behind a backend (level
# "warning" or "error"), e.g. llama.cpp's own warnings while it loads or generates
OnLog = Callable[[str, str], None]


class Backend(ABC):
    """One model, loaded once, serving requests sequentially."""

    #: how output tokens are counted (``engine``, ``usage``, ``chunk_count`` ...)
    token_source = "engine"
    #: the flag every request served after a :meth:`fallback` carries
    fallback_flag: str | None = None
    #: how many requests it serves at once (None: no limit of its own, as a server that
    #: queues or batches them itself). A load test never sends it more than this: the
    #: rest wait in the load runner, and that wait counts in their latency (core/load)
    max_concurrency: int | None = 1

    def __init__(self, spec: ModelSpec, path: Path | None = None) -> None:
        self.spec = spec
        self.path = path
        #: set by whoever runs the backend to receive its engine's messages as they come
        self.log: OnLog | None = None

    @property
    def pid(self) -> int | None:
        """The process that holds the model (for RSS/VRAM sampling), if any."""
        return None

    @abstractmethod
    async def load(self) -> LoadInfo:
        """Load the model. Raises BackendError with a one-line reason on failure."""

    @abstractmethod
    async def generate(self, request: GenRequest, on_tokens: OnTokens) -> GenOutcome:
        """Run one request. Failures are returned in the outcome, not raised."""

    @abstractmethod
    def cancel(self) -> None:
        """Ask the running request to stop at the next token (thread/signal safe)."""

    @abstractmethod
    async def close(self) -> None:
        """Release the model and everything it holds."""

    @property
    def alive(self) -> bool:
        """False once the backend can no longer serve (e.g. its worker died)."""
        return True

    def fallback(self) -> tuple[ModelSpec, str] | None:
        """After the backend died on a request: a safer configuration to load instead and
        retry that request with, once, and the reason (recorded with every request it
        serves). None when the death calls for no change of configuration."""
        return None
