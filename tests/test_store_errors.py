"""The history database when it cannot be used: a read-only home, a file that is not a
database, a damaged page, a run id beyond 64 bits; and several processes opening a fresh
home at the same moment."""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing
import os
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench_helpers import PLANS, cli_env, tui_bench_cmd

from tui_bench.core.errors import UserError
from tui_bench.core.store import SCHEMA_VERSION, Store

RUN = ["run", str(PLANS / "mock.toml"), "--headless", "--repeats", "1", "--max-tokens", "2"]


def _seed(db: Path, n: int = 2) -> None:
    """``n`` finished runs, written through the store itself."""
    store = Store(db)
    for i in range(n):
        rid = store.create_run(
            plan="mock",
            plan_path=None,
            plan_raw={"name": "mock", "models": []},
            started_at=f"2026-01-0{i + 1}T00:00:00",
            host={},
            threshold=0.9,
            n_planned=0,
        )
        store.finish_run(
            rid,
            status="completed",
            finished_at=f"2026-01-0{i + 1}T00:01:00",
            n_measured=0,
            n_ok=0,
            n_failed=0,
            success_rate=None,
            mean_e2e_ms=None,
            mean_ttft_ms=None,
            summary=[],
            output_dir=None,
        )
    store.close()
    # the last connection folded the write-ahead log into the file: what is damaged
    # below is what every reader sees
    assert not Path(f"{db}-wal").exists()


def _damage_runs_page(db: Path) -> None:
    """Garbage over the page that holds the ``runs`` table."""
    con = sqlite3.connect(db)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='runs'").fetchone()[0]
    con.close()
    with open(db, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xff" * page_size)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(home: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tui_bench_cmd(*args),
        capture_output=True,
        text=True,
        env=cli_env(home),
        timeout=300,
        **kwargs,  # type: ignore[call-overload]
    )


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _commands(tmp_path: Path) -> dict[str, list[str]]:
    return {
        "history": ["history"],
        "report": ["report", "1", "--output", str(tmp_path / "rebuilt")],
        "compare": ["compare", "1", "2"],
        "run": [*RUN, "--output", str(tmp_path / "out")],
    }


@pytest.mark.parametrize("command", ["history", "report", "compare", "run"])
def test_a_file_that_is_not_a_database_is_named_and_left_alone(
    bench_home: Path, tmp_path: Path, command: str
) -> None:
    db = bench_home / "history.sqlite3"
    db.write_bytes(b"these are notes, not a database\n" * 200)
    before = _digest(db)
    line = _one_error_line(_cli(bench_home, *_commands(tmp_path)[command]))
    assert line == (
        f"error: {db}: the history database cannot be read (file is not a database); it was "
        "left as it is: move it aside (a new history is started in its place) or set "
        "TUI_BENCH_HOME to another folder"
    )
    assert _digest(db) == before


@pytest.mark.parametrize("command", ["history", "report", "compare", "run"])
def test_a_damaged_page_is_named_and_never_written_into(
    bench_home: Path, tmp_path: Path, command: str
) -> None:
    db = bench_home / "history.sqlite3"
    _seed(db)
    _damage_runs_page(db)
    before = _digest(db)
    proc = _cli(bench_home, *_commands(tmp_path)[command])
    line = _one_error_line(proc)
    assert line.startswith(f"error: {db}: the history database ")
    assert "damaged" in line or "malformed" in line
    assert line.endswith(
        "it was left as it is: move it aside (a new history is started in its place) "
        "or set TUI_BENCH_HOME to another folder"
    )
    assert "mock-fast" not in proc.stderr  # refused before any model loads
    assert _digest(db) == before


