"""Benchmark plans: the schema, and loading TOML/JSON files with one-line error messages.

A plan is models x prompts x repeats, plus warm-ups and generation defaults. Every
mistake in a plan file becomes a :class:`PlanError` naming the file and the field
(``plans/x.toml: models[1].n_ctx: ...``); the CLI turns it into exit code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from tui_bench.core.cost import Price, prices_problem
from tui_bench.core.errors import PlanError, UserError
from tui_bench.core.http_options import HttpTimeouts, openai_problem
from tui_bench.core.load.spec import LoadSpec, SloSpec, load_problem, planned
from tui_bench.core.mock_options import MockOptions
from tui_bench.core.placement_options import DeviceRef, devices_problem
from tui_bench.core.printable import CONTROL
from tui_bench.core.quality.settings import QualitySettings, quality_problem, quality_sources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

BACKENDS = ("llama_cpp", "mock", "openai")
TASK_TYPES = (
    "analysis",
    "generation",
    "code_correction",
    "code_generation",
    "translation",
    "summarization",
    "classification",
    "extraction",
    "qa",
    "chat",
    "other",
)

NonNegInt = Annotated[int, Field(ge=0)]
MAX_GPUS = 16  # llama.cpp's LLAMA_MAX_DEVICES: the most entries a tensor_split can have
PosInt = Annotated[int, Field(ge=1)]


def _one_line(value: str) -> str:
    """A name is printed in log lines and tables: one line of text, no terminal escapes."""
    bad = CONTROL.search(value)
    if bad:
        raise ValueError(
            f"control character {bad.group()!r} at position {bad.start()}: use one line of text"
        )
    return value


OneLine = Annotated[str, AfterValidator(_one_line)]


class _FieldError(ValueError):
    """A plan-level rule broken by one field: ``field`` is where the message points."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Generation(_Strict):
    """Generation settings. Plan-wide in ``[defaults]``; a prompt may override some."""

    max_tokens: PosInt = 64
    temperature: Annotated[float, Field(ge=0.0, le=5.0)] = 0.0
    top_k: NonNegInt = 40
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] = 0.95
    min_p: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05
    seed: NonNegInt = 42
    ignore_eos: bool = False
    stop: list[str] = Field(default_factory=list)
    mode: Literal["chat", "completion"] = "chat"
    prompt_cache: bool = False
    timeout_s: Annotated[float, Field(gt=0)] = 600.0


