"""The tabs of a step-by-step screen (the wizard, the classifier setup).

Textual's ``TabbedContent`` shows the pane of any widget that gets the focus. A focus
given before a screen moves to another step (the data file's field at start-up, say) can
reach the tabs after the move, and would bring the old step back. Here a pane is shown
for a focus only while the focus is still inside it.
"""

from __future__ import annotations

from textual.widgets import TabbedContent, TabPane


class StepTabs(TabbedContent):
    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.app.focused
        if focused is None or event.tab_pane not in focused.ancestors_with_self:
            event.stop()  # a stale focus: the screen has moved on since
            return
        super()._on_tab_pane_focused(event)