def _without_override() -> None:
    """In the child: root loses the capability to write where permissions forbid it."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(99)


@pytest.fixture
def read_only_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="tui-bench-ro-"))
    try:
        yield home
    finally:
        home.chmod(0o755)
        for child in home.iterdir():
            child.unlink()
        home.rmdir()


def _cli_read_only(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home.chmod(0o555)
    probe = ["touch", str(home / "probe")]
    if os.geteuid() == 0:
        # root writes anywhere; dropping the override capability makes it obey modes
        if subprocess.run(probe, preexec_fn=_without_override).returncode == 0:
            pytest.skip("cannot take write access away from this user")
        return _cli(home, *args, preexec_fn=_without_override)
    assert subprocess.run(probe).returncode != 0
    return _cli(home, *args)


@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "with-history"])
@pytest.mark.parametrize("command", ["history", "run"])
def test_a_read_only_home_says_where_to_write(
    read_only_home: Path, tmp_path: Path, existing: bool, command: str
) -> None:
    db = read_only_home / "history.sqlite3"
    if existing:
        _seed(db)
        before = _digest(db)
    args = ["history"] if command == "history" else [*RUN, "--output", str(tmp_path / "out")]
    line = _one_error_line(_cli_read_only(read_only_home, *args))
    assert line.startswith(f"error: {db}: the history database cannot be written (")
    assert line.endswith(
        f"make {read_only_home} writable or set TUI_BENCH_HOME to a writable folder"
    )
    if existing:
        assert _digest(db) == before
    else:
        assert not db.exists()


def test_a_home_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    home = blocker / "home"
    line = _one_error_line(_cli(home, "history"))
    assert line == (
        f"error: {home}: cannot create the tui-bench folder (Not a directory); "
        "set TUI_BENCH_HOME to a writable folder"
    )


HUGE = str(10**23)


@pytest.mark.parametrize(
    "args",
    [
        ["report", HUGE, "--output", "x"],
        ["compare", "1", HUGE],
        ["compare", HUGE, "2"],
        ["report", "--output", "x", "--", "-" + HUGE],
    ],
    ids=["report", "compare-candidate", "compare-baseline", "report-negative"],
)
def test_a_run_id_beyond_64_bits_is_not_found(bench_home: Path, args: list[str]) -> None:
    db = bench_home / "history.sqlite3"
    _seed(db)
    huge = next(a for a in args if a.lstrip("-") == HUGE)
    line = _one_error_line(_cli(bench_home, *args))
    assert line == f"error: run {huge} not found in {db}"


def test_store_reads_refuse_ids_beyond_64_bits(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    _seed(db, n=1)
    store = Store(db)
    try:
        for read in (store.get_run, store.get_models, store.get_requests, store.get_telemetry):
            with pytest.raises(UserError, match=f"^run {10**23} not found in {db}$"):
                read(10**23)
        assert store.get_run(1).plan == "mock"
    finally:
        store.close()


# -- several first opens at once ---------------------------------------------------------


def _open_at_once(db: str, barrier: object, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        store = Store(db)
        try:
            store.list_runs()
        finally:
            store.close()
        results.put("ok")  # type: ignore[attr-defined]
    except BaseException as exc:  # report whatever it was, never hang the parent
        results.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


def test_a_first_open_waits_for_a_concurrent_creator_holding_the_write_lock(
    tmp_path: Path,
) -> None:
    """The case behind "database is locked" at ``PRAGMA journal_mode=WAL``: another opener
    holds the write lock of the fresh file while this one holds a read lock and needs an
    exclusive one. SQLite answers at once, without the busy timeout (waiting could
    deadlock); the open must try again rather than fail."""
    db = tmp_path / "history.sqlite3"
    creator = sqlite3.connect(db, isolation_level=None)
    creator.execute("BEGIN IMMEDIATE")
    outcome: list[str] = []

    def open_store() -> None:
        try:
            Store(db).close()
            outcome.append("ok")
        except Exception as exc:
            outcome.append(f"{type(exc).__name__}: {exc}")

    opener = threading.Thread(target=open_store)
    opener.start()
    opener.join(0.5)  # without retries it has failed by now; with them it is still trying
    creator.execute("COMMIT")
    creator.close()
    opener.join()
    assert outcome == ["ok"]
    store = Store(db)
    try:
        assert store.list_runs() == []
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()


def test_concurrent_first_opens_of_a_fresh_home_all_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    rounds, procs = 20, 4
    outcomes: list[str] = []
    for rnd in range(rounds):
        db = tmp_path / f"round-{rnd}" / "history.sqlite3"
        barrier = ctx.Barrier(procs)
        results = ctx.Queue()
        workers = [
            ctx.Process(target=_open_at_once, args=(str(db), barrier, results))
            for _ in range(procs)
        ]
        for w in workers:
            w.start()
        outcomes += [results.get(timeout=120) for _ in workers]
        for w in workers:
            w.join(timeout=60)
        con = sqlite3.connect(db)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            assert {"runs", "models", "requests", "telemetry"} <= names
            assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        finally:
            con.close()
    failures = [o for o in outcomes if o != "ok"]
    assert failures == [], f"{len(failures)} of {rounds * procs} opens failed: {failures[:3]}"
