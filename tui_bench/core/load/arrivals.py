"""When the requests of an open-loop level are due.

Offsets in nanoseconds from the level's first scheduled send (the first is due at 0):
``constant`` sends every ``1 / rate`` seconds; ``poisson`` draws exponential gaps of mean
``1 / rate`` from ``random.Random`` seeded with the plan's seed and the level, so a rerun
schedules the same instants. The schedule never depends on how fast the server answers:
that is what makes the loop open.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

NS_PER_S = 1_000_000_000


def schedule(
    rate: float,
    *,
    arrival: str,
    seed: int,
    key: str,
    count: int | None,
    duration_s: float | None,
    limit: int,
) -> Iterator[int]:
    """Due offsets (ns), in order, until ``count`` requests or ``duration_s`` (an offset at
    or beyond it is not sent), and never more than ``limit``."""
    rng = random.Random(f"{seed}:{key}")
    end_ns = None if duration_s is None else int(duration_s * NS_PER_S)
    n_max = limit if count is None else min(count, limit)
    t = 0.0  # seconds, summed in float: integer gaps would drift by their rounding
    for k in range(n_max):
        if k:
            t += rng.expovariate(rate) if arrival == "poisson" else 1.0 / rate
        offset = round(t * NS_PER_S)
        if end_ns is not None and offset >= end_ns:
            return
        yield offset
