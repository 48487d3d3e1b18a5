"""``tui-bench run``: a plan in the live view, or headless with log lines or NDJSON."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from tui_bench.cli.common import (
    default_output,
    find_plan,
    host_label_option,
    models_dir_option,
    output_options,
)


def open_tui(
    plan_path: Path | None,
    *,
    start: bool = False,
    output: Path | None = None,
    loaded: Any = None,
    telemetry: bool = True,
) -> int:
    from tui_bench.tui.app import run_app

    return run_app(
        plan_path=plan_path, start=start, output_dir=output, loaded=loaded, telemetry=telemetry
    )


def _load(plan_arg: str, overrides: dict[str, Any]) -> Any:
    from tui_bench.core.plan import LoadedPlan, load_plan, parse_plan

    loaded = load_plan(find_plan(plan_arg))
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return loaded
    data = loaded.plan.model_dump()
    for key, value in given.items():
        if key == "max_tokens":
            data["defaults"]["max_tokens"] = value
        else:
            data[key] = value
    # Validated again, not model_copy'd: an override obeys the rules a plan file does
    # (a --max-tokens beyond a model's n_ctx is refused before anything loads).
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in given.items())
    plan = parse_plan(data, f"{loaded.path} with {flags}")
    return LoadedPlan(plan=plan, path=loaded.path, raw=loaded.raw)


def _with_repack(loaded: Any, repack: str | bool) -> Any:
    from tui_bench.core.plan import LoadedPlan

    models = [m.model_copy(update={"repack": repack}) for m in loaded.plan.models]
    plan = loaded.plan.model_copy(update={"models": models})
    return LoadedPlan(plan=plan, path=loaded.path, raw=loaded.raw)


@click.command()
@click.argument("plan")
@output_options("report.md, data.json, results.csv", "live view")
@models_dir_option
@click.option("--repeats", type=click.IntRange(min=1), help="Override the plan's repeats.")
@click.option("--warmup", type=click.IntRange(min=0), help="Override the plan's warm-up count.")
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    help="Override the plan's default max_tokens (a prompt's own max_tokens still applies).",
)
@click.option(
    "--repack",
    type=click.Choice(["auto", "on", "off"]),
    help="Override every model's weight repacking (auto: on, off after a crash on it).",
)
@click.option("--no-telemetry", is_flag=True, help="Do not sample RSS/CPU/VRAM.")
@host_label_option
@click.option(
    "--label",
    metavar="NAME",
    help="Name this run in history (e.g. baseline, candidate): 'tui-bench compare' takes it "
    "for a run id; the newest run of the plan with it keeps it.",
)
@click.option("-v", "--verbose", is_flag=True, help="Also log informational messages.")
def run(
    plan: str,
    output: Path | None,
    headless: bool,
    as_json: bool,
    models_dir: tuple[Path, ...],
    repeats: int | None,
    warmup: int | None,
    max_tokens: int | None,
    repack: str | None,
    no_telemetry: bool,
    host_label: str | None,
    label: str | None,
    verbose: bool,
) -> int:
    """Run a benchmark PLAN (a TOML/JSON file, or a plan name from plans/).

    Exit codes: 0 success rate meets the plan's threshold, 1 it does not,
    2 bad input, 3 the run is in history but its reports could not be written,
    130 interrupted.
    """
    from tui_bench.core.hostinfo import set_host_label

    if label is not None:
        from tui_bench.core.compare.sources import check_label

        check_label(label)
    set_host_label(host_label)
    if models_dir:
        os.environ["TUI_BENCH_MODELS_DIR"] = os.pathsep.join(
            [str(p) for p in models_dir]
            + [p for p in [os.environ.get("TUI_BENCH_MODELS_DIR")] if p]
        )
    loaded = _load(plan, {"repeats": repeats, "warmup": warmup, "max_tokens": max_tokens})
    if repack is not None:
        loaded = _with_repack(loaded, {"auto": "auto", "on": True, "off": False}[repack])
    from tui_bench.core.output_dir import check_output_dir

    out_dir = output or default_output(loaded.plan.name)
    # a folder that cannot take the reports is refused now, before any model loads
    check_output_dir(out_dir)
    if not (headless or as_json) and sys.stdout.isatty() and sys.stdin.isatty():
        before = _newest_run_id() if label else None
        code = open_tui(
            loaded.path, start=True, output=output, loaded=loaded, telemetry=not no_telemetry
        )
        if label:
            _label_newest(loaded.plan.name, label, after=before)
        return code
    from tui_bench.headless import run_plan

    return run_plan(
        loaded, out_dir, as_json=as_json, telemetry=not no_telemetry, verbose=verbose, label=label
    )


def _newest_run_id() -> int:
    from tui_bench.core.store import Store

    store = Store()
    try:
        return int(store.latest_run_id() or 0)
    finally:
        store.close()


def _label_newest(plan: str, label: str, *, after: int | None) -> None:
    """The app runs the plan on its own: its newest run of the plan since it opened
    gets the label (none when it ran nothing)."""
    from tui_bench.core.store import Store

    store = Store()
    try:
        newest = next(iter(store.iter_runs(plan=plan, kind="llm", limit=1)), None)
        if newest is not None and newest.id > (after or 0):
            store.set_label(newest.id, label)
    finally:
        store.close()
