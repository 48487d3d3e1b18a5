"""Reports of an LLM run: ``report.md``, ``data.json`` and ``results.csv``.

The same :class:`RunData` comes from a live engine (the report sink) or from history
(``tui-bench report RUN_ID``), so a rebuilt report is identical to the original.
What the files hold passes through :mod:`tui_bench.core.redact` (no host name, paths
under the home folder as ``~/...``): reports are made to be shared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_bench.core import charts, report_appendix, report_energy, report_http, report_verdicts
from tui_bench.core.cost import annotate_json as annotate_cost
from tui_bench.core.cost import csv_costs
from tui_bench.core.cost import markdown as cost_markdown
from tui_bench.core.events import (
    Event,
    LevelFinished,
    ModelFailed,
    ModelLoaded,
    RequestFinished,
    RunFinished,
    RunStarted,
)
from tui_bench.core.fmt import MISSING, model_setup, num, pct
from tui_bench.core.gpu.facts import host_line as gpu_host_line
from tui_bench.core.load import report as load_report
from tui_bench.core.metrics import FLAG_TEXT
from tui_bench.core.redact import home_relative, public_host, redact
from tui_bench.core.report_csv import write_csv
from tui_bench.core.results import RequestRecord
from tui_bench.core.stats import Summary
from tui_bench.core.store_finish import get_duration
from tui_bench.core.store_levels import get_levels
from tui_bench.core.summary import METRIC, GroupSummary, RunSummary, summarize_run

FORMAT = "tui-bench/llm-run"
FORMAT_VERSION = 1


@dataclass
class RunData:
    run: dict[str, Any]
    plan: dict[str, Any]
    models: list[dict[str, Any]]
    records: list[RequestRecord]
    summary: RunSummary = field(init=False)
    levels: list[dict[str, Any]] = field(default_factory=list)  # load levels' contexts

    def __post_init__(self) -> None:
        self.records.sort(key=lambda r: r.seq)  # under load they finish out of order
        self.summary = summarize_run(self.records, [m["id"] for m in self.models])


def _plan_models(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": m["id"],
            "backend": m.get("backend", "llama_cpp"),
            "source": m.get("source"),
            "role": m.get("role"),
            "load_ms": None,
            "error": None,
            "info": {},
        }
        for m in plan.get("models", [])
    ]


RUN_KEYS = (
    "id", "plan", "plan_path", "description", "status", "started_at", "finished_at",
    "duration_s", "threshold", "success_rate", "passed", "host", "versions", "label",
)  # fmt: skip


def run_facts(**facts: Any) -> dict[str, Any]:
    """A run's facts in one order and one rounding, live or from history: a report
    rebuilt from history is the original byte for byte."""
    duration = facts.get("duration_s")
    facts["duration_s"] = None if duration is None else round(duration, 3)
    return {k: facts.get(k) for k in RUN_KEYS}


def run_data_from_store(store: Any, run_id: int) -> RunData:
    row = store.get_run(run_id)
    plan = row.plan_raw
    models = _plan_models(plan)
    by_id = {m["id"]: m for m in models}
    for mr in store.get_models(run_id):
        m = by_id.setdefault(
            mr.model, {"id": mr.model, "backend": None, "source": None, "role": None, "info": {}}
        )
        # the first load's figures, unless a later load changed the configuration measured
        if mr.attempt == 0 or m.get("load_ms") is None or mr.info.get("fallback"):
            m["load_ms"] = mr.load_ms
            m["info"] = mr.info
        m["error"] = mr.error or m.get("error")
    run = run_facts(
        id=row.id,
        plan=row.plan,
        plan_path=row.plan_path,
        description=plan.get("description", ""),
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_s=get_duration(store, run_id),
        threshold=row.threshold,
        success_rate=row.success_rate,
        passed=row.success_rate is not None
        and row.threshold is not None
        and row.success_rate >= row.threshold
        and row.status == "completed",
        host={k: v for k, v in row.host.items() if k != "versions"},
        versions=row.host.get("versions", {}),
        label=row.label,
    )
    records, levels = store.get_requests(run_id), get_levels(store, run_id)
    return RunData(run=run, plan=plan, models=list(by_id.values()), records=records, levels=levels)


class ReportSink:
    """Collects a run's events and writes the three reports when it finishes."""

    def __init__(self, output_dir: Path, plan: dict[str, Any], *, label: str | None = None) -> None:
        self.output_dir = Path(output_dir)
        self.plan = plan
        self.label = label  # the run's name in history, when given as it starts
        self.run: dict[str, Any] = {}
        self.models = {m["id"]: m for m in _plan_models(plan)}
        self.records: list[RequestRecord] = []
        self.levels: list[dict[str, Any]] = []  # load levels' contexts
        self.written: list[Path] = []
        # why the reports could not be written (the run itself is in history): the front
        # end says so and does not report success
        self.error: str | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            host = dict(event.host)
            self.run = run_facts(
                id=event.run_id,
                plan=event.plan,
                plan_path=event.plan_path,
                description=self.plan.get("description", ""),
                status="running",
                started_at=event.started_at,
                threshold=self.plan.get("success_threshold"),
                success_rate=None,
                passed=False,
                versions=host.pop("versions", {}),
                host=host,
                label=self.label,
            )
        elif isinstance(event, ModelLoaded):
            m = self.models[event.model]
            if m.get("load_ms") is None or event.info.get("fallback"):
                m["load_ms"] = event.load_ms
                m["info"] = event.info
        elif isinstance(event, ModelFailed):
            self.models[event.model]["error"] = event.error
        elif isinstance(event, RequestFinished):
            self.records.append(event.record)
        elif isinstance(event, LevelFinished):
            self.levels.append(event.context)
        elif isinstance(event, RunFinished):
            self.run = run_facts(
                **{
                    **self.run,
                    "status": event.status,
                    "finished_at": event.finished_at or _now(),
                    "duration_s": event.duration_s,
                    "success_rate": event.success_rate,
                    "passed": event.passed,
                }
            )
            models = list(self.models.values())
            data = RunData(self.run, self.plan, models, self.records, self.levels)
            try:
                self.written = write_reports(data, self.output_dir)
            except OSError as exc:
                self.error = f"{exc.strerror or exc}: {exc.filename or self.output_dir}"
            except Exception as exc:  # a report that cannot be rendered is not written either
                self.error = f"{type(exc).__name__}: {exc}"


