"""Where tui-bench keeps its state: history database, JSONL log, model cache.

``TUI_BENCH_HOME`` overrides everything; otherwise the platform's user data and cache
directories are used.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "TUI_BENCH_HOME"


def home() -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("tui-bench", appauthor=False))


def data_dir() -> Path:
    path = home()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        path = Path(override).expanduser() / "cache"
    else:
        from platformdirs import user_cache_dir

        path = Path(user_cache_dir("tui-bench", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path() -> Path:
    return data_dir() / "history.sqlite3"


def history_jsonl_path() -> Path:
    return data_dir() / "benchmark_history.jsonl"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


def run_output_dir(plan_name: str, *, run_id: int | None = None) -> Path:
    """The default report folder: ``runs/<stamp>-<plan>`` for a new run,
    ``runs/run-<id>-<plan>`` when exporting a past one."""
    from datetime import datetime

    if run_id is not None:
        return data_dir() / "runs" / f"run-{run_id}-{_safe(plan_name)}"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return data_dir() / "runs" / f"{stamp}-{_safe(plan_name)}"
