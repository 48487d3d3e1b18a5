"""A load level's figures, the knee and the capacity sentence, against hand computation on
records made up for the purpose (core/load/summary.py, core/load/capacity.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tui_bench.core.load.capacity import KNEE_GROWTH, capacity, knee, knee_text
from tui_bench.core.load.summary import (
    LevelSummary,
    error_class,
    percentiles,
    summarize_level,
)
from tui_bench.core.results import RequestRecord

T0 = 5_000_000_000_000  # an arbitrary perf_counter instant (ns)
MS = 1_000_000


def rec(
    seq: int,
    *,
    sched_ms: float,
    lag_ms: float = 0.0,
    tokens_ms: tuple[float, ...] = (),  # absolute, from T0
    ok: bool = True,
    error: str | None = None,
    finish: str = "length",
    warmup: bool = False,
    level: str = "c=2",
) -> RequestRecord:
    t_send = T0 + int((sched_ms + lag_ms) * MS)
    offsets = [int((t - sched_ms - lag_ms) * 1000) for t in tokens_ms]  # us after t_send
    n = len(tokens_ms)
    ttft = offsets[0] / 1000 if offsets else None
    e2e = offsets[-1] / 1000 if offsets else None
    decode = (n - 1) * 1000 / (e2e - ttft) if n >= 2 and e2e and ttft is not None else None
    return RequestRecord(
        run_id=1, seq=seq, model="m", prompt="p", task="qa", repeat=seq, warmup=warmup,
        ok=ok, error=error, finish_reason=finish if ok else (finish if finish == "cancelled" else "error"),
        started_at="", ttft_ms=ttft, e2e_ms=e2e, decode_tps=decode,
        tpot_ms=None if decode is None else 1000 / decode, n_out=n if ok else 0,
        t_send_ns=t_send, token_us=offsets, token_n=[1] * n, level=level,
        t_sched_us=int(sched_ms * 1000), dispatch_lag_us=int(lag_ms * 1000), queue_us=int(lag_ms * 1000),
    )  # fmt: skip


def level_records() -> list[RequestRecord]:
    return [
        # A: sent when due; tokens at 100, 200, 300 ms
        rec(0, sched_ms=0, tokens_ms=(100, 200, 300)),
        # B: due at 0, waited 50 ms for a slot; tokens at 250 .. 850 ms
        rec(1, sched_ms=0, lag_ms=50, tokens_ms=(250, 450, 650, 850)),
        # C: A's user again, at 300 ms; tokens at 1400 and 1500 ms
        rec(2, sched_ms=300, tokens_ms=(1400, 1500)),
        # D: failed without a token
        rec(3, sched_ms=850, ok=False, error="http 503: server overloaded"),
        # a cancelled request and a warm-up: in neither the counts nor the timings
        rec(4, sched_ms=900, ok=False, finish="cancelled", tokens_ms=(1600,)),
        rec(5, sched_ms=-500, tokens_ms=(-400, -300), warmup=True),
        # another level's request
        rec(6, sched_ms=0, tokens_ms=(9000, 9100), level="c=4"),
    ]


SLO = {"ttft_ms": 300.0, "e2e_ms": None, "decode_tps": 8.0, "percentile": 50.0}


def context(**over: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "model": "m", "level": "c=2", "index": 1, "kind": "concurrency", "target": 2.0,
        "max_concurrency": None, "slo": SLO,
    }  # fmt: skip
    return ctx | over


def test_level_figures_match_hand_computation() -> None:
    s = summarize_level(context(), level_records())
    assert (s.sent, s.completed, s.failed, s.cancelled) == (5, 3, 1, 1)
    assert s.errors == {"http 503": 1}
    # D: the last token of any attempted request (C at 1500 ms) - the first send (A at 0)
    assert s.duration_s == pytest.approx(1.5)
    assert s.output_tokens == 3 + 4 + 2
    assert s.request_tps == pytest.approx(3 / 1.5)
    assert s.output_tps == pytest.approx(9 / 1.5)
    # one whole second in D: [0, 1 s) holds A's 3 tokens and B's 4
    assert s.peak_output_tps == 7.0
    # Little's law: (300 - 0) + (850 - 0) + (1500 - 300) ms over 1500 ms
    assert s.achieved_concurrency == pytest.approx(2350 / 1500)
    # TTFT from the scheduled send: 100, 250 (50 of them queued), 1100
    assert s.ttft_ms["n"] == 3 and s.ttft_ms["p50"] == pytest.approx(250)
    assert s.ttft_ms["p90"] == pytest.approx(250 + 0.8 * (1100 - 250))
    assert s.ttft_send_ms["p50"] == pytest.approx(200)
    assert s.e2e_ms["p50"] == pytest.approx(850) and s.e2e_send_ms["p50"] == pytest.approx(800)
    # ITL pooled: A 100, 100; B 200, 200, 200; C 100
    assert s.itl_ms["n"] == 6 and s.itl_ms["p50"] == pytest.approx(150)
    assert s.tpot_ms["p50"] == pytest.approx(100)
    # lag over the 4 attempted requests: 0, 50, 0, 0
    assert s.dispatch_lag_ms["n"] == 4 and s.dispatch_lag_ms["p50"] == 0
    assert s.dispatch_lag_ms["p99"] == pytest.approx(0 + 0.97 * 50)
    # SLO: A is good (TTFT 100 <= 300, 10 tok/s >= 8); B decodes at 5 tok/s; C's first
    # token comes at 1100 ms; D failed: 1 good of 4 attempted, under the 50% asked
    assert s.good == 1
    assert s.goodput == pytest.approx(1 / 1.5)
    assert s.good_share == pytest.approx(0.25)
    assert s.meets_slo is False
    assert s.slo_figures["ttft_ms"] == pytest.approx(250)  # p50
    assert s.slo_figures["decode_tps"] == pytest.approx(10)  # p50 of 10, 5, 10
    d = s.as_dict()
    assert d["level"] == "c=2" and d["name"] == "2 users" and d["target_rate_rps"] is None
    assert d["output_throughput_tps"] == 6.0 and d["good_share"] == 0.25


def test_open_loop_rate_and_short_levels() -> None:
    rs = [
        rec(0, sched_ms=0, tokens_ms=(100, 150), level="r=4"),
        rec(1, sched_ms=250, lag_ms=10, tokens_ms=(400, 450), level="r=4"),
        rec(2, sched_ms=500, lag_ms=20, tokens_ms=(700, 750), level="r=4"),
    ]
    s = summarize_level(context(level="r=4", kind="rate", target=4.0, slo=None), rs)
    # sends at 0, 260, 520 ms: 2 gaps in 520 ms
    assert s.achieved_rate == pytest.approx(2 / 0.52)
    assert s.duration_s == pytest.approx(0.75)
    assert s.peak_output_tps is None  # under a second: no whole bucket
    assert s.good is None and s.goodput is None and s.meets_slo is None
    assert s.as_dict()["target_rate_rps"] == 4.0 and s.name == "4 requests/s"


def test_a_truncated_or_flagged_request_is_never_good() -> None:
    truncated = rec(
        0, sched_ms=0, tokens_ms=(10, 20), ok=False, error="stream closed before finish"
    )
    flagged = rec(1, sched_ms=0, tokens_ms=(10, 20))
    flagged.flags = ["cache_hit"]
    fine = rec(2, sched_ms=0, tokens_ms=(10, 20))
    one_token = rec(3, sched_ms=0, tokens_ms=(10,))  # no decode rate to meet 8 tok/s with
    s = summarize_level(context(), [truncated, flagged, fine, one_token])
    assert s.good == 1 and s.good_share == pytest.approx(0.25)
    assert s.errors == {"stream closed before finish": 1}


def test_error_classes_and_percentiles() -> None:
    assert error_class("http 429: rate limited (retry after 2 s)") == "http 429"
    assert error_class("timeout: no first token after 5 s") == "timeout"
    assert error_class("connect: connection refused") == "connect"
    assert error_class("mock failure injected for prompt 'x'") == "mock failure injected for"
    assert error_class(None) == "unknown error"
    assert percentiles([]) == {"n": 0, "p50": None, "p90": None, "p99": None}
    assert percentiles([1.0, 2.0, 3.0, None]) == {"n": 3, "p50": 2.0, "p90": 2.8, "p99": 2.98}


def lvl(target: float, tps: float | None, e2e_p90: float | None, **over: Any) -> LevelSummary:
    base: dict[str, Any] = dict(
        model="m", level=f"c={target:g}", index=0, kind="concurrency", target=target, sent=10,
        completed=10, failed=0, cancelled=0, errors={}, duration_s=1.0, request_tps=1.0,
        output_tps=tps, peak_output_tps=None, output_tokens=100, ttft_ms={}, e2e_ms={"p90": e2e_p90},
        ttft_send_ms={}, e2e_send_ms={}, itl_ms={}, tpot_ms={}, dispatch_lag_ms={}, queue_ms={},
        achieved_concurrency=None, achieved_rate=None, max_concurrency=None, slo=None, good=None,
        goodput=None, good_share=None, meets_slo=None,
    )  # fmt: skip
    return LevelSummary(**(base | over))


def test_knee_is_where_throughput_stops_growing_while_latency_grows() -> None:
    levels = [lvl(1, 100, 100), lvl(2, 190, 105), lvl(4, 200, 200), lvl(8, 202, 400)]
    k = knee(levels)
    assert k is not None and k.at.target == 2 and k.next.target == 4
    assert k.growth_per_doubling == pytest.approx(200 / 190 - 1)
    assert KNEE_GROWTH == 0.10
    assert knee_text(levels).startswith(
        "knee at 2 users: at 4 users output throughput changes by +5%"
    )
    # two doublings at once: growth per doubling is the square root of the ratio
    assert knee([lvl(2, 100, 100), lvl(8, 130, 300)]) is None  # sqrt(1.3) - 1 = 14%
    k = knee([lvl(2, 100, 100), lvl(8, 115, 300)])
    assert k is not None and k.growth_per_doubling == pytest.approx(1.15**0.5 - 1)
    # flat throughput with flat latency is no knee (nothing is queueing)
    assert knee([lvl(1, 100, 100), lvl(2, 101, 100)]) is None
    assert knee_text([lvl(1, 100, 100)]) == "no knee: one level tells no trend"
    assert knee_text([lvl(1, 100, 100), lvl(2, 200, 110)]).startswith("no knee within")


SLO90 = {"ttft_ms": 500.0, "e2e_ms": None, "decode_tps": 20.0, "percentile": 90.0}


def slo_lvl(target: float, meets: bool, ttft: float, tps: float, **over: Any) -> LevelSummary:
    over = {"good_share": 1.0 if meets else 0.5} | over
    return lvl(
        target, 100 * target, 100 * target, slo=SLO90, meets_slo=meets,
        slo_figures={"ttft_ms": ttft, "decode_tps": tps}, **over,
    )  # fmt: skip


def test_capacity_sentence_with_slos() -> None:
    levels = [
        slo_lvl(1, True, 120, 40),
        slo_lvl(2, True, 300, 30),
        slo_lvl(4, False, 1400, 25),
        slo_lvl(8, True, 450, 21),  # a lucky level past a failing one does not count
    ]
    assert capacity("smol", levels, SLO90) == (
        "smol holds 2 users at once with first token < 500 ms and ≥ 20 tok/s each for 90% "
        "of requests; at 4 users, TTFT p90 reaches 1.4 s"
    )
    assert capacity("smol", [slo_lvl(1, False, 800, 12)], SLO90) == (
        "smol does not meet the SLOs (first token < 500 ms and ≥ 20 tok/s each for 90% of "
        "requests) even at 1 user: TTFT p90 reaches 800 ms, decode for 90% of requests "
        "falls to 12.0 tok/s"
    )
    assert capacity("smol", levels[:2], SLO90) == (
        "smol meets the SLOs (first token < 500 ms and ≥ 20 tok/s each for 90% of requests) "
        "at every level tried, up to 2 users: try higher"
    )
    # failures, and a joint miss where no single percentile breaks
    failing = slo_lvl(4, False, 300, 30, failed=3, sent=10)
    assert capacity("smol", [levels[0], failing], SLO90).endswith(
        "at 4 users, 3 of 10 requests failed"
    )
    joint = slo_lvl(4, False, 300, 30, good_share=0.85)
    assert capacity("smol", [levels[0], joint], SLO90).endswith(
        "at 4 users, only 85% of requests meet every target"
    )
    rate = [
        slo_lvl(0.5, True, 100, 30, kind="rate"),
        slo_lvl(2, False, 900, 30, kind="rate"),
    ]
    assert capacity("srv", rate, SLO90) == (
        "srv holds 0.5 requests/s with first token < 500 ms and ≥ 20 tok/s each for 90% of "
        "requests; at 2 requests/s, TTFT p90 reaches 900 ms"
    )


def test_capacity_sentence_without_slos() -> None:
    levels = [lvl(1, 100, 100), lvl(2, 190, 105), lvl(4, 200, 200)]
    text = capacity("m", levels, None)
    assert text == (
        "m: output throughput levels off after 2 users at 190.0 tok/s (1.00 requests/s); at "
        "4 users it is 200.0 tok/s while the end-to-end p90 rises from 105 ms to 200 ms "
        "(no [slo] in the plan: from throughput and latency alone)"
    )
    growing = [lvl(1, 100, 100), lvl(2, 200, 110)]
    assert capacity("m", growing, None) == (
        "m: output throughput still grows at the highest level tried (2 users: 200.0 tok/s, "
        "end-to-end p90 110 ms): try higher (no [slo] in the plan: from throughput and latency "
        "alone)"
    )
    assert "one level tells no trend" in capacity("m", [lvl(1, 100, 100)], None)
    assert capacity("m", [], None) == "m: no load level ran, so there is no capacity to tell"
