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


def clock(seconds: float) -> str:
    """m:ss, whole seconds: a status line changes once a second, not every repaint."""
    m, sec = divmod(int(seconds), 60)
    return f"{m}:{sec:02d}"


def set_with_bar(line: Line, left: Content, done: int, total: int, *, max_bar: int) -> None:
    """``line`` shows ``left`` (cut with an ellipsis when too long) and, flush right, a
    progress bar a third of the width (12 to ``max_bar`` cells)."""
    width = line.content_size.width or 80
    bar_width = min(max_bar, max(12, width // 3))
    room = width - bar_width - 1
    if left.cell_length > room:
        left = left.truncate(max(0, room - 1), ellipsis=True)
    pad = " " * max(1, width - left.cell_length - bar_width)
    line.set(Content.assemble(left, pad, bar(done, total, bar_width)))
