"""Filling a DataTable whose cells are theme-styled ``Content``.

DataTable measures cells through Rich, which does not know the width of Textual's
``Content`` (it measures 1 cell): columns come out one character wide. The tables here
are small and rebuilt whole, so the widths are computed from the cells first and given
explicitly. Rich also blends translucent colours (``$text-muted``) against black in
a table cell: cells use solid theme colours or ``dim``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from textual.content import Content
from textual.widgets import DataTable

MAX_COLUMN = 48


def cell_width(cell: Any) -> int:
    if isinstance(cell, Content):
        return max((cell_len(line) for line in cell.plain.splitlines()), default=0)
    return cell_len(str(cell))


def fill_table(
    table: DataTable[Any],
    columns: Sequence[tuple[str, str | Content]],
    rows: Sequence[tuple[str | None, Sequence[Any]]],
) -> None:
    """Replace columns and rows; each column as wide as its widest cell (capped)."""
    cursor = table.cursor_row
    table.clear(columns=True)
    for i, (key, label) in enumerate(columns):
        width = max([cell_width(label)] + [cell_width(cells[i]) for _k, cells in rows])
        table.add_column(label, key=key, width=min(width, MAX_COLUMN))
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if rows and cursor >= 0:
        table.move_cursor(row=min(cursor, len(rows) - 1), animate=False)
