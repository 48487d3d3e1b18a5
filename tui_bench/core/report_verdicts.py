"""The verdicts of an LLM run's reports: places per metric that must beat chance
(:mod:`tui_bench.core.medals`) and the quality/speed recommendations per task type
(:mod:`tui_bench.core.recommend`), as data.json fields and report.md sections.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tui_bench.core.fmt import MISSING, num
from tui_bench.core.medals import RANKED, TASK_METRICS, Placing, evidence, placings, task_winners
from tui_bench.core.recommend import recommendations
from tui_bench.core.results import RequestRecord
from tui_bench.core.summary import METRIC, RunSummary

RULE = (
    "A model has a place of its own only when the 95% bootstrap interval of the difference "
    "of medians to the best model of the place above excludes zero and does not lie within "
    "±1% (as `tui-bench compare` computes it, with the Mann-Whitney p-value beside it); "
    "otherwise it shares that place: **tied**. A place is counted as in sport (two tied "
    "first, the next is third); a model alone is first without a medal."
)


def json_fields(summary: RunSummary, records: Sequence[RequestRecord]) -> dict[str, Any]:
    """data.json's ``medals`` (per ranked metric), ``task_winners`` and ``recommendations``."""
    medals = {
        m: [p.as_dict(METRIC[m].json_digits) for p in placings(records, summary.models, m)]
        for m in RANKED
    }
    winners = [
        w for m in TASK_METRICS for w in task_winners(records, summary.models, summary.tasks, m)
    ]
    return {
        "medals": medals,
        "task_winners": winners,
        "recommendations": [a.as_dict() for a in recommendations(summary, records)],
    }


def place_text(p: Placing) -> str:
    """🥇, ``🥈 tied``, ``4.``, ``4. tied``; the missing mark without a place."""
    if p.place is None:
        return MISSING
    text = p.medal or f"{p.place}."
    return f"{text} tied" if p.tied else text


def medals_markdown(summary: RunSummary, records: Sequence[RequestRecord]) -> list[str]:
    """The places per metric, with the evidence for each; nothing with a single model."""
    if len(summary.models) < 2:
        return []
    rows = []
    for metric in RANKED:
        spec = METRIC[metric]
        for i, p in enumerate(placings(records, summary.models, metric)):
            rows.append(
                [
                    f"{spec.label} ({spec.unit})" if i == 0 else "",
                    place_text(p),
                    p.model,
                    num(p.median, spec.digits),
                    str(p.n),
                    evidence(p) or MISSING,
                ]
            )
    lines = ["## Places per metric (medals only where the difference beats chance)", "", RULE, ""]
    header = ["metric", "place", "model", "median", "n", "difference of medians"]
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return [*lines, ""]


def per_task_markdown(summary: RunSummary, records: Sequence[RequestRecord]) -> list[str]:
    """Fastest decoding per task type (places, ties said) and the quality/speed advice."""
    lines: list[str] = []
    winners = task_winners(records, summary.models, summary.tasks, "decode_tps")
    if winners and len(summary.models) > 1:
        lines += ["Fastest decoding per task (median tok/s; `=` a tie, `>` a difference):", ""]
        lines += [f"- **{w['task']}**: {w['text']}" for w in winners]
        lines.append("")
    advice = recommendations(summary, records)
    if advice:
        lines += [
            "## Quality against speed per task type",
            "",
            "Per task type, the models no other model beats on both quality (mean composite "
            "score, compared to two decimals) and speed (median decode tok/s, faster only with "
            "a place of its own on the task, as above; tied speeds are as fast): the Pareto "
            "front, best quality first; a dominated model is no better on either and worse on "
            "one. Without quality scores there is nothing to weigh: speed only.",
            "",
        ]
        lines += [f"- {a.text}" for a in advice]
        lines.append("")
    return lines
