"""The whole classifier benchmark flow behind one call: ``run_classify(config, publish)``.

1. check the configuration (models, epochs, choice) before reading anything;
2. load the data (``data.load_dataset``);
3. analyse every category's imbalance, exclude the unusable ones, suggest one per
   profile; benchmark the given categories, or else the suggested ones;
4. split each cell (category, × language when training by language) once, estimate the
   duration from a probe fit (``estimate``, published before any training), train every
   candidate and the majority baseline on it (``train.train_all``, ``jobs`` workers), and
   add what guessing by the class priors is expected to score (``chance``);
5. test each candidate against the better baseline and against the top candidate
   (``significance``), rank per cell, aggregate binary and multi-class cells apart, and
   optionally score the balance across languages (``rank``);
6. write report.md, data.json and results.csv when an output directory is given;
7. train the chosen model on all the data of each cell and save it (``final``), then
   write the reports again with it.

Steps 6 and 7 are ``save_result``; ``run_classify(..., save=False)`` stops before them,
so that a front end can record the finished benchmark in the history first (the
command line does). Once training has started nothing raises for a model or a file that
cannot be trained or saved: the benchmark's results stay, the error is one line in
``result.save_error`` (and a ``Log`` event), each failed cell is listed in the report.

A front end that asks for the choice after showing the ranking (the TUI) runs with
``choose="none"`` and then calls ``train_chosen(result, ...)``: the result keeps its cells
(the rows each candidate trained on) for that, in memory only.

Every bad input is a one-line ``UserError`` raised before any training starts, an
output folder that cannot be written included.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify import imbalance as imb
from tui_bench.core.classify import language_balance as lb
from tui_bench.core.classify import rank as rk
from tui_bench.core.classify import significance as sig
from tui_bench.core.classify.chance import stratified_result
from tui_bench.core.classify.choice import (
    ClassifyReportSink,
    SaveOutcome,
    preview_choice,
    save_result,
    train_chosen,
)
from tui_bench.core.classify.config import (
    CHOOSE_NONE,
    CHOOSE_TOP,
    MAX_EPOCHS,
    MAX_FOLDS,
    ClassifyConfig,
)
from tui_bench.core.classify.data import Dataset, load_dataset
from tui_bench.core.classify.estimate import DurationEstimate, estimate_duration
from tui_bench.core.classify.events import (
    ClassifyFinished,
    ClassifyStarted,
    DurationEstimated,
    ImbalanceAnalysed,
)
from tui_bench.core.classify.parallel import train_all
from tui_bench.core.classify.result import Cell, ClassifyResult, all_models
from tui_bench.core.classify.splits import make_folds
from tui_bench.core.classify.train import CANCELLED, TrainJob
from tui_bench.core.errors import UserError
from tui_bench.core.events import Event, Log
from tui_bench.core.output_dir import check_output_dir


def _select_categories(
    config: ClassifyConfig,
    dataset: Dataset,
    analysis: list[imb.CategoryImbalance],
    suggested: dict[str, imb.Suggestion],
) -> list[str]:
    by_name = {a.category: a for a in analysis}
    if config.categories:
        chosen: list[str] = []
        for name in config.categories:
            name = name.strip()
            if not name or name in chosen:
                continue
            if name not in by_name:
                raise UserError(
                    f"{dataset.path}: no category {name!r} "
                    f"(categories: {', '.join(by_name) or 'none'})"
                )
            if not by_name[name].eligible:
                raise UserError(f"{dataset.path}: category {name!r}: {by_name[name].reason}")
            chosen.append(name)
        if not chosen:
            raise UserError("categories: none given")
        return chosen
    chosen = []
    for profile in imb.PROFILES:
        name = suggested[profile].category
        if name is not None and name not in chosen:
            chosen.append(name)
    if not chosen:
        reasons = "; ".join(f"{a.category}: {a.reason}" for a in analysis) or "no category"
        raise UserError(f"{dataset.path}: no category can be benchmarked ({reasons})")
    return chosen


def _models_for(config: ClassifyConfig, language: str | None) -> list[str]:
    per_lang = config.models_by_language or {}
    if language is not None and language in per_lang:
        return cand.resolve(per_lang[language], where=f"models for {language}")
    return config.model_names()


def _kept_rows(
    texts: list[str], labels: list[str], analysis: imb.CategoryImbalance
) -> tuple[list[str], list[str]]:
    """The rows of the classes the analysis kept (rare classes are left out)."""
    if not analysis.dropped_classes:
        return texts, labels
    keep = [i for i, label in enumerate(labels) if label in analysis.class_counts]
    return [texts[i] for i in keep], [labels[i] for i in keep]


def _build_cells(
    config: ClassifyConfig, dataset: Dataset, categories: list[str]
) -> tuple[list[Cell], list[imb.CategoryImbalance], list[dict[str, Any]], list[str]]:
    cells: list[Cell] = []
    cell_analysis: list[imb.CategoryImbalance] = []
    excluded: list[dict[str, Any]] = []
    notes: list[str] = []
    languages = dataset.languages
    if config.by_language:
        if not languages:
            raise UserError(
                f"{dataset.path}: training by language needs a language column "
                f"(none named, and no 'language' or 'lang' column)"
            )
        unknown = sorted(set(config.models_by_language or {}) - set(languages))
        if unknown:
            raise UserError(
                f"models by language: no rows in language {', '.join(map(repr, unknown))} "
                f"(languages: {', '.join(languages)})"
            )
    for name in categories:
        data = dataset.categories[name]
        if not config.by_language:
            a = imb.analyse_labels(data.labels, category=name)
            texts, labels = _kept_rows(data.texts, data.labels, a)
            cells.append(Cell(name, None, texts, labels, a, _models_for(config, None)))
            continue
        missing = sum(1 for lang in data.languages if lang is None)
        if missing:
            notes.append(
                f"{name}: {missing} rows without a language left out of by-language training"
            )
        usable = 0
        for lang in languages:
            sub = data.subset(lang)
            a = imb.analyse_labels(sub.labels, category=name, language=lang)
            cell_analysis.append(a)
            if not a.eligible:
                excluded.append({"category": name, "language": lang, "reason": a.reason})
                continue
            usable += 1
            texts, labels = _kept_rows(sub.texts, sub.labels, a)
            cells.append(Cell(name, lang, texts, labels, a, _models_for(config, lang)))
        if not usable:
            raise UserError(
                f"{dataset.path}: category {name!r} has no language with enough rows "
                f"to train by language ({imb.thresholds()['eligibility']})"
            )
    return cells, cell_analysis, excluded, notes


def _check_folds(config: ClassifyConfig, cells: list[Cell], path: str) -> None:
    if config.cv is None:
        return
    for cell in cells:
        smallest = min(cell.analysis.class_counts.values())
        if smallest < config.cv:
            raise UserError(
                f"{path}: category {cell.key!r}: {config.cv}-fold cross-validation needs "
                f"{config.cv} rows in every class; class {cell.analysis.minority_class!r} has {smallest}"
            )


Folds = list[tuple[list[int], list[int]]]


def _split_cells(config: ClassifyConfig, cells: list[Cell]) -> dict[str, Folds]:
    """Each cell's split (by ``Cell.key``), made once and shared by every candidate."""
    return {
        cell.key: make_folds(
            cell.labels,
            test_size=config.test_size,
            cv=config.cv,
            seed=config.seed,
            repeats=config.cv_repeats,
        )
        for cell in cells
    }


