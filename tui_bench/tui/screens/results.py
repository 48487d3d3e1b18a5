"""Results of one run (live just finished, or from history): ranking, winners, charts, export."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from tui_bench.core.cost import screen_lines as cost_lines
from tui_bench.core.load import report as load_report
from tui_bench.core.medals import task_winners
from tui_bench.core.metrics import FLAG_TEXT
from tui_bench.core.recommend import TaskAdvice, recommendations
from tui_bench.core.report import RunData, run_data_from_store, write_reports
from tui_bench.core.store import RunRow
from tui_bench.core.summary import METRIC
from tui_bench.tui.format import MISSING, duration, num, pct, status_content, when
from tui_bench.tui.paths import default_output_dir
from tui_bench.tui.screens.dialogs import PathPrompt
from tui_bench.tui.widgets.charts import MetricChart, legend
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.load import results_load
from tui_bench.tui.widgets.ranking import COLUMNS, SORTABLE, RankingTable


@dataclass
class Loaded:
    data: RunData
    row: RunRow
    load: dict[str, Any] | None = None  # data.json's "load", for a run with load levels
    #: quality against speed per task (its places' statistics: once, not at every sort)
    advice: list[TaskAdvice] = field(default_factory=list)


class ResultsScreen(Screen[None]):
    HELP = (
        "The ranking of one run: one row per model, medians of its measured, valid "
        "requests (warm-ups never count). Medals follow the sort metric, and only where the "
        "difference to the model above beats chance (its 95% interval excludes zero and "
        "reaches beyond ±1%): = marks "
        "a shared place (tied). A ⚑ beside a number "
        "means a validity flag concerns it (see the flags column and the legend). Success is "
        "green when it meets the plan's threshold. Export writes report.md, data.json, "
        "results.csv and the SVG charts to a folder of your choice."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "next_sort", "Sort", id="results.sort"),
        Binding("r", "reverse_sort", "Reverse", id="results.reverse"),
        Binding("e", "export", "Export", id="results.export"),
        Binding("escape", "back", "Back", id="results.back"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.loaded: Loaded | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(id="results-body"):
            yield Static(Content.styled("loading…", "$text-muted"), id="results-head")
            yield Static(id="results-load")  # capacity, knee, levels: a run with load levels
            yield Static(id="ranking-caption")
            yield RankingTable(id="ranking")
            yield Static(id="results-winners")
            yield Static(id="results-notes")
            with Horizontal(id="results-charts"):
                with Vertical(classes="chart"):
                    yield MetricChart(id="chart-decode")
                    yield Static(
                        legend("median", "slow tail (p99 TPOT, as tok/s)"),
                        classes="legend",
                    )
                with Vertical(classes="chart"):
                    yield MetricChart(id="chart-ttft")
                    yield Static(legend("median", "p99"), classes="legend")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"tui-bench · results of run {self.run_id}"
        self.run_worker(self._load, thread=True, exit_on_error=False, name="results-load")

    def _load(self) -> Loaded:
        store = self.app.store  # type: ignore[attr-defined]
        data = run_data_from_store(store, self.run_id)
        load = load_report.to_json(data.levels, data.records) if data.levels else None
        advice = recommendations(data.summary, data.records)
        return Loaded(data, store.get_run(self.run_id), load, advice)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "results-load":
            if event.state == WorkerState.SUCCESS:
                self._show(worker.result)
            elif event.state == WorkerState.ERROR:
                self.query_one("#results-head", Static).update(
                    Content.styled(f"cannot load run {self.run_id}: {worker.error}", "$error")
                )
        elif worker.name == "results-export":
            if event.state == WorkerState.SUCCESS:
                paths = worker.result
                self.notify("\n".join(str(p) for p in paths), title="Reports written", timeout=8)
            elif event.state == WorkerState.ERROR:
                self.notify(str(worker.error), title="Export failed", severity="error")

    # -- rendering ----------------------------------------------------------------------

    def _show(self, loaded: Loaded) -> None:
        self.loaded = loaded
        data, row = loaded.data, loaded.row
        run = data.run
        self.sub_title = f"{row.plan} · {row.status}"
        s = data.summary
        ov = s.overall
        thr = row.threshold
        passed = bool(run.get("passed"))
        head: list[Any] = [
            (f"run {row.id}", "bold"),
            f" · {row.plan} · ",
            status_content(row.status),
            f" · started {when(row.started_at)}",
        ]
        if row.started_at and row.finished_at:
            head.append(f" · {_span(row.started_at, row.finished_at)}")
        head.append("\n")
        head.append(f"{ov.n_ok}/{ov.n} measured requests ok · success {pct(ov.success_rate)}")
        head.append(f" against a threshold of {pct(thr)} → ")
        if row.status == "cancelled":
            head.append(("CANCELLED", "bold $warning"))
            planned = row.n_planned or 0
            head.append(
                (
                    f" · partial results: {ov.n} of {planned} planned measured requests",
                    "$warning",
                )
            )
        else:
            head.append(("PASS", "bold $success") if passed else ("FAIL", "bold $error"))
        simulated = [m["id"] for m in data.models if (m.get("info") or {}).get("simulated")]
        if simulated:
            head.append(
                (
                    f"\nsimulated (mock backend), not a measurement: {', '.join(simulated)}",
                    "$text-muted",
                )
            )
        self.query_one("#results-head", Static).update(Content.assemble(*head))
        section = self.query_one("#results-load", Static)
        section.display = loaded.load is not None
        if loaded.load is not None:
            section.update(results_load(loaded.load))
        self._table()
        self._charts()

    def _table(self) -> None:
        if self.loaded is None:
            return
        s, records = self.loaded.data.summary, self.loaded.data.records
        table = self.query_one(RankingTable)
        table.show(s.per_model, records, threshold=self.loaded.row.threshold)
        metric = table.sort_metric
        spec = METRIC[metric]
        order = "best last" if table.reverse else "best first"
        ties = [("\n= tied: ", "$warning bold")] if table.tied() else []
        if ties:
            shared = "; ".join(", ".join(group) for group in table.tied())
            ties.append((f"{shared} (their difference is within chance)", "$text-muted"))
        self.query_one("#ranking-caption", Static).update(
            Content.assemble(
                ("Ranking ", "bold"),
                (f"by {spec.label} ({order})", "$accent"),
                (
                    " · medians (p50) of measured, valid requests · s: next metric, r: reverse",
                    "$text-muted",
                ),
                *ties,
            )
        )
        lines: list[Any] = [
            (f"Per task type, by {spec.label} ({spec.unit}, median; = tied):", "bold"),
        ]
        for w in task_winners(records, s.models, s.tasks, metric):
            lines += ["\n  ", (f"{w['task']}: ", "$accent"), w["text"]]
        if len(lines) == 1:
            lines.append(("\n  no valid timings yet", "$text-muted"))
        advice = self.loaded.advice
        if advice:
            lines.append(("\n\nQuality against speed", "bold"))
            lines.append((" (per task type, the models no other beats on both):", "$text-muted"))
            for a in advice:
                task, _, text = a.text.partition(": ")
                lines += ["\n  ", (f"{task}: ", "$accent"), text]
        qkeys = sorted(
            {k for g in s.per_model for k in g.quality}, key=lambda k: (k == "heuristic", k)
        )
        if qkeys:
            lines.append(("\n\nQuality", "bold"))
            lines.append(
                (" (mean score 0–1 per scorer, beside speed, never folded into it):", "$text-muted")
            )
            for g in s.per_model:
                cells = [
                    f"{k} {num(g.quality[k].mean, 2)}"
                    for k in qkeys
                    if k in g.quality and g.quality[k].n
                ]
                lines.append("\n  ")
                lines.append((f"{g.key['model']}: ", "$accent"))
                lines.append(" · ".join(cells) or MISSING)
        spent = cost_lines(self.loaded.data.records, self.loaded.data.plan)
        if spent:  # only with a price table in the plan
            lines.append(("\n\nCost", "bold"))
            lines.append((" per request · per 1,000 output tokens · this run:", "$text-muted"))
            for model, text in spent:
                lines += ["\n  ", (f"{model}: ", "$accent"), text]
        self.query_one("#results-winners", Static).update(Content.assemble(*lines))
        notes: list[Any] = []
        for g in s.per_model:
            for err, n in g.errors.items():
                notes.append((f"✗ {g.key['model']}: {n}× {err}\n", "$error"))
        flags = sorted({f for g in s.per_model for f in g.flags})
        for f in flags:
            notes.append(("⚑ ", "$warning bold"))
            notes.append(f"{f}: {FLAG_TEXT.get(f, f)}\n")
        self.query_one("#results-notes", Static).update(Content.assemble(*notes))

    def _charts(self) -> None:
        if self.loaded is None:
            return
        groups = self.loaded.data.summary.per_model
        names = [g.key["model"] for g in groups]
        dec = [g.metrics["decode_tps"] for g in groups]
        ttft = [g.metrics["ttft_ms"] for g in groups]
        # The slow tail of a rate is its low end: the rate at the p99 TPOT (ms per token) of the
        # same requests (decode tok/s = 1000 / TPOT, request by request).
        tpot = [g.metrics["tpot_ms"] for g in groups]
        slow = [1000.0 / t.p99 if t.p99 else None for t in tpot]
        self.query_one("#chart-decode", MetricChart).set_data(
            "decode tok/s (higher is better)",
            names,
            [d.median for d in dec],
            slow,
            short="decode tok/s ↑ better",
        )
        self.query_one("#chart-ttft", MetricChart).set_data(
            "TTFT ms (lower is better)",
            names,
            [t.median for t in ttft],
            [t.p99 for t in ttft],
            short="TTFT ms ↓ better",
        )

    # -- actions ------------------------------------------------------------------------

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key in SORTABLE:
            table = self.query_one(RankingTable)
            reverse = (not table.reverse) if key == table.sort_metric else False
            table.sort_metric = key
            table.reverse = reverse
            self._table()

    def sort_by(self, metric: str, reverse: bool = False) -> None:
        table = self.query_one(RankingTable)
        table.sort_metric = metric
        table.reverse = reverse
        self._table()

    def action_next_sort(self) -> None:
        table = self.query_one(RankingTable)
        i = SORTABLE.index(table.sort_metric)
        self.sort_by(SORTABLE[(i + 1) % len(SORTABLE)])
        self.notify(f"sorted by {_header(table.sort_metric)}", timeout=2)

    def action_reverse_sort(self) -> None:
        table = self.query_one(RankingTable)
        self.sort_by(table.sort_metric, not table.reverse)

    def action_export(self) -> None:
        if self.loaded is None:
            self.notify("the run is still loading", severity="warning")
            return
        row = self.loaded.row
        default = row.output_dir or str(default_output_dir(row.plan, run_id=row.id))

        def chosen(value: str | None) -> None:
            if value and self.loaded is not None:
                data = self.loaded.data
                target = Path(value).expanduser()
                self.run_worker(
                    lambda: write_reports(data, target),
                    thread=True,
                    exit_on_error=False,
                    name="results-export",
                )

        self.app.push_screen(
            PathPrompt(
                f"Export run {row.id}",
                "Folder for report.md, data.json, results.csv and charts (created if missing):",
                default,
                action="Export",
                validate=_writable_dir,
            ),
            chosen,
        )

    def action_back(self) -> None:
        self.app.pop_screen()


def _header(metric: str) -> str:
    return next(h for k, _m, h, _d in COLUMNS if k == metric).replace("\n", " ")


def _span(start: str, end: str) -> str:
    from datetime import datetime

    try:
        return duration(
            (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
        )
    except ValueError:
        return ""


def _writable_dir(value: str) -> str | None:
    p = Path(value).expanduser()
    if p.exists() and not p.is_dir():
        return f"{p}: exists and is not a folder"
    probe = p
    while not probe.exists():
        probe = probe.parent
    import os

    if not os.access(probe, os.W_OK):
        return f"{probe}: not writable"
    return None
