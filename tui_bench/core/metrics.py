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

from tui_bench.core.energy import FLAG_ENERGY_SHORT, FLAG_GPU_PARTIAL, FLAG_THROTTLED

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
    FLAG_ENERGY_SHORT: "shorter than two updates of the GPU energy counter: no energy figure",
    FLAG_GPU_PARTIAL: "a GPU stopped answering NVML during the request: its last readings stood "
    "in (VRAM may be stale), and no energy figure is given (it would be under-counted)",
    FLAG_THROTTLED + "power": "the GPU held its clocks down to stay under its power limit",
    FLAG_THROTTLED + "thermal": "the GPU slowed its clocks because it ran hot",
    FLAG_THROTTLED + "hw_thermal": "the GPU's hardware slowed its clocks because it ran hot",
    FLAG_THROTTLED + "hw_slowdown": "the GPU's hardware slowed its clocks (power or heat)",
    FLAG_THROTTLED + "hw_power_brake": "an external power brake slowed the GPU",
    FLAG_THROTTLED + "sync_boost": "the GPU's clocks were held to its sync-boost group's slowest",
    FLAG_THROTTLED + "board_limit": "the board's limits slowed the GPU's clocks",
    FLAG_THROTTLED + "reliability": "the GPU slowed its clocks for reliability",
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


ORIGIN_SERVER = "server"  # a server's own timings (llama-server's ``timings``)
ORIGIN_CLIENT = "client"  # over HTTP, no server timings: only the client's network times


