"""One finished request, as stored, reported and exported.

A :class:`RequestRecord` keeps the raw timestamp series beside the metrics derived from
it, so that any figure can be recomputed from what was measured.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tui_bench.core.metrics import EngineCounters, RawTiming, compute, validity_flags

if TYPE_CHECKING:
    from tui_bench.core.telemetry import Peaks


@dataclass
class GenOutcome:
    """What a backend hands back for one request (successful or not)."""

    raw: RawTiming
    n_in: int | None = None
    n_in_source: str | None = None
    n_out: int = 0
    n_out_source: str = "engine"
    n_out_other: int | None = None
    finish_reason: str | None = None
    text: str = ""
    engine: EngineCounters | None = None
    peak_rss_kb: int | None = None
    cached_tokens: int | None = None
    error: str | None = None


@dataclass
class RequestRecord:
    run_id: int
    seq: int
    model: str
    prompt: str
    task: str
    repeat: int
    warmup: bool
    ok: bool
    error: str | None
    finish_reason: str | None
    started_at: str
    ttfr_ms: float | None = None
    ttft_ms: float | None = None
    e2e_ms: float | None = None
    tpot_ms: float | None = None
    decode_tps: float | None = None
    prefill_tps: float | None = None
    n_in: int | None = None
    n_in_source: str | None = None
    n_out: int = 0
    n_out_source: str | None = None
    load_ms: float | None = None
    peak_rss_kb: int | None = None
    vram_peak_mb: float | None = None
    vram_proc_peak_mb: float | None = None
    # energy of the model's GPUs (core/energy.py): joules from t_send to the last token,
    # of the prefill (to the first token) and of the decode; the idle baseline then known
    energy_j: float | None = None
    energy_prefill_j: float | None = None
    energy_decode_j: float | None = None
    energy_idle_w: float | None = None
    engine: EngineCounters | None = None
    flags: list[str] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)
    text: str = ""
    # raw series: offsets from t_send in microseconds
    t_send_ns: int | None = None
    t_first_response_us: int | None = None
    token_us: list[int] = field(default_factory=list)
    token_n: list[int] = field(default_factory=list)
    # load tests (core/load): the level; when the request was due (us after the level's
    # first scheduled send); t_send - t_scheduled, and the part of it spent queued for a
    # backend that serves fewer requests at once than were sent
    level: str | None = None
    t_sched_us: int | None = None
    dispatch_lag_us: int | None = None
    queue_us: int | None = None

    @property
    def dispatch_lag_ms(self) -> float | None:
        return None if self.dispatch_lag_us is None else self.dispatch_lag_us / 1000

    @property
    def ttft_sched_ms(self) -> float | None:
        """TTFT from the scheduled send: queueing anywhere is not hidden (coordinated omission)."""
        return _plus(self.ttft_ms, self.dispatch_lag_ms)

    @property
    def e2e_sched_ms(self) -> float | None:
        return _plus(self.e2e_ms, self.dispatch_lag_ms)

    @property
    def itl_ms(self) -> list[float]:
        us = self.token_us
        return [(b - a) / 1000.0 for a, b in itertools.pairwise(us)]

    @property
    def engine_decode_tps(self) -> float | None:
        return self.engine.decode_tps if self.engine else None

    # -- energy, derived from the stored joules and timings ------------------------------

    @property
    def energy_w(self) -> float | None:
        """Average watts from t_send to the last token."""
        return _per(self.energy_j, None if self.e2e_ms is None else self.e2e_ms / 1000)

    @property
    def energy_j_per_token(self) -> float | None:
        """Joules per output token, the prompt's processing included."""
        return _per(self.energy_j, self.n_out)

    @property
    def energy_prefill_j_per_token(self) -> float | None:
        """Prefill joules per prompt token."""
        return _per(self.energy_prefill_j, self.n_in)

    @property
    def energy_decode_j_per_token(self) -> float | None:
        """Decode joules per token after the first (as decode tok/s counts them)."""
        return _per(self.energy_decode_j, self.n_out - 1)

    @property
    def energy_prefill_w(self) -> float | None:
        return _per(self.energy_prefill_j, None if self.ttft_ms is None else self.ttft_ms / 1000)

    @property
    def energy_decode_w(self) -> float | None:
        if self.e2e_ms is None or self.ttft_ms is None:
            return None
        return _per(self.energy_decode_j, (self.e2e_ms - self.ttft_ms) / 1000)

    @property
    def energy_net_j(self) -> float | None:
        """Joules net of the idle baseline's draw over the same time."""
        if self.energy_j is None or self.energy_idle_w is None or self.e2e_ms is None:
            return None
        return self.energy_j - self.energy_idle_w * self.e2e_ms / 1000

    @property
    def energy_net_w(self) -> float | None:
        w = self.energy_w
        return None if w is None or self.energy_idle_w is None else w - self.energy_idle_w

    @property
    def energy_net_j_per_token(self) -> float | None:
        return _per(self.energy_net_j, self.n_out)

    def to_dict(self, *, raw: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seq": self.seq,
            "model": self.model,
            "prompt": self.prompt,
            "task": self.task,
            "repeat": self.repeat,
            "warmup": self.warmup,
            "ok": self.ok,
            "error": self.error,
            "finish_reason": self.finish_reason,
            "started_at": self.started_at,
            "ttfr_ms": _r(self.ttfr_ms),
            "ttft_ms": _r(self.ttft_ms),
            "e2e_ms": _r(self.e2e_ms),
            "tpot_ms": _r(self.tpot_ms),
            "decode_tps": _r(self.decode_tps),
            "prefill_tps": _r(self.prefill_tps),
            "n_in": self.n_in,
            "n_in_source": self.n_in_source,
            "n_out": self.n_out,
            "n_out_source": self.n_out_source,
            "load_ms": _r(self.load_ms),
            "peak_rss_kb": self.peak_rss_kb,
            "vram_peak_mb": _r(self.vram_peak_mb),
            "vram_proc_peak_mb": _r(self.vram_proc_peak_mb),
            **{k: _r(getattr(self, k), 6) for k in ENERGY_FIELDS},
            "engine": self.engine.as_dict() if self.engine else None,
            "engine_decode_tps": _r(self.engine_decode_tps),
            "flags": list(self.flags),
            "quality": {k: _r(v) for k, v in self.quality.items()},
            "text": self.text,
        }
        if self.level is not None:
            out |= {
                "level": self.level,
                "t_scheduled_ms": None if self.t_sched_us is None else self.t_sched_us / 1000,
                "dispatch_lag_ms": self.dispatch_lag_ms,
                "queue_ms": None if self.queue_us is None else self.queue_us / 1000,
                "ttft_from_scheduled_ms": _r(self.ttft_sched_ms),
                "e2e_from_scheduled_ms": _r(self.e2e_sched_ms),
            }
        if raw:
            out["raw"] = {
                "t_send_ns": self.t_send_ns,
                "t_first_response_us": self.t_first_response_us,
                "token_us": self.token_us,
                "token_n": self.token_n,
            }
        return out


