"""The plan's ``[load]`` and ``[slo]`` tables, and the levels a load table asks for.

``[load]`` (plan-wide, for every model) or ``[models.load]`` (one model's, which wins):

- ``concurrency = [1, 2, 4]``: closed loop, N users each sending its next request when
  the previous one ends; or ``rate = [0.5, 1, 2]``: open loop, requests per second sent
  at their scheduled times whatever is still in flight, ``arrival = "poisson"`` (the
  default) or ``"constant"``, drawn from ``seed``;
- each level ends after ``requests`` (over all users) or ``duration_s``, whichever comes
  first; after a duration's end nothing new is sent and the requests in flight are
  finished and counted;
- ``warmup_requests`` per level, run first and stored flagged ``warmup``;
- ``unique_prompts = true``: a random id line before every prompt, so that a server's
  prefix cache cannot answer a request from an earlier one.

``[slo]``: ``ttft_ms`` and ``e2e_ms`` (upper bounds, measured from the scheduled send),
``decode_tps`` (a minimum per user), ``percentile`` (the share of requests that must
meet every one, default 90).

This module never imports the plan (the plan imports it): the plan reaches it through
``load_problem`` and ``planned``, which take the plan's objects as they come.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_LEVELS = 32
# A level bounded by time alone still stops here: every loop is bounded in count too.
MAX_LEVEL_REQUESTS = 100_000
MAX_DURATION_S = 86_400.0

Positive = Annotated[float, Field(gt=0)]


class LoadSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency: (
        Annotated[list[Annotated[int, Field(ge=1, le=4096)]], Field(min_length=1)] | None
    ) = None
    rate: Annotated[list[Annotated[float, Field(gt=0, le=10_000)]], Field(min_length=1)] | None = (
        None
    )
    arrival: Literal["poisson", "constant"] | None = None  # rate levels; None: poisson
    seed: Annotated[int, Field(ge=0)] = 0
    requests: Annotated[int, Field(ge=1, le=MAX_LEVEL_REQUESTS)] | None = None
    duration_s: Annotated[float, Field(gt=0, le=MAX_DURATION_S)] | None = None
    warmup_requests: Annotated[int, Field(ge=0, le=1000)] = 0
    unique_prompts: bool = True

    @property
    def kind(self) -> str:
        return "concurrency" if self.concurrency is not None else "rate"

    @property
    def targets(self) -> list[float]:
        return [float(x) for x in (self.concurrency or self.rate or [])]


class SloSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ttft_ms: Positive | None = None
    e2e_ms: Positive | None = None
    decode_tps: Positive | None = None
    percentile: Annotated[float, Field(gt=0, le=100)] = 90.0


def _problem_in(load: LoadSpec, where: str) -> tuple[str, str] | None:
    if load.concurrency is None and load.rate is None:
        return where, "give concurrency = [users, ...] or rate = [requests/s, ...]"
    if load.concurrency is not None and load.rate is not None:
        return f"{where}.rate", "give concurrency or rate, not both (one sweep per table)"
    if load.requests is None and load.duration_s is None:
        return where, "give requests = N or duration_s = S: every level must end"
    if load.arrival is not None and load.concurrency is not None:
        return f"{where}.arrival", "applies to rate levels only (concurrency is a closed loop)"
    targets = load.targets
    name = "concurrency" if load.concurrency is not None else "rate"
    if len(targets) > MAX_LEVELS:
        return f"{where}.{name}", f"at most {MAX_LEVELS} levels, got {len(targets)}"
    for i in range(1, len(targets)):
        if targets[i] <= targets[i - 1]:
            return (
                f"{where}.{name}[{i}]",
                f"levels must increase (the knee reads them in order): "
                f"{_g(targets[i])} after {_g(targets[i - 1])}",
            )
    return None


def load_problem(plan: Any) -> tuple[str, str] | None:
    """The first rule of the load tables a plan breaks, as (field, message), or None."""
    if plan.load is not None:
        problem = _problem_in(plan.load, "load")
        if problem:
            return problem
    for i, model in enumerate(plan.models):
        if model.load is not None:
            problem = _problem_in(model.load, f"models[{i}].load")
            if problem:
                return problem
    slo = plan.slo
    if slo is not None and slo.ttft_ms is None and slo.e2e_ms is None and slo.decode_tps is None:
        return "slo", "give at least one of ttft_ms, e2e_ms, decode_tps"
    return None


def load_for(plan: Any, model: Any) -> LoadSpec | None:
    """The load table that applies to ``model``: its own, else the plan's."""
    own: LoadSpec | None = model.load
    return own if own is not None else plan.load


def planned(plan: Any, model: Any) -> tuple[int, int]:
    """(measured, warm-up) requests ``model`` is planned to get. A load level bounded by
    time alone adds no measured count (it is not known before it runs)."""
    load = load_for(plan, model)
    if load is None:
        return len(plan.prompts) * plan.repeats, plan.warmup
    n = len(load.targets)
    return n * (load.requests or 0), plan.warmup + n * load.warmup_requests


@dataclass(frozen=True)
class Level:
    """One level of a sweep."""

    index: int
    kind: str  # "concurrency" | "rate"
    target: float  # users, or requests per second

    @property
    def label(self) -> str:
        """The level's name in records, events and files: ``c=4``, ``r=0.5``."""
        return f"{'c' if self.kind == 'concurrency' else 'r'}={_g(self.target)}"

    @property
    def users(self) -> int:
        return int(self.target)


def levels(load: LoadSpec) -> list[Level]:
    return [Level(i, load.kind, t) for i, t in enumerate(load.targets)]


def level_name(kind: str, target: float) -> str:
    """A level in words: ``4 users``, ``1 user``, ``0.5 requests/s``."""
    if kind == "concurrency":
        return f"{_g(target)} user{'' if target == 1 else 's'}"
    return f"{_g(target)} request{'' if target == 1 else 's'}/s"


def _g(x: float) -> str:
    return f"{x:g}"
