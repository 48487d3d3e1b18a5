"""A sweep's knee and its capacity in one plain sentence.

Knee rule: going from one level to the next, output throughput is scaled to a doubling
of the load, ``(T_next / T) ** (1 / log2(load_next / load)) − 1``; the knee is the lowest
level after which that growth is under ``KNEE_GROWTH`` (10% per doubling) while the
end-to-end p90 (from the scheduled send) grows. Past it, more load buys waiting, not
answers.

Capacity, with an ``[slo]``: the highest level such that it and every level below it
meet the SLOs (at least ``percentile``% of the requests meet every target), then what
breaks at the next level; honest when no level or every level meets them. Without one:
from throughput and latency alone, around the knee.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui_bench.core.fmt import MISSING
from tui_bench.core.load.summary import LevelSummary

KNEE_GROWTH = 0.10
KNEE_RULE = (
    "the knee is the lowest level after which output throughput grows by less than 10% "
    "per doubling of the load while the end-to-end p90 grows"
)


@dataclass
class Knee:
    at: LevelSummary
    next: LevelSummary
    growth_per_doubling: float

    def sentence(self) -> str:
        a, b = self.at, self.next
        gain = (b.output_tps or 0.0) / (a.output_tps or 1.0) - 1
        return (
            f"knee at {a.name}: at {b.name} output throughput changes by {_signed_pct(gain)} "
            f"({_signed_pct(self.growth_per_doubling)} per doubling of the load) while the "
            f"end-to-end p90 rises from {_time(a.e2e_ms.get('p90'))} to {_time(b.e2e_ms.get('p90'))}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.at.level,
            "next": self.next.level,
            "growth_per_doubling": round(self.growth_per_doubling, 4),
            "sentence": self.sentence(),
        }


def knee(levels: Sequence[LevelSummary]) -> Knee | None:
    for a, b in itertools.pairwise(levels):
        if not a.output_tps or b.output_tps is None or b.target <= a.target:
            continue
        doublings = math.log2(b.target / a.target)
        growth = (b.output_tps / a.output_tps) ** (1 / doublings) - 1
        lat_a, lat_b = a.e2e_ms.get("p90"), b.e2e_ms.get("p90")
        if growth < KNEE_GROWTH and lat_a is not None and lat_b is not None and lat_b > lat_a:
            return Knee(a, b, growth)
    return None


def knee_text(levels: Sequence[LevelSummary]) -> str:
    k = knee(levels)
    if k is not None:
        return k.sentence()
    if len(levels) < 2:
        return "no knee: one level tells no trend"
    return "no knee within the levels tried: throughput still grows by 10% or more per doubling"


def capacity(model: str, levels: Sequence[LevelSummary], slo: dict[str, Any] | None) -> str:
    ran = [lv for lv in levels if lv.sent]
    if not ran:
        return f"{model}: no load level ran, so there is no capacity to tell"
    if not slo:
        return _without_slo(model, ran)
    held: LevelSummary | None = None
    for lv in ran:
        if not lv.meets_slo:
            break
        held = lv
    targets = f"{slo_words(slo)} for {slo.get('percentile', 90.0):g}% of requests"
    if held is None:
        return f"{model} does not meet the SLOs ({targets}) even at {ran[0].name}: {_why(ran[0])}"
    if held is ran[-1]:
        return f"{model} meets the SLOs ({targets}) at every level tried, up to {held.name}: try higher"
    nxt = ran[ran.index(held) + 1]
    return f"{model} holds {_hold(held)} with {targets}; at {nxt.name}, {_why(nxt)}"


def slo_words(slo: dict[str, Any]) -> str:
    parts = []
    if slo.get("ttft_ms") is not None:
        parts.append(f"first token < {_time(slo['ttft_ms'])}")
    if slo.get("e2e_ms") is not None:
        parts.append(f"whole answer < {_time(slo['e2e_ms'])}")
    if slo.get("decode_tps") is not None:
        parts.append(f"≥ {slo['decode_tps']:g} tok/s each")
    return " and ".join(parts)


def _hold(lv: LevelSummary) -> str:
    return f"{lv.name} at once" if lv.kind == "concurrency" else lv.name


def _why(lv: LevelSummary) -> str:
    """What breaks the SLOs at a level, in words."""
    slo = lv.slo or {}
    p = float(slo.get("percentile", 90.0))
    fig = lv.slo_figures
    parts = []
    if slo.get("ttft_ms") is not None and _above(fig.get("ttft_ms"), slo["ttft_ms"]):
        parts.append(f"TTFT p{p:g} reaches {_time(fig['ttft_ms'])}")
    if slo.get("e2e_ms") is not None and _above(fig.get("e2e_ms"), slo["e2e_ms"]):
        parts.append(f"end-to-end p{p:g} reaches {_time(fig['e2e_ms'])}")
    tps = fig.get("decode_tps")
    if slo.get("decode_tps") is not None and tps is not None and tps < slo["decode_tps"]:
        parts.append(f"decode for {p:g}% of requests falls to {tps:.1f} tok/s")
    if lv.failed:
        parts.append(f"{lv.failed} of {lv.sent} requests failed")
    if not parts:
        share = lv.good_share
        shown = "none" if share is None else f"{100 * share:.0f}%"
        parts.append(f"only {shown} of requests meet every target")
    return ", ".join(parts)


def _above(value: float | None, bound: float) -> bool:
    return value is None or value > bound


def _without_slo(model: str, ran: list[LevelSummary]) -> str:
    tail = " (no [slo] in the plan: from throughput and latency alone)"
    k = knee(ran)
    if k is not None:
        a, b = k.at, k.next
        return (
            f"{model}: output throughput levels off after {a.name} at {_tps(a.output_tps)} "
            f"({_rps(a.request_tps)}); at {b.name} it is {_tps(b.output_tps)} while the "
            f"end-to-end p90 rises from {_time(a.e2e_ms.get('p90'))} to "
            f"{_time(b.e2e_ms.get('p90'))}{tail}"
        )
    last = ran[-1]
    now = f"{last.name}: {_tps(last.output_tps)}, end-to-end p90 {_time(last.e2e_ms.get('p90'))}"
    if len(ran) == 1:
        return f"{model}: {now}; one level tells no trend: add levels{tail}"
    return f"{model}: output throughput still grows at the highest level tried ({now}): try higher{tail}"


def _time(ms: float | None) -> str:
    if ms is None:
        return MISSING
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _tps(v: float | None) -> str:
    return MISSING if v is None else f"{v:.1f} tok/s"


def _rps(v: float | None) -> str:
    return MISSING if v is None else f"{v:.2f} requests/s"


def _signed_pct(x: float) -> str:
    return f"{100 * x:+.0f}%"
