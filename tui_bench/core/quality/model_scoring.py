"""The scorers that need a model (``fluency``, ``judge``) and the ``composite`` they
complete, run once the measured requests are over.

The engine calls :func:`score_with_models` after the last model under test has been
unloaded and the telemetry stopped: scoring never overlaps a measurement and its time is
not the run's. Answers are taken model by model (one batch per model under test) by one
scoring worker (:class:`~tui_bench.core.backends.llama_scorer.LlamaScorer`), reused by
the judge when both name the same model. Warm-ups and failed requests are not scored;
identical answers to the same prompt (greedy repeats) are read once.

A scoring model that cannot be found or loaded, or dies, costs the run its fluency (and
so its composite) or its judge grades, said in one log line; the measurements stand.
This module imports the backends when it runs, so ``tui_bench.core.quality`` stays
light to import.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui_bench.core.quality.composite import combine
from tui_bench.core.quality.fluency import fluency_from_logprobs
from tui_bench.core.quality.judge import (
    JUDGE_MAX_TOKENS,
    RUBRIC_VERSION,
    UNPARSABLE_FLAG,
    grade_score,
    judge_prompt,
    parse_grade,
)
from tui_bench.core.quality.settings import (
    fluency_on,
    judge_on,
    judge_source,
    model_source,
    quality_of,
)

if TYPE_CHECKING:
    from tui_bench.core.backends.llama_scorer import LlamaScorer
    from tui_bench.core.plan import LoadedPlan, Plan, PromptSpec
    from tui_bench.core.results import RequestRecord

# (level, message) to the run log
LogFn = Callable[[str, str], None]


@dataclass
class ScoringStats:
    """What the model-based scoring did: answers scored, and the seconds it took."""

    fluency: int = 0
    judged: int = 0
    unparsable: int = 0
    failed: int = 0  # answers a scorer could not read (too long for its context ...)
    seconds: float = 0.0


def scorable(records: list[RequestRecord]) -> list[RequestRecord]:
    """The measured, successful answers, grouped by model under test in run order, and
    within a model by prompt (the scoring model then reads each prompt once)."""
    chosen = [r for r in records if r.ok and not r.warmup]
    order = {m: i for i, m in enumerate(dict.fromkeys(r.model for r in chosen))}
    return sorted(chosen, key=lambda r: (order[r.model], r.prompt, r.seq))


async def score_with_models(
    plan: Plan,
    records: list[RequestRecord],
    *,
    log: LogFn,
    base_dir: Path | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    on_scored: Callable[[RequestRecord], None] | None = None,
) -> ScoringStats:
    """Add ``fluency``, ``judge`` and ``composite`` to ``records``' quality, in place.

    ``on_scored`` gets every record whose scores changed (the history rewrites it).
    """
    stats = ScoringStats()
    todo = scorable(records)
    use_fluency, use_judge = fluency_on(plan), judge_on(plan)
    if not todo or not (use_fluency or use_judge):
        return stats
    t0 = time.perf_counter()
    prompts = {p.id: p for p in plan.prompts}
    fluency_src = model_source(plan, quality_of(plan).fluency_model)
    judge_src = judge_source(plan)
    scorer: LlamaScorer | None = None
    changed: set[int] = set()
    try:
        if use_fluency:
            scorer = await _open(fluency_src, plan, base_dir, log, "fluency")
            if scorer is not None:
                await _fluency(scorer, plan, prompts, todo, stats, changed, cancelled, log)
        if use_judge and not cancelled():
            if scorer is not None and judge_src != fluency_src:
                await scorer.close()
                scorer = None
            if scorer is None:
                scorer = await _open(judge_src, plan, base_dir, log, "judge")
            if scorer is not None:
                await _judge(scorer, prompts, todo, stats, changed, cancelled, log)
    finally:
        if scorer is not None:
            await scorer.close()
    for rec in todo:
        value = combine(rec.quality)
        if value is not None:
            rec.quality["composite"] = value
            changed.add(id(rec))
    stats.seconds = time.perf_counter() - t0
    if on_scored is not None:
        for rec in todo:
            if id(rec) in changed:
                on_scored(rec)
    parts = []
    if stats.fluency:
        parts.append(f"fluency of {stats.fluency} answers by {fluency_src}")
    if stats.judged or stats.unparsable:
        parts.append(
            f"judge {judge_src} (rubric {RUBRIC_VERSION}) graded {stats.judged},"
            f" {stats.unparsable} unparsable"
        )
    if stats.failed:
        parts.append(f"{stats.failed} answers could not be read by a scoring model")
    if parts:
        log("info", f"quality: {'; '.join(parts)} in {stats.seconds:.1f} s (not measured)")
    return stats


async def score_after_run(
    loaded: LoadedPlan,
    records: list[RequestRecord],
    *,
    log: LogFn,
    cancelled: Callable[[], bool],
    on_scored: Callable[[RequestRecord], None] | None,
    model_info: dict[str, dict[str, Any]],
) -> int:
    """:func:`score_with_models` for the engine, which calls it once the measurement is
    over: nothing on a cancelled run, and a scoring failure is a log line, never a failed
    run. Each scored model's info (``model_info``, as data.json shows it) gets the
    scorers that read its answers (``quality_scorers``). Returns the nanoseconds it took
    (the run's duration leaves them out)."""
    t0 = time.perf_counter_ns()
    if cancelled():
        return 0
    plan = loaded.plan
    base_dir = loaded.path.parent if loaded.path else None
    try:
        stats = await score_with_models(
            plan, records, log=log, base_dir=base_dir, cancelled=cancelled, on_scored=on_scored
        )
    except Exception as exc:  # the measurements are in: a scorer's bug must not lose them
        log("error", f"quality: model-based scoring failed: {type(exc).__name__}: {exc}")
    else:
        used = scorers_used(plan, stats)
        for model in {r.model for r in scorable(records)}:
            if model in model_info and used:
                model_info[model]["quality_scorers"] = used
    return time.perf_counter_ns() - t0


def scorers_used(plan: Plan, stats: ScoringStats) -> dict[str, Any]:
    """Which models read the answers, and under which judge rubric."""
    q = quality_of(plan)
    used: dict[str, Any] = {}
    if stats.fluency:
        used["fluency_model"] = model_source(plan, q.fluency_model)
    if stats.judged or stats.unparsable:
        used.update(judge_model=judge_source(plan), judge_rubric=RUBRIC_VERSION)
    return used


async def _open(
    source: str, plan: Plan, base_dir: Path | None, log: LogFn, role: str
) -> LlamaScorer | None:
    import asyncio

    from tui_bench.core.backends.llama_scorer import LlamaScorer, scorer_spec
    from tui_bench.core.errors import TuiBenchError
    from tui_bench.core.models import resolve_source

    try:
        path = await asyncio.to_thread(resolve_source, source, base_dir=base_dir, assemble=True)
        threads = quality_of(plan).threads
        scorer = LlamaScorer(scorer_spec(f"quality-{role}", source, n_threads=threads), path)
        await scorer.load()
    except TuiBenchError as exc:
        log("error", f"quality: no {role} scores: {exc}")
        return None
    return scorer


def _gen_args(plan: Plan, prompt: PromptSpec) -> dict[str, Any]:
    return {"system": prompt.system, "mode": plan.generation_for(prompt).mode}


async def _scored(
    scorer: LlamaScorer,
    prompts: dict[str, PromptSpec],
    todo: list[RequestRecord],
    stats: ScoringStats,
    cancelled: Callable[[], bool],
    log: LogFn,
    what: str,
    score: Callable[[RequestRecord, PromptSpec], Awaitable[Any]],
) -> AsyncIterator[tuple[RequestRecord, Any]]:
    """Each answer with its score, scored once per (prompt, answer): a failed scoring is
    counted and skipped; a scoring model that died stops the scorer, said once."""
    from tui_bench.core.errors import BackendError

    seen: dict[tuple[str, str], Any] = {}
    for rec in todo:
        if cancelled():
            return
        prompt = prompts.get(rec.prompt)
        if prompt is None:
            continue
        key = (rec.prompt, rec.text)
        if key not in seen:
            try:
                seen[key] = await score(rec, prompt)
            except BackendError as exc:
                if not scorer.alive:
                    log("error", f"quality: {what} stopped: {exc}")
                    return
                stats.failed += 1
                continue
        yield rec, seen[key]


async def _fluency(
    scorer: LlamaScorer,
    plan: Plan,
    prompts: dict[str, PromptSpec],
    todo: list[RequestRecord],
    stats: ScoringStats,
    changed: set[int],
    cancelled: Callable[[], bool],
    log: LogFn,
) -> None:
    async def score(rec: RequestRecord, prompt: PromptSpec) -> float:
        logprobs, _ = await scorer.logprobs(prompt.text, rec.text, **_gen_args(plan, prompt))
        return fluency_from_logprobs(logprobs, rec.text)

    async for rec, value in _scored(scorer, prompts, todo, stats, cancelled, log, "fluency", score):
        rec.quality["fluency"] = value
        changed.add(id(rec))
        stats.fluency += 1


async def _judge(
    scorer: LlamaScorer,
    prompts: dict[str, PromptSpec],
    todo: list[RequestRecord],
    stats: ScoringStats,
    changed: set[int],
    cancelled: Callable[[], bool],
    log: LogFn,
) -> None:
    async def score(rec: RequestRecord, prompt: PromptSpec) -> int | None:
        text = judge_prompt(rec.task, prompt.text, rec.text)
        return parse_grade(await scorer.reply(text, max_tokens=JUDGE_MAX_TOKENS))

    async for rec, grade in _scored(scorer, prompts, todo, stats, cancelled, log, "judge", score):
        if grade is None:
            if UNPARSABLE_FLAG not in rec.flags:
                rec.flags.append(UNPARSABLE_FLAG)
            stats.unparsable += 1
        else:
            rec.quality["judge"] = grade_score(grade)
            stats.judged += 1
        changed.add(id(rec))
