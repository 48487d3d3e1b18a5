"""The wizard's estimate of a plan with load levels: each level's requests at its users
(one at a time in process, up to the slots of a simulated server) or at its rate, not the
prompts x repeats of a plan without them."""

from __future__ import annotations

from typing import Any

import pytest

from tui_bench.core.plan import parse_plan
from tui_bench.tui.estimate import estimate

ONE_S = 0.010 + 79 / 400  # TTFT + 79 more tokens at 400 tok/s: one request of 80 tokens
LOAD_S = 0.001


def plan(load: dict[str, Any], **mock: Any) -> Any:
    return parse_plan(
        {
            "name": "p",
            "warmup": 0,
            "defaults": {"max_tokens": 80},
            "models": [
                {
                    "id": "m",
                    "backend": "mock",
                    "mock": {"ttft_ms": 10, "tokens_per_s": 400, "load_ms": 1, **mock},
                }
            ],
            "prompts": [{"id": "a", "task": "qa", "text": "hello"}],
            "load": load,
        }
    )


def test_closed_loop_levels_in_process_and_on_a_server_with_slots() -> None:
    sweep = {"concurrency": [1, 2, 4], "requests": 8}
    in_process = estimate(plan(sweep))
    assert in_process.seconds == pytest.approx(LOAD_S + 3 * 8 * ONE_S)
    two_slots = estimate(plan(sweep, slots=2))
    assert two_slots.seconds == pytest.approx(LOAD_S + 8 * ONE_S + 8 * ONE_S / 2 + 8 * ONE_S / 2)
    assert two_slots.models[0].basis == "simulated"


def test_open_loop_levels_and_a_duration_bound() -> None:
    # 8 requests at 10/s served one at a time: they queue behind each other
    assert estimate(plan({"rate": [10], "requests": 8})).seconds == pytest.approx(
        LOAD_S + 8 * ONE_S + ONE_S
    )
    # on 16 slots the schedule sets the pace: 8 requests at 2/s
    assert estimate(plan({"rate": [2], "requests": 8}, slots=16)).seconds == pytest.approx(
        LOAD_S + 8 / 2 + ONE_S
    )
    assert estimate(plan({"concurrency": [1, 2], "duration_s": 3})).seconds == pytest.approx(
        LOAD_S + 2 * (3 + ONE_S)
    )