def _now() -> str:
    from tui_bench.core.hostinfo import now_iso

    return now_iso()


def write_reports(data: RunData, output_dir: Path) -> list[Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    md = output_dir / "report.md"
    js = output_dir / "data.json"
    cs = output_dir / "results.csv"
    md.write_text(home_relative(render_markdown(data)), encoding="utf-8")
    js.write_text(json.dumps(to_json(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_csv(data.records, cs, costs=csv_costs(data.records, data.plan))
    return [md, js, cs, *charts.write(data.summary, data.records, output_dir)]


# -- JSON ---------------------------------------------------------------------------------


def _summary_entry(g: GroupSummary) -> dict[str, Any]:
    return g.as_dict()


def to_json(data: RunData) -> dict[str, Any]:
    s = data.summary
    run = {**data.run, "host": public_host(data.run.get("host") or {})}
    out = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "run": run,
        "models": data.models,
        "prompts": report_appendix.prompts(data.plan, s.models, data.records),
        "requests": [r.to_dict(raw=True) for r in data.records],
        "summary": [_summary_entry(g) for g in s.per_model],
        "per_prompt": [_summary_entry(g) for g in s.per_model_prompt],
        "per_task": [_summary_entry(g) for g in s.per_task_model],
        **report_verdicts.json_fields(s, data.records),  # medals, task winners, advice
        "cold_start": [c.__dict__ for c in s.cold],
        "energy_absent": report_energy.absent(s, data.models, data.run),  # model -> why
    }
    annotate_cost(out, data.records, data.plan)  # with a price table only
    load_report.annotate_json(out, data.levels, data.records)  # with load levels only
    report_http.annotate_json(out, data.models, data.records)  # with an in-process/HTTP pair
    return redact(out)


# -- Markdown -----------------------------------------------------------------------------


def _med(s: Summary, digits: int = 1) -> str:
    if s.n == 0:
        return MISSING
    text = num(s.median, digits)
    if s.n >= 2:
        text += f" (p90 {num(s.p90, digits)})"
    return text


def _mean_ci(s: Summary, digits: int = 1) -> str:
    if s.n == 0:
        return MISSING
    if s.ci95 is None:
        return f"{num(s.mean, digits)} (n=1)"
    half = (s.ci95[1] - s.ci95[0]) / 2
    return f"{num(s.mean, digits)} ± {num(half, digits)}"


def _mem(kb: float | None) -> str:
    return MISSING if kb is None else f"{kb / 1024:,.0f} MiB"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def render_markdown(data: RunData) -> str:
    run, s = data.run, data.summary
    lines: list[str] = [f"# tui-bench report: {run.get('plan')} (run {run.get('id')})", ""]
    if run.get("description"):
        lines += [run["description"], ""]
    status = run.get("status")
    rate = run.get("success_rate")
    thr = run.get("threshold")
    verdict = "PASS" if run.get("passed") else ("cancelled" if status == "cancelled" else "FAIL")
    lines += [
        f"- **Status**: {status} — success rate {pct(rate)} against a threshold of {pct(thr)}: **{verdict}**",
        f"- **Started**: {run.get('started_at')} — **finished**: {run.get('finished_at')}"
        + (f" ({run['duration_s']:.1f} s)" if run.get("duration_s") is not None else ""),
    ]
    host = run.get("host", {})
    if host:
        # the user's label, never the host name (an older history entry may hold one)
        name = f"{host['label']} — " if host.get("label") else ""
        lines.append(
            f"- **Host**: {name}{host.get('cpu')}, {host.get('cores_logical')} logical cores, "
            f"{host.get('ram_gb')} GB RAM, {host.get('os')}"
        )
        gpu = host.get("gpu", {})
        if gpu.get("available"):
            infos = [m.get("info") or {} for m in data.models]
            runtime = next((i["cuda_runtime"] for i in infos if i.get("cuda_runtime")), None)
            lines.append(f"- **GPU**: {gpu_host_line(gpu, runtime)}")
        else:
            lines.append(f"- **GPU**: {gpu.get('reason', 'no NVIDIA GPU')}")
    v = run.get("versions", {})
    if v:
        lines.append(
            "- **Versions**: "
            + ", ".join(f"{k.replace('_', '-')} {val}" for k, val in v.items() if val)
        )
    for m in data.models:
        info = m.get("info") or {}
        bits = [
            f"`{m['id']}`",
            m.get("backend") or "",
            f"source `{m.get('source')}`" if m.get("source") else "",
        ]
        bits += [b for b in model_setup(info) if b != "simulated"]
        if info.get("fallback"):
            bits.append(f"**{info['fallback']}**")
        if m.get("error"):
            bits.append(f"**failed: {m['error']}**")
        if info.get("simulated"):
            bits.append("*simulated (mock backend): not a measurement*")
        lines.append("- **Model** " + " — ".join(b for b in bits if b))
    lines.append("")

    lines += ["## Per model", ""]
    rows = []
    for g in s.per_model:
        m = g.metrics
        rows.append(
            [
                g.key["model"],
                f"{g.n_ok}/{g.n}",
                pct(g.success_rate),
                _med(m["ttft_ms"]),
                _med(m["decode_tps"]),
                _mean_ci(m["decode_tps"]),
                _med(m["e2e_ms"], 0),
                _med(m["tpot_ms"], 2),
                _mem(m["peak_rss_kb"].max),
                num(m["vram_peak_mb"].max, 0)
                + (" MiB" if m["vram_peak_mb"].max is not None else ""),
            ]
        )
    lines += _table(
        [
            "model",
            "ok/n",
            "success",
            "TTFT ms median",
            "decode tok/s median",
            "decode tok/s mean ± 95% CI",
            "end-to-end ms median",
            "TPOT ms",
            "peak RSS",
            "peak VRAM",
        ],
        rows,
    )
    lines.append("")
    lines += report_energy.markdown(s, data.models, run, data.records)
    lines += load_report.markdown(data.levels, data.records)
    lines += report_http.markdown(data.models, data.records)
    lines += report_verdicts.medals_markdown(s, data.records)
    lines += charts.markdown(s)

    lines += ["## Cold start (apart from the figures above)", ""]
    rows = [
        [c.model, num(c.load_ms, 0), num(c.first_ttft_ms), num(c.first_e2e_ms, 0)] for c in s.cold
    ]
    lines += _table(
        ["model", "load ms", "first request TTFT ms", "first request end-to-end ms"], rows
    )
    lines += [
        "",
        "The first request is usually a warm-up; warm-ups never enter the aggregates.",
        "",
    ]

    lines += ["## Per prompt", ""]
    rows = []
    has_composite = any("composite" in g.quality for g in s.per_model_prompt)
    qname = "composite" if has_composite else "heuristic"
    for g in s.per_model_prompt:
        m = g.metrics
        q = g.quality.get(qname)
        rows.append(
            [
                g.key["model"],
                g.key["prompt"],
                g.key["task"],
                num((m["e2e_ms"].median or 0) / 1000, 2) if m["e2e_ms"].n else MISSING,
                _mem(m["peak_rss_kb"].max),
                _med(m["ttft_ms"]),
                _med(m["decode_tps"]),
                f"{g.n_ok}/{g.n}",
                num(q.mean, 2) if q and q.n else MISSING,
            ]
        )
    lines += _table(
        [
            "model",
            "prompt",
            "task",
            "duration s (median)",
            "peak RSS",
            "TTFT ms",
            "decode tok/s",
            "success",
            f"quality ({qname})",
        ],
        rows,
    )
    lines.append("")

    lines += ["## Per task type", ""]
    rows = []
    for g in s.per_task_model:
        m = g.metrics
        rows.append(
            [
                g.key["task"],
                g.key["model"],
                f"{g.n_ok}/{g.n}",
                _med(m["ttft_ms"]),
                _med(m["decode_tps"]),
                _med(m["e2e_ms"], 0),
            ]
        )
    lines += _table(["task", "model", "success", "TTFT ms", "decode tok/s", "end-to-end ms"], rows)
    lines.append("")
    lines += report_verdicts.per_task_markdown(s, data.records)

    qkeys = sorted({k for g in s.per_model for k in g.quality})
    if qkeys:
        lines += ["## Quality (reported beside speed, never folded into it)", ""]
        rows = []
        for g in s.per_model:
            rows.append(
                [g.key["model"]]
                + [num(g.quality[k].mean, 3) if k in g.quality else MISSING for k in qkeys]
            )
        lines += _table(["model"] + [f"{k} (mean)" for k in qkeys], rows)
        lines += ["", _quality_notes(qkeys), ""]

    lines += cost_markdown(data.records, data.plan)
    problems = [g for g in s.per_model if g.flags or g.errors]
    if problems:
        lines += ["## Failures and validity flags", ""]
        for g in problems:
            for err, n in g.errors.items():
                lines.append(f"- `{g.key['model']}`: {n} × {err}")
            for flag, n in g.flags.items():
                lines.append(
                    f"- `{g.key['model']}`: {n} × flag `{flag}`: {FLAG_TEXT.get(flag, flag)}"
                )
        lines.append("")

    lines += _HOW_TO_READ
    lines += report_appendix.markdown(report_appendix.prompts(data.plan, s.models, data.records))
    return "\n".join(lines) + "\n"


def _quality_notes(keys: list[str]) -> str:
    try:
        from tui_bench.core.quality import SCORERS
    except ImportError:  # pragma: no cover
        return ""
    return "\n".join(f"- `{k}`: {SCORERS[k]}" for k in keys if k in SCORERS)


_HOW_TO_READ = [
    "## How to read these numbers",
    "",
    "- **TTFT**: time from sending the request to the first generated token (includes prompt processing).",
    "- **decode tok/s**: (output tokens − 1) / (last token − first token): pure generation speed, "
    "measured after the first token. The engine's own counter (llama.cpp decode + sampling time) is "
    "stored beside it in data.json; a request where the two differ by more than 5% is flagged.",
    "- **TPOT**: (end-to-end − TTFT) / (output tokens − 1), per request. **end-to-end**: send to last token.",
    "- **peak RSS**: highest resident memory of the process running the model during a request. "
    "**peak VRAM**: highest device memory in use sampled during a request.",
    "- Medians with p90; means with a Student-t 95% confidence interval (sample sd, ddof=1). "
    "Warm-up requests and model load time are reported apart and never enter these figures.",
    "- Timings come from successful requests without invalidating flags (prompt cache hit, truncated "
    "stream, missing finish reason). Success rate = successful / attempted measured requests.",
    "",
]


def metric_label(key: str) -> str:
    spec = METRIC[key]
    return f"{spec.label} ({spec.unit})"
