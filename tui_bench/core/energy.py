"""Energy per request from the cumulative energy counter of the model's GPUs.

NVML's counter (``nvmlDeviceGetTotalEnergyConsumption``, millijoules since the driver
loaded) only moves when the driver updates it, every few to a few hundred milliseconds
depending on the GPU. The definitions (the report's legend repeats them):

- ``E(t)``: the counter interpolated linearly between the two samples that bracket ``t``
  (the request window takes a sample before ``t_send`` and one after the last token).
- ``energy_j`` = ``E(t_last) − E(t_send)``; ``energy_prefill_j`` = ``E(t_first) − E(t_send)``;
  ``energy_decode_j`` = ``E(t_last) − E(t_first)``; average watts = ``energy_j / e2e``.
- The counter's update period ``P`` is measured from the samples (:class:`UpdatePeriod`).
  A request shorter than ``2 P`` gets no figure and the flag ``energy_short``; a phase
  (prefill, decode) shorter than ``2 P`` gets no figure of its own.
- Idle baseline: the GPUs' power before the first model loads, measured over ~2 s when
  the plan asks for it (``[settings] energy_idle_baseline``); net figures subtract
  ``idle W × duration``.
- Throttling: every slowdown reason a sample showed during the request becomes a flag
  ``throttled_<reason>``.
- A device that stops answering mid-run: its last counter reading stands in, so a sum
  over the window would leave out what it spent; such a request gets the flag
  ``gpu_partial`` and no energy figure.
- The idle baseline is kept per device; a request's net figures subtract the idle watts
  of the devices its model uses only.

Energy is attributed to a model only when it runs on the GPU (:func:`model_uses_gpu`):
a CPU model beside an idle GPU would otherwise be charged the GPU's idle draw.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# A request too short for the counter's update period gets this flag instead of a figure;
# a slowdown reason seen during a request, FLAG_THROTTLED + the reason (as the GPU probe
# names NVML's clock-event reasons: "power", "thermal" ...). metrics.FLAG_TEXT explains them.
FLAG_ENERGY_SHORT = "energy_short"
FLAG_THROTTLED = "throttled_"
# A GPU stopped answering during the request (its last readings stood in): no energy
# figure, which would count nothing for that device, and its VRAM may be stale.
FLAG_GPU_PARTIAL = "gpu_partial"
# A request or phase shorter than this many counter update periods gets no figure: the
# counter can be stale by up to one period at each end.
SHORT_PERIODS = 2.0
NS_PER_S = 1_000_000_000


def model_uses_gpu(info: dict[str, Any] | None) -> bool:
    """Whether a loaded model runs (at least partly) on this host's GPUs, from its load
    facts: a backend may say so (``uses_gpu``); llama.cpp's are the layers its load log
    says it offloaded (``gpu_layers``), else what was asked and the build's support.
    Without any (a simulated model, a server elsewhere) the GPUs' energy is not the model's."""
    if not info or info.get("simulated"):
        return False
    if "uses_gpu" in info:
        return bool(info["uses_gpu"])
    offloaded = offloaded_layers(info)
    if offloaded is not None:
        return offloaded > 0
    return bool(info.get("n_gpu_layers")) and bool(info.get("gpu_offload_supported"))


def offloaded_layers(info: dict[str, Any]) -> int | None:
    """The layers llama.cpp's load log says went to the GPU (``gpu_layers``); None unsaid."""
    layers = info.get("gpu_layers")
    if isinstance(layers, dict) and isinstance(layers.get("offloaded"), int):
        return int(layers["offloaded"])
    return None


def throttle_flags(reasons: Iterable[str]) -> list[str]:
    return [FLAG_THROTTLED + r for r in sorted(set(reasons))]


class UpdatePeriod:
    """The counter's update period, measured from the samples it is fed.

    Two successive changes seen at samples ``j`` and ``k`` prove two distinct updates
    inside ``(t[j-1], t[k]]``, so the period is at most ``t[k] − t[j-1]``; the smallest
    such span is kept. It is an upper bound, never below what the sampling can resolve,
    so the short-request rule errs towards flagging rather than towards a made-up figure
    (the time between the two sampling instants alone would undercut a slow counter).
    """

    def __init__(self) -> None:
        self.period_ns: int | None = None
        self._t: int | None = None
        self._e: float | None = None
        self._change_from: int | None = None  # the sample before the latest change

    def feed(self, t_ns: int, energy_mj: float | None) -> None:
        if energy_mj is None or (self._t is not None and t_ns <= self._t):
            return  # no reading, or a sample another thread stamped earlier
        if self._e is not None and energy_mj != self._e:
            if energy_mj < self._e:  # the counter restarted (a device lost or reset)
                self._change_from = None
            else:
                if self._change_from is not None:
                    span = t_ns - self._change_from
                    self.period_ns = span if self.period_ns is None else min(self.period_ns, span)
                self._change_from = self._t
        self._t, self._e = t_ns, energy_mj


