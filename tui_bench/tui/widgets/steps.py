"""The tabs of a step-by-step screen (the wizard, the classifier setup).

Textual's ``TabbedContent`` shows the pane of any widget that gets the focus. A focus
given before a screen moves to another step (the data file's field at start-up, say) can
reach the tabs after the move, and would bring the old step back. Here a pane is shown
for a focus only while the focus is still inside it. And the tabs select their initial
pane when they mount: a step shown before that (preset data that loads at once) is shown
again afterwards.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from tui_bench.tui.focus import focus_soon


class StepTabs(TabbedContent):
    def __init__(self, *args: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.ready = False  # the initial pane has been activated
        self.pending: tuple[Screen, str, str] | None = None  # show_step before that

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
        if pending is not None and event.pane.id != pending[1]:
            self.call_later(show_step, pending[0], self, pending[1], pending[2])


def show_step(screen: Screen, tabs: TabbedContent, step: str, focus: str) -> None:
    """Show pane ``step`` of ``tabs`` and move the focus to ``focus`` (a selector) in it:
    now, so that a focus queued earlier cannot bring its step back, and again shortly if
    the pane could not take it yet."""
    if isinstance(tabs, StepTabs) and not tabs.ready:
        tabs.pending = (screen, step, focus)
    tabs.active = step
    target = screen.query_one(focus)
    screen.set_focus(target)
    focus_soon(target, screen.query_one(f"#{step}"))
