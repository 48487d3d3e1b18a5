"""``tui-bench classify`` and ``tui-bench corpus``: the classifier benchmark."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tui_bench.cli.common import csv_list, default_output, host_label_option, output_options


@click.command()
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
@output_options("report.md, data.json, results.csv and saved models", "classifier screen")
@host_label_option
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
    host_label: str | None,
    verbose: bool,
) -> int:
    """Benchmark text classifiers on DATA (CSV, JSONL or Parquet).

    Analyses class imbalance per category, suggests representative categories,
    quick-trains several scikit-learn candidates, ranks them by macro-F1, and with
    --choose trains the chosen one on all the data and saves it.
    """
    from tui_bench.core.hostinfo import set_host_label

    set_host_label(host_label)
    from tui_bench.core.classify.runner import ClassifyConfig
    from tui_bench.core.output_dir import check_output_dir

    config = ClassifyConfig(
        data=data,
        text_column=text_column,
        label_column=label_column,
        annotation_column=annotation_column,
        language_column=language_column,
        categories=csv_list(categories),
        models=csv_list(models),
        epochs=epochs,
        jobs=jobs,
        choose=choose,
        by_language=by_language,
        language_penalty=language_penalty,
        cv=cv,
        test_size=test_size,
        seed=seed,
        output_dir=output or default_output(f"classify-{data.stem}"),
    )
    config.validate()
    check_output_dir(config.output_dir)  # before hours of training, not after
    if not (headless or as_json) and sys.stdout.isatty() and sys.stdin.isatty():
        try:
            from tui_bench.tui.app import run_classify_app
        except ImportError:
            pass
        else:
            return run_classify_app(config)
    from tui_bench.headless import run_classify

    return run_classify(config, as_json=as_json, verbose=verbose)


@click.command()
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--languages", help="Comma-separated language codes to keep (default: all).")
def corpus(name: str, path: Path, languages: str | None) -> int:
    """Export a labelled corpus shipped offline by a package (e.g. chatterbot) to PATH (.csv/.jsonl)."""
    from tui_bench.core.classify.corpora import export_corpus

    export = export_corpus(name, path, languages=csv_list(languages))
    langs = ", ".join(f"{k} {v}" for k, v in sorted(export.languages.items()))
    click.echo(f"{path}: {export.n_rows} rows, {export.topics} topics ({langs})")
    return 0
