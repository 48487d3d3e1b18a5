"""Number and text formatting shared by the screens (no benchmark logic)."""

from __future__ import annotations

from textual.content import Content

from tui_bench.core.errors import TuiBenchError


def error_text(exc: BaseException | None) -> str:
    """A worker's error as one line: tui-bench's own errors as they are, others with
    their type."""
    if exc is None:
        return "unknown error"
    if isinstance(exc, TuiBenchError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def mem_kb(kb: float | None) -> str:
    if kb is None:
        return "–"
    mb = kb / 1024
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def mem_mb(mb: float | None) -> str:
    if mb is None:
        return "–"
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 0.1:
        return "< 0.1 s"
    s = round(seconds)
    if s < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def when(iso: str | None) -> str:
    return "–" if not iso else iso[:19].replace("T", " ")


def styled(text: str, style: str) -> Content:
    """Plain text (never parsed as markup) in a theme style such as ``$error``."""
    return Content.styled(text, style)


STATUS_STYLE = {
    "completed": "$success",
    "running": "$primary",
    "cancelled": "$warning",
    "interrupted": "$warning",
    "failed": "$error",
}


def status_content(status: str) -> Content:
    return styled(status, STATUS_STYLE.get(status, "$foreground"))


VERDICT_STYLE = {
    "faster": "$success bold",
    "slower": "$error bold",
    "no significant difference": "italic",
    "not enough data": "$warning",
}


def verdict_content(verdict: str) -> Content:
    return styled(verdict, VERDICT_STYLE.get(verdict, "$foreground"))
