"""A pipeline run's results: the stage table, the stacked bar of the stages' median
shares with the bottleneck named, each stage's quality against the scenario's
thresholds, and a row per question.

Everything is read from the run's data (``PipelineResult.to_dict()``): the live run's,
or the summary history keeps, so a run opened from history shows what it showed when
it finished. Numbers are the core's (``stage_table``, ``bottleneck``, ``thresholds``);
this screen only lays them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui_bench.tui.format import MISSING, num, pct, score
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.pipeline import ShareBar, stage_cells
from tui_bench.tui.widgets.table import fill_table

VERDICT = {True: ("pass", "$success"), False: ("BELOW", "bold $error"), None: ("not judged", "dim")}
STAGE_COLUMNS = (
    ("stage", "stage"),
    ("n", "n"),
    ("setup", "setup ms"),
    ("median", "median ms"),
    ("p90", "p90 ms"),
    ("share", "median share"),
)
QUALITY_COLUMNS = (
    ("stage", "stage"),
    ("metric", "metric"),
    ("value", "value"),
    ("threshold", "minimum"),
    ("verdict", "verdict"),
)


def metric_stage(metric: str) -> str:
    """The stage a scenario threshold judges (``pipeline`` for the success rate)."""
    if metric.startswith(("ndcg@", "recall@")) or metric == "mrr":
        return "retrieve"
    if metric in ("accuracy", "macro_f1"):
        return "classify"
    return "generate" if metric == "quality" else "pipeline"


def stage_rows(d: Mapping[str, Any]) -> list[tuple[str | None, list[Any]]]:
    rows: list[tuple[str | None, list[Any]]] = []
    bottleneck = d["bottleneck"]["stage"]
    for stage, row in d["stage_table"].items():
        name = Content.styled(f"{stage} ◀", "bold") if stage == bottleneck else stage
        rows.append(
            (
                stage,
                [
                    name,
                    str(row["n"]),
                    num(row["setup_ms"], 1),
                    num(row["wall_ms"]["median"], 2),
                    num(row["wall_ms"]["p90"], 2),
                    pct(row["share"]["median"]),
                ],
            )
        )
    for stage, setup in d["setup"].items():
        if setup.get("skipped"):
            rows.append((stage, [Content.styled(stage, "dim"), "skipped", *[MISSING] * 4]))
    return rows


def quality_rows(d: Mapping[str, Any]) -> list[tuple[str | None, list[Any]]]:
    rows: list[tuple[str | None, list[Any]]] = []
    for t in d["thresholds"]:
        word, style = VERDICT[t["passed"]]
        note = f" ({t['note']})" if t["note"] else ""
        rows.append(
            (
                t["metric"],
                [
                    metric_stage(t["metric"]),
                    t["metric"] + note,
                    score(t["value"]),
                    score(t["threshold"]),
                    Content.styled(word, style),
                ],
            )
        )
    return rows


def question_columns(order: Sequence[str]) -> list[tuple[str, str]]:
    return [
        ("id", "question"),
        ("label", "label"),
        ("predicted", "predicted"),
        ("ndcg", "nDCG@10"),
        *[(f"span-{s}", f"{s} ms") for s in order],
        ("e2e", "e2e ms"),
        ("ok", "ok"),
    ]


def question_rows(d: Mapping[str, Any]) -> list[tuple[str | None, list[Any]]]:
    rows: list[tuple[str | None, list[Any]]] = []
    for q in d["questions"]:
        metrics = (q["retrieve"] or {}).get("metrics", {})
        ndcg = metrics.get("ndcg_time@10")
        if ndcg is None:
            ndcg = metrics.get("ndcg@10")
        c = q["classify"]
        predicted: Any = MISSING
        if c:
            predicted = Content.styled(c["label"], "$success" if c["correct"] else "$error")
        ok = Content.styled("yes", "$success") if q["success"] else Content.styled("no", "$error")
        rows.append(
            (
                q["id"],
                [
                    q["id"],
                    q["label"] or MISSING,
                    predicted,
                    score(ndcg) if q["retrieve"] else MISSING,
                    *stage_cells(q, d["ran"]),
                    num(q["e2e_ms"], 1),
                    ok,
                ],
            )
        )
    return rows


def head_content(d: Mapping[str, Any], run_id: int | None) -> Content:
    """``support-rag · completed · FAIL · run 5 · 2 of 24 questions · success 100% · model …``"""
    sc = d["scenario"]
    verdict = ("PASS", "bold $success") if d["passed"] else ("FAIL", "bold $error")
    return Content.assemble(
        (sc["id"], "bold"),
        f" · {d['status']} · ",
        verdict,
        f" · run {run_id}" if run_id is not None else "",
        f" · {len(d['questions'])} of {sc['tasks_total']} questions · success "
        f"{pct(d['success_rate'])} · model {d['config']['model']}",
    )


class PipelineResultsScreen(Screen[None]):
    DEFAULT_CSS = """
    PipelineResultsScreen #pr-head { height: 1; padding: 0 1; }
    PipelineResultsScreen #pr-bar { margin: 1 1 0 1; }
    PipelineResultsScreen #pr-sentence { padding: 0 1; margin-bottom: 1; }
    PipelineResultsScreen #pr-tables DataTable { height: auto; margin-bottom: 1; }
    PipelineResultsScreen #pr-files { padding: 0 1; }
    """
    HELP = (
        "A pipeline run: each stage's time per question (median and p90 of its spans, "
        "setup apart) and its median share of a question's end-to-end time; the bar stacks "
        "those shares (░ retrieve, ▒ classify, █ generate) and the bottleneck is the stage "
        "with the largest median share. Quality: each of the scenario's thresholds with its "
        "verdict (pass, BELOW, or not judged when its stage did not run). Questions: the "
        "label and the classifier's prediction (green when right), nDCG@10 of the "
        "retrieval, each stage's span, the end-to-end time and whether it succeeded."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="pipeline-results.back"),
    ]

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        run_id: int | None = None,
        reports: Sequence[Path] = (),
        report_error: str | None = None,
    ) -> None:
        super().__init__()
        self.data = data
        self.run_id = run_id
        self.reports = list(reports)
        self.report_error = report_error

    def compose(self) -> ComposeResult:
        d = self.data
        yield AppHeader()
        yield Static(head_content(d, self.run_id), id="pr-head")
        bar = ShareBar(id="pr-bar")
        medians = {s: row["share"]["median"] for s, row in d["stage_table"].items()}
        shares = {s: v for s, v in medians.items() if v is not None}
        bar.show(shares, d["ran"], d["bottleneck"]["stage"])
        yield bar
        yield Static(Content.styled(d["bottleneck"]["sentence"], "bold"), id="pr-sentence")
        with VerticalScroll(id="pr-tables"):
            yield DataTable(id="pr-stages", cursor_type="none", zebra_stripes=True)
            yield DataTable(id="pr-quality", cursor_type="none", zebra_stripes=True)
            yield DataTable(id="pr-questions", cursor_type="row", zebra_stripes=True)
            yield Static(self._files_line(), id="pr-files")
        yield Footer()

    def on_mount(self) -> None:
        d = self.data
        self.title = "tui-bench · pipeline"
        self.sub_title = d["scenario"].get("name") or d["scenario"]["id"]
        fill_table(self.query_one("#pr-stages", DataTable), STAGE_COLUMNS, stage_rows(d))
        fill_table(self.query_one("#pr-quality", DataTable), QUALITY_COLUMNS, quality_rows(d))
        questions = self.query_one("#pr-questions", DataTable)
        fill_table(questions, question_columns(d["ran"]), question_rows(d))
        questions.focus()

    def _files_line(self) -> Content:
        if self.report_error:
            return Content.styled(f"reports NOT written: {self.report_error}", "$error")
        if self.reports:
            return Content.styled(f"reports: {', '.join(map(str, self.reports))}", "dim")
        out = self.data.get("output_dir")
        return Content.styled(f"reports: {out}" if out else "", "dim")

    def action_back(self) -> None:
        self.app.pop_screen()