class ModelSpec(_Strict):
    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.:@+-]+$")]
    backend: Literal["llama_cpp", "mock", "openai"] = "llama_cpp"
    source: str | None = None
    role: str | None = None
    label: OneLine | None = None
    n_ctx: Annotated[int, Field(ge=16)] = 2048
    n_threads: PosInt | None = None
    n_batch: PosInt = 512
    n_gpu_layers: Annotated[int, Field(ge=-1)] = 0
    # Where offloaded layers go when several GPUs are visible (llama.cpp's options). None
    # set: one GPU (main_gpu, default 0) if the model fits in its free memory, else the
    # rule in core/backends/llama_devices.py. tensor_split: a share per GPU, in order.
    # devices: the GPUs to use, by llama.cpp name or index (core/placement_options.py).
    main_gpu: NonNegInt | None = None
    devices: list[DeviceRef] | None = None
    split_mode: Literal["none", "layer", "row"] | None = None
    tensor_split: list[Annotated[float, Field(ge=0)]] | None = None
    flash_attn: bool | None = None  # None: llama.cpp's own default (auto: on where supported)
    # CPU weight repacking (llama.cpp's "extra buffer types": AMX, AVX-512 ... layouts).
    # "auto": on, and if the worker dies from a native signal on the first decode after
    # loading with it on, reloaded once with it off (recorded as such); True/False: as set.
    repack: Literal["auto"] | bool = "auto"
    # llama.cpp CPU threadpool, as llama-bench sets it: busy-wait polling level (0-100)
    # between graph computations, and the priority of its threads (0 normal .. 3 realtime).
    poll: Annotated[int, Field(ge=0, le=100)] = 50
    prio: Annotated[int, Field(ge=-1, le=3)] = 0
    load_timeout_s: Annotated[float, Field(gt=0)] = 600.0
    chat_template: str | None = None
    mock: MockOptions | None = None
    # backend "openai": an OpenAI-compatible server (llama-server, vLLM, Ollama ...).
    # base_url with or without its /v1; model: the server's name for it (default: id);
    # api_key_env: the environment variable holding the key, read when the model loads
    # (the key itself is never in a plan); endpoint: /v1/chat/completions or /v1/completions.
    base_url: str | None = None
    model: OneLine | None = None
    api_key_env: str | None = None
    endpoint: Literal["chat", "completions"] | None = None  # None: as [defaults] mode says
    timeouts: HttpTimeouts | None = None
    tokenizer: str | None = None  # a GGUF counting tokens the server does not (openai only)
    launch: bool | None = None  # openai: serve `source` on 127.0.0.1 for the run (serve.py)
    load: LoadSpec | None = None  # [models.load]: this model's own (core/load/spec.py)

    @model_validator(mode="after")
    def _source_required(self) -> ModelSpec:
        if self.backend == "llama_cpp" and not self.source:
            raise ValueError("field 'source' is required for backend 'llama_cpp'")
        return self

    @model_validator(mode="after")
    def _placement(self) -> ModelSpec:
        split = self.tensor_split
        if split is None:
            return self
        if not split or len(split) > MAX_GPUS:
            raise _FieldError("tensor_split", f"give 1 to {MAX_GPUS} shares, one per GPU")
        if not any(share > 0 for share in split):
            raise _FieldError("tensor_split", "at least one share must be above 0")
        if self.split_mode == "none":
            raise _FieldError(
                "tensor_split", 'splits across GPUs: set split_mode = "layer" or "row", or drop it'
            )
        return self

    @model_validator(mode="after")
    def _openai_fields(self) -> ModelSpec:
        # not field constraints: pydantic would quote the value, and a mistyped
        # api_key_env or a base_url with credentials may hold a secret
        problem = openai_problem(self)
        if problem:
            raise _FieldError(*problem)
        return self

    @property
    def display(self) -> str:
        return self.label or self.id


class Expect(_Strict):
    """What a good answer looks like, for the quality scorers."""

    reference: str | None = None
    contains: list[str] = Field(default_factory=list)
    regex: str | None = None
    exact: str | None = None
    tests: str | None = None
    language: Literal["python"] = "python"
    lang: Annotated[str, Field(pattern=r"^[a-z]{2}$")] | None = None  # answer's, ISO 639-1


class PromptSpec(_Strict):
    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.:@+-]+$")]
    task: str = "other"
    text: Annotated[str, Field(min_length=1)]
    system: str | None = None
    max_tokens: PosInt | None = None
    stop: list[str] | None = None
    expect: Expect | None = None


class Settings(_Strict):
    """How the run measures, beside what it runs (``[settings]``; absent: these defaults)."""

    # Measure the GPUs' idle power for ~2 s before the first model loads; the energy
    # figures are then also given net of it (core/energy.py).
    energy_idle_baseline: bool = False


