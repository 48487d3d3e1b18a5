"""What the wizard composes: the choices on offer and the plan they make.

The wizard offers the models and prompts of every catalog plan, the model registry
(builtins and GGUF files found, with their header facts) and two simulated models; a
choice of plan preselects its models, prompts and settings. :func:`build_raw` turns the
selection into a plan mapping that :func:`tui_bench.core.plan.parse_plan` validates, so
every mistake surfaces as the core's one-line error.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_bench.core.catalog import CatalogEntry, catalog_entry, list_plans
from tui_bench.core.errors import UserError
from tui_bench.core.plan import LoadedPlan, load_plan

MOCK_PRESETS: tuple[dict[str, Any], ...] = (
    {
        "id": "mock-fast",
        "backend": "mock",
        "mock": {"ttft_ms": 25.0, "tokens_per_s": 400.0, "rss_mb": 180.0},
    },
    {
        "id": "mock-slow",
        "backend": "mock",
        "mock": {"ttft_ms": 80.0, "tokens_per_s": 120.0, "rss_mb": 420.0},
    },
)

DEFAULT_SETTINGS = {
    "name": "my-plan",
    "repeats": "3",
    "warmup": "1",
    "max_tokens": "64",
    "threads": "",
    "gpu_layers": "",
    "threshold": "0.9",
}

_ID_BAD = re.compile(r"[^A-Za-z0-9_.:@+-]+")


@dataclass
class ModelChoice:
    key: str
    spec: dict[str, Any]
    origin: str  # "plan <id>", "builtin", "models folder", "hf", "mock" ...
    facts: dict[str, Any] = field(default_factory=dict)  # core.models.describe() output

    @property
    def id(self) -> str:
        return str(self.spec["id"])

    @property
    def backend(self) -> str:
        return str(self.spec.get("backend", "llama_cpp"))

    def summary(self) -> str:
        """One line: size, quantisation, parameters (or the simulated timings)."""
        if self.backend == "mock":
            m = self.spec.get("mock") or {}
            return (
                f"simulated · {m.get('tokens_per_s', 250):g} tok/s · "
                f"TTFT {m.get('ttft_ms', 30):g} ms"
            )
        if self.backend == "openai":
            return source_text(self.spec)
        f = self.facts
        bits = [f.get("size"), f.get("quantization"), f.get("params")]
        text = " · ".join(str(b) for b in bits if b)
        return text or str(self.spec.get("source") or "")


def source_text(model: Any) -> str:
    """Where a model runs from, in a few words: its file or repo, "simulated", or the
    server and its name for the model. ``model``: a plan's ModelSpec or its table."""
    get = model.get if isinstance(model, dict) else lambda k, _d=None: getattr(model, k, _d)
    backend = get("backend") or "llama_cpp"
    if backend == "mock":
        return "simulated"
    if backend == "openai":
        return f"{get('base_url') or ''} · {get('model') or get('id')}"
    return str(get("source") or "")


@dataclass
class PromptChoice:
    key: str
    spec: dict[str, Any]
    origin: str

    @property
    def id(self) -> str:
        return str(self.spec["id"])

    @property
    def task(self) -> str:
        return str(self.spec.get("task", "other"))


@dataclass
class PlanOption:
    entry: CatalogEntry
    loaded: LoadedPlan | None
    error: str | None


def slug(text: str) -> str:
    s = _ID_BAD.sub("-", text).strip("-")
    return s or "model"


def _absolute_source(source: str | None, plan_dir: Path) -> str | None:
    """A relative file source of a catalog plan, made absolute for a composed plan."""
    if not source or re.match(r"^[a-z]+:", source):
        return source
    candidate = plan_dir / source
    return str(candidate.resolve()) if candidate.exists() else source


def load_catalog(dirs: list[Path] | None) -> list[PlanOption]:
    out = []
    for entry in list_plans(dirs):
        if entry.error:
            out.append(PlanOption(entry, None, entry.error))
            continue
        try:
            out.append(PlanOption(entry, load_plan(entry.path, check_models=False), None))
        except UserError as exc:
            out.append(PlanOption(entry, None, str(exc)))
    return out


def plan_option(path: Path) -> PlanOption | None:
    """A plan file that is not in the catalog (``tui-bench run other/plan.toml``)."""
    entry = catalog_entry(path)
    if entry.error:
        return None
    return PlanOption(entry, load_plan(path, check_models=False), None)


def default_plan_index(options: list[PlanOption]) -> int | None:
    """quickstart if present, else the first valid plan."""
    valid = [i for i, o in enumerate(options) if o.loaded is not None]
    for i in valid:
        if options[i].entry.id == "quickstart":
            return i
    return valid[0] if valid else None


def plan_model_key(plan_id: str, model_id: str) -> str:
    return f"plan:{plan_id}:{model_id}"


def plan_prompt_key(plan_id: str, prompt_id: str) -> str:
    return f"plan:{plan_id}:{prompt_id}"


