"""Sparklines with fixed bounds, one or more rows high, as text rows.

Textual's ``Sparkline`` scales to the min/max of its own data, which turns a flat
memory line into noise. :func:`spark_rows` scales to ``[0, upper]`` where ``upper`` is a
capacity (total RAM, total VRAM) that does not move; with ``upper=None`` it scales to the
largest value shown (token rates, where the shape matters). Newest values on the right,
one column per value; the live panels colour the rows from the theme.
"""

from __future__ import annotations

from collections.abc import Sequence

_BLOCKS = " ▁▂▃▄▅▆▇█"


def spark_rows(
    values: Sequence[float | None], width: int, height: int, upper: float | None
) -> list[str]:
    """The text rows (top first) of a sparkline of the last ``width`` values (None: a value
    not read, left blank)."""
    if width <= 0 or height <= 0:
        return []
    shown = list(values)[-width:]
    top = upper if upper is not None else max((v for v in shown if v is not None), default=0.0)
    levels = height * 8
    cols: list[int] = []
    for v in shown:
        if top <= 0 or v is None or v <= 0:
            cols.append(0)
            continue
        lv = round(min(v, top) / top * levels)
        cols.append(max(1, lv))  # anything above zero stays visible
    pad = width - len(cols)
    rows = []
    for r in range(height):
        base = (height - 1 - r) * 8
        row = " " * pad + "".join(_BLOCKS[min(8, max(0, c - base))] for c in cols)
        rows.append(row)
    return rows