class Plan(_Strict):
    name: Annotated[OneLine, Field(min_length=1)]
    description: str = ""
    success_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    repeats: PosInt = 3
    warmup: NonNegInt = 1
    defaults: Generation = Field(default_factory=Generation)
    models: Annotated[list[ModelSpec], Field(min_length=1)]
    prompts: Annotated[list[PromptSpec], Field(min_length=1)]
    # None rather than the defaults: a plan without [settings] is written back without one
    settings: Settings | None = None
    prices: list[Price] | None = None  # [[prices]]: what answers cost (core/cost.py)
    quality: QualitySettings | None = None  # [quality]: model-based scorers (core/quality)
    load: LoadSpec | None = None  # [load]: load levels for every model (core/load/spec.py)
    slo: SloSpec | None = None  # [slo]: latency targets the load levels are judged by

    @model_validator(mode="after")
    def _max_tokens_fit(self) -> Plan:
        # The llama.cpp worker refuses a request whose prompt + max_tokens exceed n_ctx, and
        # every prompt is at least one token: max_tokens >= n_ctx can never run. The mock
        # backend has no context window.
        for m, model in enumerate(self.models):
            if model.backend != "llama_cpp":
                continue
            for p, prompt in enumerate(self.prompts):
                wanted = self.generation_for(prompt).max_tokens
                if wanted < model.n_ctx:
                    continue
                field = (
                    "defaults.max_tokens"
                    if prompt.max_tokens is None
                    else f"prompts[{p}].max_tokens"
                )
                if wanted > model.n_ctx:
                    problem = f"{wanted} exceeds models[{m}].n_ctx ({model.n_ctx})"
                else:
                    problem = f"{wanted} leaves no room for the prompt in models[{m}].n_ctx ({model.n_ctx})"
                raise _FieldError(field, problem)
        return self

    def generation_for(self, prompt: PromptSpec) -> Generation:
        """The settings a request of ``prompt`` runs with (prompt overrides win)."""
        updates: dict[str, Any] = {}
        if prompt.max_tokens is not None:
            updates["max_tokens"] = prompt.max_tokens
        if prompt.stop is not None:
            updates["stop"] = prompt.stop
        return self.defaults.model_copy(update=updates) if updates else self.defaults

    @property
    def n_measured(self) -> int:
        return sum(planned(self, m)[0] for m in self.models)

    @property
    def n_warmup(self) -> int:
        return sum(planned(self, m)[1] for m in self.models)

    def model(self, model_id: str) -> ModelSpec:
        for spec in self.models:
            if spec.id == model_id:
                return spec
        raise KeyError(model_id)

    def prompt(self, prompt_id: str) -> PromptSpec:
        for spec in self.prompts:
            if spec.id == prompt_id:
                return spec
        raise KeyError(prompt_id)


