"""``results.csv`` of an LLM run: one row per request, the raw figures of data.json flat.

Columns: the record's, its engine counters, its flags, its energy; then, in a run with
load levels, the level columns (core/load/report.py); with a price table, its cost; then
one column per quality score.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from tui_bench.core import report_energy
from tui_bench.core.load import report as load_report
from tui_bench.core.redact import home_relative
from tui_bench.core.results import RequestRecord

CSV_COLUMNS = [
    "run_id", "seq", "model", "prompt", "task", "repeat", "warmup", "ok", "error",
    "finish_reason", "started_at", "ttfr_ms", "ttft_ms", "e2e_ms", "tpot_ms", "decode_tps",
    "prefill_tps", "n_in", "n_in_source", "n_out", "n_out_source", "load_ms", "peak_rss_kb",
    "vram_peak_mb", "vram_proc_peak_mb", "engine_n_p_eval", "engine_t_p_eval_ms",
    "engine_n_eval", "engine_t_eval_ms", "engine_n_sample", "engine_t_sample_ms",
    "engine_decode_tps", "flags", *report_energy.CSV_COLUMNS,
]  # fmt: skip


def write_csv(
    records: Sequence[RequestRecord],
    path: Path,
    *,
    costs: dict[int, tuple[float, str]] | None = None,  # seq -> cost; None: no price table
) -> None:
    qkeys = sorted({k for r in records for k in r.quality})
    priced = ["cost", "cost_currency"] if costs is not None else []
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        levels = load_report.csv_header(records)
        w.writerow(CSV_COLUMNS + levels + priced + [f"quality_{k}" for k in qkeys])
        for r in records:
            d = r.to_dict(raw=False)
            e = d["engine"] or {}
            row = [r.run_id] + [d[c] for c in CSV_COLUMNS[1:25]]
            row += [e.get("n_p_eval"), e.get("t_p_eval_ms"), e.get("n_eval"), e.get("t_eval_ms")]
            row += [
                e.get("n_sample"),
                e.get("t_sample_ms"),
                d["engine_decode_tps"],
                ";".join(r.flags),
            ]
            row += [d[c] for c in report_energy.CSV_COLUMNS]
            row += load_report.csv_values(levels, d)
            if costs is not None:
                row += list(costs.get(r.seq, (None, None)))
            row += [d["quality"].get(k) for k in qkeys]
            w.writerow(
                ["" if v is None else home_relative(v) if isinstance(v, str) else v for v in row]
            )
