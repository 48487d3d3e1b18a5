"""What every step of the wizard shares: the choices (a catalog plan to start from, the
models, prompts and settings), the plan they make, rebuilt and validated by the core on
every change (its one-line error is shown, never raised), its estimate and the status
line. Each step's class (plan.py, models.py ...) adds its pane, handlers and rendering.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.widgets import SelectionList, Static

from tui_bench.core.errors import UserError
from tui_bench.core.plan import LoadedPlan, parse_plan
from tui_bench.tui import draft as d
from tui_bench.tui.estimate import Estimate, estimate
from tui_bench.tui.format import duration
from tui_bench.tui.screens.steps import StepScreen


class WizardBase(StepScreen):
    def __init__(self, *, preselect: Path | None = None) -> None:
        super().__init__()
        self.preselect = preselect
        self.options: list[d.PlanOption] = []
        self.models: dict[str, d.ModelChoice] = {}
        self.prompts: dict[str, d.PromptChoice] = {}
        self.model_alias: dict[str, str] = {}
        self.prompt_alias: dict[str, str] = {}
        self.base: d.PlanOption | None = None
        self.selected_models: list[str] = []
        self.selected_prompts: list[str] = []
        self.settings: dict[str, str] = dict(d.DEFAULT_SETTINGS)
        self.plan_error: str | None = None
        self.current: LoadedPlan | None = None
        self.estimate: Estimate | None = None
        self.models_scanned = False
        self._user_prompts = 0
        self._syncing = False
        self._saved: tuple[Any, Path] | None = None  # (plan, file) of the last save
        self._scan_started = False
        self.doctor_report: Any = None  # core.doctor.DoctorReport once gathered (F1 shows it)
        self._doctor_started = False

    if TYPE_CHECKING:  # each step's own, in its file

        def _fill_plan_list(self) -> None: ...  # plan.py
        def _refresh_models(self) -> None: ...  # models.py
        def _refresh_prompts(self) -> None: ...  # prompts.py
        def _fill_settings(self) -> None: ...  # settings.py
        def _render_review(self) -> None: ...  # review.py

    def _refresh_lists(self) -> None:
        """Rebuild both lists from ``selected_models`` / ``selected_prompts``."""
        self._refresh_models()
        self._refresh_prompts()

    def _sync_from_widgets(self) -> None:
        """Take the toggles the lists hold but whose messages are still queued."""
        self.selected_models = merge_choices(
            self.selected_models, self.query_one("#model-list", SelectionList).selected, self.models
        )
        self.selected_prompts = merge_choices(
            self.selected_prompts,
            self.query_one("#prompt-list", SelectionList).selected,
            self.prompts,
        )

    def _rebuild(self) -> None:
        """Build and validate the plan from the current choices (core's errors, one line)."""
        models = [self.models[k].spec for k in self.selected_models if k in self.models]
        prompts = [self.prompts[k].spec for k in self.selected_prompts if k in self.prompts]
        base_raw = (
            self.base.loaded.plan.model_dump(mode="json", exclude_none=True)
            if (self.base and self.base.loaded)
            else None
        )
        raw = d.build_raw(base_raw, models, prompts, self.settings)
        self.current, self.plan_error = None, None
        try:
            plan = parse_plan(raw, "<composed plan>")
        except UserError as exc:
            self.plan_error = str(exc)
        else:
            if (
                self.base is not None
                and self.base.loaded is not None
                and plan == self.base.loaded.plan
            ):
                self.current = self.base.loaded
            elif self._saved is not None and plan == self._saved[0]:
                self.current = LoadedPlan(plan=plan, path=self._saved[1], raw=raw)
            else:
                self.current = LoadedPlan(plan=plan, path=None, raw=raw)
        self._render_status()
        self._render_review()
        if self.current is not None and self.is_mounted:
            plan_now = self.current.plan
            store = getattr(self.app, "store", None)
            self.run_worker(
                lambda: estimate(plan_now, store),
                thread=True,
                exit_on_error=False,
                name="estimate",
                group="estimate",
                exclusive=True,
            )

    def _estimate_done(self, result: Estimate) -> None:
        self.estimate = result
        self._render_status()
        self._render_review()

    def _origin_text(self) -> str:
        if self.current is None:
            return ""
        if self.current.path is not None:
            return f"{self.current.plan.name} ({self.current.path.name})"
        if self.base is not None:
            return f"{self.current.plan.name} (changed from {self.base.entry.id}, not saved)"
        return f"{self.current.plan.name} (composed, not saved)"

    def _render_status(self) -> None:
        status = self.query_one("#wizard-status", Static)
        if self.plan_error:
            status.update(Content.assemble(("✗ ", "bold $error"), (self.plan_error, "$error")))
            return
        if self.current is None:
            status.update("")
            return
        p = self.current.plan
        parts: list[Any] = [
            ("▶ ", "bold $success"),
            (self._origin_text(), "bold"),
            f" · {len(p.models)} model(s) × {len(p.prompts)} prompt(s) × {p.repeats} = "
            f"{p.n_measured} requests + {p.n_warmup} warm-up",
        ]
        if self.estimate is not None:
            parts.append(f" · ≈ {duration(self.estimate.seconds)}")
            if self.estimate.guessed:
                parts.append((" (rough guess)", "$text-muted"))
        status.update(Content.assemble(*parts))


def merge_choices(current: list[str], chosen: list[str], order: dict[str, Any]) -> list[str]:
    """The keys in ``chosen``: those already selected keep their order, new ones follow."""
    picked = set(chosen)
    return [k for k in current if k in picked] + [
        k for k in order if k in picked and k not in current
    ]


def highlighted_value(sl: SelectionList[str]) -> str | None:
    index = sl.highlighted if sl.highlighted is not None else (0 if sl.option_count else None)
    if index is None:
        return None
    return sl.get_option_at_index(index).value  # type: ignore[attr-defined, no-any-return]
