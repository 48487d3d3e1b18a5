"""The history database's migrations: a database made by the previous version (schema 1,
its statements copied here as that version wrote them) opens with the current store, its
rows still read, and new rows keep the energy figures."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from tui_bench.core.events import ModelLoaded, RequestFinished, TelemetrySample
from tui_bench.core.results import RequestRecord
from tui_bench.core.store import SCHEMA_VERSION, Store

# tui_bench/core/store.py at schema version 1, verbatim
V1_SCHEMA = """
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


GPU_HOST = {
    "cpu": "CPU",
    "gpu": {
        "available": True,
        "driver": "560.35",
        "devices": [{"index": 0, "name": "NVIDIA H100", "total_mb": 81559}],
    },
}
GPU_MODEL = {"n_gpu_layers": -1, "gpu_offload_supported": True}


def _v1_database(path: Path) -> None:
    """A history as version 1 left it: one finished run with one request and a sample."""
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute("PRAGMA user_version=1")
    conn.execute(
        "INSERT INTO runs (plan, plan_json, status, started_at, host_json, n_planned, threshold)"
        " VALUES ('old', ?, 'completed', '2025-06-01T00:00:00', '{}', 1, 1.0)",
        (json.dumps({"name": "old", "models": [{"id": "m", "backend": "mock"}]}),),
    )
    conn.execute(
        "INSERT INTO requests (run_id, seq, model, prompt, task, repeat, warmup, ok, "
        "finish_reason, ttft_ms, e2e_ms, decode_tps, n_in, n_out, flags_json, token_us_json, "
        "token_n_json) VALUES (1, 0, 'm', 'p', 'analysis', 0, 0, 1, 'length', 12.5, 80.0, "
        "100.0, 7, 8, '[]', '[12500, 80000]', '[1, 7]')"
    )
    conn.execute("INSERT INTO telemetry VALUES (1, 'm', 5.0, 1000, 50.0, NULL, NULL, NULL)")
    conn.commit()
    conn.close()


def _columns(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


def _energy_record(run_id: int) -> RequestRecord:
    # 27 J over 180 ms end to end for 12 tokens, 20 prompt tokens; 40 W idle
    return RequestRecord(
        run_id=run_id, seq=0, model="g", prompt="p", task="analysis", repeat=0, warmup=False,
        ok=True, error=None, finish_reason="length", started_at="2026-01-01T00:00:00+00:00",
        ttft_ms=50.0, e2e_ms=180.0, decode_tps=84.6, n_in=20, n_out=12, energy_j=27.0,
        energy_prefill_j=5.0, energy_decode_j=22.0, energy_idle_w=40.0,
        flags=["throttled_power"], token_us=[50_000, 180_000], token_n=[1, 11],
    )  # fmt: skip


def test_a_version_1_history_is_migrated_and_its_rows_still_read(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    _v1_database(db)
    assert "energy_j" not in _columns(db, "requests")
    store = Store(db)
    try:
        version = store.conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION >= 3
        old = store.get_requests(1)
        assert len(old) == 1
        r = old[0]
        assert (r.ttft_ms, r.e2e_ms, r.n_out, r.token_us) == (12.5, 80.0, 8, [12500, 80000])
        assert (r.energy_j, r.energy_prefill_j, r.energy_decode_j, r.energy_idle_w) == (
            None,
            None,
            None,
            None,
        )
        assert r.energy_j_per_token is None and r.energy_net_w is None
        (sample,) = store.get_telemetry(1)
        assert sample["rss_kb"] == 1000 and sample["energy_mj"] is None
        assert sample["throttle_json"] is None
    finally:
        store.close()
    # the columns a migration adds come last, in the order a fresh database has them
    assert _columns(db, "requests")[-8:] == [
        "energy_j",
        "energy_prefill_j",
        "energy_decode_j",
        "energy_idle_w",
        "level",
        "t_sched_us",
        "dispatch_lag_us",
        "queue_us",
    ]
    assert _columns(db, "telemetry")[-2:] == ["energy_mj", "throttle_json"]
    fresh = tmp_path / "fresh.db"
    Store(fresh).close()
    assert _columns(fresh, "requests") == _columns(db, "requests")
    assert _columns(fresh, "telemetry") == _columns(db, "telemetry")


def test_new_rows_in_a_migrated_history_keep_energy_and_the_counter(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    _v1_database(db)
    store = Store(db)
    try:
        rid = store.create_run(
            plan="energy", plan_path=None,
            plan_raw={"name": "energy", "models": [{"id": "g", "backend": "llama_cpp"}]},
            started_at="2026-01-01T00:00:00", host=GPU_HOST, threshold=0.5, n_planned=1,
            t0_ns=0,
        )  # fmt: skip
        assert rid == 2
        store.handle(ModelLoaded("g", 900.0, 4242, dict(GPU_MODEL)))
        sample = TelemetrySample(
            "g", 5_000_000, 2000, 90.0, 500.0, 81559.0, None, 1234.5, ("power",)
        )
        store.handle(sample)
        store.handle(RequestFinished(_energy_record(rid)))
        store.flush_telemetry()
        (r,) = store.get_requests(rid)
        assert (r.energy_j, r.energy_prefill_j, r.energy_decode_j, r.energy_idle_w) == (
            27.0,
            5.0,
            22.0,
            40.0,
        )
        assert r.energy_j_per_token == pytest.approx(27.0 / 12)
        assert r.flags == ["throttled_power"]
        (row,) = store.get_telemetry(rid)
        assert row["t_ms"] == 5.0 and row["energy_mj"] == 1234.5
        assert json.loads(row["throttle_json"]) == ["power"]
        assert [m.info for m in store.get_models(rid)] == [GPU_MODEL]
    finally:
        store.close()


def test_a_history_from_a_newer_version_keeps_its_version(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    Store(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    Store(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    conn.close()


def _open_and_read(db: str, barrier: object, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        store = Store(db)
        try:
            results.put(f"ok {len(store.get_requests(1))}")  # type: ignore[attr-defined]
        finally:
            store.close()
    except BaseException as exc:  # report whatever it was, never hang the parent
        results.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


def test_processes_opening_a_version_1_history_at_once_migrate_it_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for rnd in range(5):
        db = tmp_path / f"round-{rnd}.db"
        _v1_database(db)
        barrier, results = ctx.Barrier(4), ctx.Queue()
        workers = [
            ctx.Process(target=_open_and_read, args=(str(db), barrier, results)) for _ in range(4)
        ]
        for w in workers:
            w.start()
        outcomes = [results.get(timeout=120) for _ in workers]
        for w in workers:
            w.join(timeout=60)
        assert outcomes == ["ok 1"] * 4  # each read the old request
        assert _columns(db, "requests").count("energy_j") == 1
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.close()
