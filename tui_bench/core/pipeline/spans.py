"""Stage spans: what each stage of a question cost, its share of the question's time,
and the pipeline's bottleneck.

- A span is one stage of one question: wall time (``perf_counter_ns``), the process's
  CPU time for stages that run in this process (``process_time_ns``: every thread of
  the process, so a stage that starts threads is counted whole), and the peak RSS of
  the worker that ran it where one did (the generate stage: as its request record gives
  it).
- A question's end-to-end time is the sum of its stage spans: the stages run back to
  back, and the glue between them (microseconds) belongs to no stage.
- A stage's share of a question = its span / that sum, so the shares of a question sum
  to 1.
- The bottleneck is the stage with the largest median share over the questions (ties:
  the earlier stage in the pipeline's order). Medians, not means: one slow first
  request does not name a stage.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageSpan:
    stage: str
    wall_ms: float
    cpu_ms: float | None = None  # this process's CPU time (in-process stages only)
    rss_kb: int | None = None  # the worker's peak RSS (out-of-process stages)
    ok: bool = True
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "wall_ms": self.wall_ms,
            "cpu_ms": self.cpu_ms,
            "rss_kb": self.rss_kb,
            "ok": self.ok,
            "note": self.note,
        }


@dataclass
class Stopwatch:
    """Wall and CPU time of a block (see :func:`measure`)."""

    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    _t0: int = field(default=0, repr=False)
    _c0: int = field(default=0, repr=False)


@contextmanager
def measure() -> Iterator[Stopwatch]:
    """Times the block: ``wall_ms`` and ``cpu_ms`` are set when it ends."""
    watch = Stopwatch(_t0=time.perf_counter_ns(), _c0=time.process_time_ns())
    try:
        yield watch
    finally:
        watch.cpu_ms = (time.process_time_ns() - watch._c0) / 1e6
        watch.wall_ms = (time.perf_counter_ns() - watch._t0) / 1e6


def end_to_end_ms(spans: Sequence[StageSpan]) -> float:
    """A question's end-to-end time: the sum of its stage spans."""
    return sum(s.wall_ms for s in spans)


def shares(spans: Sequence[StageSpan]) -> dict[str, float]:
    """Each stage's share of the question's end-to-end time (summing to 1); every share
    0 when the question took no measurable time."""
    total = end_to_end_ms(spans)
    return {s.stage: (s.wall_ms / total if total > 0 else 0.0) for s in spans}


def median_shares(
    per_question: Sequence[Mapping[str, float]], order: Sequence[str]
) -> dict[str, float]:
    """The median share of each stage of ``order`` over the questions that ran it."""
    out: dict[str, float] = {}
    for stage in order:
        values = [q[stage] for q in per_question if stage in q]
        if values:
            out[stage] = float(statistics.median(values))
    return out


def bottleneck(per_question: Sequence[Mapping[str, float]], order: Sequence[str]) -> str | None:
    """The stage with the largest median share (ties: the earlier in ``order``); None
    without a question."""
    medians = median_shares(per_question, order)
    if not medians:
        return None
    best = max(medians.values())
    return next(stage for stage in order if medians.get(stage) == best)
