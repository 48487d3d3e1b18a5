"""Rows of the history database and the records they hold: a request record to its row
and back, a telemetry sample to its row, a model load's row.

The column lists here and the schema (:mod:`tui_bench.core.store_schema`) change
together; a column an older database lacked reads NULL, which a record takes as "not
measured".
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from tui_bench.core.events import TelemetrySample
from tui_bench.core.metrics import EngineCounters
from tui_bench.core.redact import redact
from tui_bench.core.results import RequestRecord

REQUEST_COLUMNS = (
    "run_id, seq, model, prompt, task, repeat, warmup, ok, error, finish_reason, started_at, "
    "ttfr_ms, ttft_ms, e2e_ms, tpot_ms, decode_tps, prefill_tps, n_in, n_in_source, n_out, "
    "n_out_source, load_ms, peak_rss_kb, vram_peak_mb, vram_proc_peak_mb, engine_json, flags_json, "
    "quality_json, text, t_send_ns, t_first_response_us, token_us_json, token_n_json, "
    "energy_j, energy_prefill_j, energy_decode_j, energy_idle_w, "
    "level, t_sched_us, dispatch_lag_us, queue_us"
)
TELEMETRY_COLUMNS = (
    "run_id, model, t_ms, rss_kb, cpu_percent, vram_used_mb, vram_total_mb, vram_proc_mb, "
    "energy_mj, throttle_json"
)


@dataclass
class ModelRow:
    model: str
    attempt: int
    load_ms: float | None
    error: str | None
    info: dict[str, Any]


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)


def request_row(r: RequestRecord) -> tuple[Any, ...]:
    """``r`` as the values of ``REQUEST_COLUMNS`` (its error with home paths redacted)."""
    return (
        r.run_id, r.seq, r.model, r.prompt, r.task, r.repeat, int(r.warmup), int(r.ok), redact(r.error),
        r.finish_reason, r.started_at, r.ttfr_ms, r.ttft_ms, r.e2e_ms, r.tpot_ms, r.decode_tps,
        r.prefill_tps, r.n_in, r.n_in_source, r.n_out, r.n_out_source, r.load_ms, r.peak_rss_kb,
        r.vram_peak_mb, r.vram_proc_peak_mb, dumps(r.engine.as_dict(rounded=False) if r.engine else None),
        dumps(r.flags), dumps(r.quality), r.text, r.t_send_ns, r.t_first_response_us,
        dumps(r.token_us), dumps(r.token_n),
        r.energy_j, r.energy_prefill_j, r.energy_decode_j, r.energy_idle_w,
        r.level, r.t_sched_us, r.dispatch_lag_us, r.queue_us,
    )  # fmt: skip


def telemetry_row(run_id: int, s: TelemetrySample, t0_ns: int | None) -> tuple[Any, ...]:
    """``s`` as the values of ``TELEMETRY_COLUMNS``, its time in ms from ``t0_ns``."""
    t_ms = (s.t_ns - t0_ns) / 1e6 if t0_ns is not None else s.t_ns / 1e6
    return (
        run_id, s.model, t_ms, s.rss_kb, s.cpu_percent, s.vram_used_mb, s.vram_total_mb,
        s.vram_proc_mb, s.energy_mj, dumps(list(s.throttle)) if s.throttle else None,
    )  # fmt: skip


def model_row(r: sqlite3.Row) -> ModelRow:
    return ModelRow(r["model"], r["attempt"], r["load_ms"], r["error"], loads(r["info_json"], {}))


def record(r: sqlite3.Row) -> RequestRecord:
    """The record a ``REQUEST_COLUMNS`` row holds."""
    return RequestRecord(
        run_id=r["run_id"],
        seq=r["seq"],
        model=r["model"],
        prompt=r["prompt"],
        task=r["task"],
        repeat=r["repeat"],
        warmup=bool(r["warmup"]),
        ok=bool(r["ok"]),
        error=r["error"],
        finish_reason=r["finish_reason"],
        started_at=r["started_at"],
        ttfr_ms=r["ttfr_ms"],
        ttft_ms=r["ttft_ms"],
        e2e_ms=r["e2e_ms"],
        tpot_ms=r["tpot_ms"],
        decode_tps=r["decode_tps"],
        prefill_tps=r["prefill_tps"],
        n_in=r["n_in"],
        n_in_source=r["n_in_source"],
        n_out=r["n_out"] or 0,
        n_out_source=r["n_out_source"],
        load_ms=r["load_ms"],
        peak_rss_kb=r["peak_rss_kb"],
        vram_peak_mb=r["vram_peak_mb"],
        vram_proc_peak_mb=r["vram_proc_peak_mb"],
        energy_j=r["energy_j"],
        energy_prefill_j=r["energy_prefill_j"],
        energy_decode_j=r["energy_decode_j"],
        energy_idle_w=r["energy_idle_w"],
        engine=EngineCounters.from_dict(loads(r["engine_json"])),
        flags=loads(r["flags_json"], []),
        quality=loads(r["quality_json"], {}),
        text=r["text"] or "",
        t_send_ns=r["t_send_ns"],
        t_first_response_us=r["t_first_response_us"],
        token_us=loads(r["token_us_json"], []),
        token_n=loads(r["token_n_json"], []),
        level=r["level"],
        t_sched_us=r["t_sched_us"],
        dispatch_lag_us=r["dispatch_lag_us"],
        queue_us=r["queue_us"],
    )