@dataclass
class EngineCounters:
    """The engine's own counters for one request, beside the client's timestamps.

    In process (``origin`` None): llama.cpp's ``llama_perf_context`` / sampler. Over HTTP
    (``origin`` "server"): the server's ``timings`` as it reports them (llama-server:
    ``prompt_n``/``prompt_ms`` as ``n_p_eval``/``t_p_eval_ms``, ``predicted_n``/``predicted_ms``
    as ``n_eval``/``t_eval_ms``, ``cache_n`` as ``n_cached``); a server that reports none
    leaves them None (``origin`` "client"). ``net`` holds the request's network times
    (connect, TLS, response headers), measured by the client.
    """

    n_p_eval: int | None
    t_p_eval_ms: float | None
    n_eval: int | None
    t_eval_ms: float | None
    n_sample: int | None = None
    t_sample_ms: float | None = None
    n_reused: int | None = None
    origin: str | None = None
    n_cached: int | None = None
    net: dict[str, Any] | None = None
    # a prompt count from the client's tokenizer: exact (the server's own template and
    # vocabulary) or an estimate (a template rendered differently); None: not counted so
    n_in_exact: bool | None = None
    # in process: the worker's own stamps around the sample calls inside the client's
    # interval (tokens 2..n). llama.cpp's sampler counter leaves out fetching the logits
    # and building the candidate array (one entry per vocabulary token), which the
    # client's interval holds: about 0.15 ms a token for a 49k vocabulary on a CPU
    t_sample_call_ms: float | None = None
    # ... and around the decode calls between those tokens (``n_decode_call`` of them, one
    # per token after the first). llama.cpp's ``t_eval`` runs from a decode's start to the
    # logits' synchronisation (inside the next sample call) and leaves out part of its own
    # work around each decode (25-90 us a token measured on a CPU), which the client's
    # interval holds; with both stamps, client and engine cover the same calls, and what
    # is left between them is the worker's own loop
    t_decode_call_ms: float | None = None
    n_decode_call: int | None = None
    # over HTTP, where the server says it (tui-bench's launcher with ``--timings on``:
    # ``wall_ms``): its own time from taking the request to its last chunk. llama-server
    # proper reports none, so its overhead cannot be told from the transport's
    server_wall_ms: float | None = None

    @property
    def _decodes(self) -> int | None:
        """Decodes after the first token within ``t_eval_ms``: llama-server counts the first
        token in ``predicted_n`` but starts ``predicted_ms`` once it is sampled."""
        if self.n_eval is None:
            return None
        return self.n_eval - 1 if self.origin == ORIGIN_SERVER else self.n_eval

    @property
    def eval_tps(self) -> float | None:
        """Pure decode rate of the engine (generated tokens per second, sampling excluded)."""
        n = self._decodes
        if n is None or n <= 0 or not self.t_eval_ms or self.t_eval_ms <= 0:
            return None
        return n * 1000.0 / self.t_eval_ms

    @property
    def decode_tps(self) -> float | None:
        """The engine's decode + sampling rate over the same tokens the client rate covers.

        The client's interval (first token -> last token) holds ``n_eval`` decodes and as
        many samples. Where the worker stamped its decode and sample calls inside that
        interval (``t_decode_call_ms``, ``n_decode_call``, ``t_sample_call_ms``), the rate
        is those calls' own: ``n_decode_call / (t_decode_call + t_sample_call)``. Else
        llama.cpp's ``t_eval`` plus the stamped sample calls, or the sampler counter's
        share, which also holds the first token's sample: ``t_sample * n_eval / n_sample``.
        """
        if (
            self.n_decode_call
            and self.t_decode_call_ms
            and self.t_sample_call_ms is not None
            and self.t_decode_call_ms + self.t_sample_call_ms > 0
        ):
            return self.n_decode_call * 1000.0 / (self.t_decode_call_ms + self.t_sample_call_ms)
        n = self._decodes
        if n is None or n <= 0 or not self.t_eval_ms or self.t_eval_ms <= 0:
            return None
        t = self.t_eval_ms
        if self.t_sample_call_ms is not None:
            t += self.t_sample_call_ms
        elif self.t_sample_ms is not None and self.n_sample:
            t += self.t_sample_ms * n / self.n_sample
        return n * 1000.0 / t

    @property
    def prefill_tps(self) -> float | None:
        if not self.n_p_eval or self.n_p_eval <= 0 or not self.t_p_eval_ms:
            return None
        return self.n_p_eval * 1000.0 / self.t_p_eval_ms

    def as_dict(self, *, rounded: bool = True) -> dict[str, Any]:
        """The counters as reports show them (times to 4 decimals), or as measured
        (``rounded=False``: what history keeps, so that rates computed from a stored
        record are those of the live one)."""
        r = _round if rounded else _same
        out: dict[str, Any] = {
            "n_p_eval": self.n_p_eval,
            "t_p_eval_ms": r(self.t_p_eval_ms),
            "n_eval": self.n_eval,
            "t_eval_ms": r(self.t_eval_ms),
            "n_sample": self.n_sample,
            "t_sample_ms": r(self.t_sample_ms),
            "n_reused": self.n_reused,
        }
        # only where set: an in-process record keeps the shape it always had
        if self.t_sample_call_ms is not None:
            out["t_sample_call_ms"] = r(self.t_sample_call_ms)
        if self.t_decode_call_ms is not None:
            out["t_decode_call_ms"] = r(self.t_decode_call_ms)
            out["n_decode_call"] = self.n_decode_call
        if self.server_wall_ms is not None:
            out["server_wall_ms"] = r(self.server_wall_ms)
        for key in ("origin", "n_cached", "net", "n_in_exact"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EngineCounters | None:
        if not data:
            return None
        return cls(
            n_p_eval=_opt(int, data.get("n_p_eval")),
            t_p_eval_ms=_opt(float, data.get("t_p_eval_ms")),
            n_eval=_opt(int, data.get("n_eval")),
            t_eval_ms=_opt(float, data.get("t_eval_ms")),
            n_sample=data.get("n_sample"),
            t_sample_ms=data.get("t_sample_ms"),
            t_sample_call_ms=_opt(float, data.get("t_sample_call_ms")),
            t_decode_call_ms=_opt(float, data.get("t_decode_call_ms")),
            n_decode_call=_opt(int, data.get("n_decode_call")),
            server_wall_ms=_opt(float, data.get("server_wall_ms")),
            n_reused=data.get("n_reused"),
            origin=data.get("origin"),
            n_cached=data.get("n_cached"),
            net=data.get("net"),
            n_in_exact=data.get("n_in_exact"),
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _same(value: float | None) -> float | None:
    return value


def _opt(kind: type, value: Any) -> Any:
    return None if value is None else kind(value)


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
        engine_hit = (
            engine is not None
            and engine.n_p_eval is not None
            and n_in is not None
            and engine.n_p_eval < n_in
        )
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