def _make_jobs(
    config: ClassifyConfig, cells: list[Cell], splits: dict[str, Folds]
) -> list[TrainJob]:
    """Every candidate and the majority baseline on every cell, on the cell's split."""
    jobs: list[TrainJob] = []
    for cell in cells:
        folds = splits[cell.key]
        for model in [*cell.models, cand.BASELINE]:
            jobs.append(
                TrainJob(
                    index=len(jobs),
                    total=0,
                    candidate=model,
                    category=cell.category,
                    language=cell.language,
                    texts=cell.texts,
                    labels=cell.labels,
                    folds=folds,
                    epochs=config.epochs,
                    seed=config.seed,
                    patience=config.patience,
                    spec=cand.get(model),
                    max_length=config.max_length,
                )
            )
    for job in jobs:
        job.total = len(jobs)
    return jobs


def estimate_for(config: ClassifyConfig, dataset: Dataset) -> DurationEstimate:
    """The duration estimate of ``config`` on a loaded ``dataset``, without training
    (the setup screen's review). UserError for a configuration the run would refuse."""
    config.validate()
    analysis = imb.analyse_dataset(dataset)
    categories = _select_categories(config, dataset, analysis, imb.suggest(analysis))
    cells = _build_cells(config, dataset, categories)[0]
    _check_folds(config, cells, dataset.path)
    return estimate_duration(
        cells,
        _split_cells(config, cells),
        epochs=config.epochs,
        seed=config.seed,
        jobs=config.jobs,
        max_length=config.max_length,
    )


def _finish_cells(
    config: ClassifyConfig,
    cells: list[Cell],
    splits: dict[str, Folds],
    results: list[Any],
) -> tuple[list[Any], list[rk.RankedRow]]:
    """Guessing's expected figures added to each cell that trained something (not to a
    cell a cancellation emptied), every candidate tested, ranked."""
    trained = {(r.category, r.language) for r in results if r.error != CANCELLED}
    for cell in cells:
        if (cell.category, cell.language) not in trained:
            continue
        results.append(
            stratified_result(
                cell.labels, splits[cell.key], category=cell.category, language=cell.language
            )
        )
    done = [r for r in results if r.error != CANCELLED]
    truth = {(c.category, c.language): (c.labels, splits[c.key]) for c in cells}
    tests = sig.cell_tests(done, truth, seed=config.seed)
    return results, rk.rank_cells(done, tests)


