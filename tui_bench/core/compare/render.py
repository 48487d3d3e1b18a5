"""The gate's result as text: compare.md (also ``--format markdown``), the terminal table,
compare.json, and the method that says how each figure was obtained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui_bench.core.compare.gate import METHOD, GateResult, GroupResult, MetricResult
from tui_bench.core.fmt import MISSING, num, signed_pct
from tui_bench.core.redact import home_relative, redact
from tui_bench.core.summary import METRIC


def value(m: MetricResult, v: float | None) -> str:
    if v is None:
        return MISSING
    if m.metric == "success_rate":
        return f"{100 * v:.1f}%"
    if m.metric.startswith("quality."):
        return num(v, 3)
    return num(v, METRIC[m.metric].digits if m.metric in METRIC else 2)


def ci(m: MetricResult) -> str:
    return MISSING if m.ci95 is None else f"[{signed_pct(m.ci95[0])}, {signed_pct(m.ci95[1])}]"


def mde(m: MetricResult) -> str:
    if m.mde is not None:
        return f"−{100 * m.mde:.1f}%" if m.metric == "success_rate" else f"±{100 * m.mde:.1f}%"
    return f"none ({m.mde_note})" if m.mde_note else MISSING


def verdict(m: MetricResult, threshold: float | None) -> str:
    if m.regression and threshold is not None:
        return f"{m.verdict}: REGRESSION (beyond {100 * threshold:g}%)"
    return m.verdict


CHANGED = frozenset({"faster", "slower", "better", "worse"})
HEADERS = ["metric", "better", "n", "baseline", "candidate", "Δ", "95% CI", "p", "MDE", "verdict"]


def rows(g: GroupResult, threshold: float | None) -> list[list[str]]:
    return [
        [
            f"{m.label} ({m.unit})",
            "higher" if m.higher_is_better else "lower",
            f"{m.n_baseline}/{m.n_candidate}",
            value(m, m.baseline),
            value(m, m.candidate),
            signed_pct(m.rel_diff),
            ci(m),
            MISSING if m.p_value is None else f"{m.p_value:.3g}",
            mde(m),
            verdict(m, threshold if g.task is None else None),
        ]
        for m in g.metrics
    ]


def head_lines(r: GateResult) -> list[str]:
    out = [f"baseline: {r.baseline.describe()}", f"candidate: {r.candidate.describe()}"]
    out += [f"caveat: {c}" for c in r.caveats]
    if r.pairing:
        out.append(f"paired: {r.pairing}")
    if r.only_in_baseline:
        out.append("only in the baseline: " + ", ".join(r.only_in_baseline))
    if r.only_in_candidate:
        out.append("only in the candidate: " + ", ".join(r.only_in_candidate))
    if not r.models:
        out.append("no model in common between the two runs")
    return out


def gate_line(r: GateResult) -> str:
    if r.threshold is None:
        return "gate: none (--fail-if-regression sets one)"
    limit = f"{100 * r.threshold:g}%"
    if not r.regressions:
        return f"gate: PASS: no metric regressed significantly beyond {limit}"
    found = "; ".join(f"{g.model} {m.metric} {signed_pct(m.rel_diff)}" for g, m in r.regressions)
    return f"gate: FAIL: {len(r.regressions)} regression(s) beyond {limit}: {found}"


def _md_table(header: list[str], body: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    return out


def markdown(r: GateResult) -> str:
    lines = ["# tui-bench compare", ""]
    lines += [f"- {line}" for line in head_lines(r)]
    lines += [f"- **{gate_line(r)}**", ""]
    for g in r.models:
        lines += [f"## {g.model}", ""]
        lines += _md_table(HEADERS, rows(g, r.threshold))
        lines.append("")
        for t in (t for t in r.tasks if (t.model_baseline, t.model_candidate) == (g.model_baseline, g.model_candidate)):  # fmt: skip
            lines += [f"### {g.model}, task {t.task} (diagnosis, not gated)", ""]
            lines += _md_table(HEADERS, rows(t, None))
            lines.append("")
    lines += ["## Method", ""]
    lines += [f"- **{k}**: {v}" for k, v in METHOD.items()]
    return "\n".join(lines) + "\n"


def narrow(title: str, metrics: list[MetricResult], threshold: float | None, width: int) -> str:
    """Metrics that do not fit ``width`` columns as a table, as lines: ``title``, then per
    metric its figures, and its verdict and MDE on the same line when they fit, else
    under them (wrapped within ``width``)."""
    import textwrap

    lines = [title]
    for m in metrics:
        head = f"  {m.label} ({m.unit}) {'↑' if m.higher_is_better else '↓'}: "
        if m.verdict == "not measured":
            lines.append(head + m.verdict)
            continue
        p = MISSING if m.p_value is None else f"{m.p_value:.3g}"
        figures = (
            f"{head}{value(m, m.baseline)} → {value(m, m.candidate)}, {signed_pct(m.rel_diff)} "
            f"{ci(m)}, p {p}, n {m.n_baseline}/{m.n_candidate}"
        )
        detectable = mde(m) if m.mde is not None or not m.mde_note else f"none: {m.mde_note}"
        tail = f"{verdict(m, threshold)} (MDE {detectable})"
        if len(figures) + 3 + len(tail) <= width:
            lines.append(f"{figures} · {tail}")
            continue
        lines += textwrap.wrap(figures, width, subsequent_indent=" " * 6)
        lines += textwrap.wrap(tail, width, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return "\n".join(lines)


def terminal(r: GateResult, table: Any, width: int | None = None) -> str:
    """Plain text: the head, the per-model table (``table`` renders headers + rows), what
    changed per task type, and the gate's line last. With a terminal ``width`` the table
    does not fit (about 120 columns and more), a model's metrics are listed under it,
    one or two lines each."""
    parts = ["\n".join(head_lines(r))]
    if r.models:  # one table, the model on every line: greppable in a CI log
        body = [[g.model, *row] for g in r.models for row in rows(g, r.threshold)]
        wide = table(["model", *HEADERS], body)
        if width is not None and max(map(len, wide.splitlines())) > width:
            wide = "\n\n".join(
                narrow(f"{g.model} (↑ higher is better, ↓ lower)", g.metrics, r.threshold, width)
                for g in r.models
            )
        parts.append(wide)
    if r.tasks:
        # per task type only what changed: the full tables are in compare.md
        changed = [
            [t.model, t.task, *row]
            for t in r.tasks
            for m, row in zip(t.metrics, rows(t, None), strict=True)
            if m.verdict in CHANGED
        ]
        title = f"per task type ({len(r.tasks)} model × task groups, not gated)"
        wide = table(["model", "task", *HEADERS], changed) if changed else ""
        if changed and width is not None and max(map(len, wide.splitlines())) > width:
            wide = "\n".join(
                narrow(f"{t.model}, task {t.task}", kept, None, width)
                for t in r.tasks
                if (kept := [m for m in t.metrics if m.verdict in CHANGED])
            )
        if changed:
            parts.append(f"{title}: changes\n" + wide)
        else:
            parts.append(f"{title}: no significant change")
    parts.append(gate_line(r))
    return "\n\n".join(parts)


def to_json(r: GateResult) -> dict[str, Any]:
    return redact(r.as_dict())


def write(r: GateResult, output: Path) -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    md, js = output / "compare.md", output / "compare.json"
    md.write_text(home_relative(markdown(r)), encoding="utf-8")
    js.write_text(json.dumps(to_json(r), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [md, js]
