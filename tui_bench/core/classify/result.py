"""What a classifier benchmark found (:class:`ClassifyResult`, one :class:`Cell` per
category and language), and its stored form.

The stored form (``to_dict``: data.json and the history database) keeps every number at
full precision: the reports are rendered from the same values whether they come from the
run in memory or back from history, so a rebuilt report is the original byte for byte
(a value rounded when stored and again when shown could differ in its last digit).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify import imbalance as imb
from tui_bench.core.classify import language_balance as lb
from tui_bench.core.classify import rank as rk
from tui_bench.core.classify.final import FinalModel
from tui_bench.core.classify.train import (
    CandidateResult,
)


@dataclass
class Cell:
    category: str
    language: str | None
    texts: list[str]
    labels: list[str]
    analysis: imb.CategoryImbalance
    models: list[str]

    @property
    def key(self) -> str:
        return f"{self.category}/{self.language}" if self.language else self.category


@dataclass
class ClassifyResult:
    status: str
    config: dict[str, Any]
    dataset: dict[str, Any]
    thresholds: dict[str, Any]
    imbalance: list[imb.CategoryImbalance]
    cell_imbalance: list[imb.CategoryImbalance]  # per category × language, by-language runs
    excluded: list[dict[str, Any]]
    suggested: dict[str, imb.Suggestion]
    categories: list[str]
    languages: list[str | None]
    models: dict[str, list[str]]  # language (or "*") -> candidates
    results: list[CandidateResult]
    rows: list[rk.RankedRow]
    aggregates: list[rk.AggregateRow]
    language_balance: list[lb.LanguageBalanceRow]
    choice: dict[str, Any]
    final: list[FinalModel]
    started_at: str
    duration_s: float
    output_dir: str | None = None
    notes: list[str] = field(default_factory=list)
    # the duration estimated before training (estimate.DurationEstimate.to_dict())
    estimate: dict[str, Any] | None = None
    # how the intervals were computed (significance.describe)
    significance: dict[str, Any] = field(default_factory=dict)
    # Why the chosen model or a report file could not be saved (one line), in memory;
    # the stored form keeps each failed cell in ``choice["errors"]``.
    save_error: str | None = field(default=None, compare=False)
    # The benchmarked cells with their rows, for ``train_chosen`` after the benchmark.
    # In memory only: never serialised, never compared.
    _cells: list[Cell] = field(default_factory=list, repr=False, compare=False)

    def result_for(self, model: str, category: str, language: str | None) -> CandidateResult | None:
        for res in self.results:
            if (res.candidate, res.category, res.language) == (model, category, language):
                return res
        return None

    def result_rows(self) -> list[dict[str, Any]]:
        """Ranked rows joined with their full results: data.json ``results``."""
        out = []
        for row in self.rows:
            res = self.result_for(row.model, row.category, row.language)
            merged = res.to_dict() if res is not None else {}
            merged.pop("candidate", None)
            merged.update(row.to_dict())
            out.append(merged)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "config": self.config,
            "dataset": self.dataset,
            "thresholds": self.thresholds,
            "imbalance": [a.to_dict() for a in self.imbalance],
            "cell_imbalance": [a.to_dict() for a in self.cell_imbalance],
            "excluded": self.excluded,
            "suggested": {p: s.category for p, s in self.suggested.items()},
            "suggested_reasons": {p: s.reason for p, s in self.suggested.items()},
            "categories": self.categories,
            "languages": self.languages,
            "models": self.models,
            "candidates": [cand.info(n) for n in all_models(self.models)],
            "results": self.result_rows(),
            "aggregates": [a.to_dict() for a in self.aggregates],
            "language_balance": [b.to_dict() for b in self.language_balance],
            "choice": self.choice,
            "final": [f.to_dict() for f in self.final],
            "output_dir": self.output_dir,
            "notes": self.notes,
            "estimate": self.estimate,
            "significance": self.significance,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifyResult:
        """The result back from its ``to_dict`` form (``data.json``, the history database):
        enough to show and report it again, not to train a final model (no data held)."""

        def build(kind: type, d: dict[str, Any], **extra: Any) -> Any:
            names = {f.name for f in fields(kind)}
            return kind(**{k: v for k, v in {**d, **extra}.items() if k in names})

        suggested = {
            p: imb.Suggestion(p, c, (data.get("suggested_reasons") or {}).get(p, ""))
            for p, c in (data.get("suggested") or {}).items()
        }
        merged = data.get("results") or []
        return cls(
            status=data["status"],
            config=data.get("config") or {},
            dataset=data.get("dataset") or {},
            thresholds=data.get("thresholds") or {},
            imbalance=[build(imb.CategoryImbalance, a) for a in data.get("imbalance") or []],
            cell_imbalance=[
                build(imb.CategoryImbalance, a) for a in data.get("cell_imbalance") or []
            ],
            excluded=data.get("excluded") or [],
            suggested=suggested,
            categories=data.get("categories") or [],
            languages=data.get("languages") or [None],
            models=data.get("models") or {},
            results=[build(CandidateResult, r, candidate=r["model"]) for r in merged],
            rows=[build(rk.RankedRow, r) for r in merged],
            aggregates=[build(rk.AggregateRow, a) for a in data.get("aggregates") or []],
            language_balance=[
                build(lb.LanguageBalanceRow, b) for b in data.get("language_balance") or []
            ],
            choice=data.get("choice") or {},
            final=[build(FinalModel, f) for f in data.get("final") or []],
            started_at=data.get("started_at") or "",
            duration_s=float(data.get("duration_s") or 0.0),
            output_dir=data.get("output_dir"),
            notes=data.get("notes") or [],
            estimate=data.get("estimate"),
            significance=data.get("significance") or {},
        )


def all_models(models: dict[str, list[str]]) -> list[str]:
    seen: list[str] = []
    for names in models.values():
        seen.extend(n for n in names if n not in seen)
    return [*seen, cand.BASELINE, cand.GUESS]
