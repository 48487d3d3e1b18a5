"""Events the pipeline runner publishes: ``PipelineStarted`` → ``StageReady`` (per stage,
after its setup: index built, classifier or model loaded) → ``StageStarted`` (per
question and stage, as it begins) → ``QuestionFinished`` (per question, with its spans
and results) → ``PipelineFinished``; ``core.events.Log`` lines
between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.events import Event


@dataclass
class PipelineStarted(Event):
    scenario: str
    stages: list[str]
    n_questions: int
    started_at: str


@dataclass
class StageReady(Event):
    stage: str
    setup_ms: float | None  # index build or model load; None for a skipped stage
    detail: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why the stage does not run


@dataclass
class StageStarted(Event):
    index: int  # the question's, from 1
    question: str  # its id
    stage: str


@dataclass
class QuestionFinished(Event):
    index: int  # from 1
    total: int
    question: dict[str, Any]  # QuestionResult.to_dict()


@dataclass
class PipelineFinished(Event):
    status: str
    passed: bool
    success_rate: float | None
    bottleneck: str | None
