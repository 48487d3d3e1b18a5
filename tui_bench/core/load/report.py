"""The load parts of a run's reports: per model a level table, the capacity sentence and
the knee in report.md; ``load`` in data.json; the level columns of results.csv.

Figures are computed here from the run's records and the levels' contexts
(:func:`~tui_bench.core.load.summary.summarize_level`), live or from history alike. A run
without load levels gets none of it (its files are as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui_bench.core.fmt import MISSING, num, pct
from tui_bench.core.load.capacity import KNEE_RULE, capacity, knee, knee_text
from tui_bench.core.load.summary import LevelSummary, summarize_levels
from tui_bench.core.results import RequestRecord

CSV_COLUMNS = ("level", "t_scheduled_ms", "dispatch_lag_ms", "queue_ms")


def csv_header(records: Sequence[RequestRecord]) -> list[str]:
    """The level columns, in a run that has load levels."""
    return list(CSV_COLUMNS) if any(r.level is not None for r in records) else []


def csv_values(header: Sequence[str], d: dict[str, Any]) -> list[Any]:
    """A record's level cells (``d``: its dict), for ``csv_header``'s columns."""
    return [d.get(c) for c in header]


def by_model(
    contexts: Sequence[dict[str, Any]], records: Sequence[RequestRecord]
) -> dict[str, list[LevelSummary]]:
    out: dict[str, list[LevelSummary]] = {}
    for s in summarize_levels(contexts, records):
        out.setdefault(s.model, []).append(s)
    return out


def _slo(levels: Sequence[LevelSummary]) -> dict[str, Any] | None:
    return levels[0].slo if levels else None


def to_json(contexts: Sequence[dict[str, Any]], records: Sequence[RequestRecord]) -> dict[str, Any]:
    models = by_model(contexts, records)
    return {
        "levels": [s.as_dict() for levels in models.values() for s in levels],
        "models": {
            m: {
                "capacity": capacity(m, levels, _slo(levels)),
                "knee": k.as_dict() if (k := knee(levels)) else None,
                "knee_text": knee_text(levels),
                "backend_serialises": any(s.serialises for s in levels),
            }
            for m, levels in models.items()
        },
        "rules": {"knee": KNEE_RULE, "latency": LATENCY_RULE, "resources": RESOURCE_RULE},
    }


def annotate_json(out: dict[str, Any], contexts: Sequence[dict[str, Any]], records: Any) -> None:
    """``out["load"]``, in a run that has load levels."""
    if contexts:
        out["load"] = to_json(contexts, records)


LATENCY_RULE = (
    "TTFT and end-to-end are measured from each request's scheduled send (open loop: its "
    "time in the arrival schedule; closed loop: when its user sent it), so time spent "
    "waiting for the client or for a backend slot counts (no coordinated omission); "
    "dispatch lag = t_send − t_scheduled, queue = the part of it spent waiting for a "
    "backend that serves fewer requests at once"
)
RESOURCE_RULE = (
    "requests overlap under load: peak RSS/VRAM and energy are measured over each level "
    "(one telemetry window from its first send to its end), not per request; J per output "
    "token = the level's joules / its output tokens"
)


def _p(d: dict[str, Any], digits: int = 0) -> str:
    if not d.get("n"):
        return MISSING
    return "/".join(num(d.get(k), digits) for k in ("p50", "p90", "p99"))


def _level_rows(levels: Sequence[LevelSummary], rate: bool) -> list[list[str]]:
    rows = []
    for s in levels:
        row = [
            s.name,
            str(s.sent),
            str(s.completed),
            str(s.failed),
            num(s.duration_s, 2),
            num(s.request_tps, 2),
            num(s.output_tps, 1),
            num(s.peak_output_tps, 0),
            num(s.achieved_concurrency, 2),
        ]
        if rate:
            row.append(f"{s.target:g} / {num(s.achieved_rate, 2)}")
        row += [
            _p(s.ttft_ms),
            _p(s.e2e_ms),
            num(s.itl_ms.get("p90"), 1),
            num(s.tpot_ms.get("p50"), 2),
            f"{num(s.dispatch_lag_ms.get('p50'), 1)} / {num(s.dispatch_lag_ms.get('p99'), 1)}",
            MISSING if s.goodput is None else f"{num(s.goodput, 2)}/s ({pct(s.good_share)})",
        ]
        rows.append(row)
    return rows


def _resource_rows(levels: Sequence[LevelSummary]) -> list[list[str]]:
    rows = []
    for s in levels:
        ctx = s.context
        win = ctx.get("window") or {}
        energy = ctx.get("energy") or {}
        server = ctx.get("server") or {}
        rss = win.get("peak_rss_kb")
        j = energy.get("energy_j")
        hit = server.get("cache_hit_rate")
        rows.append(
            [
                s.name,
                MISSING if rss is None else f"{rss / 1024:,.0f} MiB",
                MISSING if win.get("vram_peak_mb") is None else f"{win['vram_peak_mb']:,.0f} MiB",
                MISSING if j is None or not s.output_tokens else num(j / s.output_tokens, 4),
                f"{num(server.get('output_tokens'), 0)} / {s.output_tokens:,}"
                if "output_tokens" in server
                else MISSING,
                num(server.get("tokens_per_decode"), 2),
                pct(hit) if hit is not None else MISSING,
                num(server.get("queue_ms_mean"), 1),
                num(s.queue_ms.get("p50"), 1) if s.serialises else MISSING,
            ]
        )
    return rows


def markdown(contexts: Sequence[dict[str, Any]], records: Sequence[RequestRecord]) -> list[str]:
    if not contexts:
        return []
    lines = [
        "## Load levels",
        "",
        "Each model with a load table served its levels in order; the tables above pool every "
        "level's requests, the figures per level are these.",
        "",
    ]
    for model, levels in by_model(contexts, records).items():
        rate = levels[0].kind == "rate"
        ctx = levels[0].context
        how = (
            f"open loop, {ctx.get('arrival', 'poisson')} arrivals (seed {ctx.get('seed', 0)})"
            if rate
            else "closed loop (each user sends its next request when the last one ends)"
        )
        bounds = ctx.get("bounds") or {}
        bound = " or ".join(
            b
            for b in (
                f"{bounds['requests']} requests" if bounds.get("requests") else "",
                f"{bounds['duration_s']:g} s" if bounds.get("duration_s") else "",
            )
            if b
        )
        lines += [f"### `{model}`: {how}, each level {bound}", ""]
        header = ["level", "sent", "ok", "failed", "D s", "req/s", "out tok/s", "peak tok/s"]
        header += ["achieved concurrency"] + (["target / achieved req/s"] if rate else [])
        header += ["TTFT ms p50/p90/p99", "E2E ms p50/p90/p99", "ITL ms p90", "TPOT ms p50"]
        header += ["dispatch lag ms p50 / p99", "goodput (share)"]
        lines += _table(header, _level_rows(levels, rate))
        lines.append("")
        lines += _table(
            [
                "level",
                "peak RSS",
                "peak VRAM",
                "J / output token",
                "server / client output tokens",
                "server tokens per decode",
                "prefix cache hit rate",
                "server queue ms mean",
                "queue ms p50 (in tui-bench)",
            ],
            _resource_rows(levels),
        )
        lines += [
            "",
            f"- **Capacity**: {capacity(model, levels, _slo(levels))}",
            f"- **Knee**: {knee_text(levels)} ({KNEE_RULE})",
        ]
        lines += _notes(levels)
        lines.append("")
    lines += [
        "How these were measured:",
        "",
        f"- Latency: {LATENCY_RULE}.",
        "- D = the last token of any measured request − the first send; throughput = completed "
        "requests (output tokens) / D; peak tok/s = the most output tokens in one whole second "
        "from the first send; achieved concurrency = Σ (last token − scheduled send) / D over "
        "completed requests (Little's law).",
        "- Goodput = requests meeting every SLO / D (a failed or truncated request is never "
        "good); a level meets the SLOs when that share reaches the SLO's percentile.",
        "- A level bounded by time sends nothing after its end; requests then in flight are "
        "finished and counted. Warm-ups run before each level and are not counted.",
        f"- Resources: {RESOURCE_RULE}. The per-request text checks of quality are not run "
        "under load (they would run inside the measured window).",
        "",
    ]
    return lines


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table (as report.py draws them)."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]


def _notes(levels: Sequence[LevelSummary]) -> list[str]:
    out = []
    if any(s.serialises for s in levels):
        out.append(
            "- The backend serves one request at a time: the users queue in tui-bench and "
            "that wait (queue ms) is part of their latency."
        )
    if levels and levels[0].context.get("unique_prompts"):
        out.append("- Each prompt began with a random id line, so no prefix cache could serve it.")
    absent = next(
        (s.context["server"]["absent"] for s in levels if "absent" in s.context.get("server", {})),
        None,
    )
    if absent:
        out.append(f"- No server metrics: {absent}.")
    for s in levels:
        status = s.context.get("status", "completed")
        if status != "completed":
            out.append(f"- {s.name}: {status}.")
        if s.errors:
            errs = ", ".join(f"{n} × {e}" for e, n in s.errors.items())
            out.append(f"- {s.name}: failures by class: {errs}.")
    return out
