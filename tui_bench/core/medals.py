"""Places per metric that must beat chance: medals, ties and the winners per task type.

Models are ordered by the median of a metric (its better direction from
:data:`~tui_bench.core.summary.METRIC`). Going down that order, each model is compared
with the best model of the place above it, with the statistics of ``tui-bench compare``
(:func:`tui_bench.core.compare.significance.samples`: the relative difference of medians,
its bootstrap 95% interval, the Mann-Whitney U p-value). A model gets a place of its own
only when that interval excludes zero and does not lie within ±1% (``stats.NOISE``: a
difference too small to matter); otherwise it shares the place ("tied"). Places are
counted as in sport: two models tied first are both first, the next one is third. A
place of one of the first three is a medal. A model alone with a value takes the first
place, having no one to tie with, but no medal: nothing was compared. With fewer than two
values on either side there is no interval: tied, never a verdict from one sample.

The values are those the aggregates use (:func:`~tui_bench.core.summary.counts_for_timing`),
so a median here is the median the report prints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui_bench.core.compare.significance import samples as compare_samples
from tui_bench.core.fmt import MISSING, num, signed_pct
from tui_bench.core.results import RequestRecord
from tui_bench.core.stats import within_noise
from tui_bench.core.summary import METRIC, counts_for_timing

MEDALS = ("🥇", "🥈", "🥉")
MEDAL_NAMES = ("gold", "silver", "bronze")
# the metrics the ranking sorts by, as report.md and data.json give their places
RANKED = ("decode_tps", "ttft_ms", "e2e_ms", "tpot_ms", "prefill_tps", "peak_rss_kb")
# the per task type winners data.json and the results screen give
TASK_METRICS = ("decode_tps", "ttft_ms")


@dataclass(frozen=True)
class Placing:
    """One model's place on one metric. ``against``: the model it was compared with (the
    best of the place above, or of the place it shares), with the difference of its
    median relative to that model's (``rel_diff``), its 95% interval and the p-value."""

    model: str
    n: int
    median: float | None
    place: int | None  # 1-based; None: no valid value of the metric
    tied_with: tuple[str, ...] = ()
    against: str | None = None
    rel_diff: float | None = None
    ci95: tuple[float, float] | None = None
    p_value: float | None = None
    alone: bool = False  # the only model with a value: first, with no one to beat

    @property
    def tied(self) -> bool:
        return bool(self.tied_with)

    @property
    def medal(self) -> str | None:
        """🥇, 🥈 or 🥉 for the first three places (shared when tied), else None (also
        for a model alone: a medal is won against someone)."""
        if self.alone or self.place is None or self.place > 3:
            return None
        return MEDALS[self.place - 1]

    def as_dict(self, digits: int = 4) -> dict[str, Any]:
        medal = None if self.medal is None else MEDAL_NAMES[MEDALS.index(self.medal)]
        return {
            "model": self.model,
            "n": self.n,
            "median": _round(self.median, digits),
            "place": self.place,
            "medal": medal,
            "tied_with": list(self.tied_with),
            "against": self.against,
            "rel_diff": _round(self.rel_diff, 6),
            "ci95": None if self.ci95 is None else [round(x, 6) for x in self.ci95],
            "p_value": _round(self.p_value, 6),
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def values(
    records: Sequence[RequestRecord], metric: str, model: str, task: str | None = None
) -> list[float]:
    """The values of ``metric`` the aggregates of ``model`` (on ``task``) are made of."""
    out = []
    for r in records:
        if r.model != model or (task is not None and r.task != task) or not counts_for_timing(r):
            continue
        v = getattr(r, metric)
        if v is not None and math.isfinite(v):
            out.append(float(v))
    return out


def _distinct(ci: tuple[float, float] | None) -> bool:
    return ci is not None and (ci[0] > 0 or ci[1] < 0)


def placings(
    records: Sequence[RequestRecord],
    models: Sequence[str],
    metric: str,
    *,
    task: str | None = None,
) -> list[Placing]:
    """Every model's place on ``metric`` (on ``task`` only, if given), best first; models
    without a value last, without a place. See the module's doc."""
    import numpy as np

    spec = METRIC[metric]
    data = {m: values(records, metric, m, task) for m in models}
    if task is not None:  # a model that never ran the task is not ranked on it
        data = {
            m: v
            for m, v in data.items()
            if v or any(r.model == m and r.task == task for r in records)
        }
    medians = {m: float(np.median(v)) for m, v in data.items() if v}
    order = sorted(medians, key=lambda m: medians[m], reverse=spec.higher_is_better)
    groups: list[list[Placing]] = []  # the places, best first; each led by its first model
    for m in order:
        if not groups:
            groups.append([Placing(m, len(data[m]), medians[m], 1)])
            continue
        leader = groups[-1][0]
        t = compare_samples(data[leader.model], data[m], higher_is_better=spec.higher_is_better)
        own = _distinct(t.ci95) and not within_noise(t.ci95)
        placing = Placing(
            m,
            len(data[m]),
            medians[m],
            None,
            against=leader.model,
            rel_diff=t.rel_diff,
            ci95=t.ci95,
            p_value=t.p_value,
        )
        if own:
            groups.append([placing])
        else:
            groups[-1].append(placing)
    out: list[Placing] = []
    place = 1
    for group in groups:
        names = [p.model for p in group]
        for p in group:
            tied = tuple(n for n in names if n != p.model)
            out.append(
                Placing(
                    p.model,
                    p.n,
                    p.median,
                    place,
                    tied,
                    p.against,
                    p.rel_diff,
                    p.ci95,
                    p.p_value,
                    alone=len(order) == 1,
                )
            )
        place += len(group)
    out += [Placing(m, 0, None, None) for m in data if m not in medians]
    return out


def order_text(placed: Sequence[Placing], digits: int = 1) -> str:
    """``a (120.0) > b (80.0)``; a shared place as ``c (50.1) = d (49.8) (tied)``."""
    parts: list[str] = []
    groups: dict[int, list[Placing]] = {}
    for p in placed:
        if p.place is not None:
            groups.setdefault(p.place, []).append(p)
    for group in groups.values():
        text = " = ".join(f"{p.model} ({num(p.median, digits)})" for p in group)
        parts.append(text + (" (tied)" if len(group) > 1 else ""))
    return " > ".join(parts)


def evidence(p: Placing) -> str:
    """How ``p`` compares with the model it was tested against, in words."""
    if p.against is None:
        return ""
    if p.ci95 is None:
        return f"vs {p.against}: too few values for an interval"
    lo, hi = p.ci95
    p_text = MISSING if p.p_value is None else f"{p.p_value:.3g}"
    return (
        f"{signed_pct(p.rel_diff)} vs {p.against} "
        f"(95% CI {signed_pct(lo)} to {signed_pct(hi)}, p {p_text})"
    )


def task_winners(
    records: Sequence[RequestRecord], models: Sequence[str], tasks: Sequence[str], metric: str
) -> list[dict[str, Any]]:
    """Per task type, the models in their places on ``metric`` (best first)."""
    out = []
    spec = METRIC[metric]
    for task in tasks:
        placed = [p for p in placings(records, models, metric, task=task) if p.place is not None]
        if placed:
            out.append(
                {
                    "task": task,
                    "metric": metric,
                    "order": [(p.model, p.median) for p in placed],
                    "text": order_text(placed, spec.digits),
                    "places": [p.as_dict(spec.json_digits) for p in placed],
                }
            )
    return out
