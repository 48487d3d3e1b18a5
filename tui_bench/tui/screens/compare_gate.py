"""The regression gate on the compare screen: ``t`` sets a threshold (5% ...), and the
verdict of ``tui-bench compare --fail-if-regression`` for the two runs is shown under the
table: PASS, or FAIL with each regression (model, metric, change), computed by the same
core function (:func:`tui_bench.core.compare.gate.gate`) in a worker thread.

A mixin of :class:`~tui_bench.tui.screens.history.CompareScreen`, which owns the runs
(``baseline_id``, ``candidate_id``) and calls :meth:`GateMixin.start_gate` when they
change and :meth:`GateMixin.gate_worker_changed` from its worker handler.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tui_bench.core.errors import UserError

GATE_ID = "compare-gate"
WORKER = "compare-gate"


def threshold_problem(text: str) -> str | None:
    """The prompt's check: a percentage from 0% up (empty: no gate)."""
    from tui_bench.core.compare.gate import parse_threshold

    if not text.strip():
        return None
    try:
        parse_threshold(text)
    except UserError as exc:
        return str(exc).replace("--fail-if-regression ", "threshold ")
    return None


def run_gate(store: Any, baseline_id: int, candidate_id: int, threshold: float) -> Any:
    """The gate's result for two runs of the history (blocks: call it in a thread)."""
    from tui_bench.core.compare.gate import gate
    from tui_bench.core.compare.sources import source_from_store

    base = source_from_store(store, baseline_id, "")
    cand = source_from_store(store, candidate_id, "")
    return gate(base, cand, threshold=threshold)


def gate_content(result: Any) -> Content:
    """PASS / FAIL at the threshold, with the regressions (core's words)."""
    from tui_bench.core.compare.render import gate_line

    line = gate_line(result)
    if result.regressions:
        return Content.assemble(("✗ ", "bold $error"), (line, "$error"))
    if not result.decided:
        return Content.assemble(("? ", "bold $warning"), (f"{line} (too few samples)", "$warning"))
    return Content.assemble(("✓ ", "bold $success"), (line, "$success"))


class GateMixin(Screen[None]):
    DEFAULT_CSS = """
    GateMixin #compare-gate { height: auto; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "set_threshold", "Gate threshold", id="compare.threshold"),
    ]

    baseline_id: int
    candidate_id: int
    threshold: float | None = None  # a fraction (0.05 for 5%); None: no gate
    gate_result: Any = None

    def gate_static(self) -> Static:
        return Static(
            Content.styled("gate: none (t sets a regression threshold)", "$text-muted"), id=GATE_ID
        )

    def action_set_threshold(self) -> None:
        from tui_bench.core.compare.gate import parse_threshold
        from tui_bench.tui.screens.dialogs import PathPrompt

        now = "" if self.threshold is None else f"{100 * self.threshold:g}%"

        def chosen(value: str | None) -> None:
            if value is None:
                return
            self.threshold = parse_threshold(value) if value.strip() else None
            self.start_gate()

        self.app.push_screen(
            PathPrompt(
                "Regression gate",
                "Fail when a metric regresses significantly beyond (e.g. 5%), as "
                "'tui-bench compare --fail-if-regression' does:",
                now or "5%",
                action="Set",
                validate=threshold_problem,
            ),
            chosen,
        )

    def start_gate(self) -> None:
        self.gate_result = None
        static = self.query_one(f"#{GATE_ID}", Static)
        if self.threshold is None:
            static.update(
                Content.styled("gate: none (t sets a regression threshold)", "$text-muted")
            )
            return
        static.update(Content.styled(f"gate at {100 * self.threshold:g}%: testing…", "$text-muted"))
        store, a, b, limit = self.app.store, self.baseline_id, self.candidate_id, self.threshold  # type: ignore[attr-defined]
        self.run_worker(
            lambda: run_gate(store, a, b, limit),
            thread=True,
            exit_on_error=False,
            name=WORKER,
            group=WORKER,
            exclusive=True,
        )

    def gate_worker_changed(self, event: Worker.StateChanged) -> bool:
        """Handles the gate's worker; False for any other worker."""
        if event.worker.name != WORKER:
            return False
        static = self.query_one(f"#{GATE_ID}", Static)
        if event.state == WorkerState.SUCCESS:
            self.gate_result = event.worker.result
            static.update(gate_content(self.gate_result))
        elif event.state == WorkerState.ERROR:
            static.update(Content.styled(f"gate: cannot test: {event.worker.error}", "$error"))
        return True
