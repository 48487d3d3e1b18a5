"""The mock backend's plan options (``[models.mock]``): its simulated timings, output,
failures and, for load tests, the server it pretends to be.

Apart from :mod:`tui_bench.core.plan` (which re-exports :class:`MockOptions`) so that
the plan schema stays one screenful per concern.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class MockOptions(BaseModel):
    """Behaviour of the mock backend: deterministic timings, output and failures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ttft_ms: Annotated[float, Field(ge=0)] = 30.0
    tokens_per_s: Annotated[float, Field(gt=0)] = 250.0
    load_ms: Annotated[float, Field(ge=0)] = 50.0
    jitter: Annotated[float, Field(ge=0, lt=1)] = 0.1
    prompt_tokens_per_s: Annotated[float, Field(gt=0)] = 2000.0
    fail_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    fail_prompts: list[str] = Field(default_factory=list)
    fail_load: bool = False
    eos_after: Annotated[int, Field(ge=1)] | None = None
    seed: Annotated[int, Field(ge=0)] = 0
    rss_mb: Annotated[float, Field(ge=0)] = 120.0
    # None: one request at a time, as an in-process engine serves them. A number: a
    # simulated server that takes requests at once, with that many slots running at full
    # speed: beyond them the decode rate is shared (each of n requests in flight decodes
    # at tokens_per_s x slots / n) and the first token waits as the queue grows (TTFT x
    # n / slots), so a load test shows it saturate (core/backends/mock.py)
    slots: Annotated[int, Field(ge=1, le=4096)] | None = None
