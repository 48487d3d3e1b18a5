"""The tabs of a step-by-step screen (the wizard, the classifier setup).

Textual's ``TabbedContent`` shows the pane of any widget that gets the focus. A focus
given before a screen moves to another step (the data file's field at start-up, say) can
reach the tabs after the move, and would bring the old step back. Here a pane is shown
for a focus only while the focus is still inside it. And the tabs select their initial
pane when they mount: a step shown before that (preset data that loads at once) is shown
again afterwards. (Moving the focus into a step is the screen's:
``tui_bench.tui.screens.steps.StepScreen.goto``.)
"""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import TabbedContent, TabPane


class StepTabs(TabbedContent):
    def __init__(self, *args: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.ready = False  # the initial pane has been activated
        self.pending: tuple[str, Callable[[], object]] | None = None  # show() before that

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.app.focused
        if focused is None or event.tab_pane not in focused.ancestors_with_self:
            event.stop()  # a stale focus: the screen has moved on since
            return
        super()._on_tab_pane_focused(event)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if self.ready or event.tabbed_content is not self:
            return
        self.ready = True
        pending, self.pending = self.pending, None
        if pending is not None and event.pane.id != pending[0]:
            self.call_later(pending[1])

    def show(self, step: str, again: Callable[[], object]) -> None:
        """Show pane ``step``. Before the initial pane has been activated, ``again`` (which
        shows ``step`` and focuses into it) runs once it has, unless that pane is ``step``."""
        if not self.ready:
            self.pending = (step, again)
        self.active = step