class PowerMeter:
    """Watts between the two latest changes of the counter (a live display figure)."""

    def __init__(self) -> None:
        self.watts: float | None = None
        self._last: tuple[int, float] | None = None  # the latest change point

    def feed(self, t_ns: int, energy_mj: float | None) -> float | None:
        if energy_mj is None:
            return self.watts
        last = self._last
        if last is None or energy_mj < last[1] or t_ns < last[0]:
            self._last = (t_ns, energy_mj)
        elif energy_mj != last[1] and t_ns > last[0]:
            self.watts = (energy_mj - last[1]) / 1000 / ((t_ns - last[0]) / NS_PER_S)
            self._last = (t_ns, energy_mj)
        return self.watts


def interpolate(points: Sequence[tuple[int, float]], t_ns: int) -> float | None:
    """The counter at ``t_ns`` from time-sorted ``(t_ns, mJ)`` points, or None outside them."""
    if not points or t_ns < points[0][0] or t_ns > points[-1][0]:
        return None
    i = bisect.bisect_left(points, (t_ns, float("-inf")))
    if points[i][0] == t_ns:
        return points[i][1]
    (t0, e0), (t1, e1) = points[i - 1], points[i]
    return e0 + (e1 - e0) * (t_ns - t0) / (t1 - t0)


@dataclass
class RequestEnergy:
    """What a request's window yields: joules (None where not measurable) and flags."""

    energy_j: float | None = None
    prefill_j: float | None = None
    decode_j: float | None = None
    idle_w: float | None = None
    flags: list[str] = field(default_factory=list)


def request_energy(
    points: Iterable[tuple[int, float]],
    *,
    period_ns: int | None,
    t_send_ns: int,
    t_first_ns: int | None,
    t_last_ns: int | None,
    idle_w: float | None = None,
    throttle: Iterable[str] = (),
) -> RequestEnergy:
    """Joules of one request between ``t_send`` and its last token (see the module doc)."""
    out = RequestEnergy(flags=throttle_flags(throttle))
    pts = sorted(dict(points).items())  # one value per instant, in time order
    if len(pts) < 2 or t_first_ns is None or t_last_ns is None:
        return out  # no counter on the model's GPUs, or no token to measure up to
    if any(b[1] < a[1] for a, b in itertools.pairwise(pts)):
        return out  # the counter restarted inside the window: no honest figure
    out.idle_w = idle_w
    if period_ns is None or t_last_ns - t_send_ns < SHORT_PERIODS * period_ns:
        out.flags.append(FLAG_ENERGY_SHORT)
        return out
    e_send = interpolate(pts, t_send_ns)
    e_first = interpolate(pts, t_first_ns)
    e_last = interpolate(pts, t_last_ns)
    if e_send is None or e_last is None or e_first is None:
        return out  # the samples do not bracket the request
    out.energy_j = (e_last - e_send) / 1000
    if t_first_ns - t_send_ns >= SHORT_PERIODS * period_ns:
        out.prefill_j = (e_first - e_send) / 1000
    if t_last_ns - t_first_ns >= SHORT_PERIODS * period_ns:
        out.decode_j = (e_last - e_first) / 1000
    return out


def idle_for(idle: dict[str, float], labels: Sequence[str] | None) -> float | None:
    """The idle watts of the devices ``labels`` (those whose counters a reading sums), from
    the per-device baseline; None if one of them has no baseline. ``labels`` None (a probe
    that does not say): the whole baseline."""
    if not idle:
        return None
    if labels is None:
        return sum(idle.values())
    if not labels or any(label not in idle for label in labels):
        return None
    return sum(idle[label] for label in labels)


def idle_power_w(points: Sequence[tuple[int, float]]) -> float | None:
    """Average watts between the first and the last change of the counter in ``points``
    (time-sorted): a change is seen at most one sampling step late, an unchanged reading
    may be a whole update period old."""
    changes = [b for a, b in itertools.pairwise(points) if b[1] > a[1]]
    if len(changes) < 2:
        return None
    (t0, e0), (t1, e1) = changes[0], changes[-1]
    return (e1 - e0) / 1000 / ((t1 - t0) / NS_PER_S)
