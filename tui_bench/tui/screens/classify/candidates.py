"""Step 3 of the classifier setup: the candidates. The catalog, what each one is (trained
by epochs or in one fit, safe for any script or word-based); the default set
preselected; at least two, besides the majority baseline that always runs.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from tui_bench.core.classify import candidates as cand
from tui_bench.tui.screens.classify.base import SetupBase, header_line, table_row
from tui_bench.tui.screens.steps import Step
from tui_bench.tui.widgets.toggle_list import ToggleList

MODEL_HEADER = (
    ("candidate", 15, "<"),
    ("trains", 10, "<"),
    ("scripts", 11, "<"),
    ("suits", 20, "<"),
)


class CandidatesStep(SetupBase):
    def compose_candidates(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.styled(header_line(MODEL_HEADER), "bold"), id="cl-model-head")
            yield ToggleList(id="cl-models")
            yield Static(id="cl-model-detail")

    def _fill_models(self) -> None:
        sl = self.query_one("#cl-models", SelectionList)
        sl.clear_options()
        for name in cand.real_names():
            spec = cand.CATALOG[name]
            texts = [
                name,
                "by epochs" if spec.by_epochs else "one fit",
                "any script" if spec.multilingual else "word-based",
                spec.good_for,
            ]
            sl.add_option(
                Selection(table_row(MODEL_HEADER, texts), name, name in self.selected_models)
            )
        self._model_detail(self._highlighted(sl))

    @on(SelectionList.SelectionHighlighted, "#cl-models")
    def _model_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._model_detail(event.selection.value)

    def _model_detail(self, name: str | None) -> None:
        base = cand.CATALOG[cand.BASELINE]
        parts: list[Any] = []
        if name in cand.CATALOG:
            spec = cand.CATALOG[name]
            parts += [(f"{name}: ", "bold $accent"), f"{spec.description}.\n"]
        parts += [
            (f"{cand.BASELINE}: ", "bold"),
            f"{base.description}; always trained, shown with every category, never ranked.\n",
            (
                "by epochs: partial_fit one epoch at a time, early stopping on a validation "
                "split, live macro-F1 per epoch. any script: character n-grams, safe when one "
                "model serves several languages; word-based needs spaces between words.",
                "$text-muted",
            ),
        ]
        self.query_one("#cl-model-detail", Static).update(Content.assemble(*parts))

    @on(SelectionList.SelectedChanged, "#cl-models")
    def _models_changed(self, event: SelectionList.SelectedChanged) -> None:
        chosen = set(event.selection_list.selected)
        self.selected_models = [n for n in cand.real_names() if n in chosen]
        self._rebuild()


CANDIDATES = Step("cl-step-models", "3 Candidates", "#cl-models", CandidatesStep.compose_candidates)
