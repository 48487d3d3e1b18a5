"""A server's Prometheus ``/metrics`` around each load level, against a small fake (the
fault server with counters): names detected per server, deltas beside the client's
counts, the prefix cache hit rate, and a server without the endpoint said once
(core/load/server_metrics.py); the openai backend under a closed loop on a server that
answers in parallel."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from servers.fault_server import PROMPT_N, FaultServer
from servers.metrics_server import CACHED_N, QUEUE_S, MetricsServer

from tui_bench.core.engine import Engine
from tui_bench.core.events import Event, LevelFinished, Log
from tui_bench.core.plan import LoadedPlan, parse_plan

MAX_TOKENS = 3
REQUESTS = 4


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)


@pytest.fixture
def llamacpp_server() -> Iterator[MetricsServer]:
    server = MetricsServer("llamacpp")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def vllm_server() -> Iterator[MetricsServer]:
    server = MetricsServer("vllm")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_against(url: str) -> tuple[Engine, Collect]:
    raw: dict[str, Any] = {
        "name": "load-metrics",
        "warmup": 1,
        "defaults": {"max_tokens": MAX_TOKENS},
        "models": [{"id": "srv", "backend": "openai", "base_url": url, "model": "fault-model"}],
        "prompts": [{"id": "p", "task": "qa", "text": "Say something short"}],
        "load": {"concurrency": [1, 2], "requests": REQUESTS, "warmup_requests": 1},
    }
    loaded = LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)
    c = Collect()
    engine = Engine(loaded, sinks=[c], telemetry=False, write_history=False)
    asyncio.run(engine.run())
    return engine, c


def finished(c: Collect) -> list[LevelFinished]:
    return [e for e in c.events if isinstance(e, LevelFinished)]


def test_llama_server_counters_match_the_clients_counts(llamacpp_server: MetricsServer) -> None:
    engine, c = run_against(llamacpp_server.url("ok"))
    levels = finished(c)
    assert [e.level for e in levels] == ["c=1", "c=2"]
    for e in levels:
        server = e.context["server"]
        mine = [r for r in engine.records if r.level == e.level and not r.warmup]
        # read after the level's warm-up and after its last answer: its measured requests only
        assert server["output_tokens"] == sum(r.n_out for r in mine) == REQUESTS * MAX_TOKENS
        assert server["prompt_tokens"] == REQUESTS * PROMPT_N
        assert server["tokens_per_decode"] == 1.0
        assert server["counters"] == [
            "llamacpp:prompt_tokens_total",
            "llamacpp:tokens_predicted_total",
            "llamacpp:n_decode_total",
        ]
        assert server["cache_hit_rate"] is None
        assert server["queue_ms_mean"] is None  # llama-server counts no queue time
    # the fake answers requests in parallel: two users are two requests in flight
    s2 = levels[1].summary
    assert 1 < s2["achieved_concurrency"] <= 2 + 1e-9
    assert s2["backend_max_concurrency"] is None  # no gate in tui-bench: the server queues
    assert not [e for e in c.events if isinstance(e, Log) and "no server metrics" in e.message]


def test_vllm_prefix_cache_hit_rate_from_counter_deltas(vllm_server: MetricsServer) -> None:
    _, c = run_against(vllm_server.url("cached"))
    for e in finished(c):
        server = e.context["server"]
        assert server["cache_hit_rate"] == pytest.approx(CACHED_N / PROMPT_N, abs=1e-4)
        assert server["cache_hits"] == REQUESTS * CACHED_N
        assert server["cache_queries"] == REQUESTS * PROMPT_N
        assert server["output_tokens"] == REQUESTS * MAX_TOKENS
        assert "vllm:prefix_cache_hits_total" in server["counters"]
        assert server["requests"] == 0  # the fake's request counter stands still
        # the queue-time histogram's sum and count over the level: its mean wait
        assert (server["queue_count"], server["queue_s_sum"]) == (REQUESTS, REQUESTS * QUEUE_S)
        assert server["queue_ms_mean"] == 1000 * QUEUE_S


def test_a_server_without_metrics_is_said_once() -> None:
    server = FaultServer().start()
    try:
        _, c = run_against(server.url("ok"))
    finally:
        server.stop()
    said = [e for e in c.events if isinstance(e, Log) and "no server metrics" in e.message]
    assert len(said) == 1 and said[0].level == "info"
    assert "answered HTTP 404" in said[0].message
    for e in finished(c):
        assert e.context["server"] == {
            "absent": f"{server.url('ok')[:-3]}/metrics answered HTTP 404"
        }
        assert e.summary["completed"] == REQUESTS  # not an error for the requests