class LoadedPlan(BaseModel):
    """A validated plan, where it came from, and where each model source resolves."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    plan: Plan
    path: Path | None
    raw: dict[str, Any]


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or str(part).startswith(
            ("function-", "literal[", "constrained-")
        ):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors(include_url=False)[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    field = _format_loc(loc) or None
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, _FieldError):
        field = ".".join(p for p in (field, cause.field) if p)
    kind = err.get("type", "")
    msg = err["msg"]
    if kind == "missing":
        msg = "required field is missing"
    elif kind == "extra_forbidden":
        msg = "unknown field"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if "input" in err and kind not in ("missing", "extra_forbidden", "model_type"):
        shown = err["input"]
        if isinstance(shown, str | int | float | bool) and len(repr(shown)) < 60:
            msg = f"{msg} (got {shown!r})"
    total = exc.error_count()
    if total > 1:
        msg += f" (+{total - 1} more problem{'s' if total > 2 else ''})"
    return field or "", msg


def _check_unique(items: list[dict[str, Any]], key: str, section: str, path: object) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        value = item.get(key)
        if not isinstance(value, str):
            continue
        if value in seen:
            raise PlanError(
                path,
                f"{section}[{i}].{key}",
                f"duplicate id {value!r} (also {section}[{seen[value]}])",
            )
        seen[value] = i


def parse_plan(raw: Any, path: object = "<plan>") -> Plan:
    """Validate an already-decoded plan mapping; raise :class:`PlanError` on any problem."""
    if not isinstance(raw, dict):
        raise PlanError(path, None, "a plan must be a table/object at the top level")
    for section in ("models", "prompts"):
        items = raw.get(section)
        if isinstance(items, list):
            _check_unique(items, "id", section, path)
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as exc:
        field, msg = _first_error(exc)
        raise PlanError(path, field or None, msg) from None
    from tui_bench.core.quality import validate_expect

    if problem := prices_problem(plan) or quality_problem(plan) or devices_problem(plan):
        raise PlanError(path, *problem)
    if problem := load_problem(plan):
        raise PlanError(path, *problem)
    for i, prompt in enumerate(plan.prompts):
        problem = validate_expect(prompt.expect)
        if problem:
            field, _, msg = problem.partition(": ")
            raise PlanError(path, f"prompts[{i}].expect.{field}", msg)
    return plan


def read_plan_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise UserError(f"{path}: plan file not found")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a plan file")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise PlanError(path, None, f"cannot read: {exc.strerror}") from None
    # Both parsers recurse once per nesting level: arrays nested thousands deep exhaust
    # Python's stack (RecursionError) before they can be reported as a syntax error.
    too_deep = "arrays/tables nested too deeply to read (a plan needs only a few levels)"
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(
                path, None, f"JSON syntax error: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
        except RecursionError:
            raise PlanError(path, None, f"JSON {too_deep}") from None
    elif suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PlanError(path, None, f"TOML syntax error: {exc}") from None
        except RecursionError:
            raise PlanError(path, None, f"TOML {too_deep}") from None
    else:
        raise PlanError(path, None, f"unknown plan format {suffix!r}: use .toml or .json")
    return data


def check_sources(plan: Plan, path: object, base_dir: Path | None) -> None:
    """Every local GGUF a model uses (a llama_cpp model's source, a launched server's
    source, a tokenizer: :mod:`.model_files`) and a scoring model the plan names must
    resolve to a file that begins like a GGUF.

    A missing file, or one that is not a GGUF at all (its first four bytes), is a plan
    error. A GGUF that is damaged further in still loads and fails as a recorded run.
    A builtin not assembled yet is not assembled here: its file is checked when it exists.
    """
    from tui_bench.core.gguf import magic_problem
    from tui_bench.core.model_files import model_files
    from tui_bench.core.models import resolve_source

    sources = [
        (f"models[{i}].{field}", source)
        for i, m in enumerate(plan.models)
        for field, source in model_files(m)
    ]
    for field, source in sources + quality_sources(plan):
        try:
            resolved = resolve_source(source, base_dir=base_dir, assemble=False)
        except UserError as exc:
            raise PlanError(path, field, str(exc)) from None
        if not resolved.exists():  # a builtin assembled on first use
            continue
        try:
            problem = magic_problem(resolved)
        except OSError as exc:
            raise PlanError(path, field, f"cannot read {resolved}: {exc.strerror or exc}") from None
        if problem:
            where = "" if str(resolved) == source.strip() else f"{resolved}: "
            raise PlanError(path, field, f"{source} is not a GGUF file ({where}{problem})")


def load_plan(path: str | Path, *, check_models: bool = True) -> LoadedPlan:
    """Read, validate and (by default) check that every model source resolves."""
    p = Path(path)
    raw = read_plan_file(p)
    plan = parse_plan(raw, p)
    if check_models:
        check_sources(plan, p, p.parent)
    return LoadedPlan(plan=plan, path=p, raw=raw)


def plan_to_toml(plan: Plan) -> str:
    """Serialise a plan as TOML (used to save composed plans back to ``plans/``)."""
    data = plan.model_dump(exclude_none=True)
    return _dump_toml(data)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if "\n" in value:
            escaped = value.replace("\\", "\\\\").replace('"""', '\\"""')
            return f'"""\n{escaped}"""'
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _dump_toml(data: dict[str, Any]) -> str:
    lines: list[str] = []
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict | list) or _is_plain_list(v)}
    for key, value in scalars.items():
        lines.append(f"{key} = {_toml_value(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append("")
            lines.append(f"[{key}]")
            lines.extend(_table_body(value, key))
    for key, value in data.items():
        if isinstance(value, list) and not _is_plain_list(value):
            for item in value:
                lines.append("")
                lines.append(f"[[{key}]]")
                lines.extend(_table_body(item, key))
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_plain_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, dict) for v in value)


def _table_body(table: dict[str, Any], prefix: str) -> list[str]:
    lines = [f"{k} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for k, v in table.items():
        if isinstance(v, dict):
            lines.append(f"[{prefix}.{k}]")
            lines.extend(f"{kk} = {_toml_value(vv)}" for kk, vv in v.items())
    return lines
