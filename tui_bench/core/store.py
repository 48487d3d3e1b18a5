"""SQLite history (WAL): runs, model loads, every request with its raw series, telemetry.

Every finished request is committed at once, so a killed run loses nothing already
measured. A run left ``running`` by a process that no longer exists is shown as
``interrupted``. One line per finished run is also appended to
``benchmark_history.jsonl`` beside the database.

A database that cannot be opened, read or written becomes one ``HistoryError`` line naming
the file and what to do; a damaged one is never written to (nor repaired, nor replaced).
Several processes may open a fresh history at the same moment (parallel CI jobs): the
first open waits for, and tolerates, a concurrent creator. The schema and its migrations
are :mod:`tui_bench.core.store_schema`; rows to records and back, :mod:`.store_rows`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tui_bench.core import paths
from tui_bench.core.errors import UserError
from tui_bench.core.events import (
    Event,
    LevelFinished,
    ModelFailed,
    ModelLoaded,
    RequestFinished,
    RunFinished,
    TelemetrySample,
)
from tui_bench.core.history_query import (
    RunDocuments,
    RunFilter,
    RunQueries,
    RunRow,
    documents_from_file,
)
from tui_bench.core.redact import public_host, redact
from tui_bench.core.results import RequestRecord
from tui_bench.core.store_finish import record_finish
from tui_bench.core.store_levels import add_level
from tui_bench.core.store_rows import (
    REQUEST_COLUMNS,
    TELEMETRY_COLUMNS,
    ModelRow,
    model_row,
    record,
    request_row,
    telemetry_row,
)
from tui_bench.core.store_rows import dumps as _dumps
from tui_bench.core.store_schema import SCHEMA_VERSION as SCHEMA_VERSION
from tui_bench.core.store_schema import prepare

# how long an open or a write waits for another process holding the database
BUSY_TIMEOUT_S = 30.0
# SQLite stores INTEGER PRIMARY KEY values as signed 64-bit integers
_MAX_ID = 2**63 - 1

_UNREADABLE = (
    "it was left as it is: move it aside (a new history is started in its place) "
    f"or set {paths.HOME_ENV} to another folder"
)


class HistoryError(UserError):
    """The history database cannot be opened, read or written: one line naming the file
    and what to do about it."""


def _sqlite_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    return None if code is None else code & 0xFF  # the primary code, without extended bits


def _is_busy(exc: sqlite3.Error) -> bool:
    code = _sqlite_code(exc)
    if code is not None:
        return code in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    text = str(exc)
    return "locked" in text or "busy" in text


def history_error(path: Path, exc: sqlite3.Error) -> HistoryError:
    """``exc`` as one line that names ``path`` and says what the user can do."""
    text = str(exc)
    code = _sqlite_code(exc)
    if code in (11, 26) or "malformed" in text or "not a database" in text:  # CORRUPT, NOTADB
        return HistoryError(f"{path}: the history database cannot be read ({text}); {_UNREADABLE}")
    if code in (3, 8, 14, 23) or any(  # PERM, READONLY, CANTOPEN, AUTH
        word in text for word in ("readonly", "read-only", "unable to open", "permission")
    ):
        return HistoryError(
            f"{path}: the history database cannot be written ({text}); make {path.parent} "
            f"writable or set {paths.HOME_ENV} to a writable folder"
        )
    if _is_busy(exc):
        return HistoryError(
            f"{path}: the history database stayed locked by another process for "
            f"{BUSY_TIMEOUT_S:.0f} s ({text}); try again when it has finished"
        )
    if code == 13 or "full" in text:  # SQLITE_FULL
        return HistoryError(f"{path}: the disk is full ({text}); free some space and try again")
    return HistoryError(f"{path}: the history database failed ({text})")


def _translated(exc: BaseException) -> bool:
    """Errors of the database or its file (as opposed to a wrong statement: a bug)."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError
    )


def _retry_busy(step: Callable[[], None], timeout_s: float = BUSY_TIMEOUT_S) -> None:
    """Run ``step`` again while another process holds the lock it needs. SQLite answers
    SQLITE_BUSY at once, without waiting the busy timeout, where waiting could deadlock
    (two connections both upgrading a read lock, as two first opens switching the journal
    mode do): the only way through is to try again."""
    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


