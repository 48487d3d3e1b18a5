"""Cheap text widgets for a view that repaints several times a second.

``Static.update`` asks for a layout of the whole screen on every call (its size may
change); at 4 Hz with a dozen labels that is most of the live view's CPU time, taken
from the machine the model runs on. :class:`Line` has a fixed size from CSS and only
repaints itself, and only when its content changed.
"""

from __future__ import annotations

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget


class Line(Widget):
    DEFAULT_CSS = """
    Line { height: 1; width: 1fr; }
    """

    def __init__(
        self, content: Content | str = "", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._content: Content = Content(content) if isinstance(content, str) else content

    @property
    def content(self) -> Content:
        return self._content

    def set(self, content: Content | str) -> None:
        new = Content(content) if isinstance(content, str) else content
        if new.plain == self._content.plain and new.spans == self._content.spans:
            return
        self._content = new
        self.refresh()

    def render(self) -> RenderResult:
        return self._content


def bar(done: int, total: int, width: int) -> Content:
    """A progress bar in theme colours: ``━━━━━━╸━━━━  42%``."""
    total = max(1, total)
    frac = min(1.0, max(0.0, done / total))
    cells = max(1, width - 5)
    filled = int(frac * cells)
    rest = cells - filled
    return Content.assemble(
        ("━" * filled, "$primary"),
        ("╸" if rest > 0 else "", "$primary"),
        ("━" * max(0, rest - 1), "$foreground 20%"),
        f" {100 * frac:3.0f}%",
    )
