"""The history's table of runs: its columns, a run's cells, and pages appended to it.

A page is appended without rebuilding the rows already shown (a DataTable measures
every cell it is given: thousands of rows cost seconds); a column widens when a new
page holds a wider cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.content import Content
from textual.widgets import DataTable

from tui_bench.core.store import RunRow
from tui_bench.tui.format import num, pct, status_content, when
from tui_bench.tui.widgets.table import MAX_COLUMN, cell_width

RUN_COLUMNS = (
    ("id", "run"),
    ("plan", "plan"),
    ("status", "status"),
    ("started", "started"),
    ("ok", "ok/n"),
    ("success", "success"),
    ("ttft", "TTFT ms"),
    ("e2e", "e2e ms"),
    ("label", "label"),
)


def run_cells(r: RunRow, baseline_id: int | None, candidate_id: int | None) -> list[Any]:
    label: Content | str = ""
    if r.id == baseline_id:
        label = Content.styled("◆ baseline", "bold $primary")
    elif r.id == candidate_id:
        label = Content.styled("◇ candidate", "bold $accent")
    elif r.label:
        label = Content.styled(r.label, "dim")
    ok = r.success_rate is not None and (r.threshold is None or r.success_rate >= r.threshold)
    return [
        str(r.id),
        r.plan,
        status_content(r.status),
        when(r.started_at),
        f"{r.n_ok or 0}/{r.n_measured or 0}",
        Content.styled(pct(r.success_rate), "$success" if ok else "$error"),
        num(r.mean_ttft_ms, 1),
        num(r.mean_e2e_ms, 0),
        label,
    ]


def append_rows(table: DataTable[Any], rows: Sequence[tuple[str | None, Sequence[Any]]]) -> None:
    """Add ``rows`` under those shown; the cursor stays where it is."""
    for i, column in enumerate(table.ordered_columns):
        widest = max((cell_width(cells[i]) for _key, cells in rows), default=0)
        if widest > column.width:
            column.width = min(widest, MAX_COLUMN)
    for key, cells in rows:
        table.add_row(*cells, key=key)
