"""Suites: several plans run one after another into one folder, and their comparison.

``tui-bench suite PLAN... --output DIR`` gives each plan its own folder, ``DIR/<plan
name>/`` (report.md, data.json and results.csv, as ``run`` writes them), then writes
``DIR/comparison_report.md`` and ``DIR/comparison_data.json``: per model (with its
provider: the backend that served it) and per task type, each plan's figures side by
side, read back from each plan's data.json. A plan that could not run is listed with its
reason and exit code; a suite stopped early compares what finished. The exit code is the
highest of the plans' codes (``run``'s codes: 0, 1, 2, 3, 4, 130).

This module owns the entries and the comparison; running the plans is the headless
driver's (``tui_bench.headless.drivers.run_suite``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_bench.core.compare.sources import read_run_folder, record_from_json
from tui_bench.core.errors import EXIT_INTERRUPTED, EXIT_SAVE_FAILED, UserError
from tui_bench.core.fmt import MISSING, num, pct
from tui_bench.core.paths import _safe as safe_name
from tui_bench.core.redact import home_relative, redact
from tui_bench.core.stats import Summary
from tui_bench.core.summary import GroupSummary, summarize_run

FORMAT = "tui-bench/suite-comparison"
FORMAT_VERSION = 1
# what a plan's exit code means, for the plans table (README's exit-code table)
OUTCOME = {
    0: "passed",
    1: "below its success threshold",
    2: "bad input",
    3: "reports not written",
    4: "internal error",
    130: "interrupted",
}


@dataclass
class PlanEntry:
    """One plan of the suite: as given, then as loaded and run."""

    arg: str
    name: str | None = None
    folder: Path | None = None
    exit_code: int | None = None  # None: not run (yet)
    reason: str | None = None
    loaded: Any = None  # the LoadedPlan, until it has run

    def outcome(self) -> str:
        """``exit 1: below its success threshold``, ``not run: ...``: one line."""
        if self.exit_code is None:
            return self.reason or "not run"
        text = f"exit {self.exit_code}: {OUTCOME.get(self.exit_code, 'failed')}"
        return text + (f" ({self.reason})" if self.reason else "")

    def as_dict(self, output: Path) -> dict[str, Any]:
        return {
            "plan": self.arg,
            "name": self.name,
            "folder": None if self.folder is None else _relative(self.folder, output),
            "exit_code": self.exit_code,
            "outcome": "not run" if self.exit_code is None else OUTCOME.get(self.exit_code, ""),
            "reason": self.reason,
        }


def _relative(path: Path, output: Path) -> str:
    try:
        return str(path.relative_to(output))
    except ValueError:
        return str(path)


class Suite:
    """The plans of one suite, their folders under ``output`` and their outcomes."""

    def __init__(self, output: Path, plans: list[str]) -> None:
        self.output = output
        self.entries = [PlanEntry(p) for p in plans]
        self._taken: set[str] = set()
        self.interrupted = False

    def place(self, entry: PlanEntry, loaded: Any) -> Path:
        """Give a loaded plan its folder: its name, made unique (``-2``, ``-3`` ...)."""
        entry.loaded, entry.name = loaded, loaded.plan.name
        base = safe_name(entry.name)
        name, i = base, 1
        while name in self._taken:
            i += 1
            name = f"{base}-{i}"
        self._taken.add(name)
        entry.folder = self.output / name
        return entry.folder

    def fail(self, entry: PlanEntry, code: int, reason: str) -> None:
        """A plan that could not start: nothing was written for it."""
        entry.exit_code, entry.reason, entry.loaded, entry.folder = code, reason, None, None

    def done(self, entry: PlanEntry, code: int, reason: str | None = None) -> None:
        entry.exit_code, entry.reason, entry.loaded = code, reason, None

    def stopped(self, *, interrupted: bool) -> None:
        """The end of the loop; ``interrupted``: by a stop signal. The plans it did not
        reach say so."""
        self.interrupted = interrupted
        for entry in self.entries:
            if entry.exit_code is None and entry.loaded is not None:
                entry.reason, entry.loaded = "not run: the suite was stopped", None

    @property
    def exit_code(self) -> int:
        codes = [e.exit_code for e in self.entries if e.exit_code is not None]
        return max([*codes, EXIT_INTERRUPTED if self.interrupted else 0])

    def write_comparison(self) -> tuple[list[Path], str | None]:
        """(files written, why not): comparison_data.json and comparison_report.md."""
        data = comparison(self.output, self.entries)
        js = self.output / "comparison_data.json"
        md = self.output / "comparison_report.md"
        try:
            self.output.mkdir(parents=True, exist_ok=True)
            js.write_text(
                json.dumps(redact(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            md.write_text(home_relative(markdown(data)), encoding="utf-8")
        except OSError as exc:
            return [], f"{exc.strerror or exc}: {exc.filename or self.output}"
        return [md, js], None

    def final_code(self, comparison_error: str | None) -> int:
        code = self.exit_code
        return max(code, EXIT_SAVE_FAILED) if comparison_error else code


# -- the comparison -------------------------------------------------------------------


def _median(s: Summary) -> float | None:
    return s.median if s.n else None


def _figures(g: GroupSummary) -> dict[str, Any]:
    m = g.metrics
    return {
        "n": g.n,
        "n_ok": g.n_ok,
        "success_rate": g.success_rate,
        "ttft_ms": _median(m["ttft_ms"]),
        "decode_tps": _median(m["decode_tps"]),
        "e2e_ms": _median(m["e2e_ms"]),
        "n_out": _median(m["n_out"]),
        "n_out_total": round((m["n_out"].mean or 0) * m["n_out"].n),
        "peak_rss_kb": m["peak_rss_kb"].max,
        "vram_peak_mb": m["vram_peak_mb"].max,
        "quality": {k: s.mean for k, s in g.quality.items() if s.n},
    }


def _plan_figures(entry: PlanEntry) -> dict[str, Any] | str:
    """Per model and per task x model figures of one finished plan, or why there are none."""
    if entry.folder is None:
        return entry.reason or "not run"
    try:
        data = read_run_folder(entry.folder)
    except UserError as exc:
        return str(exc)
    run = data.get("run") or {}
    records = [record_from_json(r, int(run.get("id") or 0)) for r in data["requests"]]
    backends = {m["id"]: m.get("backend") for m in data.get("models") or []}
    summary = summarize_run(records, list(backends))
    cost = data.get("cost") or {}
    model_cost = {c["model"]: c for c in cost.get("models", [])}
    task_cost = {(c["task"], c["model"]): c for c in cost.get("per_task", [])}
    plan = entry.name or entry.arg
    models = []
    for g in summary.per_model:
        model = g.key["model"]
        c = model_cost.get(model)
        models.append(
            {"model": model, "plan": plan, "provider": backends.get(model), **_figures(g)}
            | {"cost": _cost(c, ("per_request", "per_1k_output", "total"))}
        )
    tasks = []
    for g in summary.per_task_model:
        c = task_cost.get((g.key["task"], g.key["model"]))
        tasks.append(
            {"task": g.key["task"], "model": g.key["model"], "plan": plan, **_figures(g)}
            | {"cost": _cost(c, ("per_request", "total"))}
        )
    return {"run_id": run.get("id"), "status": run.get("status"), "models": models, "tasks": tasks}


def _cost(c: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"currency": c.get("currency"), **{k: c.get(k) for k in keys}}


def comparison(output: Path, entries: list[PlanEntry]) -> dict[str, Any]:
    """Every finished plan's figures, grouped per model and per task type (see the module
    docstring). ``decode_vs_first``: the relative difference of a model's median decode
    rate from the first plan where it ran."""
    plans, models, tasks = [], [], []
    for entry in entries:
        info = entry.as_dict(output)
        figures = _plan_figures(entry) if entry.exit_code is not None else "not run"
        if isinstance(figures, str):
            info["reason"] = info["reason"] or figures
        else:
            info.update(run_id=figures["run_id"], status=figures["status"])
            models += figures["models"]
            tasks += figures["tasks"]
        plans.append(info)
    per_model: dict[str, list[dict[str, Any]]] = {}
    for row in models:
        per_model.setdefault(row["model"], []).append(row)
    for rows in per_model.values():
        first = rows[0]["decode_tps"]
        rows[0]["decode_vs_first"] = None  # the reference
        for row in rows[1:]:
            row["decode_vs_first"] = (
                None if not first or row["decode_tps"] is None else row["decode_tps"] / first - 1
            )
    per_task: dict[str, list[dict[str, Any]]] = {}
    for row in tasks:
        per_task.setdefault(row["task"], []).append(row)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "output": str(output),
        "plans": plans,
        "models": [{"model": m, "plans": rows} for m, rows in per_model.items()],
        "tasks": [{"task": t, "rows": rows} for t, rows in per_task.items()],
    }


def _money(c: dict[str, Any] | None, key: str) -> str:
    from tui_bench.core.cost import money

    if not c or c.get(key) is None:
        return MISSING
    return money(c[key], c.get("currency") or "")


def _quality(q: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in sorted(q.items())) or MISSING


def _mib(kb: float | None) -> str:
    return MISSING if kb is None else f"{kb / 1024:,.0f} MiB"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]


def markdown(data: dict[str, Any]) -> str:
    lines = ["# tui-bench suite: comparison", "", f"Output folder: `{data['output']}`", ""]
    lines += ["## Plans", ""]
    rows = [
        [
            str(i),
            p["name"] or p["plan"],
            f"`{p['folder']}`" if p["folder"] else MISSING,
            str(p.get("status") or MISSING),
            MISSING if p["exit_code"] is None else str(p["exit_code"]),
            p["outcome"],
            str(p.get("run_id") or MISSING),
            p["reason"] or "",
        ]
        for i, p in enumerate(data["plans"], 1)
    ]
    lines += _table(["#", "plan", "folder", "status", "exit", "outcome", "run", "reason"], rows)
    lines += ["", "## Per model", ""]
    if not data["models"]:
        lines += ["No plan finished with results.", ""]
    for m in data["models"]:
        lines += [f"### {m['model']}", ""]
        rows = [
            [
                r["plan"],
                str(r["provider"] or MISSING),
                f"{r['n_ok']}/{r['n']}",
                pct(r["success_rate"]),
                num(r["ttft_ms"]),
                num(r["decode_tps"]),
                MISSING if r["decode_vs_first"] is None else f"{100 * r['decode_vs_first']:+.1f}%",
                num(r["e2e_ms"], 0),
                f"{num(r['n_out'], 0)} / {r['n_out_total']:,}",
                _mib(r["peak_rss_kb"]),
                MISSING if r["vram_peak_mb"] is None else f"{r['vram_peak_mb']:,.0f} MiB",
                _quality(r["quality"]),
                _money(r["cost"], "per_request"),
                _money(r["cost"], "per_1k_output"),
            ]
            for r in m["plans"]
        ]
        lines += _table(
            [
                "plan", "provider", "ok/n", "success", "TTFT ms", "decode tok/s",
                "decode vs first plan", "end-to-end ms", "output tokens (median / total)",
                "peak RSS", "peak VRAM", "quality (mean)", "cost / request",
                "cost / 1,000 output tokens",
            ],
            rows,
        )  # fmt: skip
        lines.append("")
    lines += ["## Per task type", ""]
    for t in data["tasks"]:
        lines += [f"### {t['task']}", ""]
        rows = [
            [
                r["model"],
                r["plan"],
                f"{r['n_ok']}/{r['n']}",
                pct(r["success_rate"]),
                num(r["ttft_ms"]),
                num(r["decode_tps"]),
                num(r["e2e_ms"], 0),
                num(r["n_out"], 0),
                _quality(r["quality"]),
                _money(r["cost"], "per_request"),
            ]
            for r in t["rows"]
        ]
        lines += _table(
            [
                "model", "plan", "ok/n", "success", "TTFT ms", "decode tok/s",
                "end-to-end ms", "output tokens", "quality (mean)", "cost / request",
            ],
            rows,
        )  # fmt: skip
        lines.append("")
    lines += [
        "## How to read",
        "",
        "- Each plan's own report is in its folder; figures here are read back from its data.json.",
        "- Medians of measured, valid requests (warm-ups never count); success = successful / "
        "attempted measured requests; memory is the highest peak; quality the mean per scorer.",
        "- **decode vs first plan**: the median decode rate against the first plan where the "
        "same model id ran (a plain ratio of medians; `tui-bench compare FOLDER FOLDER` tests "
        "whether two runs differ).",
        "- Cost only where a plan has a price table (`[[prices]]`); see each plan's report.md.",
        "",
    ]
    return "\n".join(lines) + "\n"
