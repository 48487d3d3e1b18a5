"""Classifier benchmark mode: load labelled text, measure class imbalance, train quick
candidates, rank them and train the chosen one on all the data.

This module stays light (no scikit-learn, numpy or pyarrow at import): front ends import
it freely, and the heavy modules load on first use of a name below.

Modules:
    data          CSV / JSONL / Parquet in, per-category texts and labels out
    imbalance     class counts, ratio, normalised entropy, profiles, suggestions
    candidates    the catalog: named scikit-learn pipelines, transformers, the two baselines
    encoders      where a transformer's model lies (builtin, folder, HF cache), offline
    splits        hold-out and (repeated) k-fold splits, one per cell
    trainrows     balanced class weights, the minority class, the validation split
    train         quick training and evaluation of one candidate (per-class, confusion)
    finetune      a transformer fine-tuned by epochs (worker processes only: torch)
    frozen        a frozen transformer's mean-pooled embeddings as a vectoriser
    gpu_watch     a fine-tune's GPU memory peak and utilisation
    parallel      many candidates at once (worker processes, events brought back live)
    chance        what guessing by the class priors is expected to score (computed)
    significance  95% intervals vs the better baseline and vs the top candidate
    rank          rankings per category (binary and multi-class never mixed), medals
    estimate      the duration said before training, from a probe fit
    final         training the chosen model on all the data, joblib + JSON card
    runner        ``ClassifyConfig`` and ``run_classify``: the whole flow; ``save_result``
    report        report.md, data.json, results.csv (``report_detail``: per class, legend)
    summary       the ranking as plain lines for the headless log
    corpora       real labelled corpora shipped offline by packages
    events        the events the flow publishes
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ClassifyConfig": "runner",
    "ClassifyResult": "runner",
    "run_classify": "runner",
    "save_result": "runner",
    "load_dataset": "data",
    "Dataset": "data",
    "analyse_dataset": "imbalance",
    "analyse_counts": "imbalance",
    "suggest": "imbalance",
    "CATALOG": "candidates",
    "DEFAULT_MODELS": "candidates",
    "write_reports": "report",
    "export_corpus": "corpora",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
