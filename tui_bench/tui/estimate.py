"""How long a plan will take, for the wizard's review step (a guide, never a measurement).

Per model, in order of preference: the medians of the most recent finished run of the
same model (same backend and source; for a server, its URL and model name) in the
history; for a simulated model, its configured timings; otherwise a stated rough guess.
A model with load levels: each level's requests at its users or rate (a backend that
serves one at a time takes them in turn; a server takes up to its slots at once, if
known, else every user), or its duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui_bench.core.load.spec import LoadSpec, load_for
from tui_bench.core.plan import ModelSpec, Plan

GUESS_DECODE_TPS = 30.0
GUESS_TTFT_S = 0.5
GUESS_LOAD_S = 3.0
HISTORY_RUNS = 50


@dataclass
class ModelEstimate:
    model: str
    seconds: float
    basis: str  # "run 12", "simulated", "rough guess"


@dataclass
class Estimate:
    seconds: float
    models: list[ModelEstimate]

    @property
    def guessed(self) -> bool:
        return any(m.basis == "rough guess" for m in self.models)


def _same_model(a: ModelSpec, b: dict[str, Any]) -> bool:
    if a.backend != b.get("backend", "llama_cpp"):
        return False
    if a.backend == "mock":
        return a.id == b.get("id")
    if a.backend == "openai":  # the same server and the same model on it
        return a.base_url == b.get("base_url") and (a.model or a.id) == (
            b.get("model") or b.get("id")
        )
    return a.source == b.get("source")


def _from_history(spec: ModelSpec, store: Any) -> tuple[float, float, float, int] | None:
    """(ttft s, decode tok/s, load s, run id) from the latest finished run of this model."""
    if store is None:
        return None
    for row in store.list_runs(kind="llm", status="completed", limit=HISTORY_RUNS):
        models = (row.plan_raw or {}).get("models", [])
        match = next((m for m in models if _same_model(spec, m)), None)
        if match is None:
            continue
        summ = next((g for g in row.summary or [] if g.get("model") == match.get("id")), None)
        if not summ:
            continue
        ttft = (summ.get("ttft_ms") or {}).get("median")
        tps = (summ.get("decode_tps") or {}).get("median")
        if not ttft or not tps:
            continue
        load_ms = next(
            (
                m.load_ms
                for m in store.get_models(row.id)
                if m.model == match.get("id") and m.load_ms
            ),
            None,
        )
        return ttft / 1000, tps, (load_ms or 0.0) / 1000, row.id
    return None


def estimate(plan: Plan, store: Any = None) -> Estimate:
    per_request_tokens = [plan.generation_for(p).max_tokens for p in plan.prompts]
    out = []
    for spec in plan.models:
        hist = _from_history(spec, store)
        if hist is not None:
            ttft, tps, load, run_id = hist
            basis = f"run {run_id}"
        elif spec.backend == "mock":
            m = spec.mock
            ttft = (m.ttft_ms if m else 30.0) / 1000
            tps = m.tokens_per_s if m else 250.0
            load = (m.load_ms if m else 50.0) / 1000
            basis = "simulated"
        else:
            ttft, tps, load, basis = GUESS_TTFT_S, GUESS_DECODE_TPS, GUESS_LOAD_S, "rough guess"
        per_rep = sum(ttft + max(0, n - 1) / tps for n in per_request_tokens)
        warm = sum(
            ttft + max(0, per_request_tokens[i % len(per_request_tokens)] - 1) / tps
            for i in range(plan.warmup)
        )
        sweep = load_for(plan, spec)
        if sweep is not None:
            one = per_rep / max(len(per_request_tokens), 1)  # a request, on average
            measured = _levels_seconds(sweep, spec, one)
        else:
            measured = per_rep * plan.repeats
        out.append(ModelEstimate(spec.id, load + warm + measured, basis))
    return Estimate(sum(m.seconds for m in out), out)


def _at_once(spec: ModelSpec, users: float) -> float:
    """How many requests the model serves at once with ``users`` sending."""
    if spec.backend == "llama_cpp" or (
        spec.backend == "mock" and not (spec.mock and spec.mock.slots)
    ):
        return 1.0  # one at a time, in process
    slots = spec.mock.slots if spec.backend == "mock" and spec.mock else None
    return max(1.0, min(users, float(slots)) if slots else users)


def _levels_seconds(sweep: LoadSpec, spec: ModelSpec, one_s: float) -> float:
    """A sweep's levels, each at ``one_s`` a request: closed loop, its requests over the
    requests served at once; open loop, its requests at its rate (the last one's answer
    after); a duration bounds either."""
    total = 0.0
    for target in sweep.targets:
        total += sweep.warmup_requests * one_s / _at_once(spec, target if sweep.concurrency else 1)
        if sweep.requests is None:
            total += float(sweep.duration_s or 0.0) + one_s
            continue
        if sweep.concurrency is not None:
            level = sweep.requests * one_s / _at_once(spec, target)
        else:
            level = (
                max(sweep.requests / target, one_s * sweep.requests / _at_once(spec, 1e9)) + one_s
            )
        if sweep.duration_s is not None:
            level = min(level, sweep.duration_s + one_s)
        total += level
    return total
