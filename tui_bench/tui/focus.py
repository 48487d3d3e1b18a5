"""Moving the focus into a step that was just shown.

A widget in a tab pane made visible this very moment may not take the focus yet (it is
not displayed until the next layout); on a loaded machine that can take a few frames.
:func:`focus_soon` tries after the next refresh and again for a short while, and stops as
soon as the focus is anywhere in that pane, once the focus moved anywhere else (the user
went on), or once another pane is shown (a later step change wins over an earlier one).
"""

from __future__ import annotations

from textual.widget import Widget

RETRIES = 20
RETRY_S = 0.05


def focus_soon(target: Widget, pane: Widget) -> None:
    before = target.app.focused

    def done() -> bool:
        focused = target.app.focused
        if focused is not before:
            return True  # focused by now, by this or by anyone
        return focused is not None and (focused is pane or pane in focused.ancestors_with_self)

    def attempt(left: int) -> None:
        if done() or not target.is_attached or not pane.display:
            return
        target.focus()
        if left > 0:
            target.set_timer(RETRY_S, lambda: attempt(left - 1))

    target.call_after_refresh(attempt, RETRIES)
