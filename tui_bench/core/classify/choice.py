"""After the benchmark: the choice of a model per cell (top or named), training it on
all the data, saving it, and writing the reports through one sink
(:class:`ClassifyReportSink`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify import language_balance as lb
from tui_bench.core.classify import rank as rk
from tui_bench.core.classify.config import CHOOSE_NONE, CHOOSE_TOP, ClassifyConfig
from tui_bench.core.classify.events import (
    FinalModelSaved,
    FinalModelStarted,
)
from tui_bench.core.classify.final import FinalModel, final_epochs, train_final
from tui_bench.core.classify.result import Cell, ClassifyResult
from tui_bench.core.classify.train import (
    CANCELLED,
    CandidateResult,
)
from tui_bench.core.errors import SaveError, TuiBenchError, UserError
from tui_bench.core.events import Event, Log
from tui_bench.core.output_dir import check_output_dir


def _choose(
    config: ClassifyConfig,
    cells: list[Cell],
    rows: list[rk.RankedRow],
    balance: list[lb.LanguageBalanceRow],
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
        model, why = lb.best_balanced(balance)
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
        bench = by_key.get((model, cell.category, cell.language))
        if bench is not None and bench.error is not None and bench.error != CANCELLED:
            errors.append(
                f"final model {model} for {cell.key!r} not trained: "
                f"it failed in the benchmark ({bench.error})"
            )
            continue
        metrics = bench.to_dict() if bench is not None else None
        try:
            epochs = final_epochs(cand.get(model), config.epochs, metrics)
        except TuiBenchError as exc:  # a transformer's model gone since the benchmark
            errors.append(f"final model {model} for {cell.key!r} not trained: {exc}")
            continue
        publish(
            FinalModelStarted(
                candidate=model,
                category=cell.category,
                language=cell.language,
                n_samples=len(cell.labels),
                epochs=epochs,
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
                metrics=metrics,
                reason=why,
                dropped_classes=cell.analysis.dropped_classes,
                max_length=config.max_length,
            )
        except Exception as exc:  # a learner or the disk failing loses this model only
            errors.append(f"final model {model} for {cell.key!r} not saved: {_cause(exc)}")
            continue
        final.append(fm)
        if fm.warning:
            publish(Log("warning", fm.warning))
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