# the energy figures a record's dict carries: measured, then derived
ENERGY_FIELDS = (
    "energy_j",
    "energy_prefill_j",
    "energy_decode_j",
    "energy_idle_w",
    "energy_w",
    "energy_j_per_token",
    "energy_prefill_j_per_token",
    "energy_decode_j_per_token",
    "energy_prefill_w",
    "energy_decode_w",
    "energy_net_j",
    "energy_net_w",
    "energy_net_j_per_token",
)


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _plus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _per(value: float | None, amount: float | None) -> float | None:
    return None if value is None or amount is None or amount <= 0 else value / amount


def build_record(
    *,
    run_id: int,
    seq: int,
    model: str,
    prompt: str,
    task: str,
    repeat: int,
    warmup: bool,
    started_at: str,
    outcome: GenOutcome,
    prompt_cache: bool,
    load_ms: float | None,
    vram_peak_mb: float | None = None,
    vram_proc_peak_mb: float | None = None,
    peak_rss_kb: int | None = None,
    window: Peaks | None = None,
) -> RequestRecord:
    """Turn a backend's raw outcome into a record: metrics from timestamps, flags, status.
    ``window``: what telemetry saw during the request (memory peaks, energy, slowdowns)."""
    raw = outcome.raw
    if window is not None:
        vram_peak_mb, vram_proc_peak_mb = window.vram_used_mb, window.vram_proc_mb
        peak_rss_kb = window.rss_kb
    m = compute(raw, outcome.n_in, outcome.n_out)
    ok = outcome.error is None and outcome.finish_reason in ("stop", "length")
    flags: list[str] = []
    if outcome.error is None:
        flags = validity_flags(
            n_in=outcome.n_in,
            n_out=outcome.n_out,
            finish_reason=outcome.finish_reason,
            prompt_cache=prompt_cache,
            decode_tps=m.decode_tps,
            engine=outcome.engine,
            n_out_other=outcome.n_out_other,
            cached_tokens=outcome.cached_tokens,
        )
    rss = outcome.peak_rss_kb if outcome.peak_rss_kb is not None else peak_rss_kb
    energy = window.request_energy(raw) if window is not None and ok else None
    if energy is not None:
        flags += energy.flags
    return RequestRecord(
        run_id=run_id,
        seq=seq,
        model=model,
        prompt=prompt,
        task=task,
        repeat=repeat,
        warmup=warmup,
        ok=ok,
        error=outcome.error,
        finish_reason=outcome.finish_reason or ("error" if outcome.error else None),
        started_at=started_at,
        ttfr_ms=m.ttfr_ms,
        ttft_ms=m.ttft_ms,
        e2e_ms=m.e2e_ms,
        tpot_ms=m.tpot_ms,
        decode_tps=m.decode_tps,
        prefill_tps=m.prefill_tps,
        n_in=outcome.n_in,
        n_in_source=outcome.n_in_source,
        n_out=outcome.n_out,
        n_out_source=outcome.n_out_source,
        load_ms=load_ms,
        peak_rss_kb=rss,
        vram_peak_mb=vram_peak_mb,
        vram_proc_peak_mb=vram_proc_peak_mb,
        energy_j=energy.energy_j if energy else None,
        energy_prefill_j=energy.prefill_j if energy else None,
        energy_decode_j=energy.decode_j if energy else None,
        energy_idle_w=energy.idle_w if energy else None,
        engine=outcome.engine,
        flags=flags,
        text=outcome.text,
        t_send_ns=raw.t_send_ns,
        t_first_response_us=None
        if raw.t_first_response_ns is None
        else (raw.t_first_response_ns - raw.t_send_ns) // 1000,
        token_us=raw.offsets_us(),
        token_n=list(raw.token_n),
    )


def failed_record(
    *,
    run_id: int,
    seq: int,
    model: str,
    prompt: str,
    task: str,
    repeat: int,
    warmup: bool,
    started_at: str,
    error: str,
    finish_reason: str = "error",
    load_ms: float | None = None,
) -> RequestRecord:
    return RequestRecord(
        run_id=run_id,
        seq=seq,
        model=model,
        prompt=prompt,
        task=task,
        repeat=repeat,
        warmup=warmup,
        ok=False,
        error=error,
        finish_reason=finish_reason,
        started_at=started_at,
        load_ms=load_ms,
    )
