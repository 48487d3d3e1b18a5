"""The dialog that picks the candidate to train as the final model, each offered with
its rank and macro-F1 in every category it was benchmarked on."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_bench.tui.screens.classify_results.ranking import score


def pick_options(result: Any, models: list[str], language: str | None) -> list[tuple[str, Content]]:
    """(model, its line: rank and macro-F1 in each category it was benchmarked on)."""
    out = []
    for model in models:
        bits: list[Any] = [(f"{model:<15}", "bold")]
        for row in result.rows:
            if row.model != model or (language is not None and row.language != language):
                continue
            rank = row.medal or (f"{row.rank}." if row.rank else "✗")
            bits.append(f"  {rank} {row.category} {score(row.f1_macro)}")
        out.append((model, Content.assemble(*bits)))
    return out


class PickModelScreen(ModalScreen[str | None]):
    """Choose one candidate: enter picks the highlighted one, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="classify-pick.cancel"),
    ]

    def __init__(
        self, options: list[tuple[str, Content]], title: str, preferred: str | None = None
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.options = options
        self.title_text = title
        self.preferred = preferred

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog clpick-dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield Static(
                Content.styled(
                    "rank and macro-F1 in each category · enter picks, escape cancels",
                    "$text-muted",
                ),
                classes="dialog-body",
            )
            yield OptionList(
                *(Option(text, id=model) for model, text in self.options), id="clpick-list"
            )

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        models = [m for m, _ in self.options]
        if self.preferred in models:
            ol.highlighted = models.index(self.preferred)
        elif models:
            ol.highlighted = 0
        ol.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
