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
    help="Comma-separated candidates (default: "
    + "tfidf-logreg,char-svm,complement-nb,sgd"
    + "). Transformers (the finetune extra): builtin:minilm-l6, minilm-frozen, "
    "a model folder, or a model id in the Hugging Face cache (never downloaded).",
)
@click.option(
    "--models-for",
    "models_for",
    multiple=True,
    metavar="LANG=A,B",
    help="Candidates for the rows of one language (repeatable; needs --by-language); "
    "other languages use --models.",
)
@click.option(
    "--epochs",
    type=int,
    default=3,
    show_default=True,
    help="Quick-training epochs for learners that train by epochs (transformers too).",
)
@click.option(
    "--max-length",
    type=int,
    default=256,
    show_default=True,
    help="Transformers: at most this many tokens per text (the 95th percentile of the "
    "data's, capped here).",
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
@click.option(
    "--cv-repeats",
    type=int,
    default=1,
    show_default=True,
    help="Repeat the k-fold split, shuffled anew each time (with --cv).",
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
    models_for: tuple[str, ...],
    epochs: int,
    max_length: int,
    jobs: int,
    choose: str,
    by_language: bool,
    language_penalty: float | None,
    cv: int | None,
    cv_repeats: int,
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
    says how long the benchmark should take (an estimate from a probe fit),
    quick-trains several scikit-learn candidates (and fine-tuned or frozen
    transformers, with the finetune extra), ranks them by macro-F1 against two
    baselines (the majority class, guessing by the class priors) with 95% intervals
    (a medal only above chance), and with --choose trains the chosen one on all the
    data and saves it.
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
        models_by_language=models_by_language(models_for),
        epochs=epochs,
        max_length=max_length,
        jobs=jobs,
        choose=choose,
        by_language=by_language,
        language_penalty=language_penalty,
        cv=cv,
        cv_repeats=cv_repeats,
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


def models_by_language(values: tuple[str, ...]) -> dict[str, list[str]] | None:
    """``--models-for fr=a,b`` (repeatable) as {language: [candidates]}; UserError, one
    line, for a value that is not LANG=A,B or a language given twice."""
    from tui_bench.core.errors import UserError

    out: dict[str, list[str]] = {}
    for value in values:
        lang, sep, names = value.partition("=")
        lang = lang.strip()
        models = csv_list(names)
        if not sep or not lang or not models:
            raise UserError(
                f"--models-for {value!r}: expected LANG=A,B (e.g. fr=tfidf-logreg,char-svm)"
            )
        if lang in out:
            raise UserError(f"--models-for: language {lang!r} given twice")
        out[lang] = models
    return out or None


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
