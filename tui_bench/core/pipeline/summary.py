"""The pipeline's lines for people: one per question as it finishes, and the summary
(stage times and shares, the bottleneck, each threshold's verdict). Front ends print
them; the core only words them."""

from __future__ import annotations

from typing import Any

from tui_bench.core.fmt import MISSING, num, pct, score
from tui_bench.core.pipeline.result import PipelineResult


def question_line(index: int, total: int, q: dict[str, Any]) -> str:
    """``[i/n] q01 (billing): retrieve 2.1 ms 1% | classify ... | e2e ... ok``"""
    parts = [
        f"{stage} {num(span['wall_ms'], 1)} ms {pct(span['share'])}"
        for stage, span in q["spans"].items()
    ]
    facts = []
    metrics = (q.get("retrieve") or {}).get("metrics") or {}
    ndcg = metrics.get("ndcg_time@10")
    if ndcg is None:
        ndcg = metrics.get("ndcg@10")
    if q.get("retrieve"):
        facts.append(f"nDCG@10 {score(ndcg)}")
    if q.get("classify"):
        c = q["classify"]
        mark = "right" if c["correct"] else "wrong"
        facts.append(f"label {c['label']} ({score(c['confidence'])}, {mark})")
    if q.get("generate"):
        g = q["generate"]
        facts.append(f"TTFT {num(g['ttft_ms'], 1)} ms, {num(g['decode_tps'], 1)} tok/s")
        contains = g["quality"].get("contains")
        if contains is not None:
            facts.append(f"contains {score(contains)}")
    verdict = "ok" if q["success"] else f"failed: {q['error']}"
    width = len(str(total))
    return (
        f"[{index:>{width}}/{total}] {q['id']} ({q['label'] or MISSING}): "
        + " | ".join(parts)
        + f" | e2e {num(q['e2e_ms'], 1)} ms; "
        + "; ".join(facts)
        + f"; {verdict}"
    )


def summary_lines(result: PipelineResult) -> list[str]:
    """The run's summary: a line per stage, the bottleneck, a line per threshold, the verdict."""
    lines = []
    for stage, row in result.stage_table().items():
        w, s = row["wall_ms"], row["share"]
        lines.append(
            f"[stage] {stage}: median {num(w['median'], 2)} ms, p90 {num(w['p90'], 2)} ms, "
            f"share median {pct(s['median'])} (setup {num(row['setup_ms'], 1)} ms, n {row['n']})"
        )
    for stage, setup in result.setup.items():
        if setup.get("skipped"):
            lines.append(f"[stage] {stage}: skipped ({setup['skipped']})")
    lines.append(f"[bottleneck] {result.bottleneck_sentence()}")
    for t in result.thresholds():
        verdict = {True: "pass", False: "BELOW", None: "not judged"}[t["passed"]]
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(
            f"[threshold] {t['metric']}{note}: {score(t['value'])} vs {score(t['threshold'])}: "
            f"{verdict}"
        )
    verdict = "PASS" if result.passed() else "FAIL"
    lines.append(
        f"[pipeline] {result.scenario['id']}: {result.status}, success rate "
        f"{pct(result.success_rate())}, {verdict}"
    )
    return lines
