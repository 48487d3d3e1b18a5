"""Step 4 of the classifier setup: the run. Epochs, jobs, test size, folds, seed, by
language, output folder; what will run (trainings, split, epochs, models, output), and
Start (ctrl+r from any step).
"""

from __future__ import annotations

import os
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Checkbox, Input, Label, Static

from tui_bench.core.classify import candidates as cand
from tui_bench.tui.screens.classify.base import SetupBase
from tui_bench.tui.screens.steps import SettingField, Step, setting_inputs

SETTING_FIELDS: tuple[SettingField, ...] = (
    ("epochs", "epochs", "integer", "3"),
    ("jobs", "jobs (0 = every core)", "integer", "1"),
    ("test_size", "test size (0.05-0.5)", "number", "0.2"),
    ("cv", "folds (blank: hold-out)", "integer", "hold-out split"),
    ("seed", "seed", "integer", "0"),
    ("output", "output folder", "text", "a new folder under runs/"),
)


class OptionsStep(SetupBase):
    def compose_options(self) -> ComposeResult:
        with VerticalScroll(id="cl-run-scroll"):
            with Grid(id="cl-settings-grid", classes="cl-grid"):
                yield from setting_inputs(
                    SETTING_FIELDS,
                    self.settings,
                    id_prefix="cl-set-",
                    label_class="cl-label",
                    compact=True,
                )
                yield Label("by language", classes="cl-label")
                yield Checkbox(
                    "one model per language",
                    self.by_language,
                    id="cl-by-language",
                    compact=True,
                )
            yield Static(id="cl-review")
            with Horizontal(id="cl-run-buttons"):
                yield Button("Start benchmark (ctrl+r)", variant="success", id="cl-start")

    @on(Input.Changed)
    def _setting_changed(self, event: Input.Changed) -> None:
        wid = event.input.id or ""
        if wid.startswith("cl-set-"):
            self.settings[wid.removeprefix("cl-set-")] = event.value
            self._rebuild()

    @on(Input.Submitted)
    def _setting_submitted(self, event: Input.Submitted) -> None:
        if (event.input.id or "").startswith("cl-set-"):
            self.focus_next()

    @on(Checkbox.Changed, "#cl-by-language")
    def _by_language_changed(self, event: Checkbox.Changed) -> None:
        self.by_language = event.value
        self._rebuild()

    def _render_review(self) -> None:
        review = self.query_one("#cl-review", Static)
        c = self.config
        if c is None:
            review.update(
                Content.assemble(
                    ("Not ready to run: ", "bold"),
                    (self.error or "", "$error"),
                )
            )
            return
        by_epochs = [n for n in c.model_names() if cand.CATALOG[n].by_epochs]
        cores = os.cpu_count() or 1
        jobs = f"every core ({cores})" if c.jobs <= 0 else f"{c.jobs} of {cores} cores"
        split = f"{c.cv}-fold cross-validation" if c.cv else f"hold-out, {c.test_size:.0%} test"
        parts: list[Any] = [
            ("run      ", "bold"),
            self._plan_text(c),
            "\n",
            ("split    ", "bold"),
            f"stratified {split} · seed {c.seed} · {jobs}\n",
            ("epochs   ", "bold"),
            (
                f"{c.epochs} for {', '.join(by_epochs)} (early stopping, patience {c.patience})"
                if by_epochs
                else "no candidate trains by epochs: each fits once"
            ),
            "\n",
            ("models   ", "bold"),
            ", ".join(c.model_names()) + " + majority baseline\n",
            ("output   ", "bold"),
            str(c.output_dir) if c.output_dir else "a new folder under runs/ (reports, models)",
        ]
        if c.jobs != 1:
            parts.append(
                (
                    "\nSeveral jobs train candidates in parallel processes: their training "
                    "times then share the cores.",
                    "$text-muted",
                )
            )
        review.update(Content.assemble(*parts))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cl-start":
            self.action_start()


OPTIONS = Step("cl-step-run", "4 Run", "#cl-start", OptionsStep.compose_options)
