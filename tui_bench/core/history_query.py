"""The read side of the history's run list: the columns a list shows, a page at a time.

A list never reads a run's documents (its plan, host facts and summary: kilobytes each,
against a hundred bytes of list columns). A listed row loads them on first use, through
the store that listed it (opening a run); ``RunQueries.get`` reads them with the row.
Pages follow the run id downwards (``before_id``, keyset paging): the ten-thousandth
run costs what the first does, and pages stay in order while new runs are added.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_bench.core.redact import expand_home

# what a list of runs reads: never the documents
LIST_COLUMNS = (
    "id", "kind", "plan", "plan_path", "status", "started_at", "finished_at", "pid",
    "n_planned", "n_measured", "n_ok", "n_failed", "success_rate", "threshold",
    "mean_e2e_ms", "mean_ttft_ms", "label", "output_dir",
)  # fmt: skip
DOCUMENT_COLUMNS = ("host_json", "plan_json", "summary_json")
# a status the list shows that is not stored as such: 'interrupted' is a run left
# 'running' by a process that no longer exists
_STORED_AS = {"running": ("running",), "interrupted": ("running", "interrupted")}
# rows one statement fetches while a caller iterates: bounds memory whatever the history
BATCH = 500
MARKS = ("baseline", "candidate")

Db = Callable[[], AbstractContextManager[sqlite3.Connection]]


def _loads(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def shown_status(stored: str, pid: int | None) -> str:
    return "interrupted" if stored == "running" and not pid_alive(pid) else stored


@dataclass
class RunDocuments:
    """A run's large parts: host facts, the plan as run, the stored summary."""

    host: dict[str, Any] = field(default_factory=dict)
    plan_raw: dict[str, Any] = field(default_factory=dict)
    summary: Any = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple[Any, ...] | None) -> RunDocuments:
        if row is None:  # the run was deleted since it was listed
            return cls()
        host, plan, summary = row
        return cls(_loads(host, {}), _loads(plan, {}), _loads(summary, {}))


@dataclass
class RunRow:
    """One run as a list shows it. ``host``, ``plan_raw`` and ``summary`` are read from
    the database on first use (a list does not read them)."""

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
    loader: Callable[[int], RunDocuments] | None = field(default=None, repr=False, compare=False)
    loaded: RunDocuments | None = field(default=None, repr=False, compare=False)

    @property
    def documents(self) -> RunDocuments:
        if self.loaded is None:
            self.loaded = self.loader(self.id) if self.loader is not None else RunDocuments()
        return self.loaded

    @property
    def host(self) -> dict[str, Any]:
        return self.documents.host

    @property
    def plan_raw(self) -> dict[str, Any]:
        return self.documents.plan_raw

    @property
    def summary(self) -> Any:
        return self.documents.summary

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


@dataclass(frozen=True)
class RunFilter:
    plan: str | None = None
    kind: str | None = None
    status: str | None = None

    def where(self, before_id: int | None = None) -> tuple[str, list[Any]]:
        """`` WHERE ...`` (or "") and its arguments; the shown status is checked after."""
        terms: list[str] = []
        args: list[Any] = []
        if self.plan:
            terms.append("plan = ?")
            args.append(self.plan)
        if self.kind:
            terms.append("kind = ?")
            args.append(self.kind)
        if self.status:
            stored = _STORED_AS.get(self.status, (self.status,))
            terms.append(f"status IN ({','.join('?' * len(stored))})")
            args += stored
        if before_id is not None:
            terms.append("id < ?")
            args.append(before_id)
        return (" WHERE " + " AND ".join(terms) if terms else ""), args

    def keeps(self, row: RunRow) -> bool:
        return self.status is None or row.status == self.status


def _run_row(
    conn: sqlite3.Connection, row: sqlite3.Row, loader: Callable[[int], RunDocuments] | None
) -> RunRow:
    n_measured, n_ok, n_failed, rate = (
        row["n_measured"], row["n_ok"], row["n_failed"], row["success_rate"]
    )  # fmt: skip
    if n_measured is None and row["kind"] == "llm":
        # still running, or died before finishing: count what was committed
        n_measured, n_ok = conn.execute(
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
        plan_path=expand_home(row["plan_path"]),
        status=shown_status(row["status"], row["pid"]),
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
        output_dir=expand_home(row["output_dir"]),
        loader=loader,
    )


_SELECT_LIST = f"SELECT {', '.join(LIST_COLUMNS)} FROM runs"
_SELECT_DOCUMENTS = f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM runs WHERE id=?"


