"""Per-request metrics, computed from raw timestamps exactly as docs/metrics define them.

Every figure here is a pure function of the raw series a backend recorded
(``t_send``, ``t_first_response``, and ``(t, n_tokens)`` for each content-bearing token or
chunk), so a definition can be re-applied to runs stored long ago.

- ``ttfr_ms``   first response event of any kind - t_send
- ``ttft_ms``   first content token - t_send
- ``e2e_ms``    last content token - t_send
- ``tpot_ms``   (e2e - ttft) / (n_out - 1), only when n_out >= 2
- ``decode_tps`` (n_out - 1) / (t_last - t_first): tokens/s after the first token
- ``prefill_tps`` n_in / ttft
- ``itl_ms``    gaps between consecutive content tokens/chunks
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000

# A request's client decode rate and the engine's own may differ by this much before the
# request is flagged (metrics: "disagree by more than 5%").
RATE_TOLERANCE = 0.05
# Two token counts may differ by this many tokens before the request is flagged.
COUNT_TOLERANCE = 1

FLAG_CACHE_HIT = "cache_hit"
FLAG_NO_FINISH = "no_finish_reason"
FLAG_TRUNCATED = "truncated"
FLAG_COUNT_MISMATCH = "n_out_mismatch"
FLAG_RATE_MISMATCH = "rate_mismatch"
# Not a validity problem: the request ran in a configuration the plan did not ask for,
# because the one it asked for crashed (the numbers are valid for that configuration).
FLAG_REPACK_OFF = "repack_off_fallback"

FLAG_TEXT = {
    FLAG_CACHE_HIT: "prompt served from a cache while the plan did not ask for caching",
    FLAG_NO_FINISH: "stream ended without a finish reason",
    FLAG_TRUNCATED: "stream was cut short",
    FLAG_COUNT_MISMATCH: "output token counts from two sources disagree by more than 1",
    FLAG_RATE_MISMATCH: "client decode rate and the engine's counter disagree by more than 5%",
    FLAG_REPACK_OFF: "measured with weight repacking off: with it on, the model crashed on this "
    "host (a different configuration from the plan's)",
}


@dataclass
class RawTiming:
    """What a backend measured for one request, on the ``perf_counter_ns`` clock."""

    t_send_ns: int
    t_first_response_ns: int | None = None
    token_t_ns: list[int] = field(default_factory=list)
    token_n: list[int] = field(default_factory=list)

    def offsets_us(self) -> list[int]:
        """Token times relative to t_send in microseconds (the stored, compact form)."""
        return [(t - self.t_send_ns) // 1000 for t in self.token_t_ns]


@dataclass
class EngineCounters:
    """llama.cpp's own counters for one request (``llama_perf_context`` / sampler)."""

    n_p_eval: int
    t_p_eval_ms: float
    n_eval: int
    t_eval_ms: float
    n_sample: int | None = None
    t_sample_ms: float | None = None
    n_reused: int | None = None

    @property
    def eval_tps(self) -> float | None:
        """Pure decode rate of the engine (generated tokens per second, sampling excluded)."""
        if self.n_eval <= 0 or self.t_eval_ms <= 0:
            return None
        return self.n_eval * 1000.0 / self.t_eval_ms

    @property
    def decode_tps(self) -> float | None:
        """The engine's decode + sampling rate over the same tokens the client rate covers.

        The client's interval (first token -> last token) holds ``n_eval`` decodes and as
        many samples; the sampler counter also holds the first token's sample, so its
        share is ``t_sample * n_eval / n_sample``.
        """
        if self.n_eval <= 0 or self.t_eval_ms <= 0:
            return None
        t = self.t_eval_ms
        if self.t_sample_ms is not None and self.n_sample:
            t += self.t_sample_ms * self.n_eval / self.n_sample
        return self.n_eval * 1000.0 / t

    @property
    def prefill_tps(self) -> float | None:
        if self.n_p_eval <= 0 or self.t_p_eval_ms <= 0:
            return None
        return self.n_p_eval * 1000.0 / self.t_p_eval_ms

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_p_eval": self.n_p_eval,
            "t_p_eval_ms": round(self.t_p_eval_ms, 4),
            "n_eval": self.n_eval,
            "t_eval_ms": round(self.t_eval_ms, 4),
            "n_sample": self.n_sample,
            "t_sample_ms": None if self.t_sample_ms is None else round(self.t_sample_ms, 4),
            "n_reused": self.n_reused,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EngineCounters | None:
        if not data:
            return None
        return cls(
            n_p_eval=int(data["n_p_eval"]),
            t_p_eval_ms=float(data["t_p_eval_ms"]),
            n_eval=int(data["n_eval"]),
            t_eval_ms=float(data["t_eval_ms"]),
            n_sample=data.get("n_sample"),
            t_sample_ms=data.get("t_sample_ms"),
            n_reused=data.get("n_reused"),
        )


@dataclass
class RequestMetrics:
    ttfr_ms: float | None
    ttft_ms: float | None
    e2e_ms: float | None
    tpot_ms: float | None
    decode_tps: float | None
    prefill_tps: float | None
    itl_ms: list[float]


def compute(raw: RawTiming, n_in: int | None, n_out: int) -> RequestMetrics:
    """Apply the definitions to one request's raw series."""
    t0 = raw.t_send_ns
    ttfr = None if raw.t_first_response_ns is None else (raw.t_first_response_ns - t0) / NS_PER_MS
    times = raw.token_t_ns
    if not times:
        return RequestMetrics(ttfr, None, None, None, None, None, [])
    t_first, t_last = times[0], times[-1]
    ttft = (t_first - t0) / NS_PER_MS
    e2e = (t_last - t0) / NS_PER_MS
    tpot = decode = None
    if n_out >= 2 and t_last > t_first:
        tpot = (e2e - ttft) / (n_out - 1)
        decode = (n_out - 1) * NS_PER_S / (t_last - t_first)
    prefill = n_in * 1000.0 / ttft if n_in and ttft > 0 else None
    itl = [(b - a) / NS_PER_MS for a, b in itertools.pairwise(times)]
    return RequestMetrics(ttfr, ttft, e2e, tpot, decode, prefill, itl)


def validity_flags(
    *,
    n_in: int | None,
    n_out: int,
    finish_reason: str | None,
    prompt_cache: bool,
    decode_tps: float | None,
    engine: EngineCounters | None,
    n_out_other: int | None = None,
    cached_tokens: int | None = None,
) -> list[str]:
    """The validity flags of metrics ("a fast wrong answer is not a result")."""
    flags: list[str] = []
    if not prompt_cache:
        engine_hit = engine is not None and n_in is not None and engine.n_p_eval < n_in
        if engine_hit or (cached_tokens or 0) > 0:
            flags.append(FLAG_CACHE_HIT)
    if finish_reason is None:
        flags.append(FLAG_NO_FINISH)
    elif finish_reason == "truncated":
        flags.append(FLAG_TRUNCATED)
    if n_out_other is not None and abs(n_out_other - n_out) > COUNT_TOLERANCE:
        flags.append(FLAG_COUNT_MISMATCH)
    engine_rate = engine.decode_tps if engine is not None else None
    if decode_tps and engine_rate and abs(decode_tps - engine_rate) / engine_rate > RATE_TOLERANCE:
        flags.append(FLAG_RATE_MISMATCH)
    return flags