def catalog_models(options: list[PlanOption]) -> tuple[list[ModelChoice], dict[str, str]]:
    """Models of every valid plan, deduplicated; and an alias map key -> kept key."""
    choices: list[ModelChoice] = []
    alias: dict[str, str] = {}
    for o in options:
        if o.loaded is None:
            continue
        plan_dir = o.entry.path.parent
        for m in o.loaded.plan.models:
            spec = m.model_dump(mode="json", exclude_none=True)
            if "source" in spec:
                spec["source"] = _absolute_source(spec["source"], plan_dir)
            key = plan_model_key(o.entry.id, m.id)
            same = next((c for c in choices if c.spec == spec), None)
            if same is not None:
                alias[key] = same.key
                continue
            choices.append(ModelChoice(key, spec, f"plan {o.entry.id}"))
    return choices, alias


def mock_models(existing: list[ModelChoice]) -> list[ModelChoice]:
    have = {c.id for c in existing if c.backend == "mock"}
    return [
        ModelChoice(f"mock:{p['id']}", copy.deepcopy(p), "mock")
        for p in MOCK_PRESETS
        if p["id"] not in have
    ]


def registry_models(
    described: list[dict[str, Any]], existing: list[ModelChoice]
) -> list[ModelChoice]:
    """Registry entries (``core.models.describe`` dicts); facts also fill matching plan models."""
    out = []
    for d in described:
        source = str(d["id"])
        matched = False
        for c in existing:
            if c.spec.get("source") == source or c.spec.get("source") == d.get("path"):
                c.facts = d
                matched = True
        if matched:
            continue
        name = str(d.get("name") or Path(source).stem)
        spec = {"id": slug(name.removesuffix(".gguf")), "backend": "llama_cpp", "source": source}
        origin = {"models_dir": "models folder"}.get(str(d.get("origin")), str(d.get("origin")))
        out.append(ModelChoice(f"registry:{source}", spec, origin, d))
    return out


def catalog_prompts(options: list[PlanOption]) -> tuple[list[PromptChoice], dict[str, str]]:
    choices: list[PromptChoice] = []
    alias: dict[str, str] = {}
    for o in options:
        if o.loaded is None:
            continue
        for p in o.loaded.plan.prompts:
            spec = p.model_dump(mode="json", exclude_none=True)
            key = plan_prompt_key(o.entry.id, p.id)
            same = next((c for c in choices if c.spec == spec), None)
            if same is not None:
                alias[key] = same.key
                continue
            choices.append(PromptChoice(key, spec, f"plan {o.entry.id}"))
    return choices, alias


def settings_of(loaded: LoadedPlan) -> dict[str, str]:
    plan = loaded.plan
    threads = {m.n_threads for m in plan.models if m.backend == "llama_cpp"}
    layers = {m.n_gpu_layers for m in plan.models if m.backend == "llama_cpp"}
    return {
        "name": plan.name,
        "repeats": str(plan.repeats),
        "warmup": str(plan.warmup),
        "max_tokens": str(plan.defaults.max_tokens),
        "threads": str(next(iter(threads))) if len(threads) == 1 and None not in threads else "",
        "gpu_layers": str(next(iter(layers))) if len(layers) == 1 else "",
        "threshold": f"{plan.success_threshold:g}",
    }


def _number(text: str) -> Any:
    """An int or float when the text is one; otherwise the text (the core names it)."""
    t = text.strip()
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def build_raw(
    base: dict[str, Any] | None,
    models: list[dict[str, Any]],
    prompts: list[dict[str, Any]],
    settings: dict[str, str],
) -> dict[str, Any]:
    """The plan mapping of a selection; validation is left to ``core.plan.parse_plan``."""
    raw: dict[str, Any] = copy.deepcopy(base) if base else {}
    raw.pop("models", None)
    raw.pop("prompts", None)
    raw["name"] = settings.get("name", "").strip()
    if not base:
        raw["description"] = "Composed in the tui-bench wizard"
    for key, field_name in (
        ("repeats", "repeats"),
        ("warmup", "warmup"),
        ("threshold", "success_threshold"),
    ):
        value = settings.get(key, "").strip()
        if value:
            raw[field_name] = _number(value)
    defaults = dict(raw.get("defaults") or {})
    if settings.get("max_tokens", "").strip():
        defaults["max_tokens"] = _number(settings["max_tokens"])
    raw["defaults"] = defaults
    threads = settings.get("threads", "").strip()
    layers = settings.get("gpu_layers", "").strip()
    out_models = []
    seen: set[str] = set()
    for spec in models:
        m = copy.deepcopy(spec)
        if m.get("backend", "llama_cpp") == "llama_cpp":
            if threads:
                m["n_threads"] = _number(threads)
            if layers:
                m["n_gpu_layers"] = _number(layers)
        base_id, n = str(m["id"]), 2
        while m["id"] in seen:
            m["id"] = f"{base_id}-{n}"
            n += 1
        seen.add(m["id"])
        out_models.append(m)
    raw["models"] = out_models
    raw["prompts"] = [copy.deepcopy(p) for p in prompts]
    return raw
