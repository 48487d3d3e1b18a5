"""Text formatting shared by the screens (no benchmark logic): memory, durations, times
and styled text. Numbers, the missing-value mark and cell names come from
``tui_bench.core.fmt`` (re-exported here), so a screen reads like the report it shows."""

from __future__ import annotations

from textual.content import Content

from tui_bench.core.errors import TuiBenchError
from tui_bench.core.fmt import MISSING as MISSING
from tui_bench.core.fmt import cell_name as cell_name
from tui_bench.core.fmt import num as num
from tui_bench.core.fmt import or_missing as or_missing
from tui_bench.core.fmt import pct as pct
from tui_bench.core.fmt import score as score
from tui_bench.core.fmt import signed as signed
from tui_bench.core.fmt import signed_pct as signed_pct


def error_text(exc: BaseException | None) -> str:
    """A worker's error as one line: tui-bench's own errors as they are, others with
    their type."""
    if exc is None:
        return "unknown error"
    if isinstance(exc, TuiBenchError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def mem_kb(kb: float | None) -> str:
    """Memory counted in KiB (psutil's RSS // 1024), in MiB or GiB like :func:`mem_mb`."""
    return mem_mb(None if kb is None else kb / 1024)


def mem_mb(mb: float | None) -> str:
    """Memory counted in MiB (NVML's bytes / 1024²): ``531 MiB``, ``2.7 GiB``. Binary
    units, named as such, as in the reports; a figure that would round to 1,024 MiB is
    already shown in GiB."""
    if mb is None:
        return MISSING
    return f"{num(mb / 1024, 1)} GiB" if round(mb) >= 1024 else f"{num(mb, 0)} MiB"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
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
    return MISSING if not iso else iso[:19].replace("T", " ")


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
    "within noise": "italic",
    "no significant difference": "italic",
    "not enough data": "$warning",
}


def verdict_content(verdict: str) -> Content:
    return styled(verdict, VERDICT_STYLE.get(verdict, "$foreground"))
