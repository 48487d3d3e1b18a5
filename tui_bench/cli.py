"""The ``tui-bench`` command line. Bare: the TUI; subcommands for everything headless.

Only click is imported at start-up; every command imports what it needs, so
``tui-bench --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

_DEBUG = False


def find_plan(name: str) -> Path:
    from tui_bench.core.catalog import find_plan as _find

    return _find(name)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip()]
    lines += [fmt.format(*r).rstrip() for r in cells]
    return "\n".join(lines)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="tui-bench", prog_name="tui-bench")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> int | None:
    """A terminal benchmark lab for local AI models.

    Run without a command to open the full-screen app. Everything it does is also
    available headless: see the commands below.
    """
    global _DEBUG
    _DEBUG = debug
    if ctx.invoked_subcommand is None:
        return _open_tui(None)
    return None


def _open_tui(
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
    from tui_bench.core.plan import LoadedPlan, load_plan

    loaded = load_plan(find_plan(plan_arg))
    updates = {k: v for k, v in overrides.items() if v is not None}
    if updates.get("max_tokens") is not None:
        updates["defaults"] = loaded.plan.defaults.model_copy(
            update={"max_tokens": updates.pop("max_tokens")}
        )
    if updates:
        plan = loaded.plan.model_copy(update=updates)
        loaded = LoadedPlan(plan=plan, path=loaded.path, raw=loaded.raw)
    return loaded


def _default_output(plan_name: str) -> Path:
    from tui_bench.core.paths import run_output_dir

    return run_output_dir(plan_name)


@cli.command()
@click.argument("plan")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Folder for report.md, data.json, results.csv.",
)
@click.option(
    "--headless",
    is_flag=True,
    help="Log lines instead of the live view (default when not on a terminal).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="NDJSON events on stdout (implies --headless)."
)
@click.option(
    "--models-dir",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra folder of GGUF models.",
)
@click.option("--repeats", type=click.IntRange(min=1), help="Override the plan's repeats.")
@click.option("--warmup", type=click.IntRange(min=0), help="Override the plan's warm-up count.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Override the plan's max_tokens.")
@click.option("--no-telemetry", is_flag=True, help="Do not sample RSS/CPU/VRAM.")
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
    no_telemetry: bool,
    verbose: bool,
) -> int:
    """Run a benchmark PLAN (a TOML/JSON file, or a plan name from plans/).

    Exit codes: 0 success rate meets the plan's threshold, 1 it does not,
    2 bad input, 130 interrupted.
    """
    if models_dir:
        os.environ["TUI_BENCH_MODELS_DIR"] = os.pathsep.join(
            [str(p) for p in models_dir]
            + [p for p in [os.environ.get("TUI_BENCH_MODELS_DIR")] if p]
        )
    loaded = _load(plan, {"repeats": repeats, "warmup": warmup, "max_tokens": max_tokens})
    if not (headless or as_json) and sys.stdout.isatty() and sys.stdin.isatty():
        return _open_tui(
            loaded.path, start=True, output=output, loaded=loaded, telemetry=not no_telemetry
        )
    return _run_headless(
        loaded, output, as_json=as_json, telemetry=not no_telemetry, verbose=verbose
    )


def _run_headless(
    loaded: Any, output: Path | None, *, as_json: bool, telemetry: bool, verbose: bool
) -> int:
    import asyncio

    from tui_bench.core.engine import Engine
    from tui_bench.core.report import ReportSink
    from tui_bench.core.store import Store
    from tui_bench.headless import JsonSink, LogSink, exit_code_for, run_engine_with_signals

    out_dir = output or _default_output(loaded.plan.name)
    log = LogSink(verbose=verbose)
    report = ReportSink(out_dir, loaded.plan.model_dump(mode="json"))
    sinks: list[Any] = [report, log]
    if as_json:
        sinks.append(JsonSink())
    store = Store()
    engine = Engine(loaded, store=store, sinks=sinks, telemetry=telemetry, output_dir=out_dir)
    try:
        outcome = asyncio.run(run_engine_with_signals(engine, log))
    finally:
        store.close()
    if report.written:
        log._w("report: " + ", ".join(str(p) for p in report.written))
    log._w(f"history: {store.path} (run {outcome.run_id})")
    if outcome.status == "cancelled":
        log._w(
            f"interrupted: {outcome.summary.overall.n_ok} finished request(s) kept; partial report in {out_dir}"
        )
    return exit_code_for(outcome.status, outcome.passed)


@cli.command()
@click.option(
    "--dir", "plans_dir", type=click.Path(path_type=Path), help="Folder to list (default: plans/)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def plans(plans_dir: Path | None, fmt: str) -> int:
    """List the plan catalog: id, description, models, prompts, threshold."""
    import json

    from tui_bench.core.catalog import list_plans, plans_dirs

    dirs = [plans_dir] if plans_dir else plans_dirs()
    entries = [e.as_dict() for e in list_plans(dirs)]
    if fmt == "json":
        click.echo(json.dumps(entries, indent=2))
        return 0
    if not entries:
        click.echo("no plans found in " + ", ".join(str(d) for d in dirs))
        return 0
    rows = []
    for e in entries:
        if e["error"]:
            rows.append([e["id"], "INVALID: " + e["error"], "", "", ""])
        else:
            rows.append(
                [
                    e["id"],
                    e["description"][:60],
                    ",".join(e["models"]),
                    e["prompts"],
                    f"{100 * e['threshold']:.0f}%",
                ]
            )
    click.echo(_table(["id", "description", "models", "prompts", "threshold"], rows))
    return 0


@cli.command()
@click.option(
    "--models-dir",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra folder of GGUF models.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--no-stores", is_flag=True, help="Skip the Hugging Face, LM Studio and Ollama stores."
)
def models(models_dir: tuple[Path, ...], fmt: str, no_stores: bool) -> int:
    """List GGUF models: builtins, models folders, HF cache, LM Studio, Ollama."""
    import json

    from tui_bench.core import models as registry

    entries = registry.discover(registry.models_dirs(list(models_dir)), stores=not no_stores)
    described = [registry.describe(e) for e in entries]
    engine = _engine_capability()
    if fmt == "json":
        click.echo(json.dumps({"engine": engine, "models": described}, indent=2, default=str))
        return 0
    click.echo(engine["text"])
    click.echo()
    rows = [
        [
            d.get("id"),
            d.get("size"),
            d.get("architecture"),
            d.get("quantization"),
            d.get("params"),
            d.get("context_length"),
            d.get("status"),
        ]
        for d in described
    ]
    click.echo(_table(["id", "size", "arch", "quant", "params", "ctx", "status"], rows))
    return 0


def _engine_capability() -> dict[str, Any]:
    from tui_bench.core.hostinfo import package_version

    version = package_version("llama-cpp-python")
    if version is None:
        return {
            "llama_cpp_python": None,
            "gpu_offload": False,
            "text": "llama-cpp-python is not installed",
        }
    try:
        import llama_cpp.llama_cpp as ll

        offload = bool(ll.llama_supports_gpu_offload())
    except Exception as exc:  # pragma: no cover - broken install
        return {
            "llama_cpp_python": version,
            "gpu_offload": False,
            "text": f"llama-cpp-python {version}: cannot load ({exc})",
        }
    text = f"engine: llama-cpp-python {version}, " + (
        "built with GPU offload"
        if offload
        else "CPU-only build: n_gpu_layers has no effect (see README to build with CUDA)"
    )
    return {"llama_cpp_python": version, "gpu_offload": offload, "text": text}


@cli.command()
@click.option("--plan", "plan_name", help="Only runs of this plan (its name).")
@click.option("--kind", type=click.Choice(["llm", "classify"]), help="Only LLM or classifier runs.")
@click.option(
    "--status", type=click.Choice(["running", "completed", "cancelled", "interrupted", "failed"])
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
    plan_name: str | None, kind: str | None, status: str | None, limit: int, fmt: str
) -> int:
    """List past runs with status, success rate and mean latency."""
    import csv
    import json

    from tui_bench.core.store import Store

    store = Store()
    try:
        rows = store.list_runs(plan=plan_name, status=status, kind=kind, limit=limit)
    finally:
        store.close()
    data = [r.as_dict() for r in rows]
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    elif fmt == "csv":
        cols = list(data[0].keys()) if data else ["id"]
        w = csv.DictWriter(sys.stdout, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(data)
    else:
        if not rows:
            click.echo(f"no runs in {store.path}")
            return 0
        table = [
            [
                r.id,
                r.kind,
                r.plan,
                r.status,
                (r.started_at or "")[:19].replace("T", " "),
                "–" if r.success_rate is None else f"{100 * r.success_rate:.0f}%",
                f"{r.n_ok or 0}/{r.n_measured or 0}",
                "–" if r.mean_ttft_ms is None else f"{r.mean_ttft_ms:.1f}",
                "–" if r.mean_e2e_ms is None else f"{r.mean_e2e_ms:.0f}",
                r.label or "",
            ]
            for r in rows
        ]
        click.echo(
            _table(
                [
                    "id",
                    "kind",
                    "plan",
                    "status",
                    "started",
                    "success",
                    "ok/n",
                    "mean TTFT ms",
                    "mean e2e ms",
                    "label",
                ],
                table,
            )
        )
    return 0


def _run_id(store: Any, value: str) -> int:
    from tui_bench.core.errors import UserError

    if value == "latest":
        rid = store.latest_run_id()
        if rid is None:
            raise UserError(f"no runs in {store.path}")
        return int(rid)
    try:
        return int(value)
    except ValueError:
        raise UserError(
            f"{value}: a run id is a number (see tui-bench history) or 'latest'"
        ) from None


@cli.command()
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
        if store.get_run(rid).kind == "classify":
            written = _classify_report_from_history(store.get_run(rid), output)
        else:
            written = write_reports(run_data_from_store(store, rid), output)
    finally:
        store.close()
    for p in written:
        click.echo(str(p))
    return 0


def _classify_report_from_history(row: Any, output: Path) -> list[Path]:
    """report.md, data.json and results.csv rebuilt from the stored result."""
    from tui_bench.core.classify.report import write_reports
    from tui_bench.core.classify.runner import ClassifyResult

    paths = write_reports(ClassifyResult.from_dict(row.summary), output)
    return [paths["md"], paths["json"], paths["csv"]]


@cli.command()
@click.argument("baseline")
@click.argument("candidate")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    show_default=True,
)
def compare(baseline: str, candidate: str, fmt: str) -> int:
    """Compare two runs: BASELINE vs CANDIDATE (run ids), per model and metric."""
    import json

    from tui_bench.core.compare import compare_runs
    from tui_bench.core.errors import UserError
    from tui_bench.core.store import Store

    store = Store()
    try:
        ids = (_run_id(store, baseline), _run_id(store, candidate))
        for rid in ids:
            if store.get_run(rid).kind != "llm":
                raise UserError(f"run {rid} is a classifier benchmark: compare works on LLM runs")
        result = compare_runs(store, *ids)
    finally:
        store.close()
    if fmt == "json":
        result.pop("comparisons")
        click.echo(json.dumps(result, indent=2))
        return 0
    click.echo(
        f"baseline: run {result['baseline']['id']} ({result['baseline']['plan']}, {result['baseline']['started_at']})"
    )
    click.echo(
        f"candidate: run {result['candidate']['id']} ({result['candidate']['plan']}, {result['candidate']['started_at']})"
    )
    for caveat in result["caveats"]:
        click.echo(f"caveat: {caveat}")
    if not result["comparisons"]:
        click.echo("no model in common between the two runs")
        return 0
    rows = []
    for mc in result["comparisons"]:
        name = (
            mc.model_baseline
            if mc.model_baseline == mc.model_candidate
            else f"{mc.model_baseline} → {mc.model_candidate}"
        )
        for c in mc.rows:
            rows.append(
                [
                    name,
                    c.metric,
                    f"{c.n_baseline}/{c.n_candidate}",
                    "–" if c.median_baseline is None else f"{c.median_baseline:.2f}",
                    "–" if c.median_candidate is None else f"{c.median_candidate:.2f}",
                    "–" if c.rel_diff is None else f"{100 * c.rel_diff:+.1f}%",
                    "–"
                    if c.ci95 is None
                    else f"[{100 * c.ci95[0]:+.1f}%, {100 * c.ci95[1]:+.1f}%]",
                    "–" if c.p_value is None else f"{c.p_value:.3g}",
                    c.verdict,
                ]
            )
    headers = [
        "model",
        "metric",
        "n",
        "median base",
        "median cand",
        "Δ median",
        "95% CI",
        "p (MWU)",
        "verdict",
    ]
    if fmt == "markdown":
        click.echo("| " + " | ".join(headers) + " |")
        click.echo("|" + "---|" * len(headers))
        for r in rows:
            click.echo("| " + " | ".join(str(c) for c in r) + " |")
    else:
        click.echo(_table(headers, rows))
    return 0


def _csv_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--text-column", default="text", show_default=True, help="Column holding the text.")
@click.option("--label-column", help="Column holding one label per row (one category).")
@click.option("--annotation-column", help="Column holding a JSON object: category -> label.")
@click.option(
    "--language-column",
    help="Column holding the language (default: 'language' or 'lang' if present).",
)
@click.option("--categories", help="Comma-separated categories (default: the suggested ones).")
@click.option(
    "--models",
    help="Comma-separated candidates (default: " + "tfidf-logreg,char-svm,complement-nb,sgd" + ").",
)
@click.option(
    "--epochs",
    type=int,
    default=3,
    show_default=True,
    help="Quick-training epochs for learners that train by epochs.",
)
@click.option(
    "--jobs",
    type=int,
    default=1,
    show_default=True,
    help="Candidates trained in parallel (0: every core).",
)
@click.option(
    "--choose",
    default="none",
    show_default=True,
    help="After the benchmark: top, a candidate name, or none.",
)
@click.option("--by-language", is_flag=True, help="Train one model per language.")
@click.option(
    "--language-penalty", type=float, help="Rank by mean − λ·sd of macro-F1 over languages."
)
@click.option(
    "--cv", type=int, help="Stratified k-fold cross-validation instead of one hold-out split."
)
@click.option("--test-size", type=float, default=0.2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Folder for report.md, data.json, results.csv and saved models.",
)
@click.option(
    "--headless",
    is_flag=True,
    help="Log lines instead of the classifier screen (default when not on a terminal).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="NDJSON events on stdout (implies --headless)."
)
@click.option("-v", "--verbose", is_flag=True, help="Also log every epoch.")
def classify(
    data: Path,
    text_column: str,
    label_column: str | None,
    annotation_column: str | None,
    language_column: str | None,
    categories: str | None,
    models: str | None,
    epochs: int,
    jobs: int,
    choose: str,
    by_language: bool,
    language_penalty: float | None,
    cv: int | None,
    test_size: float,
    seed: int,
    output: Path | None,
    headless: bool,
    as_json: bool,
    verbose: bool,
) -> int:
    """Benchmark text classifiers on DATA (CSV, JSONL or Parquet).

    Analyses class imbalance per category, suggests representative categories,
    quick-trains several scikit-learn candidates, ranks them by macro-F1, and with
    --choose trains the chosen one on all the data and saves it.
    """
    from tui_bench.core.classify.runner import ClassifyConfig

    config = ClassifyConfig(
        data=data,
        text_column=text_column,
        label_column=label_column,
        annotation_column=annotation_column,
        language_column=language_column,
        categories=_csv_list(categories),
        models=_csv_list(models),
        epochs=epochs,
        jobs=jobs,
        choose=choose,
        by_language=by_language,
        language_penalty=language_penalty,
        cv=cv,
        test_size=test_size,
        seed=seed,
        output_dir=output or _default_output(f"classify-{data.stem}"),
    )
    config.validate()
    if not (headless or as_json) and sys.stdout.isatty() and sys.stdin.isatty():
        try:
            from tui_bench.tui.app import run_classify_app
        except ImportError:
            pass
        else:
            return run_classify_app(config)
    return _classify_headless(config, as_json=as_json, verbose=verbose)


def _classify_headless(config: Any, *, as_json: bool, verbose: bool) -> int:
    import signal
    import threading

    from tui_bench.core.classify.history import record_classify_run
    from tui_bench.core.classify.report import write_reports
    from tui_bench.core.classify.runner import run_classify
    from tui_bench.core.errors import EXIT_INTERRUPTED, EXIT_OK
    from tui_bench.headless import ClassifyLogSink, JsonSink

    log = ClassifyLogSink(verbose=verbose)
    sinks: list[Any] = [log]
    if as_json:
        sinks.append(JsonSink())

    def publish(event: Any) -> None:
        for sink in sinks:
            sink.handle(event)

    cancel = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        log._w(
            "interrupt: stopping after the current epoch; finished results are kept (again to abort now)"
        )
        cancel.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = run_classify(config, publish, cancel=cancel)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    paths = write_reports(result, config.output_dir)
    run_id, db = record_classify_run(result)
    log._w("report: " + ", ".join(str(p) for p in paths.values()))
    log._w(f"history: {db} (run {run_id})")
    if result.status == "cancelled":
        log._w(f"interrupted: finished results kept; partial report in {config.output_dir}")
        return EXIT_INTERRUPTED
    return EXIT_OK


@cli.command()
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--languages", help="Comma-separated language codes to keep (default: all).")
def corpus(name: str, path: Path, languages: str | None) -> int:
    """Export a labelled corpus shipped offline by a package (e.g. chatterbot) to PATH (.csv/.jsonl)."""
    from tui_bench.core.classify.corpora import export_corpus

    export = export_corpus(name, path, languages=_csv_list(languages))
    langs = ", ".join(f"{k} {v}" for k, v in sorted(export.languages.items()))
    click.echo(f"{path}: {export.n_rows} rows, {export.topics} topics ({langs})")
    return 0


def main(argv: list[str] | None = None) -> None:
    from tui_bench.core.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, TuiBenchError

    try:
        rv = cli.main(args=argv, prog_name="tui-bench", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_BAD_INPUT)
    except (click.exceptions.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except TuiBenchError as exc:
        if _DEBUG:
            raise
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(exc.exit_code)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
