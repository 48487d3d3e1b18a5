"""Step 3 of the wizard: the prompts. Those of every catalog plan, and your own (an id,
a task type and the text; enter adds it, selected); space toggles.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from tui_bench.core.plan import TASK_TYPES
from tui_bench.tui import draft as d
from tui_bench.tui.screens.steps import Step
from tui_bench.tui.screens.wizard.base import WizardBase, highlighted_value, merge_choices
from tui_bench.tui.widgets.toggle_list import ToggleList


class PromptsStep(WizardBase):
    def compose_prompts(self) -> ComposeResult:
        with Vertical():
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

    def _refresh_prompts(self) -> None:
        self._syncing = True
        try:
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
        self._show_prompt_detail(highlighted_value(pl))

    @on(SelectionList.SelectedChanged, "#prompt-list")
    def _prompts_changed(self, event: SelectionList.SelectedChanged) -> None:
        if self._syncing:
            return
        self.selected_prompts = merge_choices(
            self.selected_prompts, event.selection_list.selected, self.prompts
        )
        self._rebuild()

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


PROMPTS = Step("step-prompts", "3 Prompts", "#prompt-list", PromptsStep.compose_prompts)