class Store:
    """The history database. Also an event sink for the run it is recording."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.db_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(
                f"{self.path.parent}: cannot create the history folder ({exc.strerror or exc}); "
                f"set {paths.HOME_ENV} to a writable folder"
            ) from None
        self._lock = threading.RLock()
        self._broken = False
        self._checked = False
        self._closed = False
        conn: sqlite3.Connection | None = None
        try:
            # the busy timeout is set by connect(), before the first statement
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
            conn.row_factory = sqlite3.Row
            _retry_busy(lambda: prepare(conn))
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            if not _translated(exc):
                raise
            raise history_error(self.path, exc) from None
        self.conn = conn
        # the run list, read a page at a time (history_query)
        self.runs = RunQueries(self._db, self.run_documents)
        self._run_id: int | None = None
        self._t0_ns: int | None = None
        self._telemetry: list[tuple[Any, ...]] = []
        self._attempts: dict[str, int] = {}
        self._infos: dict[tuple[str, int], dict[str, Any]] = {}  # (model, attempt) -> info

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; a failure of the database file becomes a
        ``HistoryError`` line."""
        with self._lock:
            try:
                yield self.conn
            except sqlite3.Error as exc:
                if not _translated(exc):
                    raise
                self._broken = True
                raise history_error(self.path, exc) from None

    def _known(self, run_id: int) -> int:
        """``run_id`` if SQLite can hold it; beyond 64 bits no run can have it."""
        if not -_MAX_ID - 1 <= run_id <= _MAX_ID:
            raise UserError(f"run {run_id} not found in {self.path}")
        return run_id

    def _check_before_writing(self) -> None:
        """Before the first record: a damaged database is refused, never written into."""
        if self._checked:
            return
        with self._db() as conn:
            row = conn.execute("PRAGMA quick_check(1)").fetchone()
            if row[0] != "ok":
                self._broken = True
                # SQLite's report spans lines ("*** in database main ***" first): one line
                found = " ".join(row[0].replace("*** in database main ***", "").split())
                raise HistoryError(
                    f"{self.path}: the history database is damaged ({found}); {_UNREADABLE}"
                )
        self._checked = True

    def close(self) -> None:
        with self._lock:
            try:
                if not self._broken:
                    self.flush_telemetry()
            finally:
                self._closed = True
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
        self._check_before_writing()
        with self._db():
            cur = self.conn.execute(
                "INSERT INTO runs (kind, plan, plan_path, plan_json, status, started_at, pid, host_json,"
                " threshold, n_planned) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    kind,
                    plan,
                    redact(plan_path),  # paths under the home folder as ~/... (redact.py)
                    _dumps(redact(plan_raw)),
                    "running",
                    started_at,
                    os.getpid(),
                    _dumps(public_host(host)),
                    threshold,
                    n_planned,
                ),
            )
            self.conn.commit()
        self._run_id = int(cur.lastrowid or 0)
        self._t0_ns = t0_ns
        self._attempts.clear()
        self._infos.clear()
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
        self._infos[(model, attempt)] = info  # written again as the run ends
        with self._db():
            self.conn.execute(
                "INSERT OR REPLACE INTO models (run_id, model, attempt, load_ms, error, info_json) VALUES (?,?,?,?,?,?)",
                (run_id, model, attempt, load_ms, redact(error), _dumps(redact(info))),
            )
            self.conn.commit()

    def add_request(self, r: RequestRecord) -> None:
        row = request_row(r)
        placeholders = ",".join("?" * len(row))
        with self._db():
            self._write_telemetry()
            self.conn.execute(
                f"INSERT OR REPLACE INTO requests ({REQUEST_COLUMNS}) VALUES ({placeholders})", row
            )
            self.conn.commit()

    def add_telemetry(self, run_id: int, s: TelemetrySample) -> None:
        self._telemetry.append(telemetry_row(run_id, s, self._t0_ns))

    def _write_telemetry(self) -> None:
        if self._telemetry:
            marks = ",".join("?" * len(self._telemetry[0]))
            self.conn.executemany(
                f"INSERT INTO telemetry ({TELEMETRY_COLUMNS}) VALUES ({marks})", self._telemetry
            )
            self._telemetry.clear()

    def flush_telemetry(self) -> None:
        with self._db():
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
        with self._db():
            self._write_telemetry()
            self.conn.execute(
                "UPDATE runs SET status=?, finished_at=?, n_measured=?, n_ok=?, n_failed=?, success_rate=?,"
                " mean_e2e_ms=?, mean_ttft_ms=?, summary_json=?, output_dir=? WHERE id=?",
                (status, finished_at, n_measured, n_ok, n_failed, success_rate, mean_e2e_ms, mean_ttft_ms,
                 _dumps(redact(summary)), redact(output_dir), run_id),
            )  # fmt: skip
            self.conn.commit()

    def set_summary(self, run_id: int, summary: Any) -> None:
        """Replace a finished run's stored summary (a classifier run after its final model)."""
        self._known(run_id)
        self._check_before_writing()
        with self._db():
            self.conn.execute(
                "UPDATE runs SET summary_json=? WHERE id=?", (_dumps(redact(summary)), run_id)
            )
            self.conn.commit()

    def set_output_dir(self, run_id: int, output_dir: str) -> None:
        self._known(run_id)
        self._check_before_writing()
        with self._db():
            self.conn.execute(
                "UPDATE runs SET output_dir=? WHERE id=?", (redact(output_dir), run_id)
            )
            self.conn.commit()

    def set_label(self, run_id: int, label: str | None) -> None:
        self._known(run_id)
        self._check_before_writing()
        with self._db():
            if label:
                # a label such as "baseline" names one run per plan
                plan = self.runs.plan_of(run_id)
                self.conn.execute(
                    "UPDATE runs SET label=NULL WHERE plan=? AND label=?", (plan, label)
                )
            self.conn.execute("UPDATE runs SET label=? WHERE id=?", (label, run_id))
            self.conn.commit()

    def delete_run(self, run_id: int) -> None:
        self._known(run_id)
        self._check_before_writing()
        with self._db():
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
        elif isinstance(event, LevelFinished):
            add_level(self, run_id, event)  # core/store_levels.py
        elif isinstance(event, RunFinished):
            self.flush_telemetry()
            record_finish(self, run_id, event.duration_s, self._infos)  # core/store_finish.py

    # -- reading (the run list: history_query) ------------------------------------------

    def run_documents(self, run_id: int) -> RunDocuments:
        """A listed run's plan, host facts and summary. A row may outlive the store that
        listed it (a command closes its store, then prints): a read-only connection of
        its own reads them then."""
        with self._lock:
            if not self._closed:
                return self.runs.documents(run_id)
        try:
            return documents_from_file(self.path, run_id)
        except sqlite3.Error as exc:
            raise history_error(self.path, exc) from None

    def list_runs(
        self,
        *,
        plan: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: int | None = 20,
        before_id: int | None = None,
    ) -> list[RunRow]:
        """Up to ``limit`` runs older than run ``before_id`` (the last one of the previous
        page), newest first, without their documents (read on first use)."""
        return self.runs.page(RunFilter(plan, kind, status), limit=limit, before_id=before_id)

    def iter_runs(
        self,
        *,
        plan: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> Iterator[RunRow]:
        """As ``list_runs``, read a batch at a time while the caller goes: memory stays
        flat whatever the history holds."""
        return self.runs.iter(RunFilter(plan, kind, status), limit=limit)

    def get_run(self, run_id: int) -> RunRow:
        """One run with its documents."""
        self._known(run_id)
        row = self.runs.get(run_id)
        if row is None:
            raise UserError(f"run {run_id} not found in {self.path}")
        return row

    def latest_run_id(self) -> int | None:
        with self._db():
            row = self.conn.execute("SELECT max(id) FROM runs").fetchone()
        return row[0] if row else None

    def get_models(self, run_id: int) -> list[ModelRow]:
        self._known(run_id)
        with self._db():
            rows = self.conn.execute(
                "SELECT * FROM models WHERE run_id=? ORDER BY rowid", (run_id,)
            ).fetchall()
        return [model_row(r) for r in rows]

    def get_requests(self, run_id: int) -> list[RequestRecord]:
        self._known(run_id)
        with self._db():
            rows = self.conn.execute(
                f"SELECT {REQUEST_COLUMNS} FROM requests WHERE run_id=? ORDER BY seq", (run_id,)
            ).fetchall()
        return [record(r) for r in rows]

    def get_telemetry(self, run_id: int) -> list[dict[str, Any]]:
        self._known(run_id)
        with self._db():
            rows = self.conn.execute(
                "SELECT * FROM telemetry WHERE run_id=? ORDER BY t_ms", (run_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    def integrity_ok(self) -> bool:
        with self._db():
            return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def append_history_line(entry: dict[str, Any], path: Path | None = None) -> Path:
    """One JSON line per finished run in ``benchmark_history.jsonl``."""
    target = path or paths.history_jsonl_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(redact(entry), ensure_ascii=False, separators=(",", ":")) + "\n")
    except OSError as exc:
        raise HistoryError(
            f"{target}: cannot append to the run log ({exc.strerror or exc}); make "
            f"{target.parent} writable or set {paths.HOME_ENV} to a writable folder"
        ) from None
    return target


def iter_history_lines(path: Path | None = None) -> Iterable[dict[str, Any]]:
    target = path or paths.history_jsonl_path()
    if not target.exists():
        return []
    with open(target, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def runs_table(rows: Sequence[RunRow]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in rows]
