"""What the history database learns when a run finishes, so that ``tui-bench report
RUN_ID`` writes what the original reports said:

- the run's duration as the engine measured it (``runs.duration_s``, schema version 4);
- each loaded model's info as the run ended: the engine adds to it after the model's
  requests (the scorers that read its answers, core/quality/model_scoring.py), and the
  report sink holds the same info, so the row stored at load time is written again.

The store calls :func:`record_finish` when it receives
:class:`~tui_bench.core.events.RunFinished`.
"""

from __future__ import annotations

from typing import Any

from tui_bench.core.redact import redact
from tui_bench.core.store_rows import dumps


def record_finish(
    store: Any, run_id: int, duration_s: float, infos: dict[tuple[str, int], dict[str, Any]]
) -> None:
    """``store``: a :class:`~tui_bench.core.store.Store` (its lock and connection);
    ``infos``: the info of each (model, attempt) it stored for this run."""
    with store._db() as conn:
        conn.execute("UPDATE runs SET duration_s=? WHERE id=?", (duration_s, run_id))
        for (model, attempt), info in infos.items():
            conn.execute(
                "UPDATE models SET info_json=? WHERE run_id=? AND model=? AND attempt=?",
                (dumps(redact(info)), run_id, model, attempt),
            )
        conn.commit()


def get_duration(store: Any, run_id: int) -> float | None:
    """None for a run that did not finish, or was stored before durations were kept."""
    with store._db() as conn:
        row = conn.execute("SELECT duration_s FROM runs WHERE id=?", (run_id,)).fetchone()
    return None if row is None else row[0]
