"""``tui-bench suite``: several plans one after another into one folder, and their comparison."""

from __future__ import annotations

import os
from pathlib import Path

import click

from tui_bench.cli.common import host_label_option, models_dir_option


@click.command()
@click.argument("plans", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for one folder per plan, comparison_report.md and comparison_data.json.",
)
@click.option("--headless", is_flag=True, help="Log lines (a suite always runs headless for now).")
@click.option("--json", "as_json", is_flag=True, help="NDJSON events of every plan on stdout.")
@models_dir_option
@click.option("--repeats", type=click.IntRange(min=1), help="Override every plan's repeats.")
@click.option("--warmup", type=click.IntRange(min=0), help="Override every plan's warm-ups.")
@click.option(
    "--max-tokens", type=click.IntRange(min=1), help="Override every plan's default max_tokens."
)
@click.option("--no-telemetry", is_flag=True, help="Do not sample RSS/CPU/VRAM.")
@host_label_option
@click.option("-v", "--verbose", is_flag=True, help="Also log informational messages.")
def suite(
    plans: tuple[str, ...],
    output: Path,
    headless: bool,
    as_json: bool,
    models_dir: tuple[Path, ...],
    repeats: int | None,
    warmup: int | None,
    max_tokens: int | None,
    no_telemetry: bool,
    host_label: str | None,
    verbose: bool,
) -> int:
    """Run several PLANS (files or plan names) one after another into OUTPUT/<plan name>/,
    then compare them per model and per task type (comparison_report.md and
    comparison_data.json).

    A plan that cannot load or run is recorded with its reason and the suite goes on;
    Ctrl-C stops the plan running (its partial report kept) and compares what finished.
    Exit code: the highest of the plans' codes (as 'tui-bench run': 0, 1 below threshold,
    2 bad input, 3 reports not written, 4 internal error, 130 interrupted).
    """
    from tui_bench.cli.run import _load
    from tui_bench.core.hostinfo import set_host_label
    from tui_bench.core.output_dir import check_output_dir
    from tui_bench.headless.drivers import run_suite

    set_host_label(host_label)
    if models_dir:
        os.environ["TUI_BENCH_MODELS_DIR"] = os.pathsep.join(
            [str(p) for p in models_dir]
            + [p for p in [os.environ.get("TUI_BENCH_MODELS_DIR")] if p]
        )
    check_output_dir(output)
    overrides = {"repeats": repeats, "warmup": warmup, "max_tokens": max_tokens}
    return run_suite(
        plans,
        output,
        load=lambda plan: _load(plan, overrides),
        as_json=as_json,
        telemetry=not no_telemetry,
        verbose=verbose,
    )
