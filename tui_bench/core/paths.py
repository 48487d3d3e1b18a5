"""Where tui-bench keeps its state: history database, JSONL log, model cache.

``TUI_BENCH_HOME`` overrides everything; otherwise the platform's user data and cache
directories are used.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from tui_bench.core.errors import UserError

HOME_ENV = "TUI_BENCH_HOME"

# a plan name is free text: the folder named after it keeps this many bytes of it, well
# under the 255-byte limit of a file name on common file systems, with room for the prefix
_NAME_BYTES = 80


def home() -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("tui-bench", appauthor=False))


def _make_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(
            f"{path}: cannot create the tui-bench folder ({exc.strerror or exc}); "
            f"set {HOME_ENV} to a writable folder"
        ) from None
    return path


def data_dir() -> Path:
    return _make_dir(home())


def cache_dir() -> Path:
    override = os.environ.get(HOME_ENV)
    if override:
        path = Path(override).expanduser() / "cache"
    else:
        from platformdirs import user_cache_dir

        path = Path(user_cache_dir("tui-bench", appauthor=False))
    return _make_dir(path)


def db_path() -> Path:
    return data_dir() / "history.sqlite3"


def history_jsonl_path() -> Path:
    return data_dir() / "benchmark_history.jsonl"


def _safe(name: str) -> str:
    """``name`` as one bounded, portable path component: letters, digits, ``-_.``;
    separators and other characters become ``-``; never empty, never hidden."""
    text = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip(".")
    text = text[:_NAME_BYTES]  # no more characters than bytes; then whole characters off
    while len(text.encode("utf-8")) > _NAME_BYTES:
        text = text[:-1]
    return text or "plan"


def run_output_dir(plan_name: str, *, run_id: int | None = None) -> Path:
    """The default report folder: ``runs/<stamp>-<plan>`` for a new run,
    ``runs/run-<id>-<plan>`` when exporting a past one."""
    from datetime import datetime

    if run_id is not None:
        return data_dir() / "runs" / f"run-{run_id}-{_safe(plan_name)}"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return data_dir() / "runs" / f"{stamp}-{_safe(plan_name)}"


def package_dir(module: str) -> Path | None:
    """The folder of an installed package (models and data shipped as packages), found
    without importing it; None when it is not installed."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
