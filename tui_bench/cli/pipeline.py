"""``tui-bench pipeline``: a scenario's stages, question by question, the bottleneck named."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("scenario_id")
@click.option(
    "--classifier",
    type=click.Path(path_type=Path),
    help="A model saved by tui-bench classify --choose: its card (model-*.json), its "
    ".joblib, or their folder. Without it the classify stage is skipped.",
)
@click.option(
    "--model",
    default="builtin:smollm2-135m",
    show_default=True,
    help="The generate stage's model: a builtin or a GGUF file.",
)
@click.option("--max-tokens", type=int, default=64, show_default=True, help="Per answer.")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--top-k", type=int, default=10, show_default=True, help="Documents retrieved.")
@click.option(
    "--chunk-words", type=int, help="Retrieve over windows of N words (default: whole documents)."
)
@click.option(
    "--overlap",
    type=int,
    default=0,
    show_default=True,
    help="Words shared by neighbouring windows.",
)
@click.option(
    "--retriever",
    type=click.Choice(["tfidf", "embed"]),
    default="tfidf",
    show_default=True,
    help="TF-IDF cosine (scikit-learn), or embedding cosine from a GGUF (--embed-model).",
)
@click.option(
    "--embed-model",
    default="builtin:smollm2-135m",
    show_default=True,
    help="With --retriever embed: any GGUF (builtin, file, store). The default is a small "
    "causal LM; an embedding GGUF (nomic-embed, bge, e5 ...) retrieves far better.",
)
@click.option(
    "--embed-pooling",
    type=click.Choice(["mean", "cls", "last"]),
    default="mean",
    show_default=True,
    help="How llama.cpp pools a text's token vectors into one.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Folder for report.md and data.json."
)
@click.option("--json", "as_json", is_flag=True, help="NDJSON events on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Also log the engine's info lines.")
def pipeline(
    scenario_id: str,
    classifier: Path | None,
    model: str,
    max_tokens: int,
    limit: int | None,
    top_k: int,
    chunk_words: int | None,
    overlap: int,
    retriever: str,
    embed_model: str,
    embed_pooling: str,
    output: Path | None,
    as_json: bool,
    verbose: bool,
) -> int:
    """Run SCENARIO_ID's pipeline (retrieve → classify → generate) headless.

    Each stage of each question is timed as its own span; the report gives each stage's
    share of the end-to-end time, names the bottleneck, and judges retrieval (nDCG@10,
    recall@10, MRR), classification (accuracy, macro-F1) and the answers against the
    scenario's thresholds. Exit code 0 pass, 1 below a threshold, 2 bad input, 3 report
    not written (the run is in history).
    """
    from tui_bench.cli.common import default_output
    from tui_bench.core.output_dir import check_output_dir
    from tui_bench.core.pipeline.runner import PipelineConfig
    from tui_bench.headless.drivers import run_pipeline

    config = PipelineConfig(
        scenario=scenario_id,
        output_dir=output or default_output(f"pipeline-{scenario_id}"),
        classifier=classifier,
        model=model,
        max_tokens=max_tokens,
        limit=limit,
        top_k=top_k,
        chunk_words=chunk_words,
        overlap=overlap,
        retriever=retriever,
        embed_model=embed_model,
        embed_pooling=embed_pooling,
    )
    config.validate()
    check_output_dir(config.output_dir)
    return run_pipeline(config, as_json=as_json, verbose=verbose)
