"""Baseline vs candidate in history, as the app's compare screen shows it: per model,
the timing metrics, and what differs between the two runs besides the change (caveats).

For each model present in both runs and each key metric: the relative difference of
medians, its bootstrap 95% interval, a Mann-Whitney U p-value and a verdict
(faster / slower / no significant difference), from the measured, valid requests. The
regression gate (:mod:`.gate`) builds on the same statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui_bench.core.results import RequestRecord
from tui_bench.core.stats import Comparison, compare
from tui_bench.core.summary import METRIC, counts_for_timing

COMPARED = ("ttft_ms", "decode_tps", "e2e_ms", "tpot_ms", "prefill_tps")


@dataclass
class ModelComparison:
    model_baseline: str
    model_candidate: str
    rows: list[Comparison]

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_baseline": self.model_baseline,
            "model_candidate": self.model_candidate,
            "metrics": [c.as_dict() for c in self.rows],
        }


def _values(records: list[RequestRecord], model: str, metric: str) -> list[float]:
    return [
        getattr(r, metric)
        for r in records
        if r.model == model and counts_for_timing(r) and getattr(r, metric) is not None
    ]


def compare_records(
    baseline: list[RequestRecord],
    candidate: list[RequestRecord],
    *,
    pairs: list[tuple[str, str]] | None = None,
    metrics: tuple[str, ...] = COMPARED,
) -> list[ModelComparison]:
    """Compare per model. ``pairs`` maps baseline model -> candidate model; by default
    models with the same id, or the only model of each run when both have exactly one."""
    if pairs is None:
        a_models = list(dict.fromkeys(r.model for r in baseline))
        b_models = list(dict.fromkeys(r.model for r in candidate))
        pairs = [(m, m) for m in a_models if m in b_models]
        if not pairs and len(a_models) == 1 and len(b_models) == 1:
            pairs = [(a_models[0], b_models[0])]
    out = []
    for ma, mb in pairs:
        rows = [
            compare(
                key,
                _values(baseline, ma, key),
                _values(candidate, mb, key),
                higher_is_better=METRIC[key].higher_is_better,
            )
            for key in metrics
        ]
        out.append(ModelComparison(ma, mb, rows))
    return out


def caveats(baseline: Any, candidate: Any) -> list[str]:
    """What differs between two runs besides the change being measured (RunRow-like)."""
    out: list[str] = []
    pa, pb = baseline.plan_raw or {}, candidate.plan_raw or {}
    if baseline.plan != candidate.plan:
        out.append(f"different plans ({baseline.plan} vs {candidate.plan})")
    prompts_a = {p.get("id"): p.get("text") for p in pa.get("prompts", [])}
    prompts_b = {p.get("id"): p.get("text") for p in pb.get("prompts", [])}
    if prompts_a and prompts_b and prompts_a != prompts_b:
        out.append("the prompts differ")
    da, db = pa.get("defaults", {}), pb.get("defaults", {})
    for key in ("max_tokens", "temperature", "ignore_eos", "mode", "prompt_cache"):
        if key in da and key in db and da[key] != db[key]:
            out.append(f"{key}: {da[key]} vs {db[key]}")
    ha, hb = baseline.host or {}, candidate.host or {}
    # no host names are recorded (entries of older versions hold one): labels, else the CPUs
    name_a, name_b = ha.get("label") or ha.get("hostname"), hb.get("label") or hb.get("hostname")
    if name_a and name_b and name_a != name_b:
        out.append(f"different hosts ({name_a} vs {name_b})")
    elif ha.get("cpu") and hb.get("cpu") and ha["cpu"] != hb["cpu"]:
        out.append(f"different CPUs ({ha['cpu']} vs {hb['cpu']})")
    va, vb = ha.get("versions", {}), hb.get("versions", {})
    for key in ("llama_cpp_python", "tui_bench"):
        if va.get(key) and vb.get(key) and va[key] != vb[key]:
            out.append(f"{key.replace('_', '-')} {va[key]} vs {vb[key]}")
    return out


def compare_runs(store: Any, baseline_id: int, candidate_id: int) -> dict[str, Any]:
    a = store.get_run(baseline_id)
    b = store.get_run(candidate_id)
    comps = compare_records(store.get_requests(baseline_id), store.get_requests(candidate_id))
    return {
        "baseline": a.as_dict(),
        "candidate": b.as_dict(),
        "caveats": caveats(a, b),
        "models": [c.as_dict() for c in comps],
        "comparisons": comps,
    }
