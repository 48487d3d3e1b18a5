"""Helpers shared by the command modules: plan lookup, plain tables, default folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def find_plan(name: str) -> Path:
    from tui_bench.core.catalog import find_plan as _find

    return _find(name)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    from tui_bench.core.printable import one_line

    # one row per line, whatever a stored name holds (control characters shown escaped)
    cells = [[("" if c is None else one_line(str(c))) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip()]
    lines += [fmt.format(*r).rstrip() for r in cells]
    return "\n".join(lines)


def default_output(plan_name: str) -> Path:
    from tui_bench.core.paths import run_output_dir

    return run_output_dir(plan_name)


def csv_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None
