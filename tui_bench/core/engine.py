"""The async runner: models x prompts x repeats, warm-ups, cancellation, events to sinks.

Models run one after another, each in a fresh backend (for llama.cpp: its own worker
process, so memory is measured per model and freed between models). Within a model,
warm-ups come first (stored flagged, never aggregated), then the measured requests with
prompts interleaved inside each repetition, so slow drift spreads over every prompt.

A model that fails to load, crashes or times out becomes failed requests with the
reason; the run goes on with the next request (after reloading a crashed worker) or the
next model. :meth:`Engine.cancel` stops at the next token: every finished request is
kept, the one in flight is recorded ``cancelled``, the run is marked ``cancelled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_bench.core import hostinfo
from tui_bench.core.backends import create_backend
from tui_bench.core.backends.base import Backend, GenRequest, LoadInfo, TokenBatch
from tui_bench.core.backends.session import ModelSession, SessionFailed
from tui_bench.core.errors import TuiBenchError
from tui_bench.core.events import (
    Event,
    Log,
    ModelFailed,
    ModelLoaded,
    ModelLoading,
    ModelUnloaded,
    RequestFinished,
    RequestKey,
    RequestStarted,
    RunFinished,
    RunStarted,
    Sink,
    TokensGenerated,
)
from tui_bench.core.load.runner import load_for, run_levels
from tui_bench.core.plan import LoadedPlan, ModelSpec, PromptSpec
from tui_bench.core.quality import score_async
from tui_bench.core.quality.model_scoring import score_after_run
from tui_bench.core.results import RequestRecord, build_record, failed_record
from tui_bench.core.store import Store, append_history_line
from tui_bench.core.summary import RunOutcome, summarize_run
from tui_bench.core.telemetry import Telemetry


def _preload_statistics() -> None:
    import numpy  # noqa: F401
    import scipy.stats  # noqa: F401


@dataclass
class _Slot:
    prompt: PromptSpec
    repeat: int
    warmup: bool


class Engine:
    def __init__(
        self,
        loaded: LoadedPlan,
        *,
        store: Store | None = None,
        sinks: list[Sink] | None = None,
        telemetry: bool = True,
        telemetry_interval_s: float = 0.1,
        output_dir: Path | None = None,
        write_history: bool = True,
    ) -> None:
        self.loaded = loaded
        self.plan = loaded.plan
        self.store = store
        self.sinks: list[Sink] = []
        if store is not None:
            self.sinks.append(store)
        self.sinks.extend(sinks or [])
        self.use_telemetry = telemetry
        self.telemetry_interval_s = telemetry_interval_s
        self.output_dir = output_dir
        self.write_history = write_history
        self.run_id = 0
        self.records: list[RequestRecord] = []
        self.model_info: dict[str, dict[str, Any]] = {}
        self._cancelled = False
        self._cancel_event: asyncio.Event | None = None
        self._backend: Backend | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._telemetry: Telemetry | None = None

    # -- events ---------------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        for sink in self.sinks:
            if sink is self.store:
                sink.handle(event)  # a store failure must not pass silently
                continue
            try:
                sink.handle(event)
            except Exception as exc:  # a broken front end never stops a measurement
                if not isinstance(event, Log):
                    self.publish(Log("error", f"sink {type(sink).__name__} failed: {exc}"))

    def _publish_threadsafe(self, event: Event) -> None:  # samples, GPU failures
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.publish, event)

    # -- control --------------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop at the next token; keep everything finished. Safe from signal handlers."""
        if self._cancelled:
            return
        self._cancelled = True
        if self._backend is not None:
            self._backend.cancel()
        if self._cancel_event is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._cancel_event.set)

    # -- the run --------------------------------------------------------------------------

    def _schedule(self) -> list[_Slot]:
        plan = self.plan
        slots = [_Slot(plan.prompts[i % len(plan.prompts)], i, True) for i in range(plan.warmup)]
        for rep in range(plan.repeats):
            slots.extend(_Slot(p, rep, False) for p in plan.prompts)
        return slots

    async def run(self) -> RunOutcome:
        self._loop = asyncio.get_running_loop()
        self._cancel_event = asyncio.Event()
        if self._cancelled:
            self._cancel_event.set()
        plan = self.plan
        t_start = time.perf_counter_ns()
        started_at = hostinfo.now_iso()
        if self.use_telemetry:
            self._telemetry = Telemetry(
                self._publish_threadsafe, interval_s=self.telemetry_interval_s
            )
        host = hostinfo.host(self._telemetry.gpu.describe() if self._telemetry else None)
        host["versions"] = hostinfo.versions()
        total = plan.n_measured + plan.n_warmup
        if self.store is not None:
            self.run_id = self.store.create_run(
                plan=plan.name,
                plan_path=str(self.loaded.path) if self.loaded.path else None,
                plan_raw=plan.model_dump(mode="json"),
                started_at=started_at,
                host=host,
                threshold=plan.success_threshold,
                n_planned=plan.n_measured,
                t0_ns=t_start,
            )
        self.publish(
            RunStarted(
                run_id=self.run_id,
                plan=plan.name,
                plan_path=str(self.loaded.path) if self.loaded.path else None,
                started_at=started_at,
                n_measured=plan.n_measured,
                n_warmup=plan.n_warmup,
                models=[m.id for m in plan.models],
                prompts=[p.id for p in plan.prompts],
                repeats=plan.repeats,
                host=host,
            )
        )
        if self._telemetry is not None:
            self._telemetry.start()
        # the statistics at the end need numpy and scipy (~1 s to import): load them now,
        # before anything is measured, rather than stall the event loop when the run ends
        await asyncio.to_thread(_preload_statistics)
        if self._telemetry is not None and plan.settings and plan.settings.energy_idle_baseline:
            line = await asyncio.to_thread(self._telemetry.measure_idle)  # before any load
            self.publish(Log("info", line))
        seq = 0
        try:
            for spec in plan.models:
                if self._cancelled:
                    break
                seq = await self._run_model(spec, seq, total)
        except BaseException as exc:
            self._fail_run(started_at, exc)
            raise
        finally:
            if self._telemetry is not None:
                self._telemetry.stop()
            if self._backend is not None:
                with contextlib.suppress(Exception):
                    await self._backend.close()
                self._backend = None
        # the scorers that need a model read the answers now that nothing is measured
        scoring_ns = await score_after_run(
            self.loaded,
            self.records,
            log=lambda level, text: self.publish(Log(level, text)),
            cancelled=lambda: self._cancelled,
            on_scored=self.store.add_request if self.store is not None else None,
            model_info=self.model_info,
        )
        return self._finish(t_start + scoring_ns, started_at, host)  # not the run's time

    def _fail_run(self, started_at: str, exc: BaseException) -> None:
        """The run itself broke (not a model: those failures are records): say so in history."""
        if self.store is None:
            return
        ok = sum(1 for r in self.records if r.ok and not r.warmup)
        measured = sum(1 for r in self.records if not r.warmup)
        with contextlib.suppress(Exception):
            self.store.finish_run(
                self.run_id,
                status="cancelled"
                if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
                else "failed",
                finished_at=hostinfo.now_iso(),
                n_measured=measured,
                n_ok=ok,
                n_failed=measured - ok,
                success_rate=ok / measured if measured else None,
                mean_e2e_ms=None,
                mean_ttft_ms=None,
                summary={"error": f"{type(exc).__name__}: {exc}"},
                output_dir=str(self.output_dir) if self.output_dir else None,
            )

    def _finish(self, t_start: int, started_at: str, host: dict[str, Any]) -> RunOutcome:
        plan = self.plan
        summary = summarize_run(self.records, [m.id for m in plan.models])
        ov = summary.overall
        status = "cancelled" if self._cancelled else "completed"
        rate = ov.success_rate
        passed = rate is not None and rate >= plan.success_threshold and status == "completed"
        finished_at = hostinfo.now_iso()
        duration = (time.perf_counter_ns() - t_start) / 1e9
        out_dir = str(self.output_dir) if self.output_dir else None
        if self.store is not None:
            self.store.finish_run(
                self.run_id,
                status=status,
                finished_at=finished_at,
                n_measured=ov.n,
                n_ok=ov.n_ok,
                n_failed=ov.n_failed,
                success_rate=rate,
                mean_e2e_ms=ov.metrics["e2e_ms"].mean,
                mean_ttft_ms=ov.metrics["ttft_ms"].mean,
                summary=[g.as_dict() for g in summary.per_model],
                output_dir=out_dir,
            )
        if self.write_history:
            append_history_line(
                {
                    "run_id": self.run_id,
                    "plan": plan.name,
                    "status": status,
                    "started_at": started_at,
                    "finished_at": finished_at,
                    "success_rate": rate,
                    "threshold": plan.success_threshold,
                    "models": {
                        g.key["model"]: {
                            "n": g.n,
                            "success_rate": g.success_rate,
                            "ttft_ms_median": g.metrics["ttft_ms"].median,
                            "decode_tps_median": g.metrics["decode_tps"].median,
                            "e2e_ms_mean": g.metrics["e2e_ms"].mean,
                        }
                        for g in summary.per_model
                    },
                }
            )
        outcome = RunOutcome(
            run_id=self.run_id,
            status=status,
            records=self.records,
            summary=summary,
            success_rate=rate,
            passed=passed,
            started_at=started_at,
            finished_at=finished_at,
            duration_s=duration,
            host=host,
            model_info=self.model_info,
        )
        self.last_outcome = outcome
        self.publish(
            RunFinished(
                run_id=self.run_id,
                status=status,
                n_ok=ov.n_ok,
                n_failed=ov.n_failed,
                n_measured=ov.n,
                success_rate=rate,
                threshold=plan.success_threshold,
                passed=passed,
                duration_s=duration,
                output_dir=out_dir,
                db_path=str(self.store.path) if self.store else None,
                finished_at=finished_at,
            )
        )
        return outcome

    async def _resolve(self, spec: ModelSpec) -> tuple[Path | None, ModelSpec]:
        """The model's GGUF and the spec its backend gets (:mod:`.model_files`)."""
        from tui_bench.core.model_files import model_files, resolve_files

        builtins = [s for _, s in model_files(spec) if s.startswith("builtin:")]
        if builtins:
            self.publish(Log("info", f"{spec.id}: locating {', '.join(builtins)}"))
        base = self.loaded.path.parent if self.loaded.path else None
        return await asyncio.to_thread(resolve_files, spec, base)

    async def _load(self, spec: ModelSpec, path: Path | None) -> tuple[Backend, LoadInfo]:
        self._backend = backend = create_backend(spec, path)
        backend.log = lambda level, text: self.publish(Log(level, f"{spec.id}: {text}"))
        assert self._cancel_event is not None
        load_task = asyncio.ensure_future(backend.load())
        cancel_task = asyncio.ensure_future(self._cancel_event.wait())
        done, _ = await asyncio.wait({load_task, cancel_task}, return_when=asyncio.FIRST_COMPLETED)
        cancel_task.cancel()
        if load_task not in done:
            load_task.cancel()
            with contextlib.suppress(BaseException):
                await load_task
            await backend.close()
            self._backend = None
            raise asyncio.CancelledError
        try:
            info = load_task.result()
        except BaseException:
            self._backend = None
            with contextlib.suppress(Exception):
                await backend.close()
            raise
        return backend, info

    def _fail_remaining(
        self,
        spec: ModelSpec,
        slots: list[_Slot],
        seq: int,
        total: int,
        error: str,
        load_ms: float | None = None,
    ) -> int:
        for slot in slots:
            key = RequestKey(spec.id, slot.prompt.id, slot.repeat, slot.warmup)
            self.publish(RequestStarted(key, seq, total))
            ids = self._ids(spec, slot, seq)
            rec = failed_record(**ids, started_at=hostinfo.now_iso(), error=error, load_ms=load_ms)
            self._record(rec)
            seq += 1
        return seq

    def _ids(self, spec: ModelSpec, slot: _Slot, seq: int) -> dict[str, Any]:
        """What identifies a request in its record."""
        return {
            "run_id": self.run_id,
            "seq": seq,
            "model": spec.id,
            "prompt": slot.prompt.id,
            "task": slot.prompt.task,
            "repeat": slot.repeat,
            "warmup": slot.warmup,
        }

    def _record(self, rec: RequestRecord) -> None:
        self.records.append(rec)
        self.publish(RequestFinished(rec))

    async def _run_model(self, spec: ModelSpec, seq: int, total: int) -> int:
        load = load_for(self.plan, spec)  # [load]: its levels come after the warm-ups
        slots = [s for s in self._schedule() if s.warmup or load is None]
        self.publish(ModelLoading(spec.id, spec.source or spec.backend, None))
        try:
            path, local = await self._resolve(spec)
        except TuiBenchError as exc:
            self.publish(ModelFailed(spec.id, str(exc)))
            return self._fail_remaining(spec, slots, seq, total, f"model unavailable: {exc}")
        session = ModelSession(
            spec.id, local, path, load=self._load, log=lambda lv, t: self.publish(Log(lv, t))
        )
        session.on_load = lambda s: self._loaded(spec, s)
        i = 0
        try:
            while i < len(slots) + (load is not None):
                if self._cancelled:
                    break
                try:
                    backend = await session.ensure_loaded()
                except asyncio.CancelledError:
                    break
                except SessionFailed as exc:
                    if exc.error is not None:
                        self.publish(ModelFailed(spec.id, str(exc.error)))
                        return self._fail_remaining(spec, slots[i:], seq, total, exc.reason)
                    self.publish(Log("error", f"{spec.id}: {exc.reason}"))
                    return self._fail_remaining(
                        spec, slots[i:], seq, total, exc.reason, session.load_ms
                    )
                if i == len(slots):  # the model is loaded and warm (core/load/runner.py)
                    return await run_levels(self, backend, spec, load, seq, session.load_ms)
                rec = await self._request(backend, spec, slots[i], seq, total, session.load_ms)
                if await session.after_failure(rec.ok):
                    continue  # the configuration crashed: the request again, in the safer one
                session.flag(rec.flags)
                self._record(rec)
                seq += 1
                i += 1
        finally:
            # a model that loaded is reported unloaded, also when its reload in the safer
            # configuration failed (the session no longer holds it then)
            if session.held or spec.id in self.model_info:
                await session.close()
                self._backend = None
                if self._telemetry is not None:  # what was learnt meanwhile, in its info
                    self._telemetry.model_ended(self.model_info.get(spec.id))
                self.publish(ModelUnloaded(spec.id))
        return seq

    def _loaded(self, spec: ModelSpec, session: ModelSession) -> None:
        """A model loaded (again): its info kept and published."""
        info, pid = session.info, session.backend.pid if session.backend else None
        self.model_info[spec.id] = info
        if self._telemetry is not None:  # the devices llama.cpp reports
            self._telemetry.model_loaded(spec.id, pid, info)
        self.publish(ModelLoaded(spec.id, session.load_ms, pid, info))
        if info.get("warning"):
            self.publish(Log("warning", f"{spec.id}: {info['warning']}"))

    async def _request(
        self,
        backend: Backend,
        spec: ModelSpec,
        slot: _Slot,
        seq: int,
        total: int,
        load_ms: float | None,
    ) -> RequestRecord:
        gen = self.plan.generation_for(slot.prompt)
        key = RequestKey(spec.id, slot.prompt.id, slot.repeat, slot.warmup)
        self.publish(RequestStarted(key, seq, total))
        started_at = hostinfo.now_iso()

        def on_tokens(batch: TokenBatch) -> None:
            self.publish(
                TokensGenerated(key, batch.t_ns, batch.n, batch.text, batch.n_out, batch.t_send_ns)
            )

        if self._telemetry is not None:
            self._telemetry.window_start()
        outcome = await backend.generate(GenRequest(slot.prompt, gen), on_tokens)
        peaks = self._telemetry.window_end() if self._telemetry is not None else None
        rec = build_record(
            **self._ids(spec, slot, seq),
            started_at=started_at,
            outcome=outcome,
            prompt_cache=gen.prompt_cache,
            load_ms=load_ms,
            window=peaks,  # memory peaks, energy and GPU slowdowns during the request
        )
        if rec.ok:  # the text checks; fluency and judge come after the run (score_after_run)
            p = slot.prompt
            rec.quality = await score_async(
                p.expect, rec.text, prompt=p.text, task=p.task, max_tokens=gen.max_tokens,
                finish_reason=rec.finish_reason,
            )  # fmt: skip
        return rec
