"""The classifier benchmark, set up from the keyboard: data, categories, candidates, run.

Four steps in tabs; ctrl+n / escape move between them (escape on the first step goes
back to the wizard), ctrl+r starts from any step. One file per step: data (the file and
its columns), categories (the imbalance table and the suggestions), candidates, options
(the run's settings and what will run); what they share is in base. Every number comes
from ``tui_bench.core.classify``; this screen only collects choices and builds a
``ClassifyConfig``, validated by the core on every change.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from tui_bench.tui.screens.classify.candidates import CANDIDATES, CandidatesStep
from tui_bench.tui.screens.classify.categories import CATEGORIES, CategoriesStep
from tui_bench.tui.screens.classify.data import DATA, DataStep
from tui_bench.tui.screens.classify.options import OPTIONS, OptionsStep
from tui_bench.tui.screens.steps import step_bindings
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader

__all__ = ["ClassifySetupScreen"]


class ClassifySetupScreen(DataStep, CategoriesStep, CandidatesStep, OptionsStep):
    HELP = (
        "Benchmark text classifiers on your labelled data. 1 Data: a CSV, TSV, JSONL, JSON or "
        "Parquet file (enter reads it) and its columns: the text, the labels (one label "
        "column, or an annotation column holding a JSON object category → label per row) "
        "and an optional language. 2 Categories: class imbalance per category; profiles "
        "follow the ratio of the largest to the smallest class; the suggested categories "
        "(★, one per profile) are preselected, space toggles. 3 Candidates: scikit-learn "
        "pipelines, the transformers installed here and those in the Hugging Face cache, "
        "and a majority baseline that always runs; pick at least two; add types a model "
        "folder or a cached model id (never downloaded). 4 Run: settings (max length: "
        "transformers' tokens per text), then ctrl+r. The ranking and the choice of a final model follow the run."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *step_bindings("classify"),
        Binding("ctrl+r", "start", "Start benchmark", id="classify.start"),
        Binding("ctrl+g", "suggested", "Suggested categories", show=False, id="classify.suggested"),
    ]
    STEPS = (DATA, CATEGORIES, CANDIDATES, OPTIONS)
    TABS_ID = "cl-steps"

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield from self.compose_steps()
        yield Static(id="cl-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "tui-bench · classifier benchmark"
        self.sub_title = "find the best text classifier for your labelled data"
        blink = getattr(self.app, "cursor_blink", True)
        for field in self.query(Input):
            field.cursor_blink = blink
        self._fill_models()
        self.scan_cache()  # the Hugging Face cache's encoders, offered once found
        self._render_categories()
        self._rebuild()
        if self.preset is not None:
            self.query_one("#cl-path", Input).value = str(self.preset.data)
            self._read_file()
        # now, not .focus(): a queued focus on the path would bring its step back after
        # the preset data has loaded and moved on to the categories
        self.set_focus(self.query_one("#cl-path", Input))

    def back_from_first_step(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()  # back to the wizard

    def action_start(self) -> None:
        self._rebuild()
        if self.config is None:
            self.notify(self.error or "not ready", title="Cannot start", severity="error")
            return
        from tui_bench.tui.paths import default_output_dir
        from tui_bench.tui.screens.classify_live import ClassifyRunScreen

        config = dataclasses.replace(self.config)
        if config.output_dir is None:
            config.output_dir = default_output_dir(f"classify-{Path(str(config.data)).stem}")
        choose = self.preset.choose if self.preset is not None else "top"
        self.app.push_screen(
            ClassifyRunScreen(
                config,
                from_cli=self.from_cli,
                choose_default=choose,
                refresh_hz=getattr(self.app, "refresh_hz", 4.0),
            )
        )

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            ("Start classifier benchmark", "Run the benchmark as set up", self.action_start),
            (
                "Suggested categories",
                "Select the suggested categories again",
                self.action_suggested,
            ),
        ]
