"""A pipeline run's results: per question, per stage, the bottleneck, and the verdicts.

Thresholds (the scenario's, each a minimum) are judged on means over the questions:

- ``success_rate``: questions that succeeded (every stage that runs ran without error
  and the generate request is ok) / questions;
- ``ndcg@K``: temporal nDCG@K with the scenario's ranking parameters when the documents
  are dated (plain nDCG@K otherwise); ``recall@K``, ``mrr``: as :mod:`.retrieve` says;
- ``accuracy``, ``macro_f1``: :mod:`.classifier`, over every question of the run;
- ``quality``: the mean ``contains`` score of the answers (the share of the question's
  ``expect.contains`` strings found, case-insensitive; a failed request scores 0).

A threshold on a stage that was skipped (no classifier given) is reported as not judged
and does not decide the verdict; the run passes when it finished and every judged
threshold holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.pipeline.spans import (
    StageSpan,
    bottleneck,
    end_to_end_ms,
    median_shares,
    shares,
)
from tui_bench.core.stats import summarize


@dataclass
class QuestionResult:
    id: str
    label: str | None
    spans: list[StageSpan] = field(default_factory=list)
    retrieve: dict[str, Any] | None = None  # top (id, score) pairs, metrics
    classify: dict[str, Any] | None = None  # label, confidence, correct
    generate: dict[str, Any] | None = None  # the request's figures and quality
    record: Any = None  # the generate stage's RequestRecord (history)
    error: str | None = None  # a stage that failed

    @property
    def e2e_ms(self) -> float:
        return end_to_end_ms(self.spans)

    @property
    def shares(self) -> dict[str, float]:
        return shares(self.spans)

    @property
    def success(self) -> bool:
        gen_ok = self.generate is None or bool(self.generate.get("ok"))
        return self.error is None and gen_ok and all(s.ok for s in self.spans)

    def to_dict(self) -> dict[str, Any]:
        sh = self.shares
        return {
            "id": self.id,
            "label": self.label,
            "success": self.success,
            "error": self.error,
            "e2e_ms": self.e2e_ms,
            "spans": {s.stage: s.to_dict() | {"share": sh.get(s.stage)} for s in self.spans},
            "retrieve": self.retrieve,
            "classify": self.classify,
            "generate": self.generate,
        }


def generate_figures(rec: Any, quality: dict[str, float]) -> dict[str, Any]:
    """What a question's data keeps of its generate request."""
    return {
        "ok": rec.ok,
        "error": rec.error,
        "finish_reason": rec.finish_reason,
        "ttft_ms": rec.ttft_ms,
        "e2e_ms": rec.e2e_ms,
        "tpot_ms": rec.tpot_ms,
        "decode_tps": rec.decode_tps,
        "prefill_tps": rec.prefill_tps,
        "n_in": rec.n_in,
        "n_out": rec.n_out,
        "peak_rss_kb": rec.peak_rss_kb,
        "flags": list(rec.flags),
        "text": rec.text,
        "quality": quality,
    }


