"""The ranking table: one row per model, ordered by the median of a chosen metric.

Order and places are presentation of the core's summaries (``GroupSummary``) and places
(:func:`tui_bench.core.medals.placings`): a model has a place, and a medal among the first
three, of its own only where its difference to the model above beats chance; otherwise
it shares the place, marked ``=`` (tied). Models with no valid timing of the metric go
last, without a place. A ⚑ beside a number says a validity flag concerns it; the flags
column names them with their counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from textual.content import Content
from textual.widgets import DataTable

from tui_bench.core.medals import MEDALS, Placing, placings
from tui_bench.core.results import RequestRecord
from tui_bench.core.summary import METRIC, GroupSummary
from tui_bench.tui.format import MISSING, mem_kb, num, pct
from tui_bench.tui.widgets.table import fill_table

__all__ = ["COLUMNS", "MEDALS", "SORTABLE", "RankingTable", "rank_groups"]

# (column key, metric key, header, digits)
COLUMNS: tuple[tuple[str, str, str, int], ...] = (
    ("decode_tps", "decode_tps", "decode\ntok/s", 1),
    ("ttft_ms", "ttft_ms", "TTFT\nms", 1),
    ("e2e_ms", "e2e_ms", "e2e\nms", 0),
    ("tpot_ms", "tpot_ms", "TPOT\nms", 2),
    ("prefill_tps", "prefill_tps", "prefill\ntok/s", 0),
    ("peak_rss_kb", "peak_rss_kb", "peak\nRSS", 0),
)
SORTABLE = tuple(c[0] for c in COLUMNS)

# which numbers a validity flag concerns (metrics.md: "the flag shown beside its numbers")
FLAG_METRICS: dict[str, tuple[str, ...]] = {
    "cache_hit": ("ttft_ms", "prefill_tps"),
    "no_finish_reason": ("e2e_ms", "decode_tps", "tpot_ms"),
    "truncated": ("e2e_ms", "decode_tps", "tpot_ms"),
    "n_out_mismatch": ("decode_tps", "tpot_ms"),
    "rate_mismatch": ("decode_tps", "tpot_ms"),
}


@dataclass
class RankedRow:
    placing: Placing
    group: GroupSummary

    @property
    def model(self) -> str:
        return self.group.key["model"]


def rank_groups(
    groups: list[GroupSummary],
    records: Sequence[RequestRecord],
    metric: str,
    *,
    reverse: bool = False,
) -> list[RankedRow]:
    """Best first by ``metric`` in the core's places (worst first with ``reverse``);
    models without a value last either way."""
    by_model = {g.key["model"]: g for g in groups}
    placed = placings(records, list(by_model), metric)
    rows = [RankedRow(p, by_model[p.model]) for p in placed if p.place is not None]
    if reverse:  # places still say who is best, whatever the display order
        rows.reverse()
    return rows + [RankedRow(p, by_model[p.model]) for p in placed if p.place is None]


def place_cell(p: Placing) -> Content:
    """🥇, ``4.``; ``=`` after a shared place (tied); the missing mark without a place."""
    if p.place is None:
        return Content.styled(MISSING, "dim")
    text = p.medal or f"{p.place}."
    return Content.assemble(text, ("=", "$warning bold")) if p.tied else Content(text)


def flagged_metrics(g: GroupSummary) -> set[str]:
    out: set[str] = set()
    for flag in g.flags:
        out.update(FLAG_METRICS.get(flag, ()))
    return out


def _metric_cell(g: GroupSummary, key: str, digits: int, flagged: set[str]) -> Content:
    s = g.metrics[key]
    if s.median is None:
        return Content.styled(MISSING, "dim")
    text = mem_kb(s.median) if key == "peak_rss_kb" else num(s.median, digits)
    if key in flagged:
        return Content.assemble(text, (" ⚑", "$warning bold"))
    return Content(text)


class RankingTable(DataTable):
    """Models ranked by one metric; medals for the first three places, shared when tied.
    Cells are medians (p50)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, header_height=2)
        self.sort_metric = "decode_tps"
        self.reverse = False
        self.threshold: float | None = None
        self.groups: list[GroupSummary] = []
        self.order: list[str] = []  # model ids in displayed order
        self.medals: dict[str, str] = {}
        self.placings: dict[str, Placing] = {}  # model -> its place on the sort metric

    def _column_labels(self) -> list[tuple[str, str | Content]]:
        cols: list[tuple[str, str | Content]] = [
            ("rank", "#"),
            ("model", "model"),
            ("success", "ok/n\nsuccess"),
        ]
        for key, metric, header, _digits in COLUMNS:
            if key == self.sort_metric:
                arrow = "▼" if METRIC[metric].higher_is_better != self.reverse else "▲"
                cols.append((key, Content.styled(f"{header} {arrow}", "bold $accent")))
            else:
                cols.append((key, header))
        cols.append(("flags", "validity\nflags ⚑"))
        return cols

    def show(
        self,
        groups: list[GroupSummary],
        records: Sequence[RequestRecord],
        *,
        threshold: float | None,
        metric: str | None = None,
        reverse: bool | None = None,
    ) -> None:
        self.groups = groups
        self.threshold = threshold
        if metric is not None:
            self.sort_metric = metric
        if reverse is not None:
            self.reverse = reverse
        self.order = []
        self.medals = {}
        self.placings = {}
        rows: list[tuple[str | None, list[Any]]] = []
        for row in rank_groups(groups, records, self.sort_metric, reverse=self.reverse):
            g = row.group
            self.order.append(row.model)
            self.placings[row.model] = row.placing
            if row.placing.medal is not None:
                self.medals[row.model] = row.placing.medal
            rank = place_cell(row.placing)
            ok = g.success_rate is not None and (
                self.threshold is None or g.success_rate >= self.threshold
            )
            rate = pct(g.success_rate)
            timed = "" if g.n_timed == g.n_ok else f" ({g.n_timed} timed)"
            success = Content.styled(
                f"{g.n_ok}/{g.n} {rate}{timed}", "$success" if ok else "$error bold"
            )
            flagged = flagged_metrics(g)
            cells = [_metric_cell(g, key, digits, flagged) for key, _m, _h, digits in COLUMNS]
            flags = (
                Content.styled(" ".join(f"{f}×{n}" for f, n in sorted(g.flags.items())), "$warning")
                if g.flags
                else Content.styled(MISSING, "dim")
            )
            rows.append(
                (row.model, [rank, Content.styled(row.model, "bold"), success, *cells, flags])
            )
        fill_table(self, self._column_labels(), rows)

    def medal_order(self) -> list[str]:
        """Models holding 🥇, 🥈, 🥉 in that order (tied ones side by side)."""
        return sorted(self.medals, key=lambda m: MEDALS.index(self.medals[m]))

    def tied(self) -> list[list[str]]:
        """The models sharing a place on the sort metric, place by place."""
        shared: dict[int, list[str]] = {}
        for model, p in self.placings.items():
            if p.tied and p.place is not None:
                shared.setdefault(p.place, []).append(model)
        return [shared[k] for k in sorted(shared)]
