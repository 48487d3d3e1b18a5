"""``POST /api/benchmarks/run``: the body, checked, and the ``tui-bench`` command it becomes.

A body names a plan (``{"plan": NAME_OR_PATH}``: ``tui-bench run PLAN --headless``) or a
scenario (``{"scenario_id": ID}``: ``tui-bench pipeline ID``), with optional overrides
(``repeats``, ``warmup``, ``max_tokens``, ``label``) passed as the command's own options,
and the design note's free ``context`` and ``metadata`` objects, kept with the job.

What can be checked before a process starts is: a plan that does not load, an unknown
scenario, an option the command does not take, a command this installation does not
have. Each is a :class:`LaunchError` with the HTTP status and one line naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tui_bench.core.errors import UserError

# body field -> the option of `tui-bench run` (and of `tui-bench pipeline`, where it has it)
OPTION_FLAGS = {
    "repeats": "--repeats",
    "warmup": "--warmup",
    "max_tokens": "--max-tokens",
    "label": "--label",
}

# a command's long option names, or None when the installation has no such command
CommandOptions = Callable[[str], "frozenset[str] | None"]


class LaunchError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    scenario_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    repeats: Annotated[int, Field(strict=True, ge=1)] | None = None
    warmup: Annotated[int, Field(strict=True, ge=0)] | None = None
    max_tokens: Annotated[int, Field(strict=True, ge=1)] | None = None
    label: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_target(self) -> RunRequest:
        if (self.plan is None) == (self.scenario_id is None):
            raise ValueError("give either plan (a plan name or path) or scenario_id, not both")
        return self


def one_line(exc: ValidationError, prefix: str = "") -> str:
    """The first problem of a validation error: ``FIELD: what is wrong``."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{prefix}{where}: {msg}"


def parse_request(data: object) -> RunRequest:
    if not isinstance(data, dict):
        raise LaunchError(422, "body: expected a JSON object with plan or scenario_id")
    try:
        return RunRequest.model_validate(data)
    except ValidationError as exc:
        raise LaunchError(422, one_line(exc)) from None


@dataclass(frozen=True)
class Launch:
    """What to start: ``tui-bench ARGS``, for the job's view."""

    args: list[str]
    kind: str  # "plan" or "scenario"
    target: str
    metadata: dict[str, Any]


def _flags(req: RunRequest, command: str, options: frozenset[str]) -> list[str]:
    out: list[str] = []
    for field, flag in OPTION_FLAGS.items():
        value = getattr(req, field)
        if value is None:
            continue
        if flag not in options:
            raise LaunchError(422, f"{field}: tui-bench {command} has no {flag} option")
        out += [flag, str(value)]
    return out


def _check_label(label: str | None) -> None:
    if label is None:
        return
    from tui_bench.core.compare.sources import check_label

    try:
        check_label(label)
    except UserError as exc:
        raise LaunchError(422, f"label: {exc}") from None


def plan_launch(req: RunRequest, command_options: CommandOptions) -> Launch:
    from tui_bench.core.catalog import find_plan
    from tui_bench.core.plan import load_plan

    assert req.plan is not None
    options = command_options("run") or frozenset()
    flags = _flags(req, "run", options)
    _check_label(req.label)
    try:
        loaded = load_plan(find_plan(req.plan))
    except UserError as exc:
        raise LaunchError(422, f"plan: {exc}") from None
    path = str(loaded.path.resolve())
    return Launch(
        args=["run", path, "--headless", *flags],
        kind="plan",
        target=loaded.plan.name,
        metadata={"context": req.context, "metadata": req.metadata, "plan_path": path},
    )


def scenario_launch(req: RunRequest, command_options: CommandOptions) -> Launch:
    from tui_bench.core.scenarios import find_scenario

    assert req.scenario_id is not None
    options = command_options("pipeline")
    if options is None:
        raise LaunchError(
            501,
            "scenario_id: this installation of tui-bench has no 'pipeline' command, so "
            'scenarios cannot run yet; start a plan instead ({"plan": NAME_OR_PATH})',
        )
    try:
        scenario = find_scenario(req.scenario_id)
    except UserError as exc:
        raise LaunchError(422, f"scenario_id: {exc}") from None
    flags = _flags(req, "pipeline", options)
    _check_label(req.label)
    headless = ["--headless"] if "--headless" in options else []
    return Launch(
        args=["pipeline", scenario.id, *headless, *flags],
        kind="scenario",
        target=scenario.id,
        metadata={"context": req.context, "metadata": req.metadata},
    )


def launch_for(data: object, command_options: CommandOptions) -> Launch:
    """The command a run request's body asks for (:class:`LaunchError` if it cannot)."""
    req = parse_request(data)
    if req.plan is not None:
        return plan_launch(req, command_options)
    return scenario_launch(req, command_options)