def run_classify(
    config: ClassifyConfig,
    publish: Callable[[Event], None] = lambda e: None,
    *,
    cancel: threading.Event | None = None,
    save: bool = True,
    report: ClassifyReportSink | None = None,
) -> ClassifyResult:
    """Run the whole benchmark; see the module docstring. Raises UserError on bad input,
    before any training. ``save=False``: no report file and no final model; the caller
    calls ``save_result`` (the choice asked for stays in ``result.config``). ``report``:
    the sink the reports are written through (``save_result``)."""
    t_start = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    config.validate()
    if config.output_dir is not None:
        check_output_dir(config.output_dir)
    dataset = load_dataset(
        config.data,
        text_column=config.text_column,
        label_column=config.label_column,
        annotation_column=config.annotation_column,
        language_column=config.language_column,
    )
    if config.language_column is None and dataset.language_column is not None:
        publish(Log("info", f"language column: {dataset.language_column!r} (found by name)"))
    analysis = imb.analyse_dataset(dataset)
    suggested = imb.suggest(analysis)
    categories = _select_categories(config, dataset, analysis, suggested)
    cells, cell_analysis, excluded_cells, notes = _build_cells(config, dataset, categories)
    _check_folds(config, cells, dataset.path)
    unknown = sorted(set(config.choose_by_language or {}) - {c.language for c in cells})
    if unknown:
        raise UserError(
            f"choice per language: no benchmarked cell in {', '.join(map(repr, unknown))} "
            f"(languages: {', '.join(sorted({c.language or '' for c in cells}))})"
        )
    languages = dataset.languages
    if not config.by_language:
        cand.check_multilingual(config.model_names(), languages)
    excluded = [
        {"category": a.category, "language": None, "reason": a.reason}
        for a in analysis
        if not a.eligible
    ] + excluded_cells

    splits = _split_cells(config, cells)
    jobs = _make_jobs(config, cells, splits)

    models_by_lang: dict[str, list[str]] = {}
    for cell in cells:
        models_by_lang.setdefault(cell.language or "*", cell.models)
    thresholds = imb.thresholds()
    publish(
        ClassifyStarted(
            data=dataset.path,
            n_rows=dataset.n_rows,
            categories=categories,
            models=all_models(models_by_lang),
            languages=languages,
            by_language=config.by_language,
            epochs=config.epochs,
            jobs=config.jobs,
            n_trainings=len(jobs),
        )
    )
    publish(
        ImbalanceAnalysed(
            imbalance=[a.to_dict() for a in analysis],
            excluded=excluded,
            suggested={p: s.category for p, s in suggested.items()},
            thresholds=thresholds,
        )
    )

    estimate = estimate_duration(
        cells,
        splits,
        epochs=config.epochs,
        seed=config.seed,
        jobs=config.jobs,
        max_length=config.max_length,
    )
    publish(DurationEstimated(estimate.seconds, estimate.text(), estimate.to_dict()))

    results = train_all(jobs, n_jobs=config.jobs, publish=publish, cancel=cancel)
    cancelled = cancel is not None and cancel.is_set()
    results, rows = _finish_cells(config, cells, splits, results)
    aggregates = rk.aggregate(rows)
    balance = (
        lb.language_balance(rows, config.language_penalty)
        if config.by_language and config.language_penalty is not None
        else []
    )

    # The choice is made and trained by save_result, once the benchmark is safe.
    why = "cancelled" if cancelled else "stopped after the benchmark"
    result = ClassifyResult(
        status="cancelled" if cancelled else "completed",
        config=config.to_dict(),
        dataset=dataset.summary(),
        thresholds=thresholds,
        imbalance=analysis,
        cell_imbalance=cell_analysis,
        excluded=excluded,
        suggested=dict(suggested),
        categories=categories,
        languages=sorted({c.language for c in cells}, key=lambda x: x or ""),
        models=models_by_lang,
        results=results,
        rows=rows,
        aggregates=aggregates,
        language_balance=balance,
        choice={"mode": "none", "reason": why},
        final=[],
        started_at=started_at,
        duration_s=0.0,
        output_dir=str(config.output_dir) if config.output_dir is not None else None,
        notes=notes,
        estimate=estimate.to_dict(),
        significance=sig.describe(cv=config.cv, repeats=config.cv_repeats, seed=config.seed),
        _cells=cells,
    )
    result.duration_s = time.perf_counter() - t_start
    if save:
        save_result(result, publish, report=report)
    publish(
        ClassifyFinished(
            status=result.status,
            n_results=sum(1 for r in results if r.ok and r.candidate != cand.GUESS),
            n_failed=sum(1 for r in results if not r.ok and r.error != "cancelled"),
            duration_s=result.duration_s,
            output_dir=result.output_dir,
            winners={
                (f"{c}/{lang}" if lang else c): m for (c, lang), m in rk.winners(rows).items()
            },
        )
    )
    return result


# Where the flow's names have always been imported from.
__all__ = [
    "CHOOSE_NONE",
    "CHOOSE_TOP",
    "MAX_EPOCHS",
    "MAX_FOLDS",
    "Cell",
    "ClassifyConfig",
    "ClassifyReportSink",
    "ClassifyResult",
    "SaveOutcome",
    "preview_choice",
    "run_classify",
    "save_result",
    "train_chosen",
]
