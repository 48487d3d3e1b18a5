"""A plan's ``[quality]`` table: which scoring model reads the answers after the run, and
whether an LLM judge grades them. Absent, the defaults below apply.

.. code-block:: toml

    [quality]
    fluency = true                          # default: on unless every model is a mock
    fluency_model = "builtin:smollm2-135m"  # a source (builtin:, hf:, a GGUF path ...) or
                                            # the id of one of the plan's llama.cpp models
    judge = true                            # default: on when judge_model is set
    judge_model = "builtin:gemma3-270m"     # as fluency_model; default: the fluency model
    rubric = 1                              # the judge's rubric version (the only one)
    threads = 1                             # CPU threads of the scoring models

The mock backend's text is random by construction: scoring it needs no model, so a plan
of mock models only loads none unless it asks (``fluency = true``, as ``plans/mock.toml``
does to show what the scores make of word salad).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from tui_bench.core.quality.fluency import DEFAULT_FLUENCY_MODEL
from tui_bench.core.quality.judge import RUBRIC_VERSION

_Source = Annotated[str, Field(min_length=1, pattern=r"^[^\x00-\x1f\x7f]+$")]


class QualitySettings(BaseModel):
    """``[quality]``: the model-based scorers (see the module's doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fluency: bool | None = None
    fluency_model: _Source = DEFAULT_FLUENCY_MODEL
    judge: bool | None = None
    judge_model: _Source | None = None
    rubric: Literal[1] = RUBRIC_VERSION
    threads: Annotated[int, Field(ge=1)] = 1  # CPU threads of the scoring models


class _Model(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def backend(self) -> str: ...
    @property
    def source(self) -> str | None: ...


class Plan(Protocol):
    """What these functions read of a plan (``core.plan.Plan``, which imports this module)."""

    @property
    def models(self) -> Sequence[_Model]: ...
    @property
    def quality(self) -> QualitySettings | None: ...


def quality_of(plan: Plan) -> QualitySettings:
    return plan.quality or QualitySettings()


def fluency_on(plan: Plan) -> bool:
    q = quality_of(plan)
    if q.fluency is not None:
        return q.fluency
    return any(m.backend != "mock" for m in plan.models)


def judge_on(plan: Plan) -> bool:
    q = quality_of(plan)
    return q.judge if q.judge is not None else q.judge_model is not None


def judge_source(plan: Plan) -> str:
    q = quality_of(plan)
    return model_source(plan, q.judge_model or q.fluency_model)


def model_source(plan: Plan, name: str) -> str:
    """A plan model's id stands for its source; anything else is a source itself."""
    for m in plan.models:
        if m.id == name and m.source:
            return m.source
    return name


def quality_sources(plan: Plan) -> list[tuple[str, str]]:
    """``(field, source)`` of each scoring model the plan's ``[quality]`` names itself
    (not the default, whose absence is a warning when the run is scored; not a plan
    model, checked as one): plan loading checks that they resolve to a GGUF."""
    q = plan.quality
    if q is None:
        return []
    ids = {m.id for m in plan.models}
    return [
        (f"quality.{field}", getattr(q, field))
        for field in ("fluency_model", "judge_model")
        if field in q.model_fields_set and getattr(q, field) not in ids
    ]


def quality_problem(plan: Plan) -> tuple[str, str] | None:
    """``(field, message)`` for a ``[quality]`` table that names a plan model the scorers
    cannot run (they run on llama.cpp), else ``None``."""
    if plan.quality is None:
        return None
    for field in ("fluency_model", "judge_model"):
        name = getattr(plan.quality, field)
        for m in plan.models:
            if m.id == name and (m.backend != "llama_cpp" or not m.source):
                return (
                    f"quality.{field}",
                    f"model {name!r} runs on backend {m.backend!r}; the scorers run on"
                    " llama.cpp: name a llama.cpp model of the plan or a GGUF source",
                )
    return None
