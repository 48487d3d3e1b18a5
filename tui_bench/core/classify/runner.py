"""The whole classifier benchmark flow behind one call: ``run_classify(config, publish)``.

1. check the configuration (models, epochs, choice) before reading anything;
2. load the data (``data.load_dataset``);
3. analyse every category's imbalance, exclude the unusable ones, suggest one per
   profile; benchmark the given categories, or else the suggested ones;
4. split each cell (category, × language when training by language) once, train every
   candidate and the majority baseline on it (``train.train_all``, ``jobs`` workers);
5. rank per cell, aggregate binary and multi-class cells apart, and optionally score
   the balance across languages (``rank``);
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
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify import imbalance as imb
from tui_bench.core.classify import rank as rk
from tui_bench.core.classify.data import Dataset, load_dataset
from tui_bench.core.classify.events import (
    ClassifyFinished,
    ClassifyStarted,
    FinalModelSaved,
    FinalModelStarted,
    ImbalanceAnalysed,
)
from tui_bench.core.classify.final import FINAL_EPOCH_FACTOR, FinalModel, train_final
from tui_bench.core.classify.parallel import train_all
from tui_bench.core.classify.train import (
    CANCELLED,
    CandidateResult,
    TrainJob,
    make_folds,
)
from tui_bench.core.errors import SaveError, TuiBenchError, UserError
from tui_bench.core.events import Event, Log
from tui_bench.core.output_dir import check_output_dir

CHOOSE_TOP = "top"
CHOOSE_NONE = "none"
MAX_EPOCHS = 50
MAX_FOLDS = 10


@dataclass
class ClassifyConfig:
    data: str | Path
    text_column: str = "text"
    label_column: str | None = None
    annotation_column: str | None = None
    language_column: str | None = None
    categories: list[str] | None = None  # None: the suggested ones
    models: list[str] | None = None  # None: candidates.DEFAULT_MODELS
    models_by_language: dict[str, list[str]] | None = None  # by-language runs only
    epochs: int = 3
    jobs: int = 1  # <= 0: every core
    choose: str = CHOOSE_NONE  # "top" | a candidate name | "none"
    choose_by_language: dict[str, str] | None = None  # manual pick per language (by-language)
    by_language: bool = False
    seed: int = 0
    test_size: float = 0.2
    cv: int | None = None  # k-fold cross-validation instead of one hold-out split
    patience: int = 2
    language_penalty: float | None = None  # λ in mean − λ·sd over languages
    output_dir: str | Path | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["data"] = str(self.data)
        out["output_dir"] = str(self.output_dir) if self.output_dir is not None else None
        return out

    def model_names(self) -> list[str]:
        return cand.resolve(self.models)

    def validate(self) -> None:
        """Raise a one-line UserError for any bad setting (no data is read)."""
        if (self.label_column is None) == (self.annotation_column is None):
            raise UserError("give exactly one of --label-column or --annotation-column")
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= MAX_EPOCHS:
            raise UserError(f"epochs: {self.epochs!r} is not a whole number from 1 to {MAX_EPOCHS}")
        if not isinstance(self.patience, int) or self.patience < 1:
            raise UserError(f"patience: {self.patience!r} is not a whole number >= 1")
        if not isinstance(self.jobs, int):
            raise UserError(f"jobs: {self.jobs!r} is not a whole number (<= 0: every core)")
        if not 0.05 <= self.test_size <= 0.5:
            raise UserError(f"test size: {self.test_size!r} is not between 0.05 and 0.5")
        if self.cv is not None and not 2 <= self.cv <= MAX_FOLDS:
            raise UserError(
                f"cv: {self.cv!r} folds; use 2 to {MAX_FOLDS}, or none for a hold-out split"
            )
        names = self.model_names()
        per_lang = self.models_by_language or {}
        if per_lang and not self.by_language:
            raise UserError("models by language need training by language")
        all_names = set(names)
        for lang, lang_models in per_lang.items():
            all_names.update(cand.resolve(lang_models, where=f"models for {lang}"))
        if self.language_penalty is not None:
            if not self.by_language:
                raise UserError("a language balance penalty needs training by language")
            if self.language_penalty < 0:
                raise UserError(f"language penalty: {self.language_penalty!r} is negative")
        if self.choose not in (CHOOSE_TOP, CHOOSE_NONE):
            spec = cand.get(self.choose)
            if spec.baseline:
                raise UserError(f"choose: {self.choose!r} is the baseline; pick a candidate")
            if self.choose not in all_names:
                raise UserError(
                    f"choose: {self.choose!r} is not among the benchmarked models "
                    f"({', '.join(sorted(all_names))})"
                )
        if self.choose_by_language:
            if not self.by_language:
                raise UserError("a choice per language needs training by language")
            for lang, model in self.choose_by_language.items():
                allowed = set(
                    cand.resolve(per_lang[lang], where=f"models for {lang}")
                    if lang in per_lang
                    else names
                )
                if model not in allowed:
                    raise UserError(
                        f"choice for {lang}: {model!r} is not among the models benchmarked "
                        f"for it ({', '.join(sorted(allowed))})"
                    )
            if self.output_dir is None:
                raise UserError("a choice per language saves models: give an output directory")
        if self.choose != CHOOSE_NONE and self.output_dir is None:
            raise UserError(f"choose {self.choose!r} saves models: give an output directory")


@dataclass
class Cell:
    category: str
    language: str | None
    texts: list[str]
    labels: list[str]
    analysis: imb.CategoryImbalance
    models: list[str]

    @property
    def key(self) -> str:
        return f"{self.category}/{self.language}" if self.language else self.category


@dataclass
class ClassifyResult:
    status: str
    config: dict[str, Any]
    dataset: dict[str, Any]
    thresholds: dict[str, Any]
    imbalance: list[imb.CategoryImbalance]
    cell_imbalance: list[imb.CategoryImbalance]  # per category × language, by-language runs
    excluded: list[dict[str, Any]]
    suggested: dict[str, imb.Suggestion]
    categories: list[str]
    languages: list[str | None]
    models: dict[str, list[str]]  # language (or "*") -> candidates
    results: list[CandidateResult]
    rows: list[rk.RankedRow]
    aggregates: list[rk.AggregateRow]
    language_balance: list[rk.LanguageBalanceRow]
    choice: dict[str, Any]
    final: list[FinalModel]
    started_at: str
    duration_s: float
    output_dir: str | None = None
    notes: list[str] = field(default_factory=list)
    # Why the chosen model or a report file could not be saved (one line), in memory;
    # the stored form keeps each failed cell in ``choice["errors"]``.
    save_error: str | None = field(default=None, compare=False)
    # The benchmarked cells with their rows, for ``train_chosen`` after the benchmark.
    # In memory only: never serialised, never compared.
    _cells: list[Cell] = field(default_factory=list, repr=False, compare=False)

    def result_for(self, model: str, category: str, language: str | None) -> CandidateResult | None:
        for res in self.results:
            if (res.candidate, res.category, res.language) == (model, category, language):
                return res
        return None

    def result_rows(self) -> list[dict[str, Any]]:
        """Ranked rows joined with their full results: data.json ``results``."""
        out = []
        for row in self.rows:
            res = self.result_for(row.model, row.category, row.language)
            merged = res.to_dict() if res is not None else {}
            merged.pop("candidate", None)
            merged.update(row.to_dict())
            out.append(merged)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "config": self.config,
            "dataset": self.dataset,
            "thresholds": self.thresholds,
            "imbalance": [a.to_dict() for a in self.imbalance],
            "cell_imbalance": [a.to_dict() for a in self.cell_imbalance],
            "excluded": self.excluded,
            "suggested": {p: s.category for p, s in self.suggested.items()},
            "suggested_reasons": {p: s.reason for p, s in self.suggested.items()},
            "categories": self.categories,
            "languages": self.languages,
            "models": self.models,
            "candidates": [cand.CATALOG[n].info() for n in _all_models(self.models)],
            "results": self.result_rows(),
            "aggregates": [a.to_dict() for a in self.aggregates],
            "language_balance": [b.to_dict() for b in self.language_balance],
            "choice": self.choice,
            "final": [f.to_dict() for f in self.final],
            "output_dir": self.output_dir,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifyResult:
        """The result back from its ``to_dict`` form (``data.json``, the history database):
        enough to show and report it again, not to train a final model (no data held)."""

        def build(kind: type, d: dict[str, Any], **extra: Any) -> Any:
            names = {f.name for f in fields(kind)}
            return kind(**{k: v for k, v in {**d, **extra}.items() if k in names})

        suggested = {
            p: imb.Suggestion(p, c, (data.get("suggested_reasons") or {}).get(p, ""))
            for p, c in (data.get("suggested") or {}).items()
        }
        merged = data.get("results") or []
        return cls(
            status=data["status"],
            config=data.get("config") or {},
            dataset=data.get("dataset") or {},
            thresholds=data.get("thresholds") or {},
            imbalance=[build(imb.CategoryImbalance, a) for a in data.get("imbalance") or []],
            cell_imbalance=[
                build(imb.CategoryImbalance, a) for a in data.get("cell_imbalance") or []
            ],
            excluded=data.get("excluded") or [],
            suggested=suggested,
            categories=data.get("categories") or [],
            languages=data.get("languages") or [None],
            models=data.get("models") or {},
            results=[build(CandidateResult, r, candidate=r["model"]) for r in merged],
            rows=[build(rk.RankedRow, r) for r in merged],
            aggregates=[build(rk.AggregateRow, a) for a in data.get("aggregates") or []],
            language_balance=[
                build(rk.LanguageBalanceRow, b) for b in data.get("language_balance") or []
            ],
            choice=data.get("choice") or {},
            final=[build(FinalModel, f) for f in data.get("final") or []],
            started_at=data.get("started_at") or "",
            duration_s=float(data.get("duration_s") or 0.0),
            output_dir=data.get("output_dir"),
            notes=data.get("notes") or [],
        )


def _all_models(models: dict[str, list[str]]) -> list[str]:
    seen: list[str] = []
    for names in models.values():
        seen.extend(n for n in names if n not in seen)
    return [*seen, cand.BASELINE]


# --------------------------------------------------------------------------- flow


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


def _choose(
    config: ClassifyConfig,
    cells: list[Cell],
    rows: list[rk.RankedRow],
    balance: list[rk.LanguageBalanceRow],
) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """(choice summary, cell key -> (model, reason))."""
    picks: dict[str, tuple[str, str]] = {}
    manual = config.choose_by_language or {}
    if manual:
        for cell in cells:
            if cell.language in manual:
                picks[cell.key] = (manual[cell.language], "chosen by name for this language")
        summary = {"mode": "manual", "models_by_language": dict(manual), "reason": "chosen by name"}
        return summary, picks
    if config.choose == CHOOSE_NONE:
        return {"mode": "none", "reason": "stopped after the benchmark"}, {}
    if config.choose != CHOOSE_TOP:
        for cell in cells:
            if config.choose in cell.models:
                picks[cell.key] = (config.choose, "chosen by name")
        return {"mode": "model", "model": config.choose, "reason": "chosen by name"}, picks
    if not config.by_language:
        model, why = rk.best_overall(rows)
        if model is not None:
            picks = {cell.key: (model, why) for cell in cells}
        return {"mode": "top", "model": model, "reason": why}, picks
    if config.language_penalty is not None:
        model, why = rk.best_balanced(balance)
        if model is not None:
            picks = {cell.key: (model, why) for cell in cells if model in cell.models}
        return {"mode": "top", "model": model, "reason": why}, picks
    per_lang: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    for lang in sorted({c.language for c in cells if c.language is not None}):
        model, why = rk.best_overall(rows, language=lang, by_language=True)
        per_lang[lang], reasons[lang] = model, why
        for cell in cells:
            if cell.language == lang and model is not None:
                picks[cell.key] = (model, why)
    return {"mode": "top", "models_by_language": per_lang, "reasons": reasons}, picks


def _make_jobs(config: ClassifyConfig, cells: list[Cell]) -> list[TrainJob]:
    """Every candidate and the baseline on every cell; one split per cell, shared by all."""
    jobs: list[TrainJob] = []
    for cell in cells:
        folds = make_folds(cell.labels, test_size=config.test_size, cv=config.cv, seed=config.seed)
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
                )
            )
    for job in jobs:
        job.total = len(jobs)
    return jobs


def _train_finals(
    config: ClassifyConfig,
    cells: list[Cell],
    picks: dict[str, tuple[str, str]],
    results: list[CandidateResult],
    publish: Callable[[Event], None],
) -> tuple[list[FinalModel], list[str]]:
    """Train each picked model on all the rows of its cell and save it: (saved models,
    one line per cell whose model could not be trained or saved). One cell failing does
    not stop the others."""
    by_key = {(r.candidate, r.category, r.language): r for r in results}
    final: list[FinalModel] = []
    errors: list[str] = []
    for cell in cells:
        if cell.key not in picks:
            continue
        model, why = picks[cell.key]
        spec = cand.CATALOG[model]
        bench = by_key.get((model, cell.category, cell.language))
        if bench is not None and bench.error is not None and bench.error != CANCELLED:
            errors.append(
                f"final model {model} for {cell.key!r} not trained: "
                f"it failed in the benchmark ({bench.error})"
            )
            continue
        publish(
            FinalModelStarted(
                candidate=model,
                category=cell.category,
                language=cell.language,
                n_samples=len(cell.labels),
                epochs=config.epochs * FINAL_EPOCH_FACTOR if spec.by_epochs else None,
            )
        )
        assert config.output_dir is not None  # validate() insists
        try:
            fm = train_final(
                model,
                cell.texts,
                cell.labels,
                category=cell.category,
                language=cell.language,
                output_dir=config.output_dir,
                quick_epochs=config.epochs,
                seed=config.seed,
                metrics=bench.to_dict() if bench is not None else None,
                reason=why,
                dropped_classes=cell.analysis.dropped_classes,
            )
        except Exception as exc:  # a learner or the disk failing loses this model only
            errors.append(f"final model {model} for {cell.key!r} not saved: {_cause(exc)}")
            continue
        final.append(fm)
        publish(
            FinalModelSaved(
                candidate=model,
                category=cell.category,
                language=cell.language,
                model_path=fm.model_path,
                card_path=fm.card_path,
                train_time_s=round(fm.train_time_s, 4),
            )
        )
    return final, errors


def _cause(exc: BaseException) -> str:
    """One line: the path and the system's reason for a file error, else type and message."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


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

    jobs = _make_jobs(config, cells)

    models_by_lang: dict[str, list[str]] = {}
    for cell in cells:
        models_by_lang.setdefault(cell.language or "*", cell.models)
    thresholds = imb.thresholds()
    publish(
        ClassifyStarted(
            data=dataset.path,
            n_rows=dataset.n_rows,
            categories=categories,
            models=_all_models(models_by_lang),
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

    results = train_all(jobs, n_jobs=config.jobs, publish=publish, cancel=cancel)
    cancelled = cancel is not None and cancel.is_set()
    rows = rk.rank_cells(r for r in results if r.error != "cancelled")
    aggregates = rk.aggregate(rows)
    balance = (
        rk.language_balance(rows, config.language_penalty)
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
        _cells=cells,
    )
    result.duration_s = time.perf_counter() - t_start
    if save:
        save_result(result, publish, report=report)
    publish(
        ClassifyFinished(
            status=result.status,
            n_results=sum(1 for r in results if r.ok),
            n_failed=sum(1 for r in results if not r.ok and r.error != "cancelled"),
            duration_s=round(result.duration_s, 3),
            output_dir=result.output_dir,
            winners={
                (f"{c}/{lang}" if lang else c): m for (c, lang), m in rk.winners(rows).items()
            },
        )
    )
    return result


class ClassifyReportSink:
    """Writes the report files of a classifier benchmark (report.md, data.json,
    results.csv) into its output folder: the one way they are written, as a plan's run
    writes them through ``core.report.ReportSink``. ``written``: the files of the last
    write; ``error``: why it failed (one line). A front end that passes its own to
    ``save_result`` (or ``run_classify``) reads them there after."""

    def __init__(self) -> None:
        self.reports: dict[str, Path] = {}
        self.error: str | None = None

    @property
    def written(self) -> list[Path]:
        return list(self.reports.values())

    def write(self, result: ClassifyResult) -> str | None:
        """Write the reports of ``result``; returns the error (one line), if any."""
        from tui_bench.core.classify.report import write_reports

        assert result.output_dir is not None
        try:
            self.reports, self.error = write_reports(result, result.output_dir), None
        except OSError as exc:
            self.reports, self.error = {}, f"report not written: {_cause(exc)}"
        return self.error


@dataclass
class SaveOutcome:
    """What ``save_result`` saved: the report files written, and the error (one line)
    when something could not be trained or saved."""

    reports: dict[str, Path]
    error: str | None = None


def save_result(
    result: ClassifyResult,
    publish: Callable[[Event], None] = lambda e: None,
    *,
    report: ClassifyReportSink | None = None,
) -> SaveOutcome:
    """Write the reports of a finished benchmark, then train and save the model(s) its
    configuration chose, then write the reports again with them.

    The first write comes before any final training, so that the benchmark's report
    survives whatever happens to that training. Never raises for something that cannot
    be trained or saved: the outcome says it in one line, which is also kept in
    ``result.save_error`` and published as a ``Log`` event (level ``error``). The reports
    are written through ``report`` (a new sink when not given).
    """
    report = report if report is not None else ClassifyReportSink()
    if result.output_dir is None:
        return SaveOutcome({})
    report.write(result)
    errors: list[str] = []
    choose = result.config.get("choose") or CHOOSE_NONE
    by_language = result.config.get("choose_by_language")
    if result.status == "completed" and (choose != CHOOSE_NONE or by_language):
        try:
            errors = _apply_choice(result, choose, by_language, None, publish)
        except TuiBenchError as exc:  # nothing to train: every candidate failed, say
            result.choice = {"mode": "none", "reason": str(exc)}
            errors = [f"final model not trained: {exc}"]
        report.write(result)
    error = _one_line(errors + ([report.error] if report.error else []))
    result.save_error = error
    if error is not None:
        publish(Log("error", error))
    return SaveOutcome(report.reports, error)


def _one_line(errors: list[str]) -> str | None:
    if not errors:
        return None
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return errors[0] + more


def preview_choice(
    result: ClassifyResult,
    choose: str = CHOOSE_TOP,
    *,
    choose_by_language: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The choice ``train_chosen`` would make, as the summary stored in ``result.choice``
    (mode, model or models_by_language, reason), without training anything."""
    settings = dict(result.config)
    settings.update(choose=choose, choose_by_language=choose_by_language)
    config = ClassifyConfig(**settings)
    choice, _picks = _choose(config, result._cells, result.rows, result.language_balance)
    return choice


def train_chosen(
    result: ClassifyResult,
    choose: str = CHOOSE_TOP,
    *,
    choose_by_language: dict[str, str] | None = None,
    output_dir: str | Path | None = None,
    publish: Callable[[Event], None] = lambda e: None,
) -> list[FinalModel]:
    """Train the chosen model on all the rows of each benchmarked cell, after the benchmark.

    ``choose`` and ``choose_by_language`` mean what they mean in ``ClassifyConfig``; the
    choice is made from the result's ranking exactly as ``run_classify`` makes it. Models
    go to ``output_dir`` (default: the result's), whose reports are then rewritten with
    the choice and the saved models. ``result.choice`` and ``result.final`` are replaced
    (choosing again overwrites the files of a cell). Raises UserError for a bad choice, or
    for a result that holds no rows (one rebuilt from data.json, say). Raises SaveError
    (one line) when a cell's model or a report file could not be trained or saved, after
    keeping what was: the saved models, the choice with ``errors`` (one line per failed
    cell), the reports when they can be written.
    """
    errors = _apply_choice(result, choose, choose_by_language, output_dir, publish)
    if result.output_dir is not None:
        report_error = ClassifyReportSink().write(result)
        if report_error is not None:
            errors.append(report_error)
    error = _one_line(errors)
    if error is not None:
        raise SaveError(error)
    return result.final


def _apply_choice(
    result: ClassifyResult,
    choose: str,
    choose_by_language: dict[str, str] | None,
    output_dir: str | Path | None,
    publish: Callable[[Event], None],
) -> list[str]:
    """Make the choice and train its models into ``result`` (no report written): one
    line per cell whose model could not be trained or saved. UserError: a bad choice."""
    if not result._cells:
        raise UserError(
            "this benchmark result holds no training rows (only a result returned by "
            "run_classify in this process does): run the benchmark again with --choose"
        )
    settings = dict(result.config)
    settings.update(
        choose=choose,
        choose_by_language=dict(choose_by_language) if choose_by_language else None,
        output_dir=output_dir if output_dir is not None else result.output_dir,
    )
    config = ClassifyConfig(**settings)
    config.validate()
    errors: list[str] = []
    if config.choose == CHOOSE_NONE and not config.choose_by_language:
        result.choice = {"mode": "none", "reason": "stopped after the benchmark"}
        result.final = []
    else:
        unknown = sorted(set(config.choose_by_language or {}) - {c.language for c in result._cells})
        if unknown:
            raise UserError(
                f"choice per language: no benchmarked cell in {', '.join(map(repr, unknown))}"
            )
        choice, picks = _choose(config, result._cells, result.rows, result.language_balance)
        if not picks:
            raise UserError(f"no model to train: {choice.get('reason', 'nothing chosen')}")
        assert config.output_dir is not None  # validate() insists
        check_output_dir(config.output_dir)  # before training, not after each model
        result.final, errors = _train_finals(config, result._cells, picks, result.results, publish)
        result.choice = {**choice, "errors": errors} if errors else choice
    result.config["choose"] = config.choose
    result.config["choose_by_language"] = config.choose_by_language
    if config.output_dir is not None:
        result.output_dir = str(config.output_dir)
    return errors
