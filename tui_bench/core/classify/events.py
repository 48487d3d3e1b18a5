"""Events the classifier benchmark publishes, in the order a run emits them.

``ClassifyStarted`` → ``ImbalanceAnalysed`` → ``DurationEstimated`` → per candidate ×
category (× language):
``CandidateStarted``, ``StepProgress`` (fine-tuned transformers: every few optimiser
steps), ``EpochProgress`` (learners that train by epochs only, one per epoch),
``CandidateFinished`` → ``FinalModelSaved`` (per saved model) → ``ClassifyFinished``.

With ``jobs=1`` every event is live. With several jobs, candidates run in worker
processes; their events travel back through a queue and are published in the caller's
thread as they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.events import Event


@dataclass
class ClassifyStarted(Event):
    data: str
    n_rows: int
    categories: list[str]
    models: list[str]
    languages: list[str]
    by_language: bool
    epochs: int
    jobs: int
    n_trainings: int  # candidate × category (× language) cells, baseline included


@dataclass
class ImbalanceAnalysed(Event):
    imbalance: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    suggested: dict[str, str | None]
    thresholds: dict[str, Any]


@dataclass
class DurationEstimated(Event):
    """Before the first training: how long the trainings should take (an estimate)."""

    seconds: float
    text: str  # one line, saying it is an estimate and what it rests on
    estimate: dict[str, Any]  # estimate.DurationEstimate.to_dict()


@dataclass
class CandidateStarted(Event):
    candidate: str
    category: str
    language: str | None
    index: int  # 0-based among all trainings of the run
    total: int


@dataclass
class EpochProgress(Event):
    candidate: str
    category: str
    language: str | None
    epoch: int  # 1-based
    n_epochs: int
    val_f1_macro: float | None  # None when the cell is too small for a validation split
    elapsed_s: float  # since this candidate started training (this fold)
    fold: int | None = None  # 1-based when cross-validating
    improved: bool = True
    # fine-tuned transformers: the epoch's mean training loss, its training throughput
    # and the time left to the last planned epoch (early stopping may end sooner)
    train_loss: float | None = None
    examples_per_s: float | None = None
    eta_s: float | None = None


@dataclass
class StepProgress(Event):
    """A fine-tuned transformer's optimiser steps, at most a few per second."""

    candidate: str
    category: str
    language: str | None
    epoch: int  # 1-based
    n_epochs: int
    step: int  # 1-based within the epoch
    n_steps: int  # per epoch
    loss: float  # the mean training loss of the epoch so far
    examples_per_s: float
    eta_s: float  # to the last planned epoch
    fold: int | None = None


@dataclass
class CandidateFinished(Event):
    result: Any  # train.CandidateResult; typed loosely to keep events import-light

    def to_json(self) -> dict[str, Any]:
        return {"event": "CandidateFinished", "result": self.result.to_dict()}


@dataclass
class FinalModelStarted(Event):
    candidate: str
    category: str
    language: str | None
    n_samples: int
    epochs: int | None


@dataclass
class FinalModelSaved(Event):
    candidate: str
    category: str
    language: str | None
    model_path: str
    card_path: str
    train_time_s: float


@dataclass
class ClassifyFinished(Event):
    status: str  # "completed" | "cancelled"
    n_results: int
    n_failed: int
    duration_s: float
    output_dir: str | None = None
    winners: dict[str, str] = field(default_factory=dict)  # "category[/lang]" -> model
