"""Aggregates of a run: per model, per model x prompt, per task type x model.

Rules (see docs/metrics):
- warm-up requests never enter aggregates; a request cut short by cancellation is
  neither a success nor a failure (it is counted apart);
- timing aggregates use successful requests only, minus those whose validity flags
  invalidate their timings (``cache_hit``, ``truncated``, ``no_finish_reason``); other
  flags are counted and shown beside the numbers;
- success rate = successful / attempted measured requests.

Places per metric that must beat chance (medals, ties, winners per task type) are in
:mod:`tui_bench.core.medals`; the quality/speed front per task type in
:mod:`tui_bench.core.recommend`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.metrics import FLAG_CACHE_HIT, FLAG_NO_FINISH, FLAG_TRUNCATED
from tui_bench.core.results import RequestRecord
from tui_bench.core.stats import Summary, summarize

INVALIDATING = frozenset({FLAG_CACHE_HIT, FLAG_TRUNCATED, FLAG_NO_FINISH})


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    digits: int = 1
    json_digits: int = 4  # decimals in data.json (small per-token joules need more)


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("ttft_ms", "TTFT", "ms", False),
    MetricSpec("decode_tps", "decode", "tok/s", True),
    MetricSpec("e2e_ms", "end-to-end", "ms", False, 0),
    MetricSpec("tpot_ms", "TPOT", "ms/tok", False, 2),
    MetricSpec("prefill_tps", "prefill", "tok/s", True, 0),
    MetricSpec("n_out", "output", "tokens", True, 0),
    # binary units, as counted: KiB (/proc's VmHWM, psutil's RSS // 1024), MiB (NVML / 1024²)
    MetricSpec("peak_rss_kb", "peak RSS", "KiB", False, 0),
    MetricSpec("vram_peak_mb", "peak VRAM", "MiB", False, 0),
    # energy of the model's GPUs (core/energy.py); None where not measured
    MetricSpec("energy_j_per_token", "energy", "J/tok", False, 4, 6),
    MetricSpec("energy_w", "power", "W", False, 1),
    MetricSpec("energy_prefill_j_per_token", "prefill energy", "J/prompt tok", False, 5, 6),
    MetricSpec("energy_decode_j_per_token", "decode energy", "J/tok", False, 4, 6),
    MetricSpec("energy_net_j_per_token", "energy net of idle", "J/tok", False, 4, 6),
    MetricSpec("energy_net_w", "power net of idle", "W", False, 1),
)
METRIC = {m.key: m for m in METRICS}
KEY_METRICS = ("ttft_ms", "decode_tps", "e2e_ms")


def counts_for_timing(r: RequestRecord) -> bool:
    return r.ok and not r.warmup and not (INVALIDATING & set(r.flags))


def attempted(r: RequestRecord) -> bool:
    return not r.warmup and r.finish_reason != "cancelled"


@dataclass
class GroupSummary:
    key: dict[str, str]
    n: int  # attempted measured requests
    n_ok: int
    n_failed: int
    n_cancelled: int
    n_timed: int  # requests whose timings enter the aggregates
    success_rate: float | None
    metrics: dict[str, Summary]
    itl_ms: Summary
    quality: dict[str, Summary]
    flags: dict[str, int]
    errors: dict[str, int]

    def metric(self, key: str) -> Summary:
        return self.metrics[key]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.key,
            "n": self.n,
            "n_ok": self.n_ok,
            "n_failed": self.n_failed,
            "n_cancelled": self.n_cancelled,
            "n_timed": self.n_timed,
            "success_rate": None if self.success_rate is None else round(self.success_rate, 4),
            **{k: s.as_dict(METRIC[k].json_digits) for k, s in self.metrics.items()},
            "itl_ms": self.itl_ms.as_dict(),
            "quality": {k: s.as_dict() for k, s in self.quality.items()},
            "flags": self.flags,
            "errors": self.errors,
        }


def summarize_group(key: dict[str, str], records: Sequence[RequestRecord]) -> GroupSummary:
    measured = [r for r in records if not r.warmup]
    tried = [r for r in measured if attempted(r)]
    ok = [r for r in tried if r.ok]
    timed = [r for r in ok if counts_for_timing(r)]
    metrics = {m.key: summarize([getattr(r, m.key) for r in timed]) for m in METRICS}
    itl: list[float] = []
    for r in timed:
        itl.extend(r.itl_ms)
    qkeys = sorted({k for r in ok for k in r.quality})
    quality = {k: summarize([r.quality.get(k) for r in ok]) for k in qkeys}
    flags = Counter(f for r in measured for f in r.flags)
    errors = Counter((r.error or "unknown error") for r in tried if not r.ok)
    return GroupSummary(
        key=key,
        n=len(tried),
        n_ok=len(ok),
        n_failed=len(tried) - len(ok),
        n_cancelled=len(measured) - len(tried),
        n_timed=len(timed),
        success_rate=len(ok) / len(tried) if tried else None,
        metrics=metrics,
        itl_ms=summarize(itl),
        quality=quality,
        flags=dict(flags),
        errors=dict(errors.most_common(5)),
    )


def _ordered(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


@dataclass
class ColdStart:
    model: str
    load_ms: float | None
    first_ttft_ms: float | None  # the first request served by the freshly loaded model
    first_e2e_ms: float | None


@dataclass
class RunSummary:
    models: list[str]
    prompts: list[str]
    tasks: list[str]
    overall: GroupSummary
    per_model: list[GroupSummary]
    per_model_prompt: list[GroupSummary]
    per_task_model: list[GroupSummary]
    cold: list[ColdStart] = field(default_factory=list)

    def model(self, model: str) -> GroupSummary:
        for g in self.per_model:
            if g.key["model"] == model:
                return g
        raise KeyError(model)

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_dict(),
            "per_model": [g.as_dict() for g in self.per_model],
            "per_model_prompt": [g.as_dict() for g in self.per_model_prompt],
            "per_task_model": [g.as_dict() for g in self.per_task_model],
            "cold": [c.__dict__ for c in self.cold],
        }


def summarize_run(
    records: Sequence[RequestRecord], models: Sequence[str] | None = None
) -> RunSummary:
    model_ids = _ordered([*(models or []), *(r.model for r in records)])
    prompt_ids = _ordered(r.prompt for r in records)
    tasks = _ordered(r.task for r in records)
    by_model = {m: [r for r in records if r.model == m] for m in model_ids}
    per_model = [summarize_group({"model": m}, rs) for m, rs in by_model.items()]
    per_mp = []
    for m in model_ids:
        for p in prompt_ids:
            rs = [r for r in by_model[m] if r.prompt == p]
            if rs:
                per_mp.append(summarize_group({"model": m, "prompt": p, "task": rs[0].task}, rs))
    per_tm = []
    for t in tasks:
        for m in model_ids:
            rs = [r for r in by_model[m] if r.task == t]
            if rs:
                per_tm.append(summarize_group({"task": t, "model": m}, rs))
    cold = []
    for m in model_ids:
        rs = by_model[m]
        first = next((r for r in rs if r.ok), None)
        load = next((r.load_ms for r in rs if r.load_ms is not None), None)
        cold.append(
            ColdStart(m, load, first.ttft_ms if first else None, first.e2e_ms if first else None)
        )
    return RunSummary(
        models=model_ids,
        prompts=prompt_ids,
        tasks=tasks,
        overall=summarize_group({"model": "all"}, list(records)),
        per_model=per_model,
        per_model_prompt=per_mp,
        per_task_model=per_tm,
        cold=cold,
    )


@dataclass
class RunOutcome:
    """A finished run as the engine hands it back: its records, their summary, the verdict."""

    run_id: int
    status: str
    records: list[RequestRecord]
    summary: RunSummary
    success_rate: float | None
    passed: bool
    started_at: str
    finished_at: str
    duration_s: float
    host: dict[str, Any]
    model_info: dict[str, dict[str, Any]] = field(default_factory=dict)