class RunQueries:
    """The run list of one database, through its store's connection (its lock, and its
    translation of a failing file into one line)."""

    def __init__(self, db: Db, loader: Callable[[int], RunDocuments] | None = None) -> None:
        self._db = db
        self._loader = loader

    def iter(
        self,
        flt: RunFilter | None = None,
        *,
        before_id: int | None = None,
        limit: int | None = None,
    ) -> Iterator[RunRow]:
        """Up to ``limit`` runs (every one with None) older than run ``before_id``,
        newest first, fetched a batch at a time. The lock is not held between batches,
        so a slow reader never blocks a run being recorded."""
        flt = flt or RunFilter()
        left = limit or None  # 0, as None: no limit
        batch = min(left, BATCH) if left else BATCH
        while True:
            where, args = flt.where(before_id)
            with self._db() as conn:
                raw = conn.execute(
                    f"{_SELECT_LIST}{where} ORDER BY id DESC LIMIT ?", [*args, batch]
                ).fetchall()
                rows = [_run_row(conn, r, self._loader) for r in raw]
            for run in rows:
                if flt.keeps(run):
                    yield run
                    if left is not None:
                        left -= 1
                        if left <= 0:
                            return
            if len(raw) < batch:
                return
            before_id = raw[-1]["id"]

    def page(
        self, flt: RunFilter | None = None, *, limit: int | None = 20, before_id: int | None = None
    ) -> list[RunRow]:
        return list(self.iter(flt, before_id=before_id, limit=limit))

    def count(self, flt: RunFilter | None = None) -> int:
        flt = flt or RunFilter()
        where, args = flt.where()
        with self._db() as conn:
            if flt.status not in _STORED_AS:
                return int(conn.execute(f"SELECT count(*) FROM runs{where}", args).fetchone()[0])
            found = conn.execute(f"SELECT status, pid FROM runs{where}", args).fetchall()
        return sum(1 for stored, pid in found if shown_status(stored, pid) == flt.status)

    def plans(self, kind: str | None = None) -> list[str]:
        where, args = RunFilter(kind=kind).where()
        with self._db() as conn:
            found = conn.execute(f"SELECT DISTINCT plan FROM runs{where} ORDER BY plan", args)
            return [r[0] for r in found]

    def marked(self, kind: str | None = None) -> list[tuple[int, str]]:
        """(id, label) of the runs labelled baseline or candidate, newest first."""
        where, args = RunFilter(kind=kind).where()
        where = f"{where} AND" if where else " WHERE"
        with self._db() as conn:
            found = conn.execute(
                f"SELECT id, label FROM runs{where} label IN (?, ?) ORDER BY id DESC",
                [*args, *MARKS],
            )
            return [(int(r[0]), str(r[1])) for r in found]

    def present(self, ids: Iterable[int], kind: str | None = None) -> set[int]:
        """Which of ``ids`` are runs (of ``kind``)."""
        wanted = list(ids)
        if not wanted:
            return set()
        where, args = RunFilter(kind=kind).where()
        where = f"{where} AND" if where else " WHERE"
        with self._db() as conn:
            found = conn.execute(
                f"SELECT id FROM runs{where} id IN ({','.join('?' * len(wanted))})",
                [*args, *wanted],
            )
            return {int(r[0]) for r in found}

    def plan_of(self, run_id: int) -> str | None:
        with self._db() as conn:
            row = conn.execute("SELECT plan FROM runs WHERE id=?", (run_id,)).fetchone()
        return None if row is None else str(row[0])

    def get(self, run_id: int) -> RunRow | None:
        """One run with its documents."""
        with self._db() as conn:
            row = conn.execute(f"{_SELECT_LIST} WHERE id=?", (run_id,)).fetchone()
            if row is None:
                return None
            run = _run_row(conn, row, self._loader)
            run.loaded = RunDocuments.from_row(
                conn.execute(_SELECT_DOCUMENTS, (run_id,)).fetchone()
            )
        return run

    def documents(self, run_id: int) -> RunDocuments:
        with self._db() as conn:
            return RunDocuments.from_row(conn.execute(_SELECT_DOCUMENTS, (run_id,)).fetchone())


def documents_from_file(path: Path, run_id: int) -> RunDocuments:
    """A run's documents through a read-only connection of their own: for a row that
    outlived the store that listed it."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return RunDocuments.from_row(conn.execute(_SELECT_DOCUMENTS, (run_id,)).fetchone())
    finally:
        conn.close()
