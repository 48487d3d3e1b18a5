"""SQLite history (WAL): runs, model loads, every request with its raw series, telemetry.

Every finished request is committed at once, so a killed run loses nothing already
measured. A run left ``running`` by a process that no longer exists is shown as
``interrupted``. One line per finished run is also appended to
``benchmark_history.jsonl`` beside the database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_bench.core import paths
from tui_bench.core.events import (
    Event,
    ModelFailed,
    ModelLoaded,
    RequestFinished,
    RunFinished,
    TelemetrySample,
)
from tui_bench.core.metrics import EngineCounters
from tui_bench.core.results import RequestRecord

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL DEFAULT 'llm',
    plan TEXT NOT NULL,
    plan_path TEXT,
    plan_json TEXT,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    pid INTEGER,
    host_json TEXT,
    n_planned INTEGER,
    n_measured INTEGER,
    n_ok INTEGER,
    n_failed INTEGER,
    success_rate REAL,
    threshold REAL,
    mean_e2e_ms REAL,
    mean_ttft_ms REAL,
    label TEXT,
    summary_json TEXT,
    output_dir TEXT
);
CREATE TABLE IF NOT EXISTS models (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    load_ms REAL,
    error TEXT,
    info_json TEXT,
    PRIMARY KEY (run_id, model, attempt)
);
CREATE TABLE IF NOT EXISTS requests (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    model TEXT NOT NULL,
    prompt TEXT NOT NULL,
    task TEXT,
    repeat INTEGER,
    warmup INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT,
    finish_reason TEXT,
    started_at TEXT,
    ttfr_ms REAL,
    ttft_ms REAL,
    e2e_ms REAL,
    tpot_ms REAL,
    decode_tps REAL,
    prefill_tps REAL,
    n_in INTEGER,
    n_in_source TEXT,
    n_out INTEGER,
    n_out_source TEXT,
    load_ms REAL,
    peak_rss_kb INTEGER,
    vram_peak_mb REAL,
    vram_proc_peak_mb REAL,
    engine_json TEXT,
    flags_json TEXT,
    quality_json TEXT,
    text TEXT,
    t_send_ns INTEGER,
    t_first_response_us INTEGER,
    token_us_json TEXT,
    token_n_json TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS telemetry (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model TEXT,
    t_ms REAL NOT NULL,
    rss_kb INTEGER,
    cpu_percent REAL,
    vram_used_mb REAL,
    vram_total_mb REAL,
    vram_proc_mb REAL
);
CREATE INDEX IF NOT EXISTS runs_plan ON runs(plan, started_at);
CREATE INDEX IF NOT EXISTS telemetry_run ON telemetry(run_id, t_ms);
"""

_REQUEST_COLUMNS = (
    "run_id, seq, model, prompt, task, repeat, warmup, ok, error, finish_reason, started_at, "
    "ttfr_ms, ttft_ms, e2e_ms, tpot_ms, decode_tps, prefill_tps, n_in, n_in_source, n_out, "
    "n_out_source, load_ms, peak_rss_kb, vram_peak_mb, vram_proc_peak_mb, engine_json, flags_json, "
    "quality_json, text, t_send_ns, t_first_response_us, token_us_json, token_n_json"
)


@dataclass
class RunRow:
    id: int
    kind: str
    plan: str
    plan_path: str | None
    status: str
    started_at: str
    finished_at: str | None
    n_planned: int | None
    n_measured: int | None
    n_ok: int | None
    n_failed: int | None
    success_rate: float | None
    threshold: float | None
    mean_e2e_ms: float | None
    mean_ttft_ms: float | None
    label: str | None
    output_dir: str | None
    host: dict[str, Any] = field(default_factory=dict)
    plan_raw: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "plan": self.plan,
            "plan_path": self.plan_path,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "n_planned": self.n_planned,
            "n_measured": self.n_measured,
            "n_ok": self.n_ok,
            "n_failed": self.n_failed,
            "success_rate": self.success_rate,
            "threshold": self.threshold,
            "mean_e2e_ms": self.mean_e2e_ms,
            "mean_ttft_ms": self.mean_ttft_ms,
            "label": self.label,
            "output_dir": self.output_dir,
        }


