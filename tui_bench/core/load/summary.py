"""A load level's figures, computed from its stored records and its context alone, so a
run rebuilt from history gives the same figures as the live one.

Definitions (metrics.md, "Run-level figures"; the report repeats them):

- measured: the level's requests not flagged ``warmup``; cancelled ones are counted
  apart, the rest are attempted: completed (ok) or failed, failures by error class.
- ``D`` = the last token of any attempted request − the first send.
- request throughput = completed / D; output throughput = Σ n_out of completed / D;
  peak output tok/s = the most tokens in one whole second, counting seconds from the
  first send (none when D is under a second).
- TTFT and E2E are measured from the *scheduled* send (t_send − dispatch lag), so a
  request that waited for the client or for a backend slot shows it; from t_send too.
  ITL (pooled gaps) and TPOT as metrics.md defines them. Percentiles with numpy's linear
  interpolation over the completed requests whose timings are valid, with their n.
- achieved concurrency (Little's law) = Σ over completed requests of (last token −
  scheduled send, from D's start at the earliest) / D: how many were in flight on
  average, queued ones included; it cannot exceed a closed loop's users.
- achieved rate (open loop) = (sent − 1) / (last send − first send).
- dispatch lag = t_send − t_scheduled; queue = the part of it spent waiting for a backend
  that serves fewer requests at once than were sent.
- goodput = requests meeting every SLO / D, and their share of the attempted ones; a
  failed, truncated or invalid-flagged request is never good, nor one without a decode
  rate (one token) when the SLO sets one. A level meets the SLOs when that share is at
  least the SLO's percentile.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.load.spec import level_name
from tui_bench.core.results import RequestRecord
from tui_bench.core.summary import INVALIDATING

NS_PER_S = 1_000_000_000
PERCENTILES = (50, 90, 99)


def percentiles(
    values: Sequence[float | None], ps: Sequence[float] = PERCENTILES
) -> dict[str, Any]:
    """``{"n": n, "p50": ..., "p90": ..., "p99": ...}`` (numpy's linear interpolation)."""
    xs = [v for v in values if v is not None]
    out: dict[str, Any] = {"n": len(xs)}
    if not xs:
        return out | {f"p{p:g}": None for p in ps}
    import numpy as np

    for p, v in zip(ps, np.percentile(np.asarray(xs, dtype=float), list(ps)), strict=True):
        out[f"p{p:g}"] = float(v)
    return out


def error_class(error: str | None) -> str:
    """A failure's class: its text up to the first ``:`` or ``(`` (``http 503``, ``timeout``,
    ``connect``, ``stream closed before finish``), at most four words."""
    text = (error or "unknown error").strip()
    head = re.split(r"[:(]", text, maxsplit=1)[0].strip() or text
    words = head.split()
    return " ".join(words[:4])


def _t_sched(r: RequestRecord) -> int | None:
    if r.t_send_ns is None:
        return None
    return r.t_send_ns - (r.dispatch_lag_us or 0) * 1000


def _t_last(r: RequestRecord) -> int | None:
    if r.t_send_ns is None or not r.token_us:
        return None
    return r.t_send_ns + r.token_us[-1] * 1000


def valid(r: RequestRecord) -> bool:
    return r.ok and not (INVALIDATING & set(r.flags))


def slo_met(r: RequestRecord, slo: dict[str, Any] | None) -> bool:
    """Whether one request meets every SLO (a failed or invalid one never does)."""
    if not valid(r) or not slo:
        return False
    checks = (
        (slo.get("ttft_ms"), r.ttft_sched_ms, False),
        (slo.get("e2e_ms"), r.e2e_sched_ms, False),
        (slo.get("decode_tps"), r.decode_tps, True),
    )
    for bound, value, minimum in checks:
        if bound is None:
            continue
        if value is None or (value < bound if minimum else value > bound):
            return False
    return True


@dataclass
class LevelSummary:
    model: str
    level: str
    index: int
    kind: str
    target: float
    sent: int
    completed: int
    failed: int
    cancelled: int
    errors: dict[str, int]
    duration_s: float | None
    request_tps: float | None  # completed requests per second
    output_tps: float | None
    peak_output_tps: float | None
    output_tokens: int
    ttft_ms: dict[str, Any]  # from the scheduled send
    e2e_ms: dict[str, Any]
    ttft_send_ms: dict[str, Any]  # from t_send
    e2e_send_ms: dict[str, Any]
    itl_ms: dict[str, Any]
    tpot_ms: dict[str, Any]
    dispatch_lag_ms: dict[str, Any]
    queue_ms: dict[str, Any]
    achieved_concurrency: float | None
    achieved_rate: float | None  # open loop: sends per second
    max_concurrency: int | None  # the backend's (1: it serves one request at a time)
    slo: dict[str, Any] | None
    good: int | None
    goodput: float | None  # requests meeting every SLO per second
    good_share: float | None
    meets_slo: bool | None
    slo_figures: dict[str, float | None] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return level_name(self.kind, self.target)

    @property
    def serialises(self) -> bool:
        return self.max_concurrency == 1

    def as_dict(self) -> dict[str, Any]:
        ctx = self.context
        out: dict[str, Any] = {
            "model": self.model,
            "level": self.level,
            "index": self.index,
            "kind": self.kind,
            "target": self.target,
            "name": self.name,
            "status": ctx.get("status", "completed"),
            "sent": self.sent,
            "completed": self.completed,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "errors": self.errors,
            "duration_s": _r(self.duration_s),
            "request_throughput_rps": _r(self.request_tps),
            "output_throughput_tps": _r(self.output_tps),
            "peak_output_tps": _r(self.peak_output_tps),
            "output_tokens": self.output_tokens,
            "ttft_ms": _rd(self.ttft_ms),
            "e2e_ms": _rd(self.e2e_ms),
            "ttft_from_send_ms": _rd(self.ttft_send_ms),
            "e2e_from_send_ms": _rd(self.e2e_send_ms),
            "itl_ms": _rd(self.itl_ms),
            "tpot_ms": _rd(self.tpot_ms),
            "dispatch_lag_ms": _rd(self.dispatch_lag_ms),
            "queue_ms": _rd(self.queue_ms),
            "achieved_concurrency": _r(self.achieved_concurrency),
            "target_rate_rps": self.target if self.kind == "rate" else None,
            "achieved_rate_rps": _r(self.achieved_rate),
            "backend_max_concurrency": self.max_concurrency,
            "slo": self.slo,
            "good": self.good,
            "goodput_rps": _r(self.goodput),
            "good_share": _r(self.good_share),
            "meets_slo": self.meets_slo,
            "slo_figures": {k: _r(v) for k, v in self.slo_figures.items()},
        }
        for key in ("bounds", "window", "energy", "server", "unique_prompts", "warmup_requests"):
            if key in ctx:
                out[key] = ctx[key]
        energy = ctx.get("energy") or {}
        if energy.get("energy_j") is not None and self.output_tokens:
            out["energy_j_per_output_token"] = round(energy["energy_j"] / self.output_tokens, 6)
        return out


def summarize_level(context: dict[str, Any], records: Sequence[RequestRecord]) -> LevelSummary:
    """The figures of one level: ``records`` may hold the whole run, the level's are picked
    by model and label."""
    model, label = context["model"], context["level"]
    mine = [r for r in records if r.model == model and r.level == label and not r.warmup]
    tried = [r for r in mine if r.finish_reason != "cancelled"]
    done = [r for r in tried if r.ok]
    timed = [r for r in done if valid(r)]
    failed = [r for r in tried if not r.ok]
    sends = [r.t_send_ns for r in tried if r.t_send_ns is not None]
    lasts = [t for t in map(_t_last, tried) if t is not None]
    t0 = min(sends) if sends else None
    d_ns = max(lasts) - t0 if t0 is not None and lasts and max(lasts) > t0 else None
    d_s = None if d_ns is None else d_ns / NS_PER_S
    out_tokens = sum(r.n_out for r in done)
    busy = 0
    for r in done:
        last, sched = _t_last(r), _t_sched(r)
        if last is not None and sched is not None and t0 is not None:
            busy += last - max(sched, t0)
    slo = context.get("slo")
    good = sum(1 for r in tried if slo_met(r, slo)) if slo else None
    itl: list[float] = []
    for r in timed:
        itl.extend(r.itl_ms)
    all_sends = sorted(r.t_send_ns for r in mine if r.t_send_ns is not None)
    rate = None
    if context["kind"] == "rate" and len(all_sends) >= 2 and all_sends[-1] > all_sends[0]:
        rate = (len(all_sends) - 1) * NS_PER_S / (all_sends[-1] - all_sends[0])
    share = None if good is None or not tried else good / len(tried)
    pct = float(slo.get("percentile", 90.0)) if slo else 90.0
    return LevelSummary(
        model=model,
        level=label,
        index=int(context.get("index", 0)),
        kind=context["kind"],
        target=float(context["target"]),
        sent=len(mine),
        completed=len(done),
        failed=len(failed),
        cancelled=len(mine) - len(tried),
        errors=dict(Counter(error_class(r.error) for r in failed).most_common()),
        duration_s=d_s,
        request_tps=None if not d_s else len(done) / d_s,
        output_tps=None if not d_s else out_tokens / d_s,
        peak_output_tps=_peak_bucket(done, t0, d_ns),
        output_tokens=out_tokens,
        ttft_ms=percentiles([r.ttft_sched_ms for r in timed]),
        e2e_ms=percentiles([r.e2e_sched_ms for r in timed]),
        ttft_send_ms=percentiles([r.ttft_ms for r in timed]),
        e2e_send_ms=percentiles([r.e2e_ms for r in timed]),
        itl_ms=percentiles(itl),
        tpot_ms=percentiles([r.tpot_ms for r in timed]),
        dispatch_lag_ms=percentiles([r.dispatch_lag_ms for r in tried]),
        queue_ms=percentiles([None if r.queue_us is None else r.queue_us / 1000 for r in tried]),
        achieved_concurrency=None if not d_ns else busy / d_ns,
        achieved_rate=rate,
        max_concurrency=context.get("max_concurrency"),
        slo=slo,
        good=good,
        goodput=None if good is None or not d_s else good / d_s,
        good_share=share,
        meets_slo=None if share is None else share >= pct / 100 - 1e-12,
        slo_figures=_slo_figures(timed, slo, pct) if slo else {},
        context=dict(context),
    )


def _peak_bucket(done: Sequence[RequestRecord], t0: int | None, d_ns: int | None) -> float | None:
    """The most output tokens in one whole second counted from ``t0`` (tokens/s)."""
    if t0 is None or d_ns is None or d_ns < NS_PER_S:
        return None
    whole = d_ns // NS_PER_S  # seconds [k, k+1) that lie inside D
    buckets = [0] * whole
    for r in done:
        if r.t_send_ns is None:
            continue
        for us, n in zip(r.token_us, r.token_n, strict=False):
            k = (r.t_send_ns + us * 1000 - t0) // NS_PER_S
            if 0 <= k < whole:
                buckets[k] += n
    return float(max(buckets))


def _slo_figures(
    timed: Sequence[RequestRecord], slo: dict[str, Any], pct: float
) -> dict[str, float | None]:
    """At the SLO's percentile: TTFT and E2E (from the scheduled send) that share of the
    requests stayed under, and the decode rate that share reached (its 100 − p percentile)."""
    out: dict[str, float | None] = {}
    if slo.get("ttft_ms") is not None:
        out["ttft_ms"] = percentiles([r.ttft_sched_ms for r in timed], [pct])[f"p{pct:g}"]
    if slo.get("e2e_ms") is not None:
        out["e2e_ms"] = percentiles([r.e2e_sched_ms for r in timed], [pct])[f"p{pct:g}"]
    if slo.get("decode_tps") is not None:
        low = 100 - pct
        out["decode_tps"] = percentiles([r.decode_tps for r in timed], [low])[f"p{low:g}"]
    return out


def summarize_levels(
    contexts: Sequence[dict[str, Any]], records: Sequence[RequestRecord]
) -> list[LevelSummary]:
    return [summarize_level(c, records) for c in contexts]


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _rd(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _r(v) if isinstance(v, float) else v for k, v in d.items()}


def level_line(model: str, level: str, s: dict[str, Any], *, compact: bool = False) -> str:
    """A finished load level in one line (these figures): the headless log's and the app's.
    Named as the summary names it ("4 users"), else by its label; a missing figure is a dash.
    ``compact``: the figures a narrow log pane needs beside the load panel (which has the rest)."""

    def ms(key: str) -> str:
        v = (s.get(key) or {}).get("p90")
        return "–" if v is None else f"{v:.0f} ms" if v < 1000 else f"{v / 1000:.2f} s"

    def n(key: str, digits: int) -> str:
        v = s.get(key)
        return "–" if v is None else f"{v:.{digits}f}"

    if compact:
        text = (
            f"[{model}] {s.get('name') or level}: {s.get('completed', 0)}/{s.get('sent', 0)} ok, "
            f"{n('output_throughput_tps', 1)} tok/s, TTFT p90 {ms('ttft_ms')}, E2E p90 {ms('e2e_ms')}"
        )
        return text + (f", {s['failed']} failed" if s.get("failed") else "")
    text = (
        f"[{model}] {s.get('name') or level}: {s.get('completed', 0)}/{s.get('sent', 0)} ok in {n('duration_s', 2)} s; "
        f"{n('output_throughput_tps', 1)} tok/s, {n('request_throughput_rps', 2)} req/s; "
        f"TTFT p90 {ms('ttft_ms')}, E2E p90 {ms('e2e_ms')} (from the scheduled send); "
        f"achieved concurrency {n('achieved_concurrency', 2)}"
    )
    if s.get("kind") == "rate" and s.get("target") is not None:
        text += f"; rate {s['target']:g} target, {n('achieved_rate_rps', 2)} achieved"
    if s.get("goodput_rps") is not None:
        share = s.get("good_share")
        text += f"; goodput {s['goodput_rps']:.2f}/s ({'–' if share is None else f'{100 * share:.0f}%'})"
    if s.get("failed"):
        text += f"; {s['failed']} failed"
    return text
