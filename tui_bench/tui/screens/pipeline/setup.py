"""The pipeline mode, set up from the keyboard: a scenario from the catalog, then the run.

Two steps in tabs (ctrl+n / escape move between them; escape on the first goes back),
ctrl+r starts from either. 1 Scenario: the catalog (``tui-bench scenarios``: the shipped
ones and the user's index) with the highlighted one's stages, data and thresholds.
2 Run: the classifier (a card, a joblib model or the output folder of ``tui-bench
classify``; blank skips the classify stage), the model source (``builtin:``, a GGUF
file, or ``mock:`` for the simulated backend), max tokens, how many questions, the
output folder. Every change builds a ``PipelineConfig`` validated by the core; its
one-line error is shown, never raised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui_bench.core.errors import UserError
from tui_bench.core.pipeline.generate import DEFAULT_MAX_TOKENS, DEFAULT_MODEL
from tui_bench.core.pipeline.runner import PipelineConfig
from tui_bench.tui.screens.steps import (
    SettingField,
    Step,
    StepScreen,
    setting_inputs,
    step_bindings,
)
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader

FIELDS: tuple[SettingField, ...] = (
    ("classifier", "classifier (optional)", "text", "blank: skip the classify stage"),
    ("model", "model source", "text", DEFAULT_MODEL),
    ("max_tokens", "max tokens", "integer", str(DEFAULT_MAX_TOKENS)),
    ("limit", "questions (blank: all)", "integer", "every question"),
    ("output", "output folder", "text", "a new folder under runs/"),
)


def check_classifier(raw: str) -> Path | None:
    """The classifier path typed, checked as far as the setup can (its labels are checked
    against the scenario when the run loads it); None when blank."""
    if not raw.strip():
        return None
    path = Path(raw.strip()).expanduser()
    if not path.exists():
        raise UserError(f"classifier: {path}: no such card, model or folder")
    if path.is_dir() and not any(path.glob("model-*.json")):
        raise UserError(
            f"classifier: {path}: no model card (model-*.json) here; "
            "choose the output folder of tui-bench classify --choose"
        )
    return path


class PipelineSetupScreen(StepScreen):
    DEFAULT_CSS = """
    PipelineSetupScreen #pl-steps { height: 1fr; }
    PipelineSetupScreen TabPane { padding: 0; }
    PipelineSetupScreen #pl-scenarios { height: auto; max-height: 10; }
    PipelineSetupScreen #pl-scenario-info { height: auto; padding: 1 2; }
    PipelineSetupScreen #pl-grid {
        grid-size: 2; grid-columns: 26 1fr; grid-rows: 1; grid-gutter: 0 1;
        height: auto; padding: 1 1 0 1;
    }
    PipelineSetupScreen .pl-label { height: 1; padding-left: 1; }
    PipelineSetupScreen #pl-grid Input { height: 1; background: $boost; }
    PipelineSetupScreen #pl-grid Input:focus { background: $primary 25%; }
    PipelineSetupScreen #pl-review { height: auto; padding: 1 2; }
    PipelineSetupScreen #pl-buttons { height: auto; padding: 0 2; }
    PipelineSetupScreen #pl-status { height: 1; padding: 0 1; }
    """
    HELP = (
        "A scenario's pipeline (retrieve → classify → generate), stage by stage. "
        "1 Scenario: choose one from the catalog (the shipped scenarios and those of "
        "$TUI_BENCH_SCENARIOS). 2 Run: the classifier trained on the scenario's labels by "
        "tui-bench classify (its output folder, card or joblib; blank skips the classify "
        "stage), the model (builtin:smollm2-135m by default, a GGUF file, or mock: for the "
        "simulated backend), max tokens, how many questions. ctrl+r starts from any step."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *step_bindings("pipeline"),
        Binding("ctrl+r", "start", "Start pipeline", id="pipeline.start"),
    ]
    TABS_ID = "pl-steps"

    def __init__(self) -> None:
        super().__init__()
        self.catalog: list[Any] = []
        self.catalog_error: str | None = None
        self.scenario: str | None = None
        self.settings: dict[str, str] = {"model": DEFAULT_MODEL}
        self.config: PipelineConfig | None = None
        self.error: str | None = "choose a scenario (step 1)"

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield from self.compose_steps()
        yield Static(id="pl-status")
        yield Footer()

    def compose_scenario(self) -> ComposeResult:
        with VerticalScroll():
            yield OptionList(id="pl-scenarios")
            yield Static(id="pl-scenario-info")

    def compose_run(self) -> ComposeResult:
        with VerticalScroll():
            with Grid(id="pl-grid"):
                yield from setting_inputs(
                    FIELDS, self.settings, id_prefix="pl-set-", label_class="pl-label", compact=True
                )
            yield Static(id="pl-review")
            with Horizontal(id="pl-buttons"):
                yield Button("Start pipeline (ctrl+r)", variant="success", id="pl-start")

    STEPS = (
        Step("pl-step-scenario", "1 Scenario", "#pl-scenarios", compose_scenario),
        Step("pl-step-run", "2 Run", "#pl-start", compose_run),
    )

    def on_mount(self) -> None:
        from tui_bench.core.scenarios import load_catalog

        self.title = "tui-bench · pipeline"
        self.sub_title = "retrieve → classify → generate, stage by stage"
        for field in self.query(Input):
            field.cursor_blink = getattr(self.app, "cursor_blink", True)
        try:
            self.catalog = load_catalog()
        except UserError as exc:
            self.catalog_error = str(exc)
        options = self.query_one("#pl-scenarios", OptionList)
        options.add_options([Option(f"{s.id}  {s.name or ''}", id=s.id) for s in self.catalog])
        if self.catalog:
            options.highlighted = 0
            self.scenario = self.catalog[0].id
        self._rebuild()
        self.set_focus(options)

    # -- choices ------------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#pl-scenarios")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.scenario = event.option.id
        self._rebuild()

    @on(OptionList.OptionSelected, "#pl-scenarios")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.scenario = event.option.id
        self.goto("pl-step-run")

    @on(Input.Changed)
    def _setting_changed(self, event: Input.Changed) -> None:
        wid = event.input.id or ""
        if wid.startswith("pl-set-"):
            self.settings[wid.removeprefix("pl-set-")] = event.value
            self._rebuild()

    @on(Input.Submitted)
    def _setting_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def _int(self, key: str, label: str) -> int | None:
        raw = self.settings.get(key, "").strip()
        try:
            return int(raw) if raw else None
        except ValueError:
            raise UserError(f"{label}: {raw!r} is not a whole number") from None

    def build_config(self) -> PipelineConfig:
        """The run as chosen, validated by the core; UserError otherwise."""
        from tui_bench.tui.paths import default_output_dir

        if self.catalog_error:
            raise UserError(self.catalog_error)
        if self.scenario is None:
            raise UserError("choose a scenario (step 1)")
        output = self.settings.get("output", "").strip()
        config = PipelineConfig(
            scenario=self.scenario,
            output_dir=(
                Path(output).expanduser()
                if output
                else default_output_dir(f"pipeline-{self.scenario}")
            ),
            classifier=check_classifier(self.settings.get("classifier", "")),
            model=self.settings.get("model", "").strip() or DEFAULT_MODEL,
            max_tokens=self._int("max_tokens", "max tokens") or DEFAULT_MAX_TOKENS,
            limit=self._int("limit", "questions"),
        )
        config.validate()
        return config

    def _rebuild(self) -> None:
        try:
            self.config, self.error = self.build_config(), None
        except UserError as exc:
            self.config, self.error = None, str(exc)
        self._show_review()

    def _scenario(self) -> Any:
        return next((s for s in self.catalog if s.id == self.scenario), None)

    def _show_review(self) -> None:
        sc = self._scenario()
        info: Content = Content.styled(self.catalog_error or "", "$error")
        if sc is not None:
            limits = ", ".join(f"{k} ≥ {v:g}" for k, v in sc.thresholds.items())
            info = Content.assemble(
                (sc.name or sc.id, "bold"),
                f"\n{sc.description}\n\n",
                ("stages     ", "bold"),
                " → ".join(sc.stages),
                ("\nquestions  ", "bold"),
                str(sc.tasks_total),
                ("\nlabels     ", "bold"),
                ", ".join(sc.labels) or "none",
                ("\nthresholds ", "bold"),
                limits or "none",
            )
        self.query_one("#pl-scenario-info", Static).update(info)
        status = self.query_one("#pl-status", Static)
        review = self.query_one("#pl-review", Static)
        c = self.config
        if c is None:
            status.update(Content.assemble(("✗ ", "bold $error"), (self.error or "", "$error")))
            review.update(
                Content.assemble(("Not ready to run: ", "bold"), (self.error or "", "$error"))
            )
            return
        n = c.limit if c.limit is not None and sc is not None else (sc.tasks_total if sc else 0)
        n = min(n, sc.tasks_total) if sc is not None else n
        classify = str(c.classifier) if c.classifier else "skipped (no classifier given)"
        status.update(
            Content.assemble(
                ("▶ ", "bold $success"), (c.scenario, "bold"), f" · {n} questions · ctrl+r starts"
            )
        )
        review.update(
            Content.assemble(
                ("run        ", "bold"),
                f"{c.scenario}: {n} question(s)\n",
                ("classify   ", "bold"),
                f"{classify}\n",
                ("generate   ", "bold"),
                f"{c.model}, at most {c.max_tokens} tokens\n",
                ("output     ", "bold"),
                str(c.output_dir)
                if self.settings.get("output", "").strip()
                else "a new "
                "folder under runs/ (report.md, data.json); the run is stored in history",
            )
        )

    # -- start --------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "pl-start":
            self.action_start()

    def action_start(self) -> None:
        self._rebuild()
        if self.config is None:
            self.notify(self.error or "not ready", title="Cannot start", severity="error")
            return
        from tui_bench.tui.screens.pipeline.live import PipelineRunScreen

        self.app.push_screen(
            PipelineRunScreen(self.config, refresh_hz=getattr(self.app, "refresh_hz", 4.0))
        )

    def back_from_first_step(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [("Start pipeline", "Run the scenario's pipeline as set up", self.action_start)]
