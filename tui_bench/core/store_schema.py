"""The history database's schema, its version and the migrations between versions.

``PRAGMA user_version`` holds the schema version. A database made by an older tui-bench
is brought up to date in one write transaction when it is opened: every column added
since its version with ``ALTER TABLE ... ADD COLUMN`` (old rows read NULL there, which
the record readers take as "not measured"). A database from a newer tui-bench is left at
its version: its additions are columns this one does not read.

Version history:
1. runs, models, requests, telemetry.
2. energy per request (``requests.energy_*``) and the GPUs' energy counter and slowdown
   reasons per telemetry sample (``telemetry.energy_mj``, ``telemetry.throttle_json``).
3. load tests: a request's level, scheduled send, dispatch lag and queue time
   (``requests.level``, ``t_sched_us``, ``dispatch_lag_us``, ``queue_us``), and the levels'
   contexts (table ``load_levels``, created where missing like every table).
4. a run's duration as the engine measured it (``runs.duration_s``), so that a report
   rebuilt from history says it as the original did.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 4

# The current schema, as a fresh database gets it. Columns a migration adds come last in
# their table, in the order ALTER TABLE appends them to a migrated one.
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
    output_dir TEXT,
    duration_s REAL
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
    energy_j REAL,
    energy_prefill_j REAL,
    energy_decode_j REAL,
    energy_idle_w REAL,
    level TEXT,
    t_sched_us INTEGER,
    dispatch_lag_us INTEGER,
    queue_us INTEGER,
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
    vram_proc_mb REAL,
    energy_mj REAL,
    throttle_json TEXT
);
CREATE TABLE IF NOT EXISTS load_levels (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    idx INTEGER NOT NULL,
    level TEXT NOT NULL,
    context_json TEXT,
    PRIMARY KEY (run_id, model, idx)
);
CREATE INDEX IF NOT EXISTS runs_plan ON runs(plan, started_at);
CREATE INDEX IF NOT EXISTS telemetry_run ON telemetry(run_id, t_ms);
"""
_SCHEMA_STATEMENTS = [stmt.strip() for stmt in _SCHEMA.split(";") if stmt.strip()]
SCHEMA_OBJECTS = frozenset(
    {"runs", "models", "requests", "telemetry", "load_levels", "runs_plan", "telemetry_run"}
)

# version -> the (table, column, type) it added to the version before
ADDED_COLUMNS: dict[int, tuple[tuple[str, str, str], ...]] = {
    2: (
        ("requests", "energy_j", "REAL"),
        ("requests", "energy_prefill_j", "REAL"),
        ("requests", "energy_decode_j", "REAL"),
        ("requests", "energy_idle_w", "REAL"),
        ("telemetry", "energy_mj", "REAL"),
        ("telemetry", "throttle_json", "TEXT"),
    ),
    3: (
        ("requests", "level", "TEXT"),
        ("requests", "t_sched_us", "INTEGER"),
        ("requests", "dispatch_lag_us", "INTEGER"),
        ("requests", "queue_us", "INTEGER"),
    ),
    4: (("runs", "duration_s", "REAL"),),
}


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Add what the versions after ``version`` added. Inside the caller's write
    transaction; a column already there (a concurrent opener migrated first) is kept."""
    for step in range(version + 1, SCHEMA_VERSION + 1):
        for table, column, kind in ADDED_COLUMNS.get(step, ()):
            if column not in _columns(conn, table):
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def prepare(conn: sqlite3.Connection) -> None:
    """WAL mode, the schema and its migrations. Reads before anything is written, so a
    file that is not a database, or a damaged one, is refused without being touched; the
    schema is created or migrated in one write transaction that a concurrent creator's
    tables do not disturb."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        conn.execute("PRAGMA journal_mode=WAL")
    if version >= SCHEMA_VERSION and names >= SCHEMA_OBJECTS:
        return
    conn.execute("BEGIN IMMEDIATE")  # the write lock up front, waiting the busy timeout
    try:
        # read again under the lock: another process may have migrated meanwhile
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for stmt in _SCHEMA_STATEMENTS:
            conn.execute(stmt)  # IF NOT EXISTS: what a concurrent creator made is kept
        migrate(conn, version)
        conn.execute(f"PRAGMA user_version={max(version, SCHEMA_VERSION)}")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
