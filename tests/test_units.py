"""One unit per figure: what the report prints for a run's memory is what the TUI prints
for it (binary units, named as such); core/fmt's shapes the screens share."""

from __future__ import annotations

import re

import pytest

from tui_bench.core import fmt
from tui_bench.core.metrics import RawTiming
from tui_bench.core.report import RunData, render_markdown
from tui_bench.core.results import GenOutcome, build_record
from tui_bench.core.summary import METRIC
from tui_bench.tui import format as tui_format
from tui_bench.tui.widgets.ranking import _metric_cell

MS = 1_000_000
MIB_PER_UNIT = {"MiB": 1.0, "GiB": 1024.0}


def _run(rss_kb: int, vram_mb: float) -> RunData:
    """One model, two measured requests with the same memory peaks."""
    recs = []
    for seq in range(2):
        times = [10_000 * MS + 80 * MS + i * 8 * MS for i in range(8)]
        out = GenOutcome(
            raw=RawTiming(10_000 * MS, times[0], times, [1] * 8),
            n_out=8,
            finish_reason="length",
            peak_rss_kb=rss_kb,
        )
        recs.append(
            build_record(
                run_id=1,
                seq=seq,
                model="m",
                prompt="p",
                task="analysis",
                repeat=seq,
                warmup=False,
                started_at="2026-01-02T03:04:05+00:00",
                outcome=out,
                prompt_cache=False,
                load_ms=100.0,
                vram_peak_mb=vram_mb,
            )
        )
    run = {"id": 1, "plan": "units", "status": "completed", "threshold": 0.8}
    models = [{"id": "m", "backend": "llama_cpp", "info": {}}]
    return RunData(run=run, plan={"name": "units"}, models=models, records=recs)


def _report_cells(markdown: str) -> dict[str, str]:
    """The per-model table's cells of the one model, by column header."""
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    header = next(r for r in rows if "peak RSS" in r)
    values = rows[rows.index(header) + 1]
    return dict(zip(_cells(header), _cells(values), strict=True))


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip("|").split("|")]


def _mib(text: str) -> float:
    """``2,765 MiB`` or ``2.7 GiB`` in MiB; any other unit fails the test."""
    m = re.fullmatch(r"([\d,.]+) (MiB|GiB)", text)
    assert m, f"not a binary-unit memory figure: {text!r}"
    return float(m[1].replace(",", "")) * MIB_PER_UNIT[m[2]]


def test_report_and_tui_print_the_same_memory_in_the_same_unit() -> None:
    # 531 MiB of RSS (psutil/VmHWM count KiB), 2,765 MiB of VRAM (NVML bytes / 1024²)
    data = _run(rss_kb=531 * 1024 + 300, vram_mb=2765.4)
    cells = _report_cells(render_markdown(data))
    group = data.summary.per_model[0]
    tui_rss = _metric_cell(group, "peak_rss_kb", 0, set()).plain  # the ranking table's cell
    assert cells["peak RSS"] == tui_rss == "531 MiB"
    # the live view's VRAM figure: in GiB once past 1,024 MiB, the same amount
    tui_vram = tui_format.mem_mb(2765.4)
    assert (cells["peak VRAM"], tui_vram) == ("2,765 MiB", "2.7 GiB")
    assert _mib(tui_vram) == pytest.approx(_mib(cells["peak VRAM"]), abs=0.05 * 1024)
    # the metric's unit, as tables and the compare gate name it, is the report's unit
    assert METRIC["vram_peak_mb"].unit == "MiB" and METRIC["peak_rss_kb"].unit == "KiB"


def test_tui_memory_is_in_binary_units_named_as_such() -> None:
    assert tui_format.mem_kb(531 * 1024) == "531 MiB"
    assert tui_format.mem_kb(32 * 1024 * 1024) == "32.0 GiB"  # 32 GiB of RAM, in KiB
    assert tui_format.mem_mb(81_559) == "79.6 GiB"  # an H100's NVML total, in MiB
    # a figure that would round to 1,024 MiB is shown as the GiB it is
    assert tui_format.mem_mb(1023.6) == "1.0 GiB"
    assert tui_format.mem_mb(1023.4) == "1,023 MiB"
    assert tui_format.mem_kb(None) == tui_format.mem_mb(None) == fmt.MISSING


def test_signed_pct_is_a_signed_percentage_of_a_share() -> None:
    assert fmt.signed_pct(0.1234) == "+12.3%"
    assert fmt.signed_pct(-0.034) == "-3.4%"
    assert fmt.signed_pct(12.5, 0) == "+1,250%"
    assert fmt.signed_pct(None) == fmt.MISSING
