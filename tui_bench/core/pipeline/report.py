"""A pipeline run's files: ``report.md`` (stage times and shares, the bottleneck, quality
per stage against the scenario's thresholds, a line per question) and ``data.json``
(everything, from :meth:`PipelineResult.to_dict`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui_bench.core.fmt import MISSING, num, pct, score
from tui_bench.core.pipeline.result import PipelineResult
from tui_bench.core.redact import home_relative, redact


def write_reports(result: PipelineResult, output_dir: str | Path) -> list[Path]:
    """Write both files; raises OSError when the folder or a file cannot be written."""
    return write_reports_from_data(result.to_dict(), output_dir)


def write_reports_from_data(d: dict[str, Any], output_dir: str | Path) -> list[Path]:
    """Both files from a result's dict: the live one, or the one history keeps (the same
    files, byte for byte)."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    data, md = out / "data.json", out / "report.md"
    payload = json.dumps(redact(d), indent=2, ensure_ascii=False, default=str)
    data.write_text(payload + "\n", encoding="utf-8")
    md.write_text(home_relative(render_markdown(d)), encoding="utf-8")
    return [md, data]


def _esc(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(d: dict[str, Any]) -> str:
    """report.md from a result's dict (``PipelineResult.to_dict()``)."""
    sc = d["scenario"]
    verdict = "PASS" if d["passed"] else ("FAIL" if d["status"] == "completed" else d["status"])
    lines = [
        f"# Pipeline: {sc['id']}",
        "",
        f"{_esc(sc['description'])}",
        "",
        f"- status: {d['status']}, verdict: **{verdict}**",
        f"- started {d['started_at']}, finished {d['finished_at'] or MISSING}",
        f"- questions: {len(d['questions'])} of {sc['tasks_total']}",
        f"- stages: {' → '.join(d['stages'])}"
        + (
            f" (skipped: {', '.join(s for s in d['stages'] if s not in d['ran'])})"
            if len(d["ran"]) < len(d["stages"])
            else ""
        ),
        f"- model: {d['config']['model']}, max_tokens {d['config']['max_tokens']}",
        *_retriever_line(d),
        f"- success rate: {pct(d['success_rate'])}",
        "",
        "## Time per stage",
        "",
        "A stage's span is its wall time for one question; a question's end-to-end time is "
        "the sum of its spans, and a stage's share is its span over that sum. CPU: this "
        "process's CPU time (in-process stages); RSS: the model worker's peak.",
        "",
        "| stage | setup ms | n | median ms | p90 ms | mean ms | CPU median ms "
        "| median share | p90 share | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for stage, row in d["stage_table"].items():
        cpu = row["cpu_ms"]["median"] if row["cpu_ms"] else None
        rss = row["peak_rss_kb"] / 1024 if row["peak_rss_kb"] else None
        lines.append(
            f"| {stage} | {num(row['setup_ms'], 1)} | {row['n']} | {num(row['wall_ms']['median'], 2)} "
            f"| {num(row['wall_ms']['p90'], 2)} | {num(row['wall_ms']['mean'], 2)} | {num(cpu, 2)} "
            f"| {pct(row['share']['median'])} | {pct(row['share']['p90'])} | {num(rss, 0)} |"
        )
    for stage, setup in d["setup"].items():
        if setup.get("skipped"):
            lines.append(f"| {stage} | skipped: {_esc(setup['skipped'])} |||||||||")
    lines += ["", f"**{d['bottleneck']['sentence']}**", ""]
    lines += _quality(d)
    lines += _questions(d)
    return "\n".join(lines) + "\n"


def _retriever_line(d: dict[str, Any]) -> list[str]:
    """Which retriever ran (its method as the run recorded it); none without the stage."""
    detail = (d["setup"].get("retrieve") or {}).get("detail") or {}
    if not detail.get("method"):
        return []
    line = f"- retriever: {_esc(detail['method'])}, top-k {detail.get('top_k')}"
    emb = detail.get("embedder") or {}
    if emb:
        line += f"; embedder {_esc(emb.get('source'))}, {emb.get('n_embd')} dimensions"
        if emb.get("fallback"):
            line += f" ({_esc(emb['fallback'])})"
    return [line]


def _quality(d: dict[str, Any]) -> list[str]:
    lines = [
        "## Quality per stage",
        "",
        "| metric | value | threshold | verdict |",
        "|---|---:|---:|---|",
    ]
    judged = set()
    for t in d["thresholds"]:
        judged.add(t["key"])
        verdict = {True: "pass", False: "**below**", None: "not judged"}[t["passed"]]
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(
            f"| {t['metric']}{note} | {score(t['value'])} | {score(t['threshold'])} | {verdict} |"
        )
    for stage, metrics in d["quality"].items():
        for name, value in metrics.items():
            if name != "n" and name not in judged and isinstance(value, float | int | type(None)):
                lines.append(f"| {stage}: {name} | {score(value)} | {MISSING} | {MISSING} |")
    gen = [q["generate"] for q in d["questions"] if q["generate"]]
    if gen:
        ttft = sorted(g["ttft_ms"] for g in gen if g["ttft_ms"] is not None)
        tps = sorted(g["decode_tps"] for g in gen if g["decode_tps"] is not None)
        lines += [
            "",
            f"Generate: median TTFT {num(_median(ttft), 1)} ms, median decode "
            f"{num(_median(tps), 1)} tok/s over {len(gen)} request(s).",
        ]
    return [*lines, ""]


def _median(xs: list[float]) -> float | None:
    import statistics

    return statistics.median(xs) if xs else None


def _questions(d: dict[str, Any]) -> list[str]:
    stages = d["ran"]
    head = "| question | label | " + " | ".join(f"{s} ms (share)" for s in stages)
    lines = [
        "## Questions",
        "",
        head + " | e2e ms | nDCG@10 | predicted | contains | ok |",
        "|---|---|" + "---:|" * (len(stages) + 3) + "---|---|",
    ]
    for q in d["questions"]:
        cells = []
        for s in stages:
            sp = q["spans"].get(s)
            cells.append(f"{num(sp['wall_ms'], 2)} ({pct(sp['share'])})" if sp else MISSING)
        metrics = (q["retrieve"] or {}).get("metrics", {})
        ndcg = metrics.get("ndcg_time@10", metrics.get("ndcg@10"))
        if ndcg is None:
            ndcg = metrics.get("ndcg@10")
        cls = q["classify"]["label"] if q["classify"] else MISSING
        contains = (q["generate"] or {}).get("quality", {}).get("contains")
        ok = "yes" if q["success"] else f"no: {_esc(q['error'] or '')}"
        lines.append(
            f"| {q['id']} | {q['label'] or MISSING} | "
            + " | ".join(cells)
            + f" | {num(q['e2e_ms'], 1)} | {score(ndcg)} | {cls} | {score(contains)} | {ok} |"
        )
    return [*lines, ""]
