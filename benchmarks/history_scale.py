"""History at scale: how the history screen and ``tui-bench history`` cope with many runs.

Builds a history database of N runs in a temporary ``TUI_BENCH_HOME``: the mock plan
(plans/mock.toml, simulated models) runs once through the real engine, then its rows
(runs, models, requests, telemetry) are copied in SQL under new run ids, as a team's CI
would accumulate them. Then, for each size asked, side by side, each in a fresh
subprocess so that its peak RSS is its own:

- the app: time from F3 until the history screen shows its first page (the real app,
  driven headless by Textual's Pilot, once its start-up has settled: the first screen and
  the background import of what a run's end needs, timed apart), and the process's peak
  RSS; first with an empty history ("0 runs"), the screen's own cost, for reference;
- ``tui-bench history --limit N --format json`` and ``--format csv``: wall time, peak RSS;
- ``tui-bench history`` (the default table of 20): wall time, peak RSS.

    python benchmarks/history_scale.py [--runs 10000] [--size 100x30] [--home DIR]

``--runs 1000,10000`` measures at each size in turn (the database grows between them):
memory that stays flat as runs grow shows there. ``--home DIR`` keeps the database in
DIR (reused by a later call when it already holds at least that many runs) instead of a
temporary folder; useful to compare two versions of the code on the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DB_NAME = "history.sqlite3"


# -- building the database -------------------------------------------------------------


def run_mock_once(home: Path) -> None:
    """One real run of plans/mock.toml through the engine into ``home``'s history."""
    from tui_bench.core.engine import Engine
    from tui_bench.core.plan import load_plan
    from tui_bench.core.store import Store

    loaded = load_plan(REPO / "plans" / "mock.toml")
    store = Store(home / DB_NAME)
    try:
        asyncio.run(Engine(loaded, store=store, output_dir=home / "mock-out").run())
    finally:
        store.close()


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def grow(db: Path, n_runs: int) -> float:
    """Copies of run 1 until the database holds ``n_runs`` runs; seconds it took."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(db)
    try:
        have = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        top = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
        want = n_runs - have
        if want <= 0:
            return 0.0
        # copy k (1..want) of run 1 gets the id top + k; every table as its schema has it
        copies = "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?) "
        with conn:
            for table, key in (
                ("runs", "id"),
                ("models", "run_id"),
                ("requests", "run_id"),
                ("telemetry", "run_id"),
            ):
                cols = _columns(conn, table)
                values = [f"{top} + k.n" if c == key else f"src.{c}" for c in cols]
                conn.execute(
                    f"{copies} INSERT INTO {table} ({', '.join(cols)}) "
                    f"SELECT {', '.join(values)} FROM {table} AS src, k WHERE src.{key} = 1",
                    (want,),
                )
    finally:
        conn.close()
    return time.perf_counter() - t0


# -- measuring (each in its own process) ---------------------------------------------


def measure_app(size: tuple[int, int]) -> dict[str, Any]:
    """In this process: the app, F3, until the first page of runs is on screen."""
    from textual.widgets import DataTable

    from tui_bench.tui.app import create_app
    from tui_bench.tui.screens.history import HistoryScreen

    app = create_app(
        plans_dirs=[REPO / "plans"],
        models_dirs=[],
        discover_stores=False,
        keymap={},
        cursor_blink=False,
        check_machine=False,
    )
    out: dict[str, Any] = {}

    def shown() -> bool:  # set once the first runs read are in the table
        screen = app.screen
        return isinstance(screen, HistoryScreen) and getattr(screen, "loaded", False)

    async def drive() -> None:
        started = time.perf_counter()
        async with app.run_test(size=size) as pilot:
            # start-up settled, not counted but printed: the app's first screen, and its
            # background import of what a run's end needs (scipy.stats, ~1 s of held GIL)
            await pilot.pause(0.5)
            await asyncio.to_thread(app._warm.join)
            out["startup_s"] = time.perf_counter() - started
            t0 = time.perf_counter()
            await pilot.press("f3")
            while not shown():
                await asyncio.sleep(0.002)
                if time.perf_counter() - t0 > 300:
                    raise TimeoutError("the history screen did not show")
            await pilot.pause()  # and painted
            out["first_page_s"] = time.perf_counter() - t0
            out["rows"] = app.screen.query_one("#runs", DataTable).row_count
            await pilot.press("ctrl+q")

    asyncio.run(drive())
    return out


# Runs a module or script as __main__ and, at exit, writes its peak RSS (VmHWM: the high
# water mark of this process's own memory since exec) to $HWM_OUT. Not ru_maxrss: on
# Linux a child's ru_maxrss starts at its parent's peak (it is carried over exec).
_SHIM = """
import atexit, os, runpy, sys
def _hwm():
    with open("/proc/self/status") as fh:
        kb = next(line.split()[1] for line in fh if line.startswith("VmHWM:"))
    with open(os.environ["HWM_OUT"], "w") as out:
        out.write(kb)
