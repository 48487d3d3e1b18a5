"""Opening a past run from the history: each kind of run on its own results screen,
rebuilt from what the history holds (an LLM run's requests, a classifier run's or a
pipeline's summary); and why a run that is not an LLM run is never compared."""

from __future__ import annotations

from typing import Any

from tui_bench.core.store import RunRow

# why marking a run of this kind as baseline / candidate is refused
NOT_COMPARED = {
    "classify": "a classifier run ranks its candidates itself",
    "pipeline": "a pipeline run names its bottleneck itself; open it (enter)",
}


def not_compared(kind: str) -> str:
    return f"compare works on LLM runs; {NOT_COMPARED.get(kind, f'this is a {kind} run')}"


def open_past_run(app: Any, row: RunRow) -> None:
    """Push the results screen of ``row`` (a notification when it cannot be shown)."""
    if row.kind == "classify":
        _open_classify(app, row)
    elif row.kind == "pipeline":
        _open_pipeline(app, row)
    else:
        from tui_bench.tui.screens.results import ResultsScreen

        app.push_screen(ResultsScreen(row.id))


def _open_classify(app: Any, row: RunRow) -> None:
    """A classifier run's ranking, rebuilt from what the history holds."""
    from tui_bench.core.classify.runner import ClassifyResult
    from tui_bench.tui.classify_bridge import ClassifyOutcome, report_files
    from tui_bench.tui.screens.classify_results import ClassifyResultsScreen

    try:
        result = ClassifyResult.from_dict(row.summary or {})
    except Exception as exc:  # an entry from an older or damaged database
        app.notify(f"run {row.id}: cannot be shown ({exc})", severity="error")
        return
    outcome = ClassifyOutcome(
        result, report_files(row.output_dir), row.id, app.store.path, from_history=True
    )
    app.push_screen(ClassifyResultsScreen(outcome))


PIPELINE_KEYS = ("scenario", "stage_table", "bottleneck", "thresholds", "questions", "ran")


def _open_pipeline(app: Any, row: RunRow) -> None:
    """A pipeline run's results, from the whole result its history entry keeps."""
    from tui_bench.tui.screens.pipeline.results import PipelineResultsScreen

    data = row.summary
    missing = [k for k in PIPELINE_KEYS if not isinstance(data, dict) or k not in data]
    if missing:  # an entry from an older or damaged database
        app.notify(
            f"run {row.id}: cannot be shown (its summary lacks {', '.join(missing)})",
            severity="error",
        )
        return
    app.push_screen(PipelineResultsScreen(data, run_id=row.id))
