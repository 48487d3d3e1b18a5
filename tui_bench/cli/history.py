"""``tui-bench history``, ``report`` and ``compare``: past runs from the database."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from tui_bench.cli.common import table
from tui_bench.core.fmt import num, pct


@click.command()
@click.option("--plan", "plan_name", help="Only runs of this plan (its name).")
@click.option(
    "--kind",
    type=click.Choice(["llm", "classify", "pipeline"]),
    help="Only LLM, classifier or pipeline runs.",
)
@click.option(
    "--status", type=click.Choice(["running", "completed", "cancelled", "interrupted", "failed"])
)
@click.option(
    "--scenario",
    "scenario_id",
    help="Only the runs of this scenario (pipeline runs, and plans so named), with averages.",
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
def history(
    plan_name: str | None,
    kind: str | None,
    status: str | None,
    scenario_id: str | None,
    limit: int,
    fmt: str,
) -> int:
    """List past runs with status, success rate and mean latency (TTFT ms and e2e ms: the
    mean of each run's measured requests)."""
    from tui_bench.core.store import Store

    if scenario_id is not None and plan_name is not None and scenario_id != plan_name:
        raise click.BadParameter(
            "a scenario's runs are those of its plan name", param_hint="--plan"
        )
    store = Store()
    try:
        rows = store.iter_runs(plan=scenario_id or plan_name, status=status, kind=kind, limit=limit)
        if scenario_id is not None and fmt == "table":
            rows = list(rows)
            _history_table(rows, store.path)
            _scenario_averages(store, scenario_id, rows)
            return 0
        if fmt == "json":
            # a row at a time, read from the database a batch at a time: memory stays flat
            for part in json_list_parts(r.as_dict() for r in rows):
                sys.stdout.write(part)
            sys.stdout.write("\n")
        elif fmt == "csv":
            write_csv(r.as_dict() for r in rows)
        else:
            _history_table(list(rows), store.path)
    finally:
        store.close()
    return 0


def _scenario_averages(store: Any, scenario_id: str, rows: list[Any]) -> None:
    """The averages over the runs listed (core/run_listing.py's, as the REST face gives them)."""
    from tui_bench.core.fmt import num, pct
    from tui_bench.core.run_listing import averages, run_entry

    a = averages([run_entry(store, r) for r in rows])
    cost = (
        f"{num(a['avg_cost'], 4)} {a['cost_currency']} per request ({a['cost_runs']} runs)"
        if a["avg_cost"] is not None
        else "not known"
    )
    latency = "–" if a["avg_latency_ms"] is None else f"{num(a['avg_latency_ms'], 1)} ms"
    click.echo(
        f"{scenario_id}: {a['n_runs']} run{'' if a['n_runs'] == 1 else 's'}; success rate {pct(a['success_rate'])} "
        f"(mean of runs; pooled {pct(a['pooled_success_rate'])} of {a['n_measured']} requests); "
        f"latency {latency} (mean of runs' means); cost {cost}"
    )


def json_list_parts(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The text of ``json.dumps(list(items), indent=2)``, one item at a time."""
    import json
    import textwrap

    first = True
    for item in items:
        yield ("[\n" if first else ",\n") + textwrap.indent(json.dumps(item, indent=2), "  ")
        first = False
    yield "[]" if first else "\n]"


def write_csv(items: Iterable[dict[str, Any]]) -> None:
    """A header from the first item's keys ("id" alone when there is none), then a line
    per item as it comes."""
    import csv

    it = iter(items)
    first = next(it, None)
    w = csv.DictWriter(sys.stdout, fieldnames=list(first) if first else ["id"], lineterminator="\n")
    w.writeheader()
    if first is not None:
        w.writerow(first)
        w.writerows(it)


def _history_table(rows: list[Any], db: Path) -> None:
    if not rows:
        click.echo(f"no runs in {db}")
        return
    # 80 columns hold a row: the minute it started, ok/n with its rate, the label if any
    labels = any(r.label for r in rows)
    cells = [
        [
            r.id,
            r.kind,
            r.plan,
            r.status,
            (r.started_at or "")[:16].replace("T", " "),
            f"{r.n_ok or 0}/{r.n_measured or 0} {pct(r.success_rate)}",
            num(r.mean_ttft_ms, 1),
            num(r.mean_e2e_ms, 0),
            *([r.label or ""] if labels else []),
        ]
        for r in rows
    ]
    headers = ["id", "kind", "plan", "status", "started", "ok/n", "TTFT ms", "e2e ms"]
    click.echo(table([*headers, *(["label"] if labels else [])], cells))


def _run_id(store: Any, value: str) -> int:
    from tui_bench.core.errors import UserError

    if value == "latest":
        rid = store.latest_run_id()
        if rid is None:
            raise UserError(f"no runs in {store.path}")
        return int(rid)
    try:
        rid = int(value)
    except ValueError:
        raise UserError(
            f"{value}: a run id is a number (see tui-bench history) or 'latest'"
        ) from None
    if not 1 <= rid <= 2**63 - 1:  # ids count from 1; SQLite holds 64-bit integers
        raise UserError(f"run {value} not found in {store.path}")
    return rid


@click.command()
@click.argument("run_id")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True, help="Folder to write into."
)
def report(run_id: str, output: Path) -> int:
    """Rebuild report.md, data.json and results.csv of RUN_ID ('latest' works) from history."""
    from tui_bench.core.report import run_data_from_store, write_reports
    from tui_bench.core.store import Store

    store = Store()
    try:
        rid = _run_id(store, run_id)
        row = store.get_run(rid)
        if row.kind == "classify":
            written = _classify_report_from_history(row, output)
        elif row.kind == "pipeline":
            from tui_bench.core.pipeline.report import write_reports_from_data

            written = write_reports_from_data(row.summary, output)
        else:
            written = write_reports(run_data_from_store(store, rid), output)
    finally:
        store.close()
    for p in written:
        click.echo(str(p))
    return 0


def _classify_report_from_history(row: Any, output: Path) -> list[Path]:
    """report.md, data.json, results.csv and the charts rebuilt from the stored result."""
    from tui_bench.core.classify.report import write_reports
    from tui_bench.core.classify.runner import ClassifyResult

    paths = write_reports(ClassifyResult.from_dict(row.summary), output)
    return list(paths.values())


@click.command()
@click.argument("baseline")
@click.argument("candidate")
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    metavar="M",
    help="A metric to compare (repeatable): decode_tps, ttft_ms, e2e_ms, tpot_ms, prefill_tps, "
    "success_rate, n_out, peak_rss_kb, vram_peak_mb, quality (every score) or quality.NAME. "
    "Default: all of them.",
)
@click.option(
    "--fail-if-regression",
    "threshold",
    metavar="PCT",
    help="Exit 1 when a metric of a model regresses significantly by more than PCT "
    "(e.g. 5%: the relative change of medians, or of success rates).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Folder for compare.md and compare.json.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
)
def compare(
    baseline: str,
    candidate: str,
    metrics: tuple[str, ...],
    threshold: str | None,
    output: Path | None,
    fmt: str,
) -> int:
    """Compare two LLM runs, BASELINE vs CANDIDATE, per model and task type.

    Each is a run id ('latest' works), a label given with 'tui-bench run --label', or a
    run's output folder (its data.json). Per metric: medians, the relative change with its
    95% interval, the test's p-value, the smallest change the samples could have detected
    (MDE) and a verdict. Exit codes: 0 no regression (or no gate), 1 a metric regressed
    significantly beyond --fail-if-regression, 2 bad input.
    """
    import json

    from tui_bench.core.compare import gate, render, sources
    from tui_bench.core.errors import UserError

    limit = None if threshold is None else gate.parse_threshold(threshold)
    if output is not None:
        from tui_bench.core.output_dir import check_output_dir

        check_output_dir(output)  # before any history is read
    stores: list[Any] = []

    def open_store() -> Any:
        if not stores:
            from tui_bench.core.store import Store

            stores.append(Store())
        return stores[0]

    try:
        base = sources.resolve(baseline, open_store)
        cand = sources.resolve(candidate, open_store)
        result = gate.gate(base, cand, metrics=metrics or gate.DEFAULT_METRICS, threshold=limit)
    finally:
        for store in stores:
            store.close()
    written = render.write(result, output) if output is not None else []
    if fmt == "json":
        click.echo(json.dumps(render.to_json(result), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(render.markdown(result), nl=False)
    else:
        import shutil

        # a terminal narrower than the table gets the metrics a line or two each; a pipe
        # or a CI log keeps the one table, the model on every line
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        click.echo(render.terminal(result, table, width))
    for path in written:
        click.echo(f"written: {path}", err=True)
    if limit is not None and not result.models:
        raise UserError(f"{baseline} and {candidate} have no model in common: nothing to gate on")
    if limit is not None and not result.decided:
        raise UserError(
            f"{baseline} vs {candidate}: nothing to gate on: no metric could be tested "
            "(fewer than 2 samples a side, or not measured)"
        )
    return result.exit_code
