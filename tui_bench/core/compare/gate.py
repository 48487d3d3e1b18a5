"""The regression gate: baseline vs candidate on every metric that matters, per model
(matched by id) and per task type, and a verdict CI can act on.

A metric *regresses* when its test says it changed (``significance``), the change is in
the bad direction for that metric, and the relative change of medians (of rates, for the
success rate) is beyond the threshold. The exit code is decided on the per-model rows;
the per-task rows are shown for diagnosis (more groups with fewer samples each: more
chance findings). No verdict is ever given from fewer than two samples on a side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tui_bench.core.compare import significance
from tui_bench.core.compare.runs import caveats
from tui_bench.core.compare.sources import RunSource
from tui_bench.core.errors import UserError
from tui_bench.core.results import RequestRecord
from tui_bench.core.stats import NOISE
from tui_bench.core.summary import METRIC, attempted, counts_for_timing

# what "compare" checks unless told otherwise; "quality" stands for every score present
DEFAULT_METRICS = (
    "decode_tps",
    "ttft_ms",
    "e2e_ms",
    "tpot_ms",
    "prefill_tps",
    "success_rate",
    "n_out",
    "peak_rss_kb",
    "vram_peak_mb",
    "quality",
)
SPEED = frozenset({"decode_tps", "ttft_ms", "e2e_ms", "tpot_ms", "prefill_tps"})
SAMPLE_METRICS = ("decode_tps", "ttft_ms", "e2e_ms", "tpot_ms", "prefill_tps", "n_out")
SAMPLE_METRICS += ("peak_rss_kb", "vram_peak_mb")
FORMAT = "tui-bench/compare"
FORMAT_VERSION = 1

# how each figure is obtained: written into compare.md and compare.json
METHOD = {
    "groups": "per model matched by id (or the only model of each run), and per task type "
    "within it; warm-ups never count; timings, tokens and memory from successful requests "
    "without invalidating flags, quality from successful requests, success rate from "
    "attempted measured requests",
    "samples": "relative difference of medians (candidate - baseline) / baseline, its "
    "bootstrap 95% interval (5000 resamples), two-sided Mann-Whitney U p-value; changed "
    "when p < 0.05 and the interval excludes 0; within noise instead when that interval "
    "lies within ±1% (or within the gate's threshold, if smaller)",
    "success_rate": "Fisher's exact test on successes and failures (changed when p < "
    "0.05); Newcombe's 95% interval of the difference of rates, divided by the baseline rate",
    "mde": "smallest change detectable with 80% power at alpha 0.05: for samples "
    "(1.96 + 0.84) x the bootstrap standard error of the relative difference of medians "
    "(none where Mann-Whitney cannot reach p < 0.05 at these n); for the success rate the "
    "smallest drop from the baseline's rate that Fisher's test flags 80% of the time",
    "gate": "a regression is a change in the bad direction, significant as above, beyond "
    "the threshold (relative change of medians, or of rates); the exit code is 1 when a "
    "per-model metric regresses, per-task rows are for diagnosis only; never a verdict "
    "from fewer than 2 samples",
}


@dataclass(frozen=True)
class GateMetric:
    key: str
    label: str
    unit: str
    higher_is_better: bool


def metric(key: str) -> GateMetric:
    if key == "success_rate":
        return GateMetric(key, "success rate", "%", True)
    if key.startswith("quality."):
        return GateMetric(key, f"quality {key.split('.', 1)[1]}", "score", True)
    spec = METRIC[key]
    return GateMetric(key, spec.label, spec.unit, spec.higher_is_better)


def expand_metrics(
    wanted: Sequence[str], baseline: Sequence[RequestRecord], candidate: Sequence[RequestRecord]
) -> list[str]:
    """``wanted`` as metric keys, "quality" expanded to the scores either run has; an
    unknown name is a one-line error listing the known ones."""
    scores = sorted({k for r in [*baseline, *candidate] for k in r.quality})
    out: list[str] = []
    for name in wanted:
        if name == "quality":
            keys = [f"quality.{k}" for k in scores]
        elif name in SAMPLE_METRICS or name == "success_rate" or name.startswith("quality."):
            keys = [name]
        else:
            known = ", ".join([*DEFAULT_METRICS, "quality.NAME"])
            raise UserError(f"--metric {name}: unknown metric (known: {known})")
        out += [k for k in keys if k not in out]
    return out


@dataclass
class MetricResult:
    metric: str
    label: str
    unit: str
    higher_is_better: bool
    n_baseline: int
    n_candidate: int
    baseline: float | None  # median, or the success rate
    candidate: float | None
    rel_diff: float | None  # (candidate - baseline) / baseline
    ci95: tuple[float, float] | None  # of rel_diff
    p_value: float | None
    test: str
    mde: float | None  # relative: see significance
    mde_note: str | None
    verdict: str
    regression: bool = False

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("baseline", "candidate", "rel_diff", "mde"):
            if out[k] is not None:
                out[k] = round(out[k], 6)
        if self.p_value is not None:  # significant digits: a tiny p must not read as 0
            out["p_value"] = float(f"{self.p_value:.6g}")
        if self.ci95 is not None:
            out["ci95"] = [round(x, 6) for x in self.ci95]
        return out


def _verdict(key: str, t: significance.Tested, higher_is_better: bool) -> str:
    if t.n_baseline == 0 and t.n_candidate == 0:
        return "not measured"
    if t.changed is None:
        return "too few samples"
    if t.changed == 0:
        return "within noise" if t.within_noise else "no significant difference"
    better = (t.changed > 0) == higher_is_better
    if key in SPEED:
        return "faster" if better else "slower"
    return "better" if better else "worse"


def _values(records: Sequence[RequestRecord], key: str) -> list[float | None]:
    if key.startswith("quality."):
        score = key.split(".", 1)[1]
        return [r.quality.get(score) for r in records if r.ok and not r.warmup]
    return [getattr(r, key) for r in records if counts_for_timing(r)]


def compare_metric(
    key: str,
    baseline: Sequence[RequestRecord],
    candidate: Sequence[RequestRecord],
    threshold: float | None,
) -> MetricResult:
    m = metric(key)
    if key == "success_rate":
        a = [r for r in baseline if attempted(r)]
        b = [r for r in candidate if attempted(r)]
        t = significance.proportions(sum(r.ok for r in a), len(a), sum(r.ok for r in b), len(b))
    else:
        t = significance.samples(
            _values(baseline, key),
            _values(candidate, key),
            higher_is_better=m.higher_is_better,
            # a gate stricter than the noise band judges changes down to its own size
            noise=NOISE if threshold is None else min(NOISE, threshold),
        )
    verdict = _verdict(key, t, m.higher_is_better)
    regression = (
        threshold is not None
        and verdict in ("slower", "worse")
        and t.rel_diff is not None
        and abs(t.rel_diff) > threshold
    )
    return MetricResult(
        key, m.label, m.unit, m.higher_is_better, t.n_baseline, t.n_candidate, t.baseline,
        t.candidate, t.rel_diff, t.ci95, t.p_value, t.test, t.mde, t.mde_note, verdict,
        regression,
    )  # fmt: skip


@dataclass
class GroupResult:
    model_baseline: str
    model_candidate: str
    task: str | None
    metrics: list[MetricResult]

    @property
    def model(self) -> str:
        a, b = self.model_baseline, self.model_candidate
        return a if a == b else f"{a} → {b}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.model}
        if self.task is not None:
            out["task"] = self.task
        out.update(model_baseline=self.model_baseline, model_candidate=self.model_candidate)
        out["metrics"] = [m.as_dict() for m in self.metrics]
        return out


@dataclass
class GateResult:
    baseline: RunSource
    candidate: RunSource
    threshold: float | None
    metrics: list[str]
    models: list[GroupResult]
    tasks: list[GroupResult]
    only_in_baseline: list[str]
    only_in_candidate: list[str]
    caveats: list[str] = field(default_factory=list)
    pairing: str | None = None  # how models were matched when their ids differ

    @property
    def regressions(self) -> list[tuple[GroupResult, MetricResult]]:
        return [(g, m) for g in self.models for m in g.metrics if m.regression]

    @property
    def decided(self) -> bool:
        """Whether any per-model metric could be tested at all."""
        return any(m.verdict not in ("too few samples", "not measured") for g in self.models for m in g.metrics)  # fmt: skip

    @property
    def exit_code(self) -> int:
        return 1 if self.threshold is not None and self.regressions else 0

    @property
    def verdict(self) -> str:
        if self.threshold is None:
            return "no gate"
        return "fail" if self.regressions else "pass"

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "baseline": self.baseline.as_dict(),
            "candidate": self.candidate.as_dict(),
            "caveats": self.caveats,
            "threshold": self.threshold,
            "metrics": self.metrics,
            "pairing": self.pairing,
            "models": [
                {**g.as_dict(), "tasks": [t.as_dict() for t in self.tasks if _same(t, g)]}
                for g in self.models
            ],
            "only_in_baseline": self.only_in_baseline,
            "only_in_candidate": self.only_in_candidate,
            "regressions": [
                {"model": g.model, "metric": m.metric, "rel_diff": round(m.rel_diff or 0, 6)}
                for g, m in self.regressions
            ],
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "method": METHOD,
        }


def _same(task: GroupResult, model: GroupResult) -> bool:
    return (task.model_baseline, task.model_candidate) == (
        model.model_baseline,
        model.model_candidate,
    )


def _ordered(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def gate(
    baseline: RunSource,
    candidate: RunSource,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    threshold: float | None = None,
) -> GateResult:
    """Compare ``candidate`` with ``baseline`` on ``metrics``; ``threshold`` (a fraction,
    0.05 for 5%) turns the comparison into a gate."""
    a_recs, b_recs = baseline.records, candidate.records
    keys = expand_metrics(metrics, a_recs, b_recs)
    a_models = _ordered([r.model for r in a_recs])
    b_models = _ordered([r.model for r in b_recs])
    pairs = [(m, m) for m in a_models if m in b_models]
    pairing = None
    if not pairs and len(a_models) == 1 and len(b_models) == 1:
        pairs = [(a_models[0], b_models[0])]
        pairing = f"{a_models[0]} → {b_models[0]}: the only model of each run"
    paired_a = {p[0] for p in pairs}
    paired_b = {p[1] for p in pairs}
    models, tasks = [], []
    for ma, mb in pairs:
        ra = [r for r in a_recs if r.model == ma]
        rb = [r for r in b_recs if r.model == mb]
        rows = [compare_metric(k, ra, rb, threshold) for k in keys]
        models.append(GroupResult(ma, mb, None, rows))
        for task in _ordered([r.task for r in ra if any(x.task == r.task for x in rb)]):
            ta = [r for r in ra if r.task == task]
            tb = [r for r in rb if r.task == task]
            # per task: never part of the verdict (see the module docstring)
            rows = [compare_metric(k, ta, tb, None) for k in keys]
            tasks.append(GroupResult(ma, mb, task, rows))
    notes = caveats(baseline, candidate)
    for side, src in (("baseline", baseline), ("candidate", candidate)):
        status = src.run.get("status")
        if status and status != "completed":
            notes.append(f"the {side} run is {status}: partial results")
    return GateResult(
        baseline=baseline,
        candidate=candidate,
        threshold=threshold,
        metrics=keys,
        models=models,
        tasks=tasks,
        only_in_baseline=[m for m in a_models if m not in paired_a],
        only_in_candidate=[m for m in b_models if m not in paired_b],
        caveats=notes,
        pairing=pairing,
    )


def parse_threshold(text: str) -> float:
    """``5%`` (or ``5``) as 0.05; a one-line error for anything else."""
    value = text.strip().removesuffix("%").strip()
    try:
        pct = float(value)
    except ValueError:
        raise UserError(f"--fail-if-regression {text}: give a percentage, e.g. 5%") from None
    if not (math.isfinite(pct) and pct >= 0):
        raise UserError(f"--fail-if-regression {text}: give a percentage from 0% up")
    return pct / 100
