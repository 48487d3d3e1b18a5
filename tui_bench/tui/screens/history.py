"""Past runs from the history database: filter, open, mark baseline / candidate, compare.

Runs show a page at a time, newest first: the first page appears at once whatever the
history holds, and the next one is read when the cursor (or the scroll) nears the end of
those shown, or on m. A run's documents (plan, summary) are read only when it opens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Label, Select, Static
from textual.worker import Worker, WorkerState

from tui_bench.core.compare import compare_runs
from tui_bench.core.history_query import RunFilter
from tui_bench.core.store import RunRow
from tui_bench.core.summary import METRIC
from tui_bench.tui.format import MISSING, num, signed_pct, verdict_content, when
from tui_bench.tui.screens.compare_gate import GateMixin
from tui_bench.tui.screens.history_open import not_compared, open_past_run
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.run_list import RUN_COLUMNS, append_rows, run_cells
from tui_bench.tui.widgets.table import fill_table

COMPARE_COLUMNS = (
    ("model", "model"),
    ("metric", "metric"),
    ("verdict", "verdict"),
    ("delta", "Δ median"),
    ("ci", "95% CI of Δ"),
    ("p", "p (MWU)"),
    ("n", "n base/cand"),
    ("base", "median base"),
    ("cand", "median cand"),
)
KINDS = [("LLM runs", "llm"), ("classifiers", "classify"), ("pipelines", "pipeline")]
STATUSES = ("completed", "cancelled", "interrupted", "running", "failed")
# runs read at a time: the first page shows at once, whatever the history holds
PAGE = 100
# the next page is read when the cursor comes within this many rows of the last one
LOOKAHEAD = 20


@dataclass
class Listing:
    """What one read of the history found, for the screen to show."""

    generation: int  # the reload it answers; an older one is dropped
    rows: list[RunRow]
    exhausted: bool  # no run older than the last of ``rows``
    append: bool = False
    total: int | None = None
    plans: list[str] = field(default_factory=list)
    marked: list[tuple[int, str]] = field(default_factory=list)  # (id, label), newest first
    present: set[int] = field(default_factory=set)  # the marked ids that still exist


class HistoryScreen(Screen[None]):
    DEFAULT_CSS = """
    HistoryScreen #history-more {
        height: 1;
        padding: 0 1;
        display: none;
    }
    """
    HELP = (
        "Every run kept in the history database, newest first (LLM runs, classifier runs or "
        f"pipelines: the first selector), {PAGE} at a time: moving down towards the last one "
        "shown, or m, reads the next ones. Enter opens a run's results. "
        "Mark one run as baseline (b) and another as candidate (c), then compare them (d): "
        "per model and metric, the relative difference of medians with its 95% interval, a "
        "Mann-Whitney U p-value and a verdict."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="history.open"),
        Binding("b", "mark('baseline')", "Baseline", id="history.baseline"),
        Binding("c", "mark('candidate')", "Candidate", id="history.candidate"),
        Binding("d", "compare", "Compare", id="history.compare"),
        Binding("f", "filter", "Filter", id="history.filter"),
        Binding("r", "reload", "Reload", id="history.reload"),
        Binding("m", "more", "More", id="history.more"),
        Binding("escape", "back", "Back", id="history.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[RunRow] = []
        self.baseline_id: int | None = None
        self.candidate_id: int | None = None
        self.loaded = False
        self.total: int | None = None  # runs that match the filters
        self.exhausted = True  # every run that matches is in ``rows``
        self._plans: list[str] = []
        self._generation = 0
        self._reading = False  # a first page is being read
        self._more_pending = False  # a next page is being read

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Horizontal(id="history-filters"):
            yield Select[str](KINDS, value="llm", allow_blank=False, id="filter-kind")
            yield Label("plan", classes="filter-label")
            yield Select[str]([], prompt="all plans", id="filter-plan", allow_blank=True)
            yield Label("status", classes="filter-label")
            yield Select[str]([(s, s) for s in STATUSES], prompt="any status", id="filter-status")
        yield Static(id="history-marks")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static(id="history-more")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "tui-bench · history"
        table = self.query_one("#runs", DataTable)
        fill_table(table, RUN_COLUMNS, [])
        table.focus()
        self.watch(table, "scroll_y", self._scrolled, init=False)
        self._reload(keep=False)

    # -- data ---------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        value = self.query_one("#filter-kind", Select).value
        return value if isinstance(value, str) else "llm"

    def _filter(self) -> RunFilter:
        plan = self.query_one("#filter-plan", Select).value
        status = self.query_one("#filter-status", Select).value
        return RunFilter(
            plan=plan if isinstance(plan, str) else None,
            kind=self.kind,
            status=status if isinstance(status, str) else None,
        )

    def _load(self, generation: int, flt: RunFilter, limit: int, marks: list[int]) -> Listing:
        """The first ``limit`` runs, with what the selectors and marks need (a thread)."""
        runs = self.app.store.runs  # type: ignore[attr-defined]
        rows = runs.page(flt, limit=limit)
        return Listing(
            generation,
            rows,
            exhausted=len(rows) < limit,
            total=runs.count(flt),
            plans=runs.plans(flt.kind),
            marked=runs.marked(flt.kind),
            present=runs.present(marks, flt.kind),
        )

    def _load_more(self, generation: int, flt: RunFilter, before_id: int) -> Listing:
        rows = self.app.store.runs.page(flt, limit=PAGE, before_id=before_id)  # type: ignore[attr-defined]
        return Listing(generation, rows, exhausted=len(rows) < PAGE, append=True)

    def _reload(self, *, keep: bool) -> None:
        """Read the first page again; with ``keep``, as many runs as are shown now (a
        mark or a reload does not lose the user's place)."""
        self._generation += 1
        self._reading = True
        self._more_pending = False
        limit = max(PAGE, len(self.rows)) if keep else PAGE
        marks = [i for i in (self.baseline_id, self.candidate_id) if i is not None]
        args = (self._generation, self._filter(), limit, marks)
        self.run_worker(
            lambda: self._load(*args), thread=True, exit_on_error=False, name="history-load"
        )

    def action_reload(self) -> None:
        self._reload(keep=True)

    def action_more(self) -> None:
        """The next page of runs, under those shown."""
        if self.exhausted or self._reading or self._more_pending or not self.rows:
            return
        self._more_pending = True
        args = (self._generation, self._filter(), self.rows[-1].id)
        self.run_worker(
            lambda: self._load_more(*args), thread=True, exit_on_error=False, name="history-more"
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name not in ("history-load", "history-more"):
            return
        if event.state == WorkerState.SUCCESS:
            listing: Listing = event.worker.result
            if listing.generation != self._generation:
                return  # the filters or marks changed since: a newer read is on its way
            if listing.append:
                self._append(listing)
            else:
                self._show(listing)
        elif event.state == WorkerState.ERROR:
            self._reading = self._more_pending = False
            self.notify(str(event.worker.error), title="History", severity="error")

    def _show(self, listing: Listing) -> None:
        self._reading = False
        self.rows = listing.rows
        self.total = listing.total
        self.exhausted = listing.exhausted
        plans = listing.plans
        if plans != self._plans:
            self._plans = plans
            sel = self.query_one("#filter-plan", Select)
            current = sel.value
            with self.prevent(Select.Changed):
                sel.set_options([(p, p) for p in plans])
                if isinstance(current, str) and current in plans:
                    sel.value = current
        if self.baseline_id not in listing.present:
            self.baseline_id = next((i for i, lb in listing.marked if lb == "baseline"), None)
        if self.candidate_id not in listing.present:
            self.candidate_id = next((i for i, lb in listing.marked if lb == "candidate"), None)
        table = self.query_one("#runs", DataTable)
        fill_table(table, RUN_COLUMNS, [(str(r.id), self._cells(r)) for r in self.rows])
        self._marks()
        self._more_line()
        self.loaded = True

    def _append(self, listing: Listing) -> None:
        self._more_pending = False
        self.exhausted = listing.exhausted
        shown = {r.id for r in self.rows}
        new = [r for r in listing.rows if r.id not in shown]
        self.rows += new
        append_rows(self.query_one("#runs", DataTable), [(str(r.id), self._cells(r)) for r in new])
        self._more_line()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # offered (in the footer too) only while runs are left to read
        return not (action == "more" and self.exhausted)

    def _more_line(self) -> None:
        """How many runs are shown of how many, while more are left to read."""
        self.refresh_bindings()
        line = self.query_one("#history-more", Static)
        line.display = not self.exhausted
        if self.exhausted:
            return
        total = f" of {self.total:,}" if self.total is not None else ""
        line.update(
            Content.assemble(
                f"{len(self.rows):,}{total} runs shown",
                (f"   (more as you move down; m: the next {PAGE})", "$text-muted"),
            )
        )

    def _near_end(self, row: int) -> None:
        if not self.exhausted and row >= len(self.rows) - LOOKAHEAD:
            self.action_more()

    def _scrolled(self, scroll_y: float) -> None:
        table = self.query_one("#runs", DataTable)
        self._near_end(int(scroll_y) + table.scrollable_content_region.height)

    def _cells(self, r: RunRow) -> list[Any]:
        return run_cells(r, self.baseline_id, self.candidate_id)

    def _marks(self) -> None:
        def part(name: str, rid: int | None, style: str) -> list[Any]:
            if rid is None:
                return [(f"{name}: ", style), ("none", "$text-muted")]
            return [(f"{name}: ", style), f"run {rid}"]

        self.query_one("#history-marks", Static).update(
            Content.assemble(
                *part("◆ baseline", self.baseline_id, "bold $primary"),
                "   ",
                *part("◇ candidate", self.candidate_id, "bold $accent"),
                ("   (b / c to mark the highlighted run, d to compare)", "$text-muted"),
            )
        )

    def selected_row(self) -> RunRow | None:
        table = self.query_one("#runs", DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def selected_id(self) -> int | None:
        row = self.selected_row()
        return row.id if row is not None else None

    # -- events and actions ---------------------------------------------------------------

    def on_select_changed(self, event: Select.Changed) -> None:
        self._reload(keep=False)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "runs":
            self._near_end(event.cursor_row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        row = self.selected_row()
        if row is None:
            self.notify("no run selected", severity="warning")
            return
        open_past_run(self.app, row)

    def action_mark(self, label: str) -> None:
        row = self.selected_row()
        if row is None:
            self.notify("no run selected", severity="warning")
            return
        if row.kind != "llm":
            self.notify(not_compared(row.kind), severity="warning")
            return
        rid = row.id
        store = self.app.store  # type: ignore[attr-defined]
        if label == "baseline":
            self.baseline_id = rid
            if self.candidate_id == rid:
                self.candidate_id = None
        else:
            self.candidate_id = rid
            if self.baseline_id == rid:
                self.baseline_id = None
        try:
            store.set_label(rid, label)
        except Exception as exc:  # the mark still holds for this session
            self.notify(f"could not store the label: {exc}", severity="warning")
        self.action_reload()

    def action_compare(self) -> None:
        a, b = self.baseline_id, self.candidate_id
        if a is None or b is None:
            self.notify(
                "mark a baseline (b) and a candidate (c) first", title="Compare", severity="warning"
            )
            return
        self.app.push_screen(CompareScreen(a, b))

    def action_filter(self) -> None:
        self.query_one("#filter-plan", Select).focus()

    def action_back(self) -> None:
        self.app.pop_screen()


class CompareScreen(GateMixin):
    HELP = (
        "Baseline vs candidate, per model present in both runs, on their measured, valid "
        "requests. Δ is the relative difference of medians (candidate − baseline) / baseline, "
        "with a bootstrap 95% interval; p is a two-sided Mann-Whitney U test. The verdict is "
        "faster or slower only when p < 0.05 and the interval excludes zero (within noise "
        "when it lies inside ±1%); with fewer than "
        "two samples on either side there is no verdict. t sets a regression threshold: "
        "the gate's verdict (compare --fail-if-regression's) shows under the table."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "swap", "Swap", id="compare.swap"),
        Binding("escape", "back", "Back", id="compare.back"),
    ]

    def __init__(self, baseline_id: int, candidate_id: int) -> None:
        super().__init__()
        self.baseline_id = baseline_id
        self.candidate_id = candidate_id
        self.result: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Static(Content.styled("comparing…", "$text-muted"), id="compare-head")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield self.gate_static()  # the regression gate's verdict: t sets its threshold
        yield Static(
            Content.styled(
                "Δ: relative difference of medians, candidate vs baseline · 95% CI: bootstrap "
                "interval of Δ · p: Mann-Whitney U (two-sided)",
                "$text-muted",
            ),
            id="compare-legend",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.title = "tui-bench · compare"
        table = self.query_one(DataTable)
        fill_table(table, COMPARE_COLUMNS, [])
        table.focus()
        self._start()

    def _start(self) -> None:
        self.result = None
        a, b = self.baseline_id, self.candidate_id
        store = self.app.store  # type: ignore[attr-defined]
        self.run_worker(
            lambda: compare_runs(store, a, b), thread=True, exit_on_error=False, name="compare"
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if self.gate_worker_changed(event) or event.worker.name != "compare":
            return
        if event.state == WorkerState.SUCCESS:
            self._show(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self.query_one("#compare-head", Static).update(
                Content.styled(f"cannot compare: {event.worker.error}", "$error")
            )

    def _show(self, result: dict[str, Any]) -> None:
        self.result = result
        a, b = result["baseline"], result["candidate"]
        self.sub_title = f"run {a['id']} → run {b['id']}"
        self.query_one("#compare-head", Static).update(
            Content.assemble(
                ("◆ baseline ", "bold $primary"),
                f"run {a['id']} ({a['plan']}, {status_name(a)}, {when(a['started_at'])})\n",
                ("◇ candidate ", "bold $accent"),
                f"run {b['id']} ({b['plan']}, {status_name(b)}, {when(b['started_at'])})",
                *(
                    [("\n⚠ not like for like: ", "bold $warning"), "; ".join(result["caveats"])]
                    if result.get("caveats")
                    else []
                ),
            )
        )
        rows: list[tuple[str | None, list[Any]]] = []
        if not result["comparisons"]:
            self.notify("no model in common between the two runs", severity="warning")
        for mc in result["comparisons"]:
            name = (
                mc.model_baseline
                if mc.model_baseline == mc.model_candidate
                else f"{mc.model_baseline} → {mc.model_candidate}"
            )
            for i, c in enumerate(mc.rows):
                spec = METRIC.get(c.metric)
                metric = f"{spec.label} {spec.unit}" if spec else c.metric
                rows.append(
                    (
                        None,
                        [
                            Content.styled(name, "bold") if i == 0 else "",
                            metric,
                            verdict_content(c.verdict),
                            signed_pct(c.rel_diff),
                            MISSING
                            if c.ci95 is None
                            else f"[{signed_pct(c.ci95[0])}, {signed_pct(c.ci95[1])}]",
                            MISSING if c.p_value is None else f"{c.p_value:.3g}",
                            f"{c.n_baseline}/{c.n_candidate}",
                            num(c.median_baseline, 2),
                            num(c.median_candidate, 2),
                        ],
                    )
                )
        fill_table(self.query_one(DataTable), COMPARE_COLUMNS, rows)

    def action_swap(self) -> None:
        self.baseline_id, self.candidate_id = self.candidate_id, self.baseline_id
        self.query_one(DataTable).clear()
        self._start()
        self.start_gate()

    def action_back(self) -> None:
        self.app.pop_screen()


def status_name(run: dict[str, Any]) -> str:
    return str(run.get("status") or "")
