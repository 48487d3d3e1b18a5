"""Runs a model's load levels: the engine's hook once the model is loaded and its plan-wide
warm-ups are done (they go through the engine, which handles a crash on the first decode).

Per level, in the plan's order: the level's warm-ups (back to back, up to the level's
users; one at a time for a rate), a read of the server's ``/metrics``, then the measured
requests:

- closed loop (``concurrency``): N users, each sending its next request as soon as its
  previous one ended; the level's ``requests`` are shared by all users;
- open loop (``rate``): a scheduler sends every request at its scheduled time
  (:mod:`.arrivals`), never waiting for earlier ones.

Every request records when it was due (``t_sched``); its dispatch lag is ``t_send −
t_sched``. A backend that serves fewer requests at once than are sent
(``Backend.max_concurrency``; llama.cpp in process and the plain mock serve one) gets
them through a gate here: the wait is the request's ``queue`` time, part of its lag and
so of its latency from the scheduled time. A level bounded by ``duration_s`` sends
nothing at or after its end; the requests then in flight are finished and counted.

Resources are measured per level, not per request (requests overlap, and the telemetry
has one window): peak RSS/VRAM over the level and the GPUs' energy over it. The quality
text checks are not run here (they would run inside the measured window). Tokens are not
published per batch: :class:`~tui_bench.core.events.LoadProgress` says a few times a
second what is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from dataclasses import dataclass
from typing import Any, Protocol

from tui_bench.core import hostinfo
from tui_bench.core.backends.base import Backend, GenRequest, TokenBatch
from tui_bench.core.energy import FLAG_GPU_PARTIAL, request_energy
from tui_bench.core.events import (
    Event,
    LevelFinished,
    LevelStarted,
    LoadFinished,
    LoadProgress,
    Log,
)
from tui_bench.core.load.arrivals import schedule
from tui_bench.core.load.capacity import capacity, knee_text
from tui_bench.core.load.server_metrics import Scraper, delta
from tui_bench.core.load.spec import MAX_LEVEL_REQUESTS, Level, LoadSpec, levels, load_for
from tui_bench.core.load.summary import LevelSummary, summarize_level
from tui_bench.core.metrics import RawTiming
from tui_bench.core.plan import ModelSpec
from tui_bench.core.results import GenOutcome, RequestRecord, build_record

__all__ = ["load_for", "run_levels"]

PROGRESS_S = 0.25  # LoadProgress period: a few updates a second, never per token


class EngineLike(Protocol):
    """What the runner uses of the engine (core/engine.py's Engine)."""

    run_id: int
    plan: Any
    records: list[RequestRecord]
    model_info: dict[str, dict[str, Any]]
    _telemetry: Any
    _cancel_event: asyncio.Event | None

    @property
    def cancelled(self) -> bool: ...

    def publish(self, event: Event) -> None: ...

    def _record(self, rec: RequestRecord) -> None: ...


@dataclass
class _Counts:
    """A level's live counts, for LoadProgress."""

    in_flight: int = 0
    queued: int = 0
    sent: int = 0
    completed: int = 0
    failed: int = 0
    output_tokens: int = 0


def _ignore(batch: TokenBatch) -> None:
    """Token batches are not published under load (their times are in the outcome)."""


async def run_levels(
    engine: EngineLike,
    backend: Backend,
    spec: ModelSpec,
    load: LoadSpec,
    seq: int,
    load_ms: float | None,
) -> int:
    """Run every level of ``load`` on the loaded ``backend``; returns the next seq."""
    return await LoadRunner(engine, backend, spec, load, seq, load_ms).run()


class LoadRunner:
    def __init__(
        self,
        engine: EngineLike,
        backend: Backend,
        spec: ModelSpec,
        load: LoadSpec,
        seq: int,
        load_ms: float | None,
    ) -> None:
        self.engine, self.backend, self.spec, self.load = engine, backend, spec, load
        self.seq = seq
        self.load_ms = load_ms
        limit = backend.max_concurrency
        self.gate = asyncio.Semaphore(limit) if limit else None
        self.scraper = _scraper(spec)
        self.summaries: list[LevelSummary] = []
        slo = engine.plan.slo
        self.slo = slo.model_dump() if slo is not None else None
        info = engine.model_info.get(spec.id) or {}
        self.flag = backend.fallback_flag if info.get("fallback") else None
        self.said_absent = False

    def _stopped(self) -> bool:
        return self.engine.cancelled or not self.backend.alive

    async def run(self) -> int:
        for lv in levels(self.load):
            if self._stopped():
                break
            await self._level(lv)
        if not self.backend.alive and not self.engine.cancelled:
            msg = (
                f"{self.spec.id}: the model stopped serving; the remaining load levels were not run"
            )
            self.engine.publish(Log("error", msg))
        self.engine.publish(
            LoadFinished(
                self.spec.id,
                capacity(self.spec.id, self.summaries, self.slo),
                knee_text(self.summaries) if self.summaries else None,
                [s.level for s in self.summaries],
            )
        )
        return self.seq

    # -- one level ----------------------------------------------------------------------

    async def _level(self, lv: Level) -> None:
        engine, load = self.engine, self.load
        users = lv.users if lv.kind == "concurrency" else 1
        rng = random.Random(f"{load.seed}:{self.spec.id}:{lv.label}")
        if load.warmup_requests:
            t_w = time.perf_counter_ns()
            n_w = load.warmup_requests
            await self._closed(lv, rng, min(users, n_w), n_w, None, t_w, None, warmup=True)
        if self._stopped():
            return
        before = await self._scrape()
        tel = engine._telemetry
        if tel is not None:
            await asyncio.to_thread(tel.window_start)
        n_levels = len(load.targets)
        engine.publish(LevelStarted(self.spec.id, lv.label, lv.index, n_levels, lv.kind, lv.target))
        counts = _Counts()
        t0 = time.perf_counter_ns()
        ticker = asyncio.ensure_future(self._progress(lv, counts, t0))
        try:
            if lv.kind == "concurrency":
                deadline = None if load.duration_s is None else t0 + int(load.duration_s * 1e9)
                await self._closed(lv, rng, users, load.requests, deadline, t0, counts)
            else:
                await self._open(lv, rng, t0, counts)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        self._publish_progress(lv, counts, t0)
        peaks = await asyncio.to_thread(tel.window_end) if tel is not None else None
        after = await self._scrape() if before is not None else None
        context = self._context(lv, peaks, before, after)
        summary = summarize_level(context, engine.records)
        self.summaries.append(summary)
        engine.publish(LevelFinished(self.spec.id, lv.label, summary.as_dict(), context))

    def _context(
        self, lv: Level, peaks: Any, before: dict[str, float] | None, after: dict[str, float] | None
    ) -> dict[str, Any]:
        load = self.load
        status = "completed"
        if self.engine.cancelled:
            status = "cancelled"
        elif not self.backend.alive:
            status = "stopped: the model stopped serving"
        ctx: dict[str, Any] = {
            "model": self.spec.id,
            "level": lv.label,
            "index": lv.index,
            "kind": lv.kind,
            "target": lv.target,
            "bounds": {"requests": load.requests, "duration_s": load.duration_s},
            "warmup_requests": load.warmup_requests,
            "unique_prompts": load.unique_prompts,
            "max_concurrency": self.backend.max_concurrency,
            "status": status,
            "slo": self.slo,
        }
        if lv.kind == "rate":
            ctx |= {"arrival": load.arrival or "poisson", "seed": load.seed}
        if peaks is not None:
            ctx["window"] = {
                "peak_rss_kb": peaks.rss_kb,
                "vram_peak_mb": peaks.vram_used_mb,
                "vram_proc_peak_mb": peaks.vram_proc_mb,
            }
            ctx["energy"] = self._energy(lv, peaks)
        if self.scraper is not None:
            if before is not None and after is not None:
                ctx["server"] = delta(before, after).as_dict()
            else:
                ctx["server"] = {"absent": self.scraper.absent or "not read"}
        return ctx

    def _energy(self, lv: Level, peaks: Any) -> dict[str, Any] | None:
        """The GPUs' joules from the level's first send to its last token."""
        if not peaks.gpu:
            return None
        if peaks.partial:  # a GPU stopped answering: the sum would leave its energy out
            return {"energy_j": None, "idle_w": None, "flags": [FLAG_GPU_PARTIAL]}
        mine = [
            r
            for r in self.engine.records
            if r.model == self.spec.id and r.level == lv.label and not r.warmup and r.t_send_ns
        ]
        lasts = [r.t_send_ns + r.token_us[-1] * 1000 for r in mine if r.token_us and r.t_send_ns]
        if not mine or not lasts:
            return None
        t_first = min(r.t_send_ns for r in mine if r.t_send_ns)
        e = request_energy(
            peaks.energy,
            period_ns=peaks.period_ns,
            t_send_ns=t_first,
            t_first_ns=t_first,
            t_last_ns=max(lasts),
            idle_w=peaks.idle_w,
            throttle=peaks.throttle,
        )
        return {"energy_j": e.energy_j, "idle_w": e.idle_w, "flags": e.flags}

    async def _scrape(self) -> dict[str, float] | None:
        if self.scraper is None:
            return None
        samples = await self.scraper.read()
        if samples is None and not self.said_absent:
            self.said_absent = True
            self.engine.publish(
                Log(
                    "info",
                    f"{self.spec.id}: no server metrics ({self.scraper.absent}); the server's "
                    "own token counts and cache hit rate are not shown",
                )
            )
        return samples

    # -- the loops ----------------------------------------------------------------------

    async def _closed(
        self,
        lv: Level,
        rng: random.Random,
        users: int,
        count: int | None,
        deadline: int | None,
        t0: int,
        counts: _Counts | None,
        *,
        warmup: bool = False,
    ) -> None:
        """``users`` loops, each sending its next request when its last one ended, until
        ``count`` requests in all or ``deadline`` (nothing is sent at or after it)."""
        issued = 0
        limit = MAX_LEVEL_REQUESTS if count is None else count

        async def user() -> None:
            nonlocal issued
            while not self._stopped() and issued < limit:
                now = time.perf_counter_ns()
                if deadline is not None and now >= deadline:
                    return
                k, issued = issued, issued + 1
                await self._one(lv, rng, k, now, t0, counts, warmup)

        await asyncio.gather(*(user() for _ in range(users)))

    async def _open(self, lv: Level, rng: random.Random, t0: int, counts: _Counts) -> None:
        """Send each request at its scheduled time, whatever is still in flight."""
        load = self.load
        due = schedule(
            lv.target,
            arrival=load.arrival or "poisson",
            seed=load.seed,
            key=f"{self.spec.id}:{lv.label}",
            count=load.requests,
            duration_s=load.duration_s,
            limit=MAX_LEVEL_REQUESTS,
        )
        tasks: list[asyncio.Future[None]] = []
        for k, offset in enumerate(due):
            t_sched = t0 + offset
            await self._sleep_until(t_sched)
            if self._stopped():
                break
            tasks.append(asyncio.ensure_future(self._one(lv, rng, k, t_sched, t0, counts, False)))
        if tasks:
            await asyncio.gather(*tasks)

    async def _sleep_until(self, t_ns: int) -> None:
        """Until ``t_ns``, or until the run is cancelled."""
        event = self.engine._cancel_event
        while (delay := (t_ns - time.perf_counter_ns()) / 1e9) > 0 and not self._stopped():
            if event is not None and delay > 0.05:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(event.wait(), delay)
            else:
                await asyncio.sleep(delay)

    async def _one(
        self,
        lv: Level,
        rng: random.Random,
        k: int,
        t_sched: int,
        t0: int,
        counts: _Counts | None,
        warmup: bool,
    ) -> None:
        plan = self.engine.plan
        base = plan.prompts[k % len(plan.prompts)]
        prompt = base
        if self.load.unique_prompts:  # a prefix cache cannot serve it from an earlier one
            prompt = base.model_copy(update={"text": f"[{rng.getrandbits(48):012x}]\n{base.text}"})
        gen = plan.generation_for(base)
        seq, self.seq = self.seq, self.seq + 1
        started_at = hostinfo.now_iso()
        if counts is not None:
            counts.sent += 1
            counts.queued += 1
        t_queue = time.perf_counter_ns()
        async with self.gate if self.gate is not None else contextlib.nullcontext():
            t_go = time.perf_counter_ns()
            if counts is not None:
                counts.queued -= 1
                counts.in_flight += 1
            try:
                if self.engine.cancelled:  # cancelled while it waited for the backend
                    outcome = GenOutcome(RawTiming(t_go), finish_reason="cancelled")
                else:
                    outcome = await self.backend.generate(GenRequest(prompt, gen), _ignore)
            finally:
                if counts is not None:
                    counts.in_flight -= 1
        rec = build_record(
            run_id=self.engine.run_id,
            seq=seq,
            model=self.spec.id,
            prompt=base.id,
            task=base.task,
            repeat=k,
            warmup=warmup,
            started_at=started_at,
            outcome=outcome,
            prompt_cache=gen.prompt_cache,
            load_ms=self.load_ms,
        )
        t_send = outcome.raw.t_send_ns or t_go
        rec.level = lv.label
        rec.t_sched_us = (t_sched - t0) // 1000
        rec.dispatch_lag_us = (t_send - t_sched) // 1000
        rec.queue_us = (t_go - t_queue) // 1000
        if self.flag:
            rec.flags.append(self.flag)
        if counts is not None:
            if rec.ok:
                counts.completed += 1
                counts.output_tokens += rec.n_out
            elif rec.finish_reason != "cancelled":
                counts.failed += 1
        self.engine._record(rec)

    # -- progress -----------------------------------------------------------------------

    async def _progress(self, lv: Level, counts: _Counts, t0: int) -> None:
        while True:
            await asyncio.sleep(PROGRESS_S)
            self._publish_progress(lv, counts, t0)

    def _publish_progress(self, lv: Level, counts: _Counts, t0: int) -> None:
        self.engine.publish(
            LoadProgress(
                self.spec.id,
                lv.label,
                round((time.perf_counter_ns() - t0) / 1e9, 3),
                counts.in_flight,
                counts.queued,
                counts.sent,
                counts.completed,
                counts.failed,
                counts.output_tokens,
            )
        )


def _scraper(spec: ModelSpec) -> Scraper | None:
    """The ``/metrics`` reader of a model behind a server (with its key, if it has one)."""
    if spec.backend != "openai" or not spec.base_url:
        return None
    key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
    return Scraper(spec.base_url, {"Authorization": f"Bearer {key}"} if key else None)
