"""Readable progress lines of a pipeline run (stderr by default)."""

from __future__ import annotations

from tui_bench.core.events import Event, Log
from tui_bench.headless.log import LineSink


class PipelineLogSink(LineSink):
    def handle(self, event: Event) -> None:
        from tui_bench.core.fmt import num
        from tui_bench.core.pipeline import events as pe
        from tui_bench.core.pipeline.summary import question_line

        if isinstance(event, pe.PipelineStarted):
            self.line(
                f"[pipeline] {event.scenario}: {' → '.join(event.stages)}, "
                f"{event.n_questions} question(s)"
            )
        elif isinstance(event, pe.StageReady):
            if event.skipped:
                self.line(f"[setup] {event.stage}: skipped ({event.skipped})")
            else:
                self.line(f"[setup] {event.stage}: ready in {num(event.setup_ms, 1)} ms")
        elif isinstance(event, pe.QuestionFinished):
            self.line(question_line(event.index, event.total, event.question))
        elif isinstance(event, Log):
            self._log(event)