@dataclass
class ModelRow:
    model: str
    attempt: int
    load_ms: float | None
    error: str | None
    info: dict[str, Any]


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    """The history database. Also an event sink for the run it is recording."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self.conn.row_factory = sqlite3.Row
        with self._lock:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.executescript(_SCHEMA)
            self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.conn.commit()
        self._run_id: int | None = None
        self._t0_ns: int | None = None
        self._telemetry: list[tuple[Any, ...]] = []
        self._attempts: dict[str, int] = {}

    def close(self) -> None:
        with self._lock:
            self.flush_telemetry()
            self.conn.close()

    # -- writing ------------------------------------------------------------------------

    def create_run(
        self,
        *,
        plan: str,
        plan_path: str | None,
        plan_raw: dict[str, Any] | None,
        started_at: str,
        host: dict[str, Any],
        threshold: float | None,
        n_planned: int,
        kind: str = "llm",
        t0_ns: int | None = None,
    ) -> int:
        with self._lock:
            cur = self.conn.execute(
                "INSERT INTO runs (kind, plan, plan_path, plan_json, status, started_at, pid, host_json,"
                " threshold, n_planned) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    kind,
                    plan,
                    plan_path,
                    _dumps(plan_raw),
                    "running",
                    started_at,
                    os.getpid(),
                    _dumps(host),
                    threshold,
                    n_planned,
                ),
            )
            self.conn.commit()
        self._run_id = int(cur.lastrowid or 0)
        self._t0_ns = t0_ns
        self._attempts.clear()
        return self._run_id

    def add_model(
        self,
        run_id: int,
        model: str,
        load_ms: float | None,
        error: str | None,
        info: dict[str, Any],
    ) -> None:
        attempt = self._attempts.get(model, -1) + 1
        self._attempts[model] = attempt
        with self._lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO models (run_id, model, attempt, load_ms, error, info_json) VALUES (?,?,?,?,?,?)",
                (run_id, model, attempt, load_ms, error, _dumps(info)),
            )
            self.conn.commit()

    def add_request(self, r: RequestRecord) -> None:
        row = (
            r.run_id, r.seq, r.model, r.prompt, r.task, r.repeat, int(r.warmup), int(r.ok), r.error,
            r.finish_reason, r.started_at, r.ttfr_ms, r.ttft_ms, r.e2e_ms, r.tpot_ms, r.decode_tps,
            r.prefill_tps, r.n_in, r.n_in_source, r.n_out, r.n_out_source, r.load_ms, r.peak_rss_kb,
            r.vram_peak_mb, r.vram_proc_peak_mb, _dumps(r.engine.as_dict() if r.engine else None),
            _dumps(r.flags), _dumps(r.quality), r.text, r.t_send_ns, r.t_first_response_us,
            _dumps(r.token_us), _dumps(r.token_n),
        )  # fmt: skip
        placeholders = ",".join("?" * len(row))
        with self._lock:
            self._write_telemetry()
            self.conn.execute(
                f"INSERT OR REPLACE INTO requests ({_REQUEST_COLUMNS}) VALUES ({placeholders})", row
            )
            self.conn.commit()

    def add_telemetry(self, run_id: int, s: TelemetrySample) -> None:
        t_ms = (s.t_ns - self._t0_ns) / 1e6 if self._t0_ns is not None else s.t_ns / 1e6
        self._telemetry.append(
            (
                run_id,
                s.model,
                t_ms,
                s.rss_kb,
                s.cpu_percent,
                s.vram_used_mb,
                s.vram_total_mb,
                s.vram_proc_mb,
            )
        )

    def _write_telemetry(self) -> None:
        if self._telemetry:
            self.conn.executemany("INSERT INTO telemetry VALUES (?,?,?,?,?,?,?,?)", self._telemetry)
            self._telemetry.clear()

    def flush_telemetry(self) -> None:
        with self._lock:
            self._write_telemetry()
            self.conn.commit()

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        finished_at: str,
        n_measured: int,
        n_ok: int,
        n_failed: int,
        success_rate: float | None,
        mean_e2e_ms: float | None,
        mean_ttft_ms: float | None,
        summary: Any,
        output_dir: str | None,
    ) -> None:
        with self._lock:
            self._write_telemetry()
            self.conn.execute(
                "UPDATE runs SET status=?, finished_at=?, n_measured=?, n_ok=?, n_failed=?, success_rate=?,"
                " mean_e2e_ms=?, mean_ttft_ms=?, summary_json=?, output_dir=? WHERE id=?",
                (status, finished_at, n_measured, n_ok, n_failed, success_rate, mean_e2e_ms, mean_ttft_ms,
                 _dumps(summary), output_dir, run_id),
            )  # fmt: skip
            self.conn.commit()

    def set_summary(self, run_id: int, summary: Any) -> None:
        """Replace a finished run's stored summary (a classifier run after its final model)."""
        with self._lock:
            self.conn.execute(
                "UPDATE runs SET summary_json=? WHERE id=?", (_dumps(summary), run_id)
            )
            self.conn.commit()

    def set_output_dir(self, run_id: int, output_dir: str) -> None:
        with self._lock:
            self.conn.execute("UPDATE runs SET output_dir=? WHERE id=?", (output_dir, run_id))
            self.conn.commit()

    def set_label(self, run_id: int, label: str | None) -> None:
        with self._lock:
            if label:
                # a label such as "baseline" names one run per plan
                plan = self.get_run(run_id).plan
                self.conn.execute(
                    "UPDATE runs SET label=NULL WHERE plan=? AND label=?", (plan, label)
                )
            self.conn.execute("UPDATE runs SET label=? WHERE id=?", (label, run_id))
            self.conn.commit()

    def delete_run(self, run_id: int) -> None:
        with self._lock:
            self.conn.execute("DELETE FROM runs WHERE id=?", (run_id,))
            self.conn.commit()

    # -- sink ---------------------------------------------------------------------------

    def handle(self, event: Event) -> None:
        run_id = self._run_id
        if run_id is None:
            return
        if isinstance(event, RequestFinished):
            self.add_request(event.record)
        elif isinstance(event, TelemetrySample):
            self.add_telemetry(run_id, event)
        elif isinstance(event, ModelLoaded):
            self.add_model(run_id, event.model, event.load_ms, None, event.info)
        elif isinstance(event, ModelFailed):
            self.add_model(run_id, event.model, None, event.error, {})
        elif isinstance(event, RunFinished):
            self.flush_telemetry()

    # -- reading ------------------------------------------------------------------------

    def _run_row(self, row: sqlite3.Row) -> RunRow:
        status = row["status"]
        if status == "running" and not _pid_alive(row["pid"]):
            status = "interrupted"
        n_measured, n_ok, n_failed, rate = (
            row["n_measured"],
            row["n_ok"],
            row["n_failed"],
            row["success_rate"],
        )
        if n_measured is None and row["kind"] == "llm":
            # still running, or died before finishing: count what was committed
            with self._lock:
                n_measured, n_ok = self.conn.execute(
                    "SELECT count(*), coalesce(sum(ok), 0) FROM requests"
                    " WHERE run_id=? AND warmup=0 AND finish_reason IS NOT 'cancelled'",
                    (row["id"],),
                ).fetchone()
            n_failed = n_measured - n_ok
            rate = n_ok / n_measured if n_measured else None
        return RunRow(
            id=row["id"],
            kind=row["kind"],
            plan=row["plan"],
            plan_path=row["plan_path"],
            status=status,
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            n_planned=row["n_planned"],
            n_measured=n_measured,
            n_ok=n_ok,
            n_failed=n_failed,
            success_rate=rate,
            threshold=row["threshold"],
            mean_e2e_ms=row["mean_e2e_ms"],
            mean_ttft_ms=row["mean_ttft_ms"],
            label=row["label"],
            output_dir=row["output_dir"],
            host=_loads(row["host_json"], {}),
            plan_raw=_loads(row["plan_json"], {}),
            summary=_loads(row["summary_json"], {}),
        )

    def list_runs(
        self,
        *,
        plan: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: int | None = 20,
    ) -> list[RunRow]:
        where, args = [], []
        if plan:
            where.append("plan = ?")
            args.append(plan)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        sql = "SELECT * FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        with self._lock:
            rows = [self._run_row(r) for r in self.conn.execute(sql, args)]
        if status:
            rows = [r for r in rows if r.status == status]
        return rows[:limit] if limit else rows

    def get_run(self, run_id: int) -> RunRow:
        with self._lock:
            row = self.conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            from tui_bench.core.errors import UserError

            raise UserError(f"run {run_id} not found in {self.path}")
        return self._run_row(row)

    def latest_run_id(self) -> int | None:
        with self._lock:
            row = self.conn.execute("SELECT max(id) FROM runs").fetchone()
        return row[0] if row else None

    def get_models(self, run_id: int) -> list[ModelRow]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT * FROM models WHERE run_id=? ORDER BY rowid", (run_id,)
            ).fetchall()
        return [
            ModelRow(r["model"], r["attempt"], r["load_ms"], r["error"], _loads(r["info_json"], {}))
            for r in rows
        ]

    def get_requests(self, run_id: int) -> list[RequestRecord]:
        with self._lock:
            rows = self.conn.execute(
                f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE run_id=? ORDER BY seq", (run_id,)
            ).fetchall()
        return [_record(r) for r in rows]

    def get_telemetry(self, run_id: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT * FROM telemetry WHERE run_id=? ORDER BY t_ms", (run_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    def integrity_ok(self) -> bool:
        with self._lock:
            return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _record(r: sqlite3.Row) -> RequestRecord:
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
        engine=EngineCounters.from_dict(_loads(r["engine_json"])),
        flags=_loads(r["flags_json"], []),
        quality=_loads(r["quality_json"], {}),
        text=r["text"] or "",
        t_send_ns=r["t_send_ns"],
        t_first_response_us=r["t_first_response_us"],
        token_us=_loads(r["token_us_json"], []),
        token_n=_loads(r["token_n_json"], []),
    )


def append_history_line(entry: dict[str, Any], path: Path | None = None) -> Path:
    """One JSON line per finished run in ``benchmark_history.jsonl``."""
    target = path or paths.history_jsonl_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
    return target


def iter_history_lines(path: Path | None = None) -> Iterable[dict[str, Any]]:
    target = path or paths.history_jsonl_path()
    if not target.exists():
        return []
    with open(target, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def runs_table(rows: Sequence[RunRow]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in rows]
