"""The wizard: choose a plan or compose one, review the matrix, start, save.

Five steps in tabs, every one reachable from the keyboard: ctrl+n / escape move between
steps, enter picks a plan (and jumps to the review), space toggles a model or prompt,
ctrl+r starts from any step, ctrl+s saves the composed plan as TOML. The plan is rebuilt
and validated by the core on every change; its one-line error is shown, never raised.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import (
    Button,
    Footer,
    Input,
    Label,
    OptionList,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection
from textual.worker import Worker, WorkerState

from tui_bench.core.catalog import plans_dirs
from tui_bench.core.errors import UserError
from tui_bench.core.plan import TASK_TYPES, LoadedPlan, parse_plan, plan_to_toml
from tui_bench.tui import draft as d
from tui_bench.tui.estimate import Estimate, estimate
from tui_bench.tui.format import duration, pct
from tui_bench.tui.screens.dialogs import PathPrompt
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.steps import StepTabs, show_step
from tui_bench.tui.widgets.toggle_list import ToggleList

STEPS = ("step-plan", "step-models", "step-prompts", "step-settings", "step-review")
COMPOSE = "compose"
CLASSIFY = "classify"
SETTING_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    # key, label, input type, placeholder
    ("name", "plan name", "text", "my-plan"),
    ("repeats", "repeats", "integer", "3"),
    ("warmup", "warm-ups per model", "integer", "1"),
    ("max_tokens", "max tokens", "integer", "64"),
    ("threads", "threads (llama.cpp)", "integer", "all cores"),
    ("gpu_layers", "GPU layers (-1 = all)", "integer", "plan's value (0)"),
    ("threshold", "success threshold (0-1)", "number", "0.9"),
)


class WizardScreen(Screen[None]):
    HELP = (
        "Pick a plan from the catalog (enter), or compose one: choose models (space toggles; "
        "builtins, GGUF files found on this machine with size/quant/params, and simulated "
        "models), prompts (or type your own), and settings. The review shows the matrix "
        "and an estimate of the time. ctrl+r starts from any step; ctrl+s saves the plan. "
        "'benchmark text classifiers' (or f4) opens the classifier benchmark instead."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next_step", "Next step", id="wizard.next"),
        Binding("escape", "prev_step", "Previous step", id="wizard.back"),
        Binding("ctrl+r", "start", "Start run", id="wizard.start"),
        Binding("ctrl+s", "save", "Save plan", id="wizard.save"),
    ]

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

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with StepTabs(id="steps", initial="step-plan"):
            with TabPane("1 Plan", id="step-plan"), Horizontal(classes="split"):
                yield OptionList(id="plan-list")
                yield Static(id="plan-detail", classes="detail")
            with TabPane("2 Models", id="step-models"), Horizontal(classes="split"):
                yield ToggleList(id="model-list")
                yield Static(id="model-detail", classes="detail")
            with TabPane("3 Prompts", id="step-prompts"), Vertical():
                yield ToggleList(id="prompt-list")
                yield Static(id="prompt-detail", classes="detail-line")
                with Horizontal(id="prompt-form"):
                    yield Input(placeholder="id (optional)", id="new-prompt-id")
                    yield Select[str](
                        [(t, t) for t in TASK_TYPES],
                        value="analysis",
                        allow_blank=False,
                        id="new-prompt-task",
                    )
                    yield Input(placeholder="type a prompt, enter adds it", id="new-prompt-text")
            with (
                TabPane("4 Settings", id="step-settings"),
                VerticalScroll(id="settings-scroll"),
            ):
                yield Static(
                    "Enter moves to the next field. Blank threads: the model's own setting "
                    "(default: all cores). GPU layers need a CUDA build of llama-cpp-python; "
                    "both apply to llama.cpp models only.",
                    id="settings-hint",
                )
                with Grid(id="settings-grid"):
                    for key, label, kind, placeholder in SETTING_FIELDS:
                        yield Label(label, classes="setting-label")
                        yield Input(
                            self.settings.get(key, ""),
                            placeholder=placeholder,
                            type=kind,  # type: ignore[arg-type]
                            id=f"set-{key}",
                        )
            with TabPane("5 Review", id="step-review"), Vertical():
                with VerticalScroll(id="review-scroll"):
                    yield Static(id="review")
                with Horizontal(id="review-buttons"):
                    yield Button("Start run (ctrl+r)", variant="success", id="start")
                    yield Button("Save plan… (ctrl+s)", id="save")
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

    def scan_models(self) -> None:
        """Read the model registry once, when the models are first shown: no disk scan
        (and no CPU taken) while ``tui-bench run`` measures right away."""
        if not self._scan_started:
            self._scan_started = True
            self.run_worker(self._scan_models, thread=True, exit_on_error=False, name="scan-models")

    @on(TabbedContent.TabActivated, "#steps")
    def _step_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id in ("step-models", "step-review"):
            self.scan_models()

    def _preselect_index(self) -> int | None:
        if self.preselect is not None:
            target = self.preselect.resolve()
            for i, o in enumerate(self.options):
                if o.entry.path.resolve() == target and o.loaded is not None:
                    return i
            extra = d.plan_option(self.preselect)  # a plan file outside the catalog
            if extra is not None:
                self.options.append(extra)
                self._fill_plan_list()
                models, alias = d.catalog_models([extra])
                for c in models:
                    self.models.setdefault(c.key, c)
                self.model_alias.update(alias)
                prompts, alias = d.catalog_prompts([extra])
                for c in prompts:
                    self.prompts.setdefault(c.key, c)
                self.prompt_alias.update(alias)
                return len(self.options) - 1
        return d.default_plan_index(self.options)

    # -- plan step ----------------------------------------------------------------------

    def _fill_plan_list(self) -> None:
        ol = self.query_one("#plan-list", OptionList)
        ol.clear_options()
        for o in self.options:
            e = o.entry
            if o.loaded is None:
                prompt = Content.assemble((e.id, "bold $error"), ("  invalid", "$error"))
                ol.add_option(Option(prompt, id=f"plan:{e.id}", disabled=True))
            else:
                prompt = Content.assemble((e.id, "bold"), "\n", (e.description, "$text-muted"))
                ol.add_option(Option(prompt, id=f"plan:{e.id}"))
        ol.add_option(
            Option(Content.styled("◆ benchmark text classifiers…", "$accent bold"), id=CLASSIFY)
        )
        ol.add_option(Option(Content.styled("✚ compose a new plan", "$accent bold"), id=COMPOSE))

    def _option_at(self, index: int | None) -> d.PlanOption | None:
        if index is None or index >= len(self.options):
            return None
        return self.options[index]

    @on(OptionList.OptionHighlighted, "#plan-list")
    def _plan_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id == CLASSIFY:
            self._show_classify_detail()
            return
        option = self._option_at(event.option_index)
        self._show_plan_detail(option)
        if (
            option is not None
            and option.loaded is not None
            and option is not self.base
            and self._pristine()
        ):
            self._use_plan(option)  # the status line and ctrl+r follow the highlight

    @on(OptionList.OptionSelected, "#plan-list")
    def _plan_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == CLASSIFY:
            self.app.action_classify()  # type: ignore[attr-defined]
            return
        option = self._option_at(event.option_index)
        if option is None:
            self._compose_new()
            self.goto("step-models")
            return
        self._use_plan(option)
        self.goto("step-review")

    def _show_classify_detail(self) -> None:
        self.query_one("#plan-detail", Static).update(
            Content.assemble(
                ("Benchmark text classifiers\n\n", "bold"),
                "Find the best text classifier for your labelled data (CSV, JSONL or "
                "Parquet): class imbalance per category, quick training of several "
                "scikit-learn candidates against a majority baseline, a ranking by "
                "macro-F1, then the chosen model trained on all the data and saved. ",
                ("Enter opens it (f4 from anywhere).", "$text-muted"),
            )
        )

    def _show_plan_detail(self, option: d.PlanOption | None) -> None:
        detail = self.query_one("#plan-detail", Static)
        if option is None:
            detail.update(
                Content.assemble(
                    ("Compose a new plan\n\n", "bold"),
                    "Pick models, prompts and settings in the next steps, review the "
                    "matrix, then start it or save it to the plans folder.",
                )
            )
            return
        e = option.entry
        if option.loaded is None:
            detail.update(
                Content.assemble((f"{e.id}\n\n", "bold"), (option.error or "invalid", "$error"))
            )
            return
        p = option.loaded.plan
        parts: list[Any] = [(p.name, "bold $accent"), "\n", (p.description, "$text-muted"), "\n"]
        parts.append((f"{_shown_path(e.path)}\n\n", "$text-muted"))
        parts.append(("models ", "bold"))
        parts.append(f"({len(p.models)})\n")
        for m in p.models:
            src = "simulated" if m.backend == "mock" else (m.source or "")
            parts.append(f"  {m.id} · {src}\n")
        parts.append(("prompts ", "bold"))
        parts.append(f"({len(p.prompts)})\n")
        for pr in p.prompts:
            parts.append(f"  {pr.id} ")
            parts.append((f"[{pr.task}]\n", "$text-muted"))
        parts.append(("\nrepeats ", "bold"))
        parts.append(f"{p.repeats} · ")
        parts.append(("warm-up ", "bold"))
        parts.append(f"{p.warmup} · ")
        parts.append(("max tokens ", "bold"))
        parts.append(f"{p.defaults.max_tokens}\n")
        parts.append(("threshold ", "bold"))
        parts.append(f"{pct(p.success_threshold)} · ")
        parts.append(("matrix ", "bold"))
        parts.append(f"{p.n_measured} measured + {p.n_warmup} warm-up")
        detail.update(Content.assemble(*parts))

    def _selection_of(self, option: d.PlanOption) -> tuple[list[str], list[str], dict[str, str]]:
        """The models, prompts and settings that choosing catalog plan ``option`` selects."""
        assert option.loaded is not None
        pid = option.entry.id
        plan = option.loaded.plan
        models = [
            self.model_alias.get(k, k) for k in (d.plan_model_key(pid, m.id) for m in plan.models)
        ]
        prompts = [
            self.prompt_alias.get(k, k)
            for k in (d.plan_prompt_key(pid, p.id) for p in plan.prompts)
        ]
        return models, prompts, d.settings_of(option.loaded)

    def _use_plan(self, option: d.PlanOption) -> None:
        self.base = option
        self.selected_models, self.selected_prompts, self.settings = self._selection_of(option)
        self._refresh_lists()
        self._fill_settings()
        self._rebuild()

    def _pristine(self) -> bool:
        """Nothing changed since a catalog plan was chosen (a composition, or a plan whose
        models, prompts or settings were edited, is never replaced by browsing the list)."""
        base = self.base
        if base is None or base.loaded is None:
            return False
        self._sync_from_widgets()
        return (self.selected_models, self.selected_prompts, self.settings) == self._selection_of(
            base
        )

    def _compose_new(self) -> None:
        self.base = None
        self.selected_models = []
        self.selected_prompts = []
        self.settings = dict(d.DEFAULT_SETTINGS)
        self._refresh_lists()
        self._fill_settings()
        self._rebuild()

    # -- models and prompts ---------------------------------------------------------------

    def _scan_models(self) -> list[dict[str, Any]]:
        from tui_bench.core import models as registry

        app: Any = self.app
        entries = registry.discover(
            registry.models_dirs(app.models_dirs), stores=app.discover_stores
        )
        return [registry.describe(e) for e in entries]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "scan-models":
            if event.state == WorkerState.SUCCESS:
                existing = list(self.models.values())
                extra = d.registry_models(worker.result, existing)
                for c in extra:
                    self.models.setdefault(c.key, c)
                self.models_scanned = True
                self._sync_from_widgets()  # toggles made while the scan ran
                self._refresh_lists()
            elif event.state == WorkerState.ERROR:
                self.models_scanned = True
                self.notify(f"model discovery failed: {worker.error}", severity="warning")
        elif worker.name == "doctor":
            if event.state == WorkerState.SUCCESS:
                self._show_doctor(worker.result)
            elif event.state == WorkerState.ERROR:
                self.query_one("#wizard-doctor", Static).update(
                    Content.styled(f"checking this machine failed: {worker.error}", "$error")
                )
        elif worker.name == "estimate" and event.state == WorkerState.SUCCESS:
            self.estimate = worker.result
            self._render_status()
            self._render_review()

    def _sync_from_widgets(self) -> None:
        """Take the toggles the lists hold but whose messages are still queued."""
        self.selected_models = _merge(
            self.selected_models, self.query_one("#model-list", SelectionList).selected, self.models
        )
        self.selected_prompts = _merge(
            self.selected_prompts,
            self.query_one("#prompt-list", SelectionList).selected,
            self.prompts,
        )

    def _refresh_lists(self) -> None:
        """Rebuild both lists from ``selected_models`` / ``selected_prompts``."""
        self._syncing = True
        try:
            ml = self.query_one("#model-list", SelectionList)
            highlighted = ml.highlighted
            ml.clear_options()
            for c in self.models.values():
                prompt = Content.assemble(
                    (c.id, "bold"), (f"  {c.origin}", "$text-muted"), f"  {c.summary()}"
                )
                ml.add_option(Selection(prompt, c.key, c.key in self.selected_models))
            if highlighted is not None and highlighted < ml.option_count:
                ml.highlighted = highlighted
            pl = self.query_one("#prompt-list", SelectionList)
            highlighted = pl.highlighted
            pl.clear_options()
            for c in self.prompts.values():
                text = " ".join(str(c.spec.get("text", "")).split())
                prompt = Content.assemble(
                    (f"[{c.task}] ", "$accent"), (c.id, "bold"), (f"  {text}", "$text-muted")
                )
                pl.add_option(Selection(prompt, c.key, c.key in self.selected_prompts))
            if highlighted is not None and highlighted < pl.option_count:
                pl.highlighted = highlighted
        finally:
            self._syncing = False
        self._show_model_detail(_highlighted_value(ml))
        self._show_prompt_detail(_highlighted_value(pl))

    @on(SelectionList.SelectedChanged, "#model-list")
    def _models_changed(self, event: SelectionList.SelectedChanged) -> None:
        if self._syncing:
            return
        self.selected_models = _merge(
            self.selected_models, event.selection_list.selected, self.models
        )
        self._rebuild()

    @on(SelectionList.SelectedChanged, "#prompt-list")
    def _prompts_changed(self, event: SelectionList.SelectedChanged) -> None:
        if self._syncing:
            return
        self.selected_prompts = _merge(
            self.selected_prompts, event.selection_list.selected, self.prompts
        )
        self._rebuild()

    @on(SelectionList.SelectionHighlighted, "#model-list")
    def _model_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._show_model_detail(event.selection.value)

    def _show_model_detail(self, key: str | None) -> None:
        c = self.models.get(key) if key else None
        if c is None:
            return
        parts: list[Any] = [(c.id, "bold $accent"), "\n", (c.origin, "$text-muted"), "\n\n"]
        if c.backend == "mock":
            parts.append("simulated model (mock backend): timings are configured, not measured\n")
            for k, v in (c.spec.get("mock") or {}).items():
                parts.append(f"  {k} = {v}\n")
        else:
            parts.append(("source ", "bold"))
            parts.append(f"{c.spec.get('source')}\n")
            f = c.facts
            for label, key in (
                ("size", "size"),
                ("architecture", "architecture"),
                ("quantization", "quantization"),
                ("parameters", "params"),
                ("context", "context_length"),
                ("status", "status"),
            ):
                if f.get(key) is not None:
                    parts.append((f"{label} ", "bold"))
                    parts.append(f"{f[key]}\n")
            if not f:
                parts.append(
                    ("header facts not read yet" if not self.models_scanned else "", "$text-muted")
                )
            for k in ("n_ctx", "n_threads", "n_gpu_layers", "chat_template"):
                if k in c.spec:
                    parts.append((f"{k} ", "bold"))
                    parts.append(f"{c.spec[k]}\n")
        self.query_one("#model-detail", Static).update(Content.assemble(*parts))

    @on(SelectionList.SelectionHighlighted, "#prompt-list")
    def _prompt_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._show_prompt_detail(event.selection.value)

    def _show_prompt_detail(self, key: str | None) -> None:
        c = self.prompts.get(key) if key else None
        if c is None:
            return
        text = " ".join(str(c.spec.get("text", "")).split())
        self.query_one("#prompt-detail", Static).update(
            Content.assemble(
                (f"{c.id} ", "bold"), (f"[{c.task}] {c.origin}: ", "$text-muted"), text
            )
        )

    @on(Input.Submitted, "#new-prompt-text")
    @on(Input.Submitted, "#new-prompt-id")
    def _add_prompt(self, event: Input.Submitted) -> None:
        text_input = self.query_one("#new-prompt-text", Input)
        text = text_input.value.strip()
        if not text:
            text_input.focus()
            return
        id_input = self.query_one("#new-prompt-id", Input)
        pid = id_input.value.strip() or d.slug("-".join(text.lower().split()[:3]))[:40]
        task = self.query_one("#new-prompt-task", Select).value
        self._sync_from_widgets()
        self._user_prompts += 1
        key = f"yours:{self._user_prompts}"
        self.prompts[key] = d.PromptChoice(
            key, {"id": pid, "task": str(task), "text": text}, "your prompt"
        )
        self.selected_prompts.append(key)
        text_input.value = ""
        id_input.value = ""
        self._refresh_lists()
        self._rebuild()
        self.notify(f"prompt {pid!r} added and selected", timeout=3)

    # -- settings -----------------------------------------------------------------------

    def _fill_settings(self) -> None:
        self._syncing = True
        try:
            for key, *_rest in SETTING_FIELDS:
                self.query_one(f"#set-{key}", Input).value = self.settings.get(key, "")
        finally:
            self._syncing = False

    @on(Input.Changed)
    def _setting_changed(self, event: Input.Changed) -> None:
        wid = event.input.id or ""
        if self._syncing or not wid.startswith("set-"):
            return
        self.settings[wid.removeprefix("set-")] = event.value
        self._rebuild()

    @on(Input.Submitted)
    def _setting_submitted(self, event: Input.Submitted) -> None:
        wid = event.input.id or ""
        if not wid.startswith("set-"):
            return
        if wid == f"set-{SETTING_FIELDS[-1][0]}":
            self.goto("step-review")
        else:
            self.focus_next()

    # -- the plan -------------------------------------------------------------------------

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

    def _render_review(self) -> None:
        review = self.query_one("#review", Static)
        if self.plan_error or self.current is None:
            review.update(
                Content.assemble(
                    ("This plan cannot run yet:\n\n", "bold"),
                    (self.plan_error or "nothing chosen", "$error"),
                    ("\n\nFix it in the earlier steps (escape goes back).", "$text-muted"),
                )
            )
            return
        p = self.current.plan
        est = {m.model: m for m in self.estimate.models} if self.estimate else {}
        parts: list[Any] = [("plan     ", "bold"), (self._origin_text(), "$accent"), "\n"]
        if p.description:
            parts += [("         " + p.description, "$text-muted"), "\n"]
        parts += [
            ("matrix   ", "bold"),
            f"{len(p.models)} model(s) × {len(p.prompts)} prompt(s) × {p.repeats} repeat(s) = ",
            (f"{p.n_measured} measured requests", "bold"),
            f" + {p.n_warmup} warm-up\n",
            ("settings ", "bold"),
            f"max tokens {p.defaults.max_tokens} · temperature {p.defaults.temperature:g} · "
            f"seed {p.defaults.seed} · ignore EOS {str(p.defaults.ignore_eos).lower()} · "
            f"mode {p.defaults.mode} · threshold {pct(p.success_threshold)}\n\n",
            ("models\n", "bold"),
        ]
        for m in p.models:
            src = "simulated" if m.backend == "mock" else (m.source or "")
            extra = []
            if m.backend == "llama_cpp":
                extra.append(f"threads {m.n_threads or 'all'}")
                extra.append(f"GPU layers {m.n_gpu_layers}")
            parts.append(f"  {m.id}")
            parts.append((f"  {src}  {' · '.join(extra)}", "$text-muted"))
            e = est.get(m.id)
            if e is not None:
                parts.append(f"  ≈ {duration(e.seconds)}")
                parts.append((f" ({e.basis})", "$text-muted"))
            parts.append("\n")
        parts.append(("\nprompts\n", "bold"))
        for pr in p.prompts:
            text = " ".join(pr.text.split())
            parts.append(f"  {pr.id} ")
            parts.append((f"[{pr.task}] ", "$accent"))
            parts.append((text[:70] + ("…" if len(text) > 70 else ""), "$text-muted"))
            parts.append("\n")
        if self.estimate is not None:
            parts.append(("\nestimate ", "bold"))
            parts.append(f"≈ {duration(self.estimate.seconds)} in total")
            if self.estimate.guessed:
                parts.append(
                    (
                        f" · rough guess where no past run exists ({d_guess()})",
                        "$text-muted",
                    )
                )
        busy = all_cores_models(p)
        if busy:
            cores = os.cpu_count() or 1
            parts.append(("\n\nnote ", "bold $warning"))
            parts.append(
                (
                    f"{', '.join(busy)} run(s) on all {cores} logical cores: this live view "
                    "only takes CPU time the model leaves idle, but any other busy program on "
                    "this machine slows it. For the steadiest numbers keep the machine quiet "
                    f"or set threads to {max(1, cores - 1)}.",
                    "$text-muted",
                )
            )
        review.update(Content.assemble(*parts))

    # -- navigation and actions -------------------------------------------------------------

    def goto(self, step: str) -> None:
        focus = {
            "step-plan": "#plan-list",
            "step-models": "#model-list",
            "step-prompts": "#prompt-list",
            "step-settings": "#set-name",
            "step-review": "#start",
        }[step]
        show_step(self, self.query_one("#steps", TabbedContent), step, focus)

    @property
    def step(self) -> str:
        return str(self.query_one("#steps", TabbedContent).active)

    def action_next_step(self) -> None:
        i = STEPS.index(self.step)
        if i + 1 < len(STEPS):
            self.goto(STEPS[i + 1])

    def action_prev_step(self) -> None:
        i = STEPS.index(self.step)
        if i > 0:
            self.goto(STEPS[i - 1])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        elif event.button.id == "save":
            self.action_save()

    def action_start(self) -> None:
        if self.current is None:
            self.notify(self.plan_error or "nothing to run", title="Cannot start", severity="error")
            self.goto("step-review")
            return
        self.app.start_run(self.current)  # type: ignore[attr-defined]

    def action_save(self) -> None:
        if self.current is None:
            self.notify(self.plan_error or "nothing to save", title="Cannot save", severity="error")
            return
        plan = self.current.plan
        folder = _plans_folder(getattr(self.app, "plans_dirs", None))
        default = folder / f"{d.slug(plan.name)}.toml"

        def validate(value: str) -> str | None:
            path = Path(value).expanduser()
            if path.suffix.lower() != ".toml":
                return f"{path}: a plan file ends in .toml"
            if path.exists():
                return f"{path}: already exists; choose another name"
            return None

        def chosen(value: str | None) -> None:
            if not value:
                return
            path = Path(value).expanduser()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(plan_to_toml(plan), encoding="utf-8")
            except OSError as exc:
                self.notify(f"{path}: {exc.strerror or exc}", title="Save failed", severity="error")
                return
            self.notify(str(path), title="Plan saved", timeout=6)
            self._after_save(path)

        self.app.push_screen(
            PathPrompt(
                "Save plan",
                "Write the plan as TOML to:",
                str(default),
                action="Save",
                validate=validate,
            ),
            chosen,
        )

    def _after_save(self, path: Path) -> None:
        app: Any = self.app
        if self.current is not None:
            self._saved = (self.current.plan, path)
        keep = (list(self.selected_models), list(self.selected_prompts), dict(self.settings))
        self.options = d.load_catalog(app.plans_dirs)
        self._fill_plan_list()
        match = next(
            (o for o in self.options if o.entry.path.resolve() == path.resolve() and o.loaded),
            None,
        )
        if match is not None:
            self.base = match
            pid = match.entry.id
            for m, key in zip(match.loaded.plan.models, keep[0], strict=False):  # type: ignore[union-attr]
                self.model_alias[d.plan_model_key(pid, m.id)] = key
            for p, key in zip(match.loaded.plan.prompts, keep[1], strict=False):  # type: ignore[union-attr]
                self.prompt_alias[d.plan_prompt_key(pid, p.id)] = key
        self.selected_models, self.selected_prompts, self.settings = keep
        self._rebuild()


def _merge(current: list[str], chosen: list[str], order: dict[str, Any]) -> list[str]:
    """The keys in ``chosen``: those already selected keep their order, new ones follow."""
    picked = set(chosen)
    return [k for k in current if k in picked] + [
        k for k in order if k in picked and k not in current
    ]


def _highlighted_value(sl: SelectionList[str]) -> str | None:
    index = sl.highlighted if sl.highlighted is not None else (0 if sl.option_count else None)
    if index is None:
        return None
    return sl.get_option_at_index(index).value  # type: ignore[attr-defined, no-any-return]


def _shown_path(path: Path) -> str:
    """Relative to the working directory when inside it (shorter, and the same everywhere)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def all_cores_models(plan: Any) -> list[str]:
    """llama.cpp models whose worker uses every logical core (the default)."""
    cores = os.cpu_count() or 1
    return [
        m.id
        for m in plan.models
        if m.backend == "llama_cpp" and (m.n_threads is None or m.n_threads >= cores)
    ]


def d_guess() -> str:
    from tui_bench.tui import estimate as e

    return f"{e.GUESS_DECODE_TPS:g} tok/s, TTFT {e.GUESS_TTFT_S:g} s, load {e.GUESS_LOAD_S:g} s"


def _plans_folder(dirs: list[Path] | None) -> Path:
    # never the plans shipped in the package: an installed package is no place to save into
    candidates = list(dirs or []) + plans_dirs(shipped=False)
    for folder in candidates:
        if folder.is_dir():
            return folder
    return candidates[0] if candidates else Path("plans")
