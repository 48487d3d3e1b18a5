"""Helpers shared by the command modules: plan lookup, plain tables, default folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


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


def output_options(what: str, screen: str) -> Callable[[F], F]:
    """``-o/--output``, ``--headless`` and ``--json``: how a benchmark command reports."""

    def apply(f: F) -> F:
        f = click.option(
            "--json", "as_json", is_flag=True, help="NDJSON events on stdout (implies --headless)."
        )(f)
        f = click.option(
            "--headless",
            is_flag=True,
            help=f"Log lines instead of the {screen} (default when not on a terminal).",
        )(f)
        return click.option(
            "-o", "--output", type=click.Path(path_type=Path), help=f"Folder for {what}."
        )(f)

    return apply


def host_label_option(f: F) -> F:
    return click.option(
        "--host-label",
        metavar="NAME",
        help="Name this host in reports and history (the host name is never recorded).",
    )(f)


def models_dir_option(f: F) -> F:
    return click.option(
        "--models-dir",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Extra folder of GGUF models.",
    )(f)
