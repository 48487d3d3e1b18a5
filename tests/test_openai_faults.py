"""The openai backend against a server that misbehaves on purpose (tests/servers/fault_server.py):
each fault ends as one failed request whose error names its class, nothing is retried, and
the run ends by its own timeouts. Well-formed answers give the counts and the server's own
timings exactly as it sent them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from servers.fault_server import MODEL, PROMPT_N, STALL_MAX_S, FaultServer
from servers.fixtures import refused_url, running_fault_server

from tui_bench.core.backends.base import GenRequest, TokenBatch
from tui_bench.core.backends.openai import OpenAIBackend
from tui_bench.core.engine import Engine
from tui_bench.core.metrics import FLAG_CACHE_HIT, ORIGIN_SERVER
from tui_bench.core.plan import LoadedPlan, parse_plan
from tui_bench.core.results import RequestRecord

MAX_TOKENS = 8
TIMEOUTS = {"connect_s": 2.0, "first_token_s": 1.5, "idle_s": 0.5}


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with running_fault_server() as server:
        yield server


def model(mode_or_url: str, server: FaultServer | None, **over: Any) -> dict[str, Any]:
    url = server.url(mode_or_url) if server else mode_or_url
    return {
        "id": over.pop("id", mode_or_url if server else "refused"),
        "backend": "openai",
        "base_url": url,
        "model": MODEL,
        "timeouts": TIMEOUTS,
        **over,
    }


def plan_for(models: list[dict[str, Any]], **over: Any) -> LoadedPlan:
    raw: dict[str, Any] = {
        "name": "faults",
        "repeats": 1,
        "warmup": 0,
        "defaults": {"max_tokens": MAX_TOKENS},
        "models": models,
        "prompts": [{"id": "p", "text": "count to eight"}],
        **over,
    }
    return LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)


def run(loaded: LoadedPlan) -> Any:
    engine = Engine(loaded, write_history=False, telemetry=False)
    return asyncio.run(engine.run())


def by_model(outcome: Any) -> dict[str, RequestRecord]:
    return {r.model: r for r in outcome.records}


def test_each_fault_is_one_classified_failed_request(fault_server: FaultServer) -> None:
    modes = ["5xx", "429", "malformed", "stall", "stall_first", "close", "nodone"]
    before = dict(fault_server.requests)
    outcome = run(plan_for([model(m, fault_server) for m in modes]))
    recs = by_model(outcome)
    assert all(not r.ok for r in recs.values())
    assert recs["5xx"].error == "http 503: server overloaded (code 503)"
    assert recs["429"].error == "http 429 (retry-after 2 s): rate limited (code 429)"
    assert recs["5xx"].finish_reason == recs["429"].finish_reason == "error"
    assert recs["malformed"].error.startswith("protocol: malformed SSE line 7: ")
    assert recs["stall"].error == "timeout: no chunk for 0.5 s"
    assert recs["stall_first"].error == "timeout: no first token after 1.5 s"
    assert recs["close"].error.startswith("stream closed before finish")
    assert recs["nodone"].error == "stream closed before [DONE] (after finish_reason 'length')"
    # what arrived before the fault is kept: two tokens, then the cut
    for mode in ("malformed", "stall", "close"):
        r = recs[mode]
        assert (r.finish_reason, r.n_out, r.n_out_source) == ("truncated", 2, "chunk_count")
        assert len(r.token_us) == 2 and r.ttft_ms is not None
    assert recs["stall_first"].finish_reason == "error" and recs["stall_first"].token_us == []
    # one request each: nothing retried behind the run's back
    for mode in modes:
        sent = fault_server.requests[(mode, "v1/chat/completions")]
        assert sent - before.get((mode, "v1/chat/completions"), 0) == 1
    # the timeouts ended the stalls, not the server giving up after STALL_MAX_S
    assert outcome.duration_s < STALL_MAX_S


def test_connection_refused_at_load_fails_every_request_with_its_class() -> None:
    url = refused_url()
    outcome = run(plan_for([model(url, None)], repeats=2))
    assert [r.ok for r in outcome.records] == [False, False]
    expected = f"load failed: refused: cannot reach {url}/models: connect: connection refused"
    assert [r.error for r in outcome.records] == [expected, expected]


def test_connection_refused_mid_run_is_a_failed_request() -> None:
    server = FaultServer().start()
    plan = plan_for([model("ok", server, id="gone")]).plan

    async def go() -> Any:
        backend = OpenAIBackend(plan.models[0])
        await backend.load()
        server.stop()  # the kept-alive connection goes with it, and nothing listens
        try:
            req = GenRequest(plan.prompts[0], plan.defaults)
            return await backend.generate(req, lambda b: None)
        finally:
            await backend.close()

    out = asyncio.run(go())
    assert out.error == "connect: connection refused"
    assert (out.finish_reason, out.n_out) == ("error", 0)


def test_a_whole_answer_carries_usage_and_the_server_timings(fault_server: FaultServer) -> None:
    outcome = run(plan_for([model("ok", fault_server), model("cached", fault_server)]))
    ok, cached = by_model(outcome)["ok"], by_model(outcome)["cached"]
    assert ok.ok and ok.error is None and ok.finish_reason == "length" and ok.flags == []
    assert (ok.n_in, ok.n_in_source, ok.n_out, ok.n_out_source) == (
        PROMPT_N,
        "usage",
        MAX_TOKENS,
        "usage",
    )
    assert ok.text == "".join(f" tok{i}" for i in range(MAX_TOKENS))
    # one stamp per chunk, each taken when its read returned: the server paces them apart
    assert len(ok.token_us) == MAX_TOKENS and len(set(ok.token_us)) == MAX_TOKENS
    assert ok.token_us == sorted(ok.token_us)
    assert ok.ttfr_ms is not None and ok.ttfr_ms <= ok.ttft_ms <= ok.e2e_ms
    assert ok.e2e_ms == pytest.approx(ok.token_us[-1] / 1000, abs=0.001)
    assert ok.tpot_ms == pytest.approx((ok.e2e_ms - ok.ttft_ms) / (MAX_TOKENS - 1), rel=1e-3)
    e = ok.engine
    assert e is not None and e.origin == ORIGIN_SERVER
    assert (e.n_p_eval, e.t_p_eval_ms, e.n_eval, e.n_cached) == (PROMPT_N, 3.5, MAX_TOKENS, 0)
    assert e.t_eval_ms == fault_server.timings[-2]["predicted_ms"]  # as the server said
    assert e.net is not None and set(e.net) >= {"reused", "headers_ms"}
    # the server's cache: 5 of 7 prompt tokens served from it, unasked for
    assert cached.flags == [FLAG_CACHE_HIT]
    assert (cached.engine.n_cached, cached.engine.n_p_eval) == (5, PROMPT_N - 5)
    # llama-server (it has /tokenize) is told not to reuse a cached prompt
    body = fault_server.bodies[-1]
    assert body["cache_prompt"] is False and body["stream_options"] == {"include_usage": True}


def test_reasoning_tokens_count_for_ttft_but_not_the_text(fault_server: FaultServer) -> None:
    r = run(plan_for([model("think", fault_server)])).records[0]
    assert r.ok and r.n_out == MAX_TOKENS and len(r.token_us) == MAX_TOKENS
    assert r.text == "".join(f" tok{i}" for i in range(2, MAX_TOKENS))
    assert r.ttft_ms == pytest.approx(r.token_us[0] / 1000, abs=0.001)


def test_without_usage_the_server_tokenizer_counts(fault_server: FaultServer) -> None:
    outcome = run(
        plan_for(
            [
                model("nousage", fault_server),
                model("nousage", fault_server, id="nousage-c", endpoint="completions"),
            ]
        )
    )
    chat, comp = by_model(outcome)["nousage"], by_model(outcome)["nousage-c"]
    # the fault server's tokenizer makes one token per word: " tok0 ... tok7" is 8
    assert (chat.n_out, chat.n_out_source, chat.engine.origin) == (
        MAX_TOKENS,
        "server_tokenize",
        "client",
    )
    assert (chat.n_in, chat.n_in_source) == (None, None)  # behind a template it cannot see
    assert (comp.n_in, comp.n_in_source) == (3, "server_tokenize")  # "count to eight"
    assert chat.ok and comp.ok and chat.flags == comp.flags == []


def test_cancel_ends_the_stream_at_once(fault_server: FaultServer) -> None:
    loaded = plan_for([model("stall", fault_server)])

    async def go() -> Any:
        backend = OpenAIBackend(loaded.plan.models[0])
        await backend.load()
        seen: list[TokenBatch] = []

        def on_tokens(batch: TokenBatch) -> None:
            seen.append(batch)
            backend.cancel()  # as the engine does from a signal handler

        try:
            req = GenRequest(loaded.plan.prompts[0], loaded.plan.defaults)
            return await backend.generate(req, on_tokens), seen
        finally:
            await backend.close()

    out, seen = asyncio.run(go())
    # cancelled, not ended by the idle timeout; what arrived is kept
    assert (out.finish_reason, out.error) == ("cancelled", None)
    assert seen[0].text.startswith(" tok0") and out.n_out >= 1
