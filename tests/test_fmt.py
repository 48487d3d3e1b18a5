"""One shape for the same fact everywhere: a missing value and a classifier cell read the
same in the markdown report, the classifier report and the TUI (tui_bench/core/fmt.py)."""

from __future__ import annotations

from test_report_golden import run_data

from tui_bench.core import fmt
from tui_bench.core.classify import imbalance as imb
from tui_bench.core.classify import rank as rk
from tui_bench.core.classify.report import render_markdown as classify_markdown
from tui_bench.core.classify.result import ClassifyResult
from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.core.classify.train import CandidateResult
from tui_bench.core.report import render_markdown
from tui_bench.tui import format as tui_format
from tui_bench.tui.screens.classify_results.detail import detail_text
from tui_bench.tui.screens.classify_results.ranking import cell_caption, cell_rows
from tui_bench.tui.state.classify import cell_name as live_cell_name


def _candidate(name: str, f1: float | None, *, error: str | None = None) -> CandidateResult:
    return CandidateResult(
        candidate=name,
        category="topic",
        language="en",
        baseline=name == "majority",
        n_classes=2,
        classes=["a", "b"],
        n_train=80,
        n_test=20,
        folds=1,
        f1_macro=f1,
        accuracy=None if f1 is None else 0.9,
        balanced_accuracy=None if f1 is None else 0.85,
        minority_class=None if f1 is None else "b",
        minority_f1=None if f1 is None else 0.7,
        train_time_s=None if f1 is None else 1234.5,
        predict_ms_per_1k=None if f1 is None else 2.0,
        error=error,
    )


def classify_result() -> ClassifyResult:
    """One cell (topic in English): a ranked model, the baseline and a failed model."""
    config = ClassifyConfig(data="d.csv", annotation_column="annotation", by_language=True)
    results = [
        _candidate("tfidf-logreg", 0.8),
        _candidate("majority", 0.4),
        _candidate("sgd", None, error="boom"),
    ]
    analysis = [imb.analyse_counts({"a": 60, "b": 40}, category="topic")]
    rows = rk.rank_cells(results)
    return ClassifyResult(
        status="completed",
        config=config.to_dict(),
        dataset={"path": "d.csv", "format": "csv", "n_rows": 100, "text_column": "text"},
        thresholds=imb.thresholds(),
        imbalance=analysis,
        cell_imbalance=[],
        excluded=[],
        suggested=imb.suggest(analysis),
        categories=["topic"],
        languages=["en"],
        models={"*": ["tfidf-logreg", "sgd"]},
        results=results,
        rows=rows,
        aggregates=rk.aggregate(rows),
        language_balance=[],
        choice={"mode": "none", "reason": "stopped after the benchmark"},
        final=[],
        started_at="2025-03-01T10:00:00+00:00",
        duration_s=1.0,
        output_dir="out",
    )


def _md_cells(md: str, starts: str) -> list[str]:
    line = next(x for x in md.splitlines() if x.startswith(starts))
    return [c.strip() for c in line.strip("|").split("|")]


def test_a_missing_value_reads_the_same_in_both_reports_and_the_tui() -> None:
    result = classify_result()
    report_cells = _md_cells(classify_markdown(result), "| failed | sgd |")
    tui_cells = dict(cell_rows(result, "topic", "en"))["sgd"]
    # macro-F1 and accuracy of the failed model: nothing was measured
    assert report_cells[2] == str(tui_cells[2]) == fmt.MISSING
    assert report_cells[4] == str(tui_cells[4]) == fmt.MISSING
    assert f"| {fmt.MISSING} |" in render_markdown(run_data())  # no VRAM reading: missing
    assert tui_format.num(None) == tui_format.pct(None) == tui_format.mem_kb(None) == fmt.MISSING
    assert "—" not in str(tui_cells)
    assert "| — |" not in classify_markdown(result)


def test_a_cell_name_reads_the_same_in_the_report_and_the_tui() -> None:
    result = classify_result()
    md = classify_markdown(result)
    assert "### topic / en (binary" in md
    assert cell_caption(result, "topic", "en").plain.startswith("topic / en · binary")
    assert live_cell_name("topic", "en") == fmt.cell_name("topic", "en") == "topic / en"
    assert fmt.cell_name("topic", None) == "topic"


def test_numbers_share_one_shape_in_the_report_and_the_tui() -> None:
    result = classify_result()
    # no significance test in this hand-made result: ranked, but no medal
    report_cells = _md_cells(classify_markdown(result), "| 1 | tfidf-logreg |")
    tui_cells = dict(cell_rows(result, "topic", "en"))["tfidf-logreg"]
    assert report_cells[2] == str(tui_cells[2]) == "0.800"  # macro-F1
    assert report_cells[3] == str(tui_cells[3]) == "+0.400"  # vs baseline
    row = next(r for r in result.rows if r.model == "tfidf-logreg")
    assert report_cells[11] == "1,234.50"  # train s, in the TUI in the candidate's panel
    assert "train 1,234.50 s" in detail_text(result, row).plain
    assert fmt.num(1234.5) == tui_format.num(1234.5) == "1,234.5"
    assert fmt.signed(-0.0341) == "-0.034" and fmt.pct(0.857) == "86%"
    assert fmt.or_missing(None) == fmt.or_missing("") == fmt.MISSING
