"""Metric definitions checked against hand-computed timestamp series."""

from __future__ import annotations

import dataclasses

import pytest

from tui_bench.core.metrics import (
    FLAG_CACHE_HIT,
    FLAG_COUNT_MISMATCH,
    FLAG_NO_FINISH,
    FLAG_RATE_MISMATCH,
    FLAG_TRUNCATED,
    EngineCounters,
    RawTiming,
    compute,
    validity_flags,
)

MS = 1_000_000


def test_definitions_on_a_hand_series() -> None:
    # sent at t=1000 ms; first response (and first token) at 1100 ms; then tokens at
    # 1120, 1150, 1160, 1200 ms. n_in = 50, n_out = 5.
    t0 = 1000 * MS
    raw = RawTiming(t0, 1100 * MS, [1100 * MS, 1120 * MS, 1150 * MS, 1160 * MS, 1200 * MS], [1] * 5)
    m = compute(raw, n_in=50, n_out=5)
    assert m.ttfr_ms == pytest.approx(100.0)
    assert m.ttft_ms == pytest.approx(100.0)  # 1100 - 1000
    assert m.e2e_ms == pytest.approx(200.0)  # 1200 - 1000
    assert m.tpot_ms == pytest.approx(25.0)  # (200 - 100) / (5 - 1)
    assert m.decode_tps == pytest.approx(40.0)  # (5 - 1) / 0.100 s
    assert m.prefill_tps == pytest.approx(500.0)  # 50 / 0.100 s
    assert m.itl_ms == pytest.approx([20.0, 30.0, 10.0, 40.0])
    assert 1000 / m.tpot_ms == pytest.approx(m.decode_tps)


def test_first_response_before_first_token_is_ttfr_not_ttft() -> None:
    # a role-only chunk at 1050 ms, content from 1100 ms
    raw = RawTiming(1000 * MS, 1050 * MS, [1100 * MS, 1130 * MS], [1, 1])
    m = compute(raw, n_in=10, n_out=2)
    assert m.ttfr_ms == pytest.approx(50.0)
    assert m.ttft_ms == pytest.approx(100.0)
    assert m.decode_tps == pytest.approx(1 / 0.030)


def test_chunked_stream_uses_token_counts_not_chunk_counts() -> None:
    # 3 chunks carrying 1, 4 and 5 tokens: n_out = 10; decode covers 9 tokens over 90 ms
    raw = RawTiming(0, 100 * MS, [100 * MS, 150 * MS, 190 * MS], [1, 4, 5])
    m = compute(raw, n_in=None, n_out=10)
    assert m.decode_tps == pytest.approx(9 / 0.090)
    assert m.tpot_ms == pytest.approx(10.0)  # (190 - 100) / 9
    assert m.prefill_tps is None
    assert m.itl_ms == pytest.approx([50.0, 40.0])


def test_single_token_has_no_decode_rate() -> None:
    m = compute(RawTiming(0, 5 * MS, [5 * MS], [1]), n_in=3, n_out=1)
    assert m.ttft_ms == pytest.approx(5.0)
    assert m.e2e_ms == pytest.approx(5.0)
    assert m.tpot_ms is None and m.decode_tps is None
    assert m.itl_ms == []


def test_no_tokens_at_all() -> None:
    m = compute(RawTiming(0), n_in=3, n_out=0)
    assert (m.ttft_ms, m.e2e_ms, m.decode_tps, m.itl_ms) == (None, None, None, [])


def test_offsets_are_microseconds_from_send() -> None:
    raw = RawTiming(5_000_000, None, [5_250_000, 6_000_000], [1, 1])
    assert raw.offsets_us() == [250, 1000]


def test_engine_rates() -> None:
    e = EngineCounters(
        n_p_eval=20, t_p_eval_ms=40.0, n_eval=63, t_eval_ms=420.0, n_sample=64, t_sample_ms=6.4
    )
    assert e.eval_tps == pytest.approx(63 / 0.420)  # 150 tok/s, sampling excluded
    # decode + the sampling share of the same 63 tokens: 420 + 6.4 * 63/64 = 426.3 ms
    assert e.decode_tps == pytest.approx(63 / 0.4263)
    assert e.prefill_tps == pytest.approx(500.0)
    assert EngineCounters.from_dict(e.as_dict()) == e
    # where the worker stamped its sample calls (logits fetch and candidate array included),
    # those are the samples' share: 420 + 9.45 = 429.45 ms for the 63 tokens
    stamped = dataclasses.replace(e, t_sample_call_ms=9.45)
    assert stamped.decode_tps == pytest.approx(63 / 0.42945)
    assert stamped.eval_tps == e.eval_tps
    assert stamped.as_dict()["t_sample_call_ms"] == 9.45
    assert "t_sample_call_ms" not in e.as_dict()  # absent where not measured (servers)
    assert EngineCounters.from_dict(stamped.as_dict()) == stamped
    # with the decode calls stamped too (llama.cpp's batch preparation outside t_eval
    # included): the calls' own time, 422.1 + 9.45 ms for the 63 decodes between tokens
    both = dataclasses.replace(stamped, t_decode_call_ms=422.1, n_decode_call=63)
    assert both.decode_tps == pytest.approx(63 / 0.43155)
    assert both.eval_tps == e.eval_tps  # llama.cpp's own counter, untouched
    assert (both.as_dict()["t_decode_call_ms"], both.as_dict()["n_decode_call"]) == (422.1, 63)
    assert "t_decode_call_ms" not in stamped.as_dict()
    assert EngineCounters.from_dict(both.as_dict()) == both


def _flags(**kw):  # type: ignore[no-untyped-def]
    base = dict(
        n_in=20, n_out=64, finish_reason="length", prompt_cache=False, decode_tps=100.0, engine=None
    )
    base.update(kw)
    return validity_flags(**base)


def test_validity_flags() -> None:
    engine = EngineCounters(20, 10.0, 63, 600.0)  # 105 tok/s
    assert _flags(engine=engine) == []  # 100 vs 105: 4.8% apart, within 5%
    assert _flags(engine=engine, decode_tps=99.0) == [FLAG_RATE_MISMATCH]  # 5.7% apart
    hit = EngineCounters(5, 1.0, 63, 600.0)  # only 5 of 20 prompt tokens evaluated
    assert FLAG_CACHE_HIT in _flags(engine=hit)
    assert FLAG_CACHE_HIT not in _flags(engine=hit, prompt_cache=True)
    assert FLAG_CACHE_HIT in _flags(cached_tokens=12)
    assert _flags(finish_reason=None) == [FLAG_NO_FINISH]
    assert _flags(finish_reason="truncated") == [FLAG_TRUNCATED]
    assert _flags(n_out_other=63) == []  # one token apart is tolerated
    assert _flags(n_out_other=61) == [FLAG_COUNT_MISMATCH]
