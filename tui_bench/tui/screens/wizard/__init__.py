"""The wizard: choose a plan or compose one, review the matrix, start, save.

Five steps in tabs, every one reachable from the keyboard: ctrl+n / escape move between
steps, enter picks a plan (and jumps to the review), space toggles a model or prompt,
ctrl+r starts from any step, ctrl+s saves the composed plan as TOML. The plan is rebuilt
and validated by the core on every change; its one-line error is shown, never raised.
One file per step (plan, models, prompts, settings, review); what they share is in base.
This screen joins them, and checks this machine once (``tui-bench doctor``'s facts).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.worker import Worker, WorkerState

from tui_bench.tui import draft as d
from tui_bench.tui.screens.steps import step_bindings
from tui_bench.tui.screens.wizard.models import MODELS, ModelsStep
from tui_bench.tui.screens.wizard.plan import PLAN, PlanStep
from tui_bench.tui.screens.wizard.prompts import PROMPTS, PromptsStep
from tui_bench.tui.screens.wizard.review import REVIEW, ReviewStep
from tui_bench.tui.screens.wizard.settings import SETTINGS, SettingsStep
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader

__all__ = ["WizardScreen"]


class WizardScreen(PlanStep, ModelsStep, PromptsStep, SettingsStep, ReviewStep):
    HELP = (
        "Pick a plan from the catalog (enter), or compose one: choose models (space toggles; "
        "builtins, GGUF files found on this machine with size/quant/params, and simulated "
        "models; a adds a server: an OpenAI-compatible URL, its model name and the name of "
        "the variable holding its API key, with a connection test and the servers found "
        "listening on this machine), prompts (or type your own), and settings. The review "
        "shows the matrix "
        "and an estimate of the time. ctrl+r starts from any step; ctrl+s saves the plan. "
        "'benchmark text classifiers' (or f4) opens the classifier benchmark instead."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *step_bindings("wizard"),
        Binding("ctrl+r", "start", "Start run", id="wizard.start"),
        Binding("ctrl+s", "save", "Save plan", id="wizard.save"),
    ]
    STEPS = (PLAN, MODELS, PROMPTS, SETTINGS, REVIEW)
    TABS_ID = "steps"

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield from self.compose_steps()
        yield Static("checking this machine…", id="wizard-doctor")
        yield Static(id="wizard-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "tui-bench · new run"
        self.sub_title = "choose or compose a plan"
        app: Any = self.app
        for field in self.query(Input):
            field.cursor_blink = getattr(app, "cursor_blink", True)
        self.options = d.load_catalog(app.plans_dirs)
        models, self.model_alias = d.catalog_models(self.options)
        models += d.mock_models(models)
        self.models = {c.key: c for c in models}
        prompts, self.prompt_alias = d.catalog_prompts(self.options)
        self.prompts = {c.key: c for c in prompts}
        self._fill_plan_list()
        index = self._preselect_index()
        if index is not None:
            self._use_plan(self.options[index])
            self.query_one("#plan-list", OptionList).highlighted = index
        else:
            self._refresh_lists()
            self._rebuild()
        self.query_one("#plan-list", OptionList).focus()

    def on_screen_resume(self) -> None:
        self.check_machine()

    def check_machine(self) -> None:
        """This machine's facts (``tui-bench doctor`` without its model runs), gathered once
        in a thread; never while a run measures (``tui-bench run`` starts one at once)."""
        app: Any = self.app
        if not getattr(app, "check_machine", True):
            self.query_one("#wizard-doctor", Static).display = False
            return
        if self._doctor_started or app.run_in_progress or (app.start_on_mount and not app.runs):
            return
        self._doctor_started = True
        self.run_worker(self._gather_doctor, thread=True, exit_on_error=False, name="doctor")

    def _gather_doctor(self) -> Any:
        from tui_bench.core.doctor import quick_report

        app: Any = self.app
        return quick_report(app.models_dirs, stores=app.discover_stores)

    def _show_doctor(self, report: Any) -> None:
        from tui_bench.core.doctor import summary_line

        self.doctor_report = report
        # no label: at 80 columns the facts alone just fit (F1 shows them in full)
        style = "$text-muted" if report.exit_code == 0 else "$error"
        self.query_one("#wizard-doctor", Static).update(Content.styled(summary_line(report), style))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "scan-models":
            self._scan_done(event)
        elif worker.name == "doctor":
            if event.state == WorkerState.SUCCESS:
                self._show_doctor(worker.result)
            elif event.state == WorkerState.ERROR:
                self.query_one("#wizard-doctor", Static).update(
                    Content.styled(f"checking this machine failed: {worker.error}", "$error")
                )
        elif worker.name == "estimate" and event.state == WorkerState.SUCCESS:
            self._estimate_done(worker.result)
