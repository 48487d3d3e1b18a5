"""Load levels in the history database (table ``load_levels``): what each level's figures
were computed from beside its records (target, bounds, resource peaks over the level,
the server's counters), so that ``tui-bench report RUN_ID`` rebuilds them exactly.

The store records a level when it receives :class:`~tui_bench.core.events.LevelFinished`.
"""

from __future__ import annotations

from typing import Any

from tui_bench.core.events import LevelFinished
from tui_bench.core.redact import redact
from tui_bench.core.store_rows import dumps, loads


def add_level(store: Any, run_id: int, event: LevelFinished) -> None:
    """``store``: a :class:`~tui_bench.core.store.Store` (its lock and connection)."""
    ctx = event.context
    with store._db() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO load_levels (run_id, model, idx, level, context_json)"
            " VALUES (?,?,?,?,?)",
            (run_id, event.model, int(ctx.get("index", 0)), event.level, dumps(redact(ctx))),
        )
        conn.commit()


def get_levels(store: Any, run_id: int) -> list[dict[str, Any]]:
    """The contexts of a run's levels, per model in the order they ran."""
    with store._db() as conn:
        rows = conn.execute(
            "SELECT context_json FROM load_levels WHERE run_id=? ORDER BY rowid", (run_id,)
        ).fetchall()
    return [loads(r[0], {}) for r in rows]