atexit.register(_hwm)
target, sys.argv = sys.argv[1], sys.argv[1:]
if target.endswith(".py"):
    runpy.run_path(target, run_name="__main__")
else:
    runpy.run_module(target, run_name="__main__", alter_sys=True)
"""


def child(args: list[str], home: Path, stdout: Path) -> tuple[float, float]:
    """(wall s, peak RSS MiB) of ``python -m MODULE ARGS`` or ``python SCRIPT ARGS`` in a
    subprocess, its standard output into ``stdout``."""
    hwm = stdout.with_suffix(".hwm")
    env = {**os.environ, "TUI_BENCH_HOME": str(home), "HWM_OUT": str(hwm)}
    with open(stdout, "wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _SHIM, *args], env=env, stdout=fh, stderr=subprocess.PIPE
        )
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {err}")
    return wall, int(hwm.read_text()) / 1024


def count_rows(path: Path, fmt: str) -> int:
    text = path.read_text(encoding="utf-8")
    if fmt == "json":
        return len(json.loads(text))
    if fmt == "csv":
        return max(len(text.splitlines()) - 1, 0)
    return sum(1 for line in text.splitlines() if line.strip()[:1].isdigit())


HEADER = f"{'runs':>7}  {'what':<44} {'time s':>8} {'peak RSS MiB':>12} {'rows':>7}"


def line(n: int, what: str, seconds: float, rss_mb: float, rows: int) -> str:
    return f"{n:>7}  {what:<44} {seconds:8.3f} {rss_mb:12.0f} {rows:7}"


def measure_app_in_child(home: Path, n: int, size: str, out: Path) -> None:
    _wall, rss = child([str(Path(__file__).resolve()), "--measure-app", size], home, out)
    app = json.loads(out.read_text())
    what = f"app: F3 until the first page shows ({size})"
    print(line(n, what, app["first_page_s"], rss, app["rows"]), flush=True)
    what = "app: start-up, background imports included"
    print(line(n, what, app["startup_s"], rss, 0), flush=True)


def measure_size(home: Path, n: int, size: str) -> None:
    out = home / "bench-out"
    out.mkdir(exist_ok=True)
    measure_app_in_child(home, n, size, out / "app.json")
    for what, extra, fmt in (
        (f"history --limit {n} --format json", ["--limit", str(n), "--format", "json"], "json"),
        (f"history --limit {n} --format csv", ["--limit", str(n), "--format", "csv"], "csv"),
        ("history (the default table of 20)", [], "table"),
    ):
        target = out / f"history.{fmt}"
        wall, rss = child(["tui_bench", "history", *extra], home, target)
        print(line(n, what, wall, rss, count_rows(target, fmt)), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="10000", help="runs in the database; a list: 1000,10000")
    ap.add_argument("--size", default="100x30", help="terminal size of the app")
    ap.add_argument("--home", type=Path, help="keep (and reuse) the database in this folder")
    ap.add_argument("--measure-app", metavar="WxH", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure_app:
        width, height = (int(v) for v in args.measure_app.lower().split("x"))
        print(json.dumps(measure_app((width, height))))
        return 0
    sizes = sorted(int(v) for v in args.runs.split(","))
    tmp = None if args.home else tempfile.TemporaryDirectory(prefix="history-scale-")
    home = args.home or Path(tmp.name)  # type: ignore[union-attr]
    home.mkdir(parents=True, exist_ok=True)
    os.environ["TUI_BENCH_HOME"] = str(home)
    try:
        db = home / DB_NAME
        if not db.exists():
            t0 = time.perf_counter()
            run_mock_once(home)
            print(f"mock plan run once through the engine: {time.perf_counter() - t0:.1f} s")
        for n in sizes:
            took = grow(db, n)
            mb = db.stat().st_size / 2**20
            print(f"database of {n} runs ({mb:.0f} MiB), grown in {took:.1f} s", flush=True)
            if n == sizes[0]:
                print(HEADER)
                # the screen's own cost, for reference: an empty history
                (home / "empty").mkdir(exist_ok=True)
                measure_app_in_child(home / "empty", 0, args.size, home / "empty" / "app.json")
            measure_size(home, n, args.size)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
