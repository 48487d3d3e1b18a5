"""Bar charts (textual-plotext) of a metric's median and slow tail per model, in theme colours."""

from __future__ import annotations

from textual.color import Color
from textual.content import Content
from textual_plotext import PlotextPlot


def _rgb(app_vars: dict[str, str], name: str) -> tuple[int, int, int] | str:
    """A theme colour as plotext wants it; plotext's default if the theme lacks it."""
    try:
        return Color.parse(app_vars[name]).rgb
    except Exception:  # a theme without that variable
        return "default"


class MetricChart(PlotextPlot):
    """p50 and p99 of one metric, one pair of bars per model."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._title = self._short = ""
        self._labels: list[str] = []
        self._p50: list[float] = []
        self._p99: list[float] = []

    def set_data(
        self,
        title: str,
        labels: list[str],
        p50: list[float | None],
        p99: list[float | None],
        short: str = "",
    ) -> None:
        """``short``: the title where ``title`` does not fit (plotext drops a title wider
        than its canvas: at 80 columns, two charts side by side)."""
        self._title, self._short = title, short
        self._labels = [label if len(label) <= 14 else label[:13] + "…" for label in labels]
        self._p50 = [v or 0.0 for v in p50]
        self._p99 = [v or 0.0 for v in p99]
        self._draw()

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._draw())
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.fitted_title())
        if self._labels:
            tv = self.app.theme_variables
            # no plotext legend: it is drawn over the bars; the screen shows one in theme colours
            plt.multiple_bar(
                self._labels,
                [self._p50, self._p99],
                color=[_rgb(tv, "primary"), _rgb(tv, "accent")],
                orientation="h",
            )
        self.refresh()

    def fitted_title(self) -> str:
        """The title, the short one, or the short one cut with "…": what plotext shows,
        a title no wider than the plot less its model names (measured on plotext 5)."""
        room = self.size.width - max((len(x) for x in self._labels), default=0)
        for text in (self._title, self._short):
            if text and len(text) <= room:
                return text
        text = self._short or self._title
        return text[: max(room - 1, 0)] + "…" if room > 1 else ""

    def on_resize(self) -> None:
        self._draw()  # the title that fits the new width


def legend(first: str, second: str) -> Content:
    """The key to a chart's two bars, in the colours the bars are drawn with."""
    return Content.assemble(("██", "$primary"), f" {first}   ", ("██", "$accent"), f" {second}")
