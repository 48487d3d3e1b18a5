"""Recommendations per task type that weigh quality against speed: the Pareto front.

Per task type, each model is a point: its quality, the mean of the ``composite`` score
(:mod:`tui_bench.core.quality.composite`) over its successful answers, and its speed, the
median decode rate (tok/s) of its valid requests. A model is on the front unless another
one is at least as good on both and better on one (it is then dominated: never
recommended). Qualities are compared as reported, to two decimals: a difference under
0.005 in a mean score is not one a reader can see, nor one to trade speed for. Speeds are
compared by the task's places on decode (:func:`tui_bench.core.medals.placings`, given
the run's records): faster only with a place of its own, as the medals count it, and
models tied on speed are as fast; without records, by the medians alone. The front reads
from the best quality down, each further model with how much faster it is than the first
(or "as fast" when tied): ``analysis: A, quality 0.82 at 95 tok/s; B is 2.1x
faster at quality 0.41``. Where no answer of the task was scored there is no trade-off
to weigh: the line says "speed only" and gives the speed order. Models with a timing but
no score (or the reverse) are left out of the front and listed apart in data.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.fmt import num
from tui_bench.core.results import RequestRecord
from tui_bench.core.summary import RunSummary

QUALITY_KEY = "composite"
QUALITY_DIGITS = 2  # the resolution qualities are compared and reported at


@dataclass(frozen=True)
class Point:
    model: str
    quality: float | None  # mean composite score, 0..1; None: not scored
    speed: float | None  # median decode tok/s; None: no valid timing
    speed_place: int | None = None  # the task's place on decode; None: not placed

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "quality": None if self.quality is None else round(self.quality, 4),
            "decode_tps": None if self.speed is None else round(self.speed, 4),
            "decode_place": self.speed_place,
        }


@dataclass
class TaskAdvice:
    task: str
    scored: bool  # some answers of the task carry the quality score
    front: list[Point] = field(default_factory=list)  # best quality first
    dominated: list[Point] = field(default_factory=list)
    unplaced: list[Point] = field(default_factory=list)  # without speed or without quality
    speed_order: list[Point] = field(default_factory=list)  # fastest first

    @property
    def text(self) -> str:
        if not self.scored:
            order = " > ".join(f"{p.model} {num(p.speed)}" for p in self.speed_order)
            order = f"{order} tok/s" if order else "no valid timing"
            return f"{self.task}: speed only (quality not scored): {order}"
        if not self.front:
            return f"{self.task}: no model with both a quality score and a valid timing"
        best = self.front[0]
        parts = [
            f"{best.model}, quality {num(best.quality, QUALITY_DIGITS)} at {num(best.speed)} tok/s"
        ]
        for p in self.front[1:]:
            quality = f"at quality {num(p.quality, QUALITY_DIGITS)}"
            if p.speed_place is not None and p.speed_place == best.speed_place:
                parts.append(f"{p.model} as fast (tied) {quality}")
                continue
            ratio = (p.speed or 0.0) / best.speed if best.speed else None
            parts.append(f"{p.model} is {num(ratio)}x faster {quality}")
        behind = ", ".join(
            f"{p.model} (quality {num(p.quality, QUALITY_DIGITS)} at {num(p.speed)} tok/s)"
            for p in self.dominated
        )
        return f"{self.task}: " + "; ".join(parts) + (f"; dominated: {behind}" if behind else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "quality": QUALITY_KEY if self.scored else None,
            "front": [p.as_dict() for p in self.front],
            "dominated": [p.as_dict() for p in self.dominated],
            "unplaced": [p.as_dict() for p in self.unplaced],
            "speed_order": [p.as_dict() for p in self.speed_order],
            "text": self.text,
        }


def _q(p: Point) -> float:
    return round(p.quality or 0.0, QUALITY_DIGITS)


def dominates(a: Point, b: Point) -> bool:
    """``a`` is at least as good as ``b`` on quality (as reported) and speed, and better
    on one. Speed by places where both have one (tied: as fast), else by medians."""
    assert a.speed is not None and b.speed is not None
    if a.speed_place is not None and b.speed_place is not None:
        fast_ge, fast_gt = a.speed_place <= b.speed_place, a.speed_place < b.speed_place
    else:
        fast_ge, fast_gt = a.speed >= b.speed, a.speed > b.speed
    return _q(a) >= _q(b) and fast_ge and (_q(a) > _q(b) or fast_gt)


def advise(task: str, points: list[Point]) -> TaskAdvice:
    """The front of ``points`` (one per model) for ``task``."""
    timed = [p for p in points if p.speed is not None]
    speed_order = sorted(timed, key=lambda p: p.speed or 0.0, reverse=True)
    scored = any(p.quality is not None for p in points)
    if not scored:
        return TaskAdvice(task, False, speed_order=speed_order)
    both = [p for p in points if p.quality is not None and p.speed is not None]
    front = [p for p in both if not any(dominates(o, p) for o in both if o is not p)]
    front.sort(key=lambda p: (-_q(p), -(p.speed or 0.0)))
    return TaskAdvice(
        task,
        True,
        front=front,
        dominated=[p for p in both if p not in front],
        unplaced=[p for p in points if p not in both],
        speed_order=speed_order,
    )


def recommendations(
    summary: RunSummary, records: Sequence[RequestRecord] | None = None
) -> list[TaskAdvice]:
    """One :class:`TaskAdvice` per task type of the run, in the run's order; speeds
    compared by places when the run's ``records`` are given (see the module's doc)."""
    out = []
    for task in summary.tasks:
        places: dict[str, int | None] = {}
        if records is not None:
            from tui_bench.core.medals import placings

            models = [g.key["model"] for g in summary.per_task_model if g.key["task"] == task]
            places = {p.model: p.place for p in placings(records, models, "decode_tps", task=task)}
        points = []
        for g in summary.per_task_model:
            if g.key["task"] != task:
                continue
            q = g.quality.get(QUALITY_KEY)
            points.append(
                Point(
                    g.key["model"],
                    q.mean if q is not None and q.n else None,
                    g.metrics["decode_tps"].median,
                    places.get(g.key["model"]),
                )
            )
        out.append(advise(task, points))
    return out
