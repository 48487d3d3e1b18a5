"""How the app runs a pipeline: the run, its history entry, its files, and what it found.

The same order as the headless driver keeps: the run, then its history entry, then its
report files (a file that cannot be written never loses the run; a history entry that
cannot be recorded is a log line and the files still keep the results). The live state
the screens draw is in :mod:`tui_bench.tui.state.pipeline`.

No Textual import here: plain Python, tested as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_bench.tui.format import error_text
from tui_bench.tui.state.pipeline import PipelineLiveState


@dataclass
class PipelineOutcome:
    """A finished (or cancelled) pipeline as the results screen shows it."""

    data: dict[str, Any]  # PipelineResult.to_dict(): what history keeps as the summary
    run_id: int | None = None
    db_path: Path | None = None
    reports: list[Path] = field(default_factory=list)
    report_error: str | None = None  # why the files are missing

    @property
    def status(self) -> str:
        return str(self.data["status"])

    @property
    def passed(self) -> bool:
        return bool(self.data["passed"])


def run_scenario(runner: Any, state: PipelineLiveState) -> PipelineOutcome:
    """Run ``runner`` (a ``PipelineRunner`` publishing into ``state``) in this thread,
    then store and report what it found."""
    from tui_bench.core.pipeline.history import record_pipeline_run
    from tui_bench.core.pipeline.report import write_reports

    result = runner.run()
    outcome = PipelineOutcome(result.to_dict())
    try:
        outcome.run_id, outcome.db_path = record_pipeline_run(result)
    except Exception as exc:  # the run is shown and written; only its history entry is lost
        state.add_log("error", f"history entry not recorded: {error_text(exc)}")
    else:
        with state.lock:
            state.run_id = outcome.run_id
        state.add_log("info", f"history: {outcome.db_path} (run {outcome.run_id})")
    output = runner.config.output_dir
    try:
        outcome.reports = write_reports(result, output)
    except OSError as exc:
        outcome.report_error = f"the reports could not be written to {output} ({exc})"
        state.add_log("error", outcome.report_error)
    else:
        state.add_log("ok", f"report: {', '.join(str(p) for p in outcome.reports)}")
    return outcome
