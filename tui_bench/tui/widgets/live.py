"""The live view's panels: each one widget that renders itself from the live state.

Why flat widgets: the live view repaints a few times a second on the machine the model
runs on. Every widget repainted costs Textual a render of it *and* of every container
beneath it, and a widget that changes size makes it lay out the whole screen. So each
panel is one fixed-size widget (its own border, no nested containers) that draws all of
its lines in ``render()``, and repaints only when the screen's timer says the state moved.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

from rich.text import Text
from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

from tui_bench.tui.format import mem_kb, mem_mb, num, or_missing
from tui_bench.tui.state.base import LogLine
from tui_bench.tui.state.llm import LiveState, ModelLive
from tui_bench.tui.widgets.spark import spark_rows

STATUS_ICON = {
    "waiting": ("○", "$text-muted"),
    "loading": ("◌", "$warning"),
    "ready": ("●", "$primary"),
    "generating": ("●", "$success"),
    "done": ("✓", "$success"),
    "failed": ("✗", "$error"),
}
SPARK = "$primary on $boost"
SPARK_ALT = "$accent on $boost"
LOG_STYLE = {"error": "$error", "warning": "$warning", "ok": "$success"}


def median(xs: Sequence[float]) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def _spark(
    values: Sequence[float | None], width: int, height: int, upper: float | None, style: str
) -> list[Content]:
    return [Content.styled(row, style) for row in spark_rows(values, width, height, upper)]


class LiveView(Widget):
    """Base: holds the state; the screen calls :meth:`changed` when it moved."""

    def __init__(self, state: LiveState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state

    def changed(self) -> None:
        self.refresh()


class ModelsView(LiveView):
    """Per model: status and rates, a token-rate sparkline (tokens per 250 ms bucket,
    scaled to the model's own peak) and the TTFT of each request."""

    def model_head(self, m: ModelLive) -> Content:
        s = self.state
        icon, style = STATUS_ICON.get(m.status, ("•", "$foreground"))
        parts: list[Any] = [(f"{icon} ", style), (m.id, "bold")]
        if m.fallback:  # first: a narrow panel cuts the end of this line
            parts.append(("  ⚑ repack off", "$warning"))
        parts.append((f"  {m.status}", style))
        rate_now = s.current.decode_tps if s.current.model == m.id else None
        if m.status == "generating" and rate_now is not None:
            parts.append((f"  {num(rate_now, 0)} tok/s now", "$success"))
        parts.append(f"  p50 {num(median(m.decode_tps), 0)} tok/s")
        parts.append(f"  TTFT {num(m.ttft_ms[-1] if m.ttft_ms else None, 1)} ms")
        parts.append(f"  {m.n_ok}✓")
        if m.n_failed:
            parts.append((f" {m.n_failed}✗", "$error"))
        if m.error:
            parts.append((f"  {m.error}", "$error"))
        return Content.assemble(*parts)

    def render(self) -> RenderResult:
        width, height = self.content_size
        models = list(self.state.models.values())
        if not models or width <= 0 or height <= 0:
            return Content.styled("waiting for the run to start…", "$text-muted")
        n = len(models)
        # the most detail that fits: head + 2-row rate + TTFT + gap, or less
        spark_h, gap = (2, 1) if n * 5 <= height else (1, 0)
        full = n * (2 + spark_h + gap) <= height
        label = "TTFT/req "
        lines: list[Content] = []
        for m in models:
            lines.append(self.model_head(m))
            if not full and m.id != self.state.current.model:
                continue  # too many models for this height: heads only, but the current one
            lines += _spark(m.rates(), width, spark_h, None, SPARK)
            ttft = _spark(m.ttft_ms, width - len(label), 1, None, SPARK_ALT)
            lines.append(Content.assemble((label, "$text-muted"), *ttft))
            if gap:
                lines.append(Content(""))
        return Content("\n").join(lines[:height])


class MemoryView(LiveView):
    """RSS of the model's worker against total RAM; VRAM against total VRAM, or why none."""

    def render(self) -> RenderResult:
        s = self.state
        width, height = self.content_size
        spark_h = 2 if height >= 14 else 1
        gap = height >= 10
        lines: list[Content] = []
        worker: list[Any] = [("worker ", "bold"), or_missing(s.telemetry_model)]
        if s.cpu_percent is not None:
            worker.append(f" · CPU {num(s.cpu_percent, 0)}%")  # psutil: 100 per core
        lines.append(Content.assemble(*worker))
        rss = s.rss_kb[-1] if s.rss_kb else None
        total_kb = s.ram_total_kb
        if rss is None:
            lines.append(
                Content.assemble(
                    ("RAM ", "bold"),
                    ("no process sampled (simulated, or none loaded)", "$text-muted"),
                )
            )
        else:
            share = f" ({num(100 * rss / total_kb, 1)}%)" if total_kb else ""
            lines.append(
                Content.assemble(
                    ("RAM ", "bold"), f"RSS {mem_kb(rss)} of {mem_kb(total_kb)}{share}"
                )
            )
        lines += _spark(s.rss_kb, width, spark_h, float(total_kb) if total_kb else None, SPARK)
        if gap:
            lines.append(Content(""))
        if not s.gpu_available:
            lines.append(Content.assemble(("VRAM ", "bold"), ("unavailable", "$text-muted")))
            for row in textwrap.wrap(s.gpu_reason, max(10, width)):
                lines.append(Content.styled(row, "$warning"))
            return Content("\n").join(lines[:height])
        total = s.vram_total_mb
        used = s.vram_used_mb[-1] if s.vram_used_mb else None
        proc = s.vram_proc_mb[-1] if s.vram_proc_mb else None
        lines.append(
            Content.assemble(("VRAM ", "bold"), f"device {mem_mb(used)} of {mem_mb(total)}")
        )
        lines += _spark(s.vram_used_mb, width, spark_h, total, SPARK)
        energy = energy_line(s)
        if energy is not None:
            lines.append(energy)
        if gap:
            lines.append(Content(""))
        if s.vram_proc_seen and proc is not None:
            lines.append(
                Content.assemble(("VRAM ", "bold"), f"model {mem_mb(proc)} of {mem_mb(total)}")
            )
            lines += _spark(s.vram_proc_mb, width, spark_h, total, SPARK_ALT)
        else:  # never a zero the driver did not give
            note = s.vram_proc_note or "not reported by the driver"
            if s.vram_proc_seen and not s.vram_proc_note:
                note = f"n/a ({note})"  # read before, not now
            lines.append(Content.assemble(("VRAM ", "bold"), "model ", (note, "$text-muted")))
            if s.vram_proc_reason and s.vram_proc_note:
                for row in textwrap.wrap(s.vram_proc_reason, max(10, width))[:2]:
                    lines.append(Content.styled(row, "$text-muted"))
        if s.gpu_name and len(lines) < height:
            lines.append(Content.styled(s.gpu_name, "$text-muted"))
        return Content("\n").join(lines[:height])


def energy_line(s: LiveState) -> Content | None:
    """The GPUs' power now, the last request's energy per token and the slowdown reasons
    active now; None while the GPUs report none of these (no energy counter)."""
    parts: list[Any] = []
    if s.power.watts is not None:
        parts += [("power ", "bold"), f"{num(s.power.watts, 0)} W"]
    if s.last_j_per_token is not None:
        at = f" at {num(s.last_w, 0)} W" if s.last_w is not None else ""
        parts.append(f"{' · ' if parts else ''}last request {s.last_j_per_token:.3g} J/tok{at}")
    if s.throttle:
        parts.append((f"{' · ' if parts else ''}throttled: {', '.join(s.throttle)}", "$warning"))
    return Content.assemble(*parts) if parts else None


class TailView(Widget):
    """The last lines of the text being generated, wrapped to the widget's width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = ""

    def set_text(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.refresh()

    def render(self) -> RenderResult:
        width, height = self.content_size
        if width <= 0 or height <= 0:
            return ""
        # only the tail can be visible: wrap at most a screenful of characters
        tail = self._text[-(width * height * 2) :]
        lines = Text(tail).wrap(self.app.console, width)
        return Text("\n").join(lines[-height:])


class LogTail(Widget):
    """The newest log lines, wrapped, newest at the bottom.

    A ``RichLog`` grows its scrollable area on every line, which makes Textual lay out
    the whole screen (tens of ms each time); this widget has a fixed size and only
    repaints itself. Every line is also in the run's history and reports.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[LogLine] = []
        self._last_seq = -1

    def set_lines(self, lines: Iterable[LogLine]) -> None:
        shown = list(lines)[-200:]
        last = shown[-1].seq if shown else -1
        if last != self._last_seq:
            self._lines = shown
            self._last_seq = last
            self.refresh()

    def render(self) -> RenderResult:
        width, height = self.content_size
        if width <= 0 or height <= 0:
            return ""
        rows: list[Content] = []
        for line in reversed(self._lines):
            style = LOG_STYLE.get(line.level, "")
            wrapped = textwrap.wrap(line.text, width, subsequent_indent="  ") or [""]
            rows[:0] = [Content.styled(w, style) for w in wrapped]
            if len(rows) >= height:
                break
        return Content("\n").join(rows[-height:])
