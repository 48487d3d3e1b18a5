"""How the classifier screens run a benchmark: its thread and its outcome.

Training runs at the priority the program started with: the TUI lowers its own loop's
CPU priority (see ``tui_bench.core.backends.spawn``), and on Linux a thread inherits the
priority of the thread that starts it, so :func:`run_at_start_priority` starts the
training thread from the spawner thread, created before the loop lowered itself. The
live state the screens draw is in :mod:`tui_bench.tui.state.classify`.

No Textual import here: plain Python, tested as such.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tui_bench.core.classify.charts import NAMES as CHART_FILES

REPORT_FILES = ("report.md", "data.json", "results.csv", *CHART_FILES)

T = TypeVar("T")


@dataclass
class ClassifyOutcome:
    """A finished benchmark as the results screen shows it."""

    result: Any  # runner.ClassifyResult
    reports: list[Path] = field(default_factory=list)
    run_id: int | None = None
    db_path: Path | None = None
    from_history: bool = False  # rebuilt from the database: shown, never trained from


def report_files(output_dir: str | Path | None) -> list[Path]:
    if output_dir is None:
        return []
    return [Path(output_dir) / n for n in REPORT_FILES if (Path(output_dir) / n).is_file()]


def run_at_start_priority(
    fn: Callable[[], T], *, abandon: Callable[[], bool] = lambda: False, poll_s: float = 0.1
) -> T | None:
    """Run ``fn`` in a new thread started from the spawner thread and wait for it.

    Returns ``None`` when ``abandon()`` turns true first (the app is closing): the thread
    is a daemon and the caller has already asked it to stop. Re-raises its exception.
    """
    from tui_bench.core.backends.spawn import start_thread

    box: dict[str, Any] = {}

    def body() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised in the waiting thread
            box["error"] = exc

    thread = threading.Thread(target=body, name="classify-train", daemon=True)
    start_thread(thread)
    while thread.is_alive():
        if abandon():
            return None
        thread.join(poll_s)
    if "error" in box:
        raise box["error"]
    return box.get("result")
