"""Step 4 of the classifier setup: the run. Epochs, max length (the transformers' tokens
per text, as ``--max-length``), jobs, test size, folds and their repeats, seed, by
language, output folder; what will run (trainings, split, epochs, models, output), how
long it should take (the core's estimate from a probe fit, computed in a thread once the
settings rest a moment), and Start (ctrl+r from any step).
"""

from __future__ import annotations

import os
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Input, Label, Static
from textual.worker import Worker, WorkerState

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify.runner import ClassifyConfig, estimate_for
from tui_bench.tui.format import error_text
from tui_bench.tui.screens.classify.base import SetupBase
from tui_bench.tui.screens.steps import SettingField, Step, setting_inputs

SETTING_FIELDS: tuple[SettingField, ...] = (
    ("epochs", "epochs", "integer", "3"),
    ("max_length", "max length (8-512 tokens)", "integer", "256"),
    ("jobs", "jobs (0 = every core)", "integer", "1"),
    ("test_size", "test size (0.05-0.5)", "number", "0.2"),
    ("cv", "folds (blank: hold-out)", "integer", "hold-out split"),
    ("cv_repeats", "repeats of the folds", "integer", "1"),
    ("seed", "seed", "integer", "0"),
    ("output", "output folder", "text", "a new folder under runs/"),
)


ESTIMATE_DELAY_S = 0.6  # settings at rest this long before a probe fit runs


def _estimate_key(config: ClassifyConfig) -> tuple[object, ...]:
    d = config.to_dict()
    d.pop("output_dir", None)
    d.pop("choose", None)
    return tuple(sorted((k, repr(v)) for k, v in d.items()))


class OptionsStep(SetupBase):
    # (settings the estimate is for, its line or None while computing, its error)
    estimate: tuple[tuple[object, ...], str | None, str | None] | None = None
    _estimate_timer: Timer | None = None

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

    def _schedule_estimate(self) -> None:
        """Estimate the duration of the settings once they rest (a probe fit in a thread)."""
        c = self.config
        if c is None or self.loaded is None:
            return
        key = _estimate_key(c)
        if self.estimate is not None and self.estimate[0] == key:
            return
        self.estimate = (key, None, None)
        if self._estimate_timer is not None:
            self._estimate_timer.stop()
        self._estimate_timer = self.set_timer(ESTIMATE_DELAY_S, self._start_estimate)

    def _start_estimate(self) -> None:
        c, loaded = self.config, self.loaded
        if c is None or loaded is None or self.estimate is None:
            return
        key = self.estimate[0]
        if key != _estimate_key(c):
            return
        dataset = loaded.dataset
        self.run_worker(
            lambda: (key, estimate_for(c, dataset).text()),
            thread=True,
            exit_on_error=False,
            name="cl-estimate",
            group="cl-estimate",
            exclusive=True,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name != "cl-estimate" or self.estimate is None:
            return
        if event.state == WorkerState.SUCCESS:
            key, text = worker.result
            if key == self.estimate[0]:
                self.estimate = (key, text, None)
                self._render_review()
        elif event.state == WorkerState.ERROR:
            self.estimate = (self.estimate[0], None, error_text(worker.error))
            self._render_review()

    def _estimate_parts(self) -> list[Any]:
        est = self.estimate
        if est is None or (est[1] is None and est[2] is None):
            return [
                ("time     ", "bold"),
                ("estimating (a probe fit of each candidate)…", "$text-muted"),
            ]
        if est[2] is not None:
            return [("time     ", "bold"), (f"no estimate: {est[2]}", "$text-muted")]
        return [("time     ", "bold"), est[1] or ""]

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
        by_epochs = [n for n in c.model_names() if cand.get(n).by_epochs]
        cores = os.cpu_count() or 1
        jobs = f"every core ({cores})" if c.jobs <= 0 else f"{c.jobs} of {cores} cores"
        repeats = f" × {c.cv_repeats} repeats" if c.cv and c.cv_repeats > 1 else ""
        split = (
            f"{c.cv}-fold cross-validation{repeats} (corrected resampled t-test)"
            if c.cv
            else f"hold-out, {c.test_size:.0%} test (paired bootstrap)"
        )
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
            *(
                (("tokens   ", "bold"), f"at most {c.max_length} per text for the transformers\n")
                if any(cand.info(n)["kind"] != cand.SKLEARN for n in c.model_names())
                else ()
            ),
            ("models   ", "bold"),
            ", ".join(c.model_names()) + " + baselines (majority, guessing)\n",
            *(
                part
                for lang, models in (c.models_by_language or {}).items()
                for part in ((f"  {lang}:", "bold"), f" {', '.join(models)}\n")
            ),
            ("output   ", "bold"),
            str(c.output_dir) if c.output_dir else "a new folder under runs/ (reports, models)",
            "\n",
            *self._estimate_parts(),
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
