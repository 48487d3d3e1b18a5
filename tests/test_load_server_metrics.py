"""Reading a server's Prometheus ``/metrics`` (core/load/server_metrics.py): the text
format, the counter names detected per server, deltas over a span, and a server without
the endpoint, read once and then left alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from servers.fault_server import PROMPT_N, FaultServer
from servers.metrics_server import MetricsServer

from tui_bench.core.load.server_metrics import Scraper, counters, delta, metrics_url, parse


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    s = MetricsServer("llamacpp")
    s.start()
    try:
        yield s
    finally:
        s.stop()


def test_parse_sums_label_sets_and_skips_comments() -> None:
    text = (
        "# HELP vllm:request_success_total Count.\n"
        "# TYPE vllm:request_success_total counter\n"
        'vllm:request_success_total{finished_reason="stop",model_name="m"} 3.0\n'
        'vllm:request_success_total{finished_reason="length",model_name="m"} 2.0\n'
        "llamacpp:prompt_tokens_total 6886\n"
        "weird_gauge NaN\n"
        "not a sample line\n"
    )
    samples = parse(text)
    assert samples == {"vllm:request_success_total": 5.0, "llamacpp:prompt_tokens_total": 6886.0}
    assert counters(samples) == {
        "prompt_tokens": ("llamacpp:prompt_tokens_total", 6886.0),
        "requests": ("vllm:request_success_total", 5.0),
    }
    # older vLLM builds name the prefix cache counters after the GPU
    old = {"vllm:gpu_prefix_cache_hits_total": 30.0, "vllm:gpu_prefix_cache_queries_total": 40.0}
    d = delta(
        {k: 0.0 for k in old} | {"vllm:generation_tokens_total": 5.0},
        old | {"vllm:generation_tokens_total": 9.0},
    )
    assert d.values == {"output_tokens": 4.0, "cache_hits": 30.0, "cache_queries": 40.0}
    assert d.cache_hit_rate == 0.75 and d.tokens_per_decode is None
    # a counter that went backwards (a restarted server) is left out, not shown negative
    d = delta({"llamacpp:tokens_predicted_total": 90.0}, {"llamacpp:tokens_predicted_total": 10.0})
    assert d.values == {} and d.names == [] and d.cache_hit_rate is None
    assert metrics_url("http://127.0.0.1:8080/v1/") == "http://127.0.0.1:8080/metrics"
    assert metrics_url("http://h:1/ok") == "http://h:1/ok/metrics"


def test_deltas_over_two_answers(server: MetricsServer) -> None:
    scraper = Scraper(server.url("ok"))

    async def around_two_answers() -> tuple[dict[str, float] | None, dict[str, float] | None]:
        before = await scraper.read()
        async with httpx.AsyncClient(timeout=30) as client:
            for _ in range(2):
                resp = await client.post(
                    f"{server.url('ok')}/chat/completions",
                    json={
                        "messages": [{"role": "user", "content": "hi"}],
                        "max_tokens": 3,
                        "stream": True,
                    },
                )
                assert resp.status_code == 200
        return before, await scraper.read()

    before, after = asyncio.run(around_two_answers())
    assert before is not None and after is not None
    d = delta(before, after).as_dict()
    assert d["output_tokens"] == 6 and d["prompt_tokens"] == 2 * PROMPT_N
    assert d["tokens_per_decode"] == 1.0 and d["cache_hit_rate"] is None
    assert d["counters"] == [
        "llamacpp:prompt_tokens_total",
        "llamacpp:tokens_predicted_total",
        "llamacpp:n_decode_total",
    ]
    assert scraper.absent is None and server.scrapes == 2


def test_a_server_without_the_endpoint_is_read_once() -> None:
    plain = FaultServer().start()
    try:
        scraper = Scraper(plain.url("ok"))
        assert asyncio.run(scraper.read()) is None
        assert asyncio.run(scraper.read()) is None
        assert scraper.absent == f"http://127.0.0.1:{plain.port}/ok/metrics answered HTTP 404"
        assert plain.requests[("ok", "metrics")] == 1
    finally:
        plain.stop()