@dataclass
class PipelineResult:
    scenario: dict[str, Any]  # Scenario.as_dict()
    config: dict[str, Any]
    started_at: str
    stages: list[str]  # the scenario's, in order
    setup: dict[str, dict[str, Any]] = field(default_factory=dict)
    questions: list[QuestionResult] = field(default_factory=list)
    status: str = "running"
    finished_at: str | None = None
    output_dir: str | None = None
    model_info: dict[str, Any] = field(default_factory=dict)

    @property
    def ran(self) -> list[str]:
        """The stages that ran (a skipped one is left out)."""
        return [s for s in self.stages if not self.setup.get(s, {}).get("skipped")]

    def stage_table(self) -> dict[str, dict[str, Any]]:
        """Per stage: wall time, CPU time and share over the questions (median, p90, mean)."""
        per_q = [q.shares for q in self.questions]
        out: dict[str, dict[str, Any]] = {}
        for stage in self.ran:
            spans = [s for q in self.questions for s in q.spans if s.stage == stage]
            wall, cpu = summarize([s.wall_ms for s in spans]), summarize([s.cpu_ms for s in spans])
            share = summarize([q[stage] for q in per_q if stage in q])
            rss = [s.rss_kb for s in spans if s.rss_kb is not None]
            out[stage] = {
                "n": wall.n,
                "wall_ms": {"median": wall.median, "p90": wall.p90, "mean": wall.mean},
                "cpu_ms": {"median": cpu.median, "p90": cpu.p90} if cpu.n else None,
                "share": {"median": share.median, "p90": share.p90, "mean": share.mean},
                "peak_rss_kb": max(rss) if rss else None,
                "setup_ms": self.setup.get(stage, {}).get("setup_ms"),
            }
        return out

    def bottleneck(self) -> str | None:
        return bottleneck([q.shares for q in self.questions], self.ran)

    def bottleneck_sentence(self) -> str:
        stage = self.bottleneck()
        if stage is None:
            return "No question finished: no bottleneck to name."
        med = median_shares([q.shares for q in self.questions], self.ran)
        others = ", ".join(f"{s} {med[s]:.1%}" for s in self.ran if s != stage)
        rest = f" (others: {others})" if others else ""
        return (
            f"The bottleneck is the {stage} stage: {med[stage]:.1%} of a question's "
            f"end-to-end time at the median{rest}."
        )

    def success_rate(self) -> float | None:
        n = len(self.questions)
        return sum(q.success for q in self.questions) / n if n else None

    def quality(self) -> dict[str, dict[str, Any]]:
        """Per stage that ran, its means over the questions."""
        out: dict[str, dict[str, Any]] = {}
        if "retrieve" in self.ran:
            rows = [q.retrieve["metrics"] for q in self.questions if q.retrieve]
            out["retrieve"] = {
                k: _mean([r.get(k) for r in rows]) for k in (rows[0] if rows else {})
            }
        if "classify" in self.ran:
            out["classify"] = dict(self.setup.get("classify", {}).get("metrics") or {})
        if "generate" in self.ran:
            scores = [q.generate.get("quality", {}) for q in self.questions if q.generate]
            names = sorted({k for s in scores for k in s})
            out["generate"] = {k: _mean([s.get(k) for s in scores]) for k in names}
        return out

    def thresholds(self) -> list[dict[str, Any]]:
        """Each scenario threshold: metric, value, minimum, and passed (None: not judged)."""
        quality = self.quality()
        retrieve = quality.get("retrieve", {})
        dated = retrieve and any(
            k.startswith("ndcg_time@") and v is not None for k, v in retrieve.items()
        )
        out = []
        for metric, minimum in self.scenario.get("thresholds", {}).items():
            value: float | None
            note, key = None, metric
            if metric == "success_rate":
                value = self.success_rate()
            elif metric.startswith("ndcg@"):
                key = metric.replace("ndcg@", "ndcg_time@") if dated else metric
                value, note = retrieve.get(key), "temporal" if dated else None
            elif metric.startswith("recall@") or metric == "mrr":
                value = retrieve.get(metric)
            elif metric in ("accuracy", "macro_f1"):
                value = quality.get("classify", {}).get(metric)
                if "classify" not in self.ran:
                    note = "classify stage skipped"
            elif metric == "quality":
                value, key = quality.get("generate", {}).get("contains"), "contains"
                note = "mean contains score"
            else:
                value = None
            passed = None if value is None else value >= minimum
            out.append(
                {
                    "metric": metric,
                    "key": key,  # the quality entry it judges
                    "value": value,
                    "threshold": minimum,
                    "passed": passed,
                    "note": note,
                }
            )
        return out

    def passed(self) -> bool:
        judged = [t["passed"] for t in self.thresholds() if t["passed"] is not None]
        return self.status == "completed" and bool(self.questions) and all(judged)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "pipeline",
            "scenario": self.scenario,
            "config": self.config,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "output_dir": self.output_dir,
            "stages": self.stages,
            "ran": self.ran,
            "setup": self.setup,
            "model_info": self.model_info,
            "stage_table": self.stage_table(),
            "bottleneck": {"stage": self.bottleneck(), "sentence": self.bottleneck_sentence()},
            "quality": self.quality(),
            "success_rate": self.success_rate(),
            "thresholds": self.thresholds(),
            "passed": self.passed(),
            "questions": [q.to_dict() for q in self.questions],
        }


def _mean(values: Sequence[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None
