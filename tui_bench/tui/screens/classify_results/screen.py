"""The screen of a classifier benchmark's ranking, then the final choice.

One table per category (and language): candidates by macro-F1 as the core ranked them
(ties: accuracy, then training time), medals for the top three that beat the baseline,
the majority baseline always listed without a medal, how far each candidate is above it.
Binary and multi-class categories are never mixed: the aggregate tables (mean over
categories) keep them apart. Then the reports and the history entry, and the choice:
use the top model, pick one, or stop here. The chosen model is trained on all the rows
of each benchmarked category by the core (``train_chosen``) and saved (joblib + JSON card):
the app runs that training (a :class:`~tui_bench.tui.runs.FinalTraining`) and tells this
screen when it has ended. The tables' rows are built in ``ranking``, the texts around them
in ``panels``, the highlighted candidate's panel (its classes, its intervals) in
``detail``, the pick dialog in ``pick``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from tui_bench.core.classify.runner import CHOOSE_NONE, CHOOSE_TOP, preview_choice
from tui_bench.tui.classify_bridge import ClassifyOutcome
from tui_bench.tui.format import error_text
from tui_bench.tui.runs import FinalTraining
from tui_bench.tui.screens.classify_results.detail import detail_text
from tui_bench.tui.screens.classify_results.panels import (
    archived_final_text,
    final_text,
    head_text,
    paths_text,
)
from tui_bench.tui.screens.classify_results.pick import PickModelScreen, pick_options
from tui_bench.tui.screens.classify_results.ranking import (
    AGGREGATE_CAPTION,
    AGGREGATE_COLUMNS,
    CELL_COLUMNS,
    RANKING_CAPTION,
    aggregate_caption,
    aggregate_rows,
    cell_caption,
    cell_rows,
    cells_of,
    groups_of,
)
from tui_bench.tui.state.classify import ClassifyLiveState
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.table import fill_table

CHOICE_TOP, CHOICE_PICK, CHOICE_STOP = "choice-top", "choice-pick", "choice-stop"


def _ranking_table(table_id: str) -> DataTable[Any]:
    return DataTable(id=table_id, cursor_type="row", zebra_stripes=True, classes="clres-table")


class ClassifyResultsScreen(Screen[None]):
    HELP = (
        "The ranking per category (and language): macro-F1 first, ties by accuracy then "
        "training time; binary and multi-class categories are ranked apart. Two baselines: "
        "the majority class and guessing by the class priors (its expected score). 'vs "
        "base' is the macro-F1 above the better one, with its 95% interval; a medal goes "
        "to a top-three candidate whose interval lies above zero, any other is 'not better "
        "than chance'; 'tied' means it may equal the top one. Up and down pick a row: its "
        "panel shows the classes (precision, recall, F1, support, confusion). Across "
        "categories one rule gives the medals and the top choice: the lowest mean rank. "
        "Then choose: t trains the top model on all the rows of each category and saves it "
        "(joblib + JSON card), p lets you pick the model, s stops here with the benchmark "
        "only."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "use_top", "Use top model", id="classify-results.top"),
        Binding("p", "pick", "Pick a model", id="classify-results.pick"),
        Binding("s", "stop", "Stop here", id="classify-results.stop"),
        Binding("escape", "back", "Back", id="classify-results.back"),
    ]

    def __init__(
        self,
        outcome: ClassifyOutcome,
        *,
        choose_default: str = CHOOSE_TOP,
        refresh_hz: float = 4.0,
        from_cli: bool = False,
    ) -> None:
        super().__init__()
        self.outcome = outcome
        self.from_cli = from_cli  # the command's own benchmark: its training sets the exit code
        self.result = outcome.result
        self.choose_default = choose_default
        self.refresh_hz = refresh_hz
        self.cells = cells_of(self.result)
        self.groups = groups_of(self.result)
        # A result from the history database holds no data: it can be shown, not trained.
        self.archived = outcome.from_history
        self.top = self._preview_top() if not self.archived else {}
        self.final_state: ClassifyLiveState | None = None
        self.final_run: FinalTraining | None = None
        self.final_error: str | None = None
        self.stopped = False
        self._timer: Timer | None = None

    @property
    def busy(self) -> bool:
        return self.final_run is not None and self.final_run.running

    def _preview_top(self) -> dict[str, Any]:
        try:
            return preview_choice(self.result, CHOOSE_TOP)
        except Exception as exc:  # a result the core cannot choose from: say why
            return {"mode": "top", "model": None, "reason": error_text(exc)}

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(id="clres-body"):
            yield Static(id="clres-head")
            yield Static(id="clres-caption", classes="clres-caption")
            for i, _cell in enumerate(self.cells):
                yield Static(id=f"clres-cap-{i}", classes="clres-cell")
                yield _ranking_table(f"clres-rank-{i}")
                yield Static(id=f"clres-detail-{i}", classes="clres-cell")
            if self.groups:
                yield Static(id="clres-agg-caption", classes="clres-caption")
            for group in self.groups:
                yield Static(id=f"clres-aggcap-{group}", classes="clres-cell")
                yield _ranking_table(f"clres-agg-{group}")
            yield Static(id="clres-paths")
            if self.archived:
                yield Static(Content.styled("Final choice", "bold"), classes="clres-caption")
            else:
                yield Static(Content.styled("Next step", "bold"), classes="clres-caption")
                yield OptionList(id="clres-choice")
            yield Static(id="clres-final")
        yield Footer()

    def on_mount(self) -> None:
        r = self.result
        self.title = "tui-bench · classifier ranking"
        self.sub_title = f"{Path(str(r.config.get('data', ''))).name} · {r.status}"
        self._head()
        self._tables()
        self._paths()
        if self.archived:
            self._archived_final()
        else:
            self._choices()
            self._final()
        tables = self.query(DataTable)
        if tables:
            tables.first().focus()

    def _head(self) -> None:
        self.query_one("#clres-head", Static).update(head_text(self.result))
        self.query_one("#clres-caption", Static).update(RANKING_CAPTION)

    def _tables(self) -> None:
        r = self.result
        for i, (category, language) in enumerate(self.cells):
            self.query_one(f"#clres-cap-{i}", Static).update(cell_caption(r, category, language))
            rows = cell_rows(r, category, language)
            fill_table(self.query_one(f"#clres-rank-{i}", DataTable), CELL_COLUMNS, rows)
            self._detail(i, rows[0][0] if rows else None)
        if not self.groups:
            return
        self.query_one("#clres-agg-caption", Static).update(AGGREGATE_CAPTION)
        for group in self.groups:
            self.query_one(f"#clres-aggcap-{group}", Static).update(aggregate_caption(r, group))
            fill_table(
                self.query_one(f"#clres-agg-{group}", DataTable),
                AGGREGATE_COLUMNS,
                aggregate_rows(r, group),
            )

    def _detail(self, index: int, model: str | None) -> None:
        """The panel of cell ``index`` for its candidate ``model``."""
        cell = self.cells[index]
        row = next((r for r in self.result.rows if r.cell == cell and r.model == model), None)
        text = detail_text(self.result, row) if row is not None else Content("")
        self.query_one(f"#clres-detail-{index}", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table_id = event.data_table.id or ""
        if table_id.startswith("clres-rank-") and event.row_key.value is not None:
            self._detail(int(table_id.removeprefix("clres-rank-")), str(event.row_key.value))

    def _paths(self) -> None:
        self.query_one("#clres-paths", Static).update(paths_text(self.outcome))

    def _top_text(self) -> tuple[str, bool]:
        top = self.top
        if top.get("models_by_language"):
            picks = ", ".join(f"{k}: {v or '–'}" for k, v in top["models_by_language"].items())
            return f"Use the top model of each language ({picks})", True
        model = top.get("model")
        if model is None:
            return f"Use the top model: none ({top.get('reason', '')})", False
        return f"Use the top model: {model} ({top.get('reason', '')})", True

    def _choices(self) -> None:
        ol = self.query_one("#clres-choice", OptionList)
        ol.clear_options()
        text, ok = self._top_text()
        n = len(self.cells)
        where = "each benchmarked category" if n > 1 else "the benchmarked category"
        ol.add_option(
            Option(
                Content.assemble(
                    ("t ", "bold $accent"),
                    text,
                    (f"\n  train it on all the rows of {where} and save it", "$text-muted"),
                ),
                id=CHOICE_TOP,
                disabled=not ok,
            )
        )
        ol.add_option(
            Option(
                Content.assemble(
                    ("p ", "bold $accent"),
                    "Pick a model…",
                    ("\n  choose the candidate to train and save", "$text-muted"),
                ),
                id=CHOICE_PICK,
            )
        )
        ol.add_option(
            Option(
                Content.assemble(
                    ("s ", "bold $accent"),
                    "Stop here",
                    ("\n  keep the benchmark only; no model is trained", "$text-muted"),
                ),
                id=CHOICE_STOP,
            )
        )
        default = self.choose_default
        ol.highlighted = 2 if default == CHOOSE_NONE else 0 if default == CHOOSE_TOP and ok else 1

    def _final(self) -> None:
        self.query_one("#clres-final", Static).update(
            final_text(
                self.final_state, error=self.final_error, stopped=self.stopped, busy=self.busy
            )
        )

    # -- final choice -------------------------------------------------------------------

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id != "clres-choice":
            return
        event.stop()
        {
            CHOICE_TOP: self.action_use_top,
            CHOICE_PICK: self.action_pick,
            CHOICE_STOP: self.action_stop,
        }[event.option.id or CHOICE_STOP]()

    def _archived_final(self) -> None:
        self.query_one("#clres-final", Static).update(archived_final_text(self.result))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # nothing to train from in a run opened from history: hidden from the footer
        return not (self.archived and action in ("use_top", "pick", "stop"))

    def _can_choose(self) -> bool:
        if self.archived:
            return False
        if self.busy:
            self.notify("a final model is being trained", severity="warning")
            return False
        return True

    def action_use_top(self) -> None:
        if not self._can_choose():
            return
        text, ok = self._top_text()
        if not ok:
            self.notify(text, title="No top model", severity="warning")
            return
        self._train(CHOOSE_TOP, None)

    def action_pick(self) -> None:
        if not self._can_choose():
            return
        r = self.result
        by_language = bool(r.config.get("by_language"))
        if not by_language:
            models = r.models.get("*") or next(iter(r.models.values()), [])
            self.app.push_screen(
                PickModelScreen(
                    pick_options(r, models, None), "Pick the model to train", self._preferred()
                ),
                lambda model: self._train(model, None) if model else None,
            )
            return
        languages = [lang for lang in r.languages if lang]
        chosen: dict[str, str] = {}

        def ask(i: int) -> None:
            if i == len(languages):
                self._train(CHOOSE_NONE, chosen)
                return
            lang = languages[i]

            def got(model: str | None) -> None:
                if model:
                    chosen[lang] = model
                    ask(i + 1)

            models = r.models.get(lang) or r.models.get("*") or []
            self.app.push_screen(
                PickModelScreen(
                    pick_options(r, models, lang),
                    f"Pick the model for {lang} ({i + 1}/{len(languages)})",
                    self._preferred(lang),
                ),
                got,
            )

        ask(0)

    def _preferred(self, language: str | None = None) -> str | None:
        """The model highlighted in the pick dialog: the one the command named, else the top."""
        if self.choose_default not in (CHOOSE_TOP, CHOOSE_NONE):
            return self.choose_default
        if language is not None:
            return (self.top.get("models_by_language") or {}).get(language)
        return self.top.get("model")

    def action_stop(self) -> None:
        if not self._can_choose():
            return
        self.stopped = True
        self.final_state = None
        self.final_error = None
        self._final()
        self.notify("benchmark kept; no model trained", title="Stopped here", timeout=4)

    def _train(self, choose: str, by_language: dict[str, str] | None) -> None:
        run = FinalTraining(self, self.outcome, choose, by_language, from_cli=self.from_cli)
        if self.app.start(run) is None:  # type: ignore[attr-defined]
            return  # another run is in progress (the app said so)
        self.stopped = False
        self.final_error = None
        self.final_run = run
        self.final_state = run.state
        self._timer = self.set_interval(1 / self.refresh_hz, self._final)
        self._final()
        self.query_one("#clres-final", Static).scroll_visible(animate=False)

    def final_ended(self, run: FinalTraining) -> None:
        """The app's word that the final training has ended (saved, or failed)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if run.error is None:
            finals = run.result or []
            self.notify(
                "\n".join(f.model_path for f in finals) or "no model",
                title=f"{len(finals)} model(s) saved",
                timeout=8,
            )
            if self.outcome.reports:
                self.outcome.reports = [p for p in self.outcome.reports if p.exists()]
        else:
            self.final_error = run.error
            self.notify(self.final_error, title="Final training failed", severity="error")
        self._final()
        self.call_after_refresh(
            self.query_one("#clres-final", Static).scroll_visible, animate=False
        )

    def action_back(self) -> None:
        if self.busy:
            self.notify("a final model is being trained: wait for it", severity="warning")
            return
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def palette_commands(self) -> list[tuple[str, str, Callable[[], None]]]:
        if self.archived:
            return []
        text, ok = self._top_text()
        out: list[tuple[str, str, Callable[[], None]]] = []
        if ok:
            out.append(("Use the top model", text, self.action_use_top))
        out.append(
            (
                "Pick a model to train",
                "Train the candidate you choose on all the data",
                self.action_pick,
            )
        )
        out.append(("Stop here", "Keep the benchmark only", self.action_stop))
        return out
