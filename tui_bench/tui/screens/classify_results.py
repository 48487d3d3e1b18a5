"""The ranking of a classifier benchmark, then the final choice.

One table per category (and language): candidates by macro-F1 as the core ranked them
(ties: accuracy, then training time), medals for the top three that beat the baseline,
the majority baseline always listed without a medal, how far each candidate is above it.
Binary and multi-class categories are never mixed: the aggregate tables (mean over
categories) keep them apart. Then the reports and the history entry, and the choice:
use the top model, pick one, or stop here. The chosen model is trained on all the rows
of each benchmarked category by the core (``train_chosen``) and saved (joblib + JSON card):
the app runs that training (a :class:`~tui_bench.tui.runs.FinalTraining`) and tells this
screen when it has ended.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_bench.core.classify.runner import CHOOSE_NONE, CHOOSE_TOP, preview_choice
from tui_bench.core.redact import home_relative
from tui_bench.tui.classify_bridge import ClassifyOutcome
from tui_bench.tui.format import duration, error_text
from tui_bench.tui.runs import FinalTraining
from tui_bench.tui.state.classify import ClassifyLiveState, cell_name
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.table import fill_table

CHOICE_TOP, CHOICE_PICK, CHOICE_STOP = "choice-top", "choice-pick", "choice-stop"
GROUP_TITLE = {"binary": "binary categories (2 classes)", "multiclass": "multi-class categories"}


def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _signed(x: float | None) -> str:
    return "–" if x is None else f"{x:+.3f}"


def _secs(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def cells_of(result: Any) -> list[tuple[str, str | None]]:
    """(category, language) in the order the core ranked them."""
    seen: list[tuple[str, str | None]] = []
    for row in result.rows:
        if row.cell not in seen:
            seen.append(row.cell)
    return seen


def _rank_cell(row: Any) -> Content:
    if row.baseline:
        return Content.styled("base", "dim")
    if row.medal:
        return Content(row.medal)
    if row.rank is not None:
        return Content(f"{row.rank}.")
    return Content.styled("✗", "$text-error")


class ClassifyResultsScreen(Screen[None]):
    HELP = (
        "The ranking per category (and language): macro-F1 first, ties by accuracy then "
        "training time; binary and multi-class categories are ranked apart and averaged "
        "apart. Medals go to the top three that beat the majority baseline; 'vs base' is "
        "the macro-F1 above the baseline's. Then choose: t trains the top model on all the "
        "rows of each category and saves it (joblib + JSON card), p lets you pick the "
        "model, s stops here with the benchmark only."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "use_top", "Use top model", id="classify-results.top"),
        Binding("p", "pick", "Pick a model", id="classify-results.pick"),
        Binding("s", "stop", "Stop here", id="classify-results.stop"),
        Binding("escape", "back", "Back", id="classify-results.back"),
    ]

    def __init__(
        self, outcome: ClassifyOutcome, *, choose_default: str = CHOOSE_TOP, refresh_hz: float = 4.0
    ) -> None:
        super().__init__()
        self.outcome = outcome
        self.result = outcome.result
        self.choose_default = choose_default
        self.refresh_hz = refresh_hz
        self.cells = cells_of(self.result)
        self.groups = [
            g for g in ("binary", "multiclass") if any(a.group == g for a in self.result.aggregates)
        ]
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
                yield DataTable(
                    id=f"clres-rank-{i}",
                    cursor_type="row",
                    zebra_stripes=True,
                    classes="clres-table",
                )
            if self.groups:
                yield Static(id="clres-agg-caption", classes="clres-caption")
            for group in self.groups:
                yield Static(id=f"clres-aggcap-{group}", classes="clres-cell")
                yield DataTable(
                    id=f"clres-agg-{group}",
                    cursor_type="row",
                    zebra_stripes=True,
                    classes="clres-table",
                )
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
        r = self.result
        cfg = r.config
        ds = r.dataset
        parts: list[Any] = [
            (Path(str(ds.get("path") or cfg.get("data"))).name, "bold"),
            f" · {ds.get('n_rows', 0):,} rows · ",
        ]
        style = "$text-success" if r.status == "completed" else "$text-warning"
        parts.append((r.status, f"bold {style}"))
        parts.append(
            f" in {duration(r.duration_s)} · started {r.started_at[:19].replace('T', ' ')}\n"
        )
        split = (
            f"{cfg['cv']}-fold cross-validation"
            if cfg.get("cv")
            else f"hold-out {float(cfg.get('test_size', 0.2)):.0%}"
        )
        n_models = len({m for ms in r.models.values() for m in ms})
        parts.append(
            f"{len(r.categories)} categor{'y' if len(r.categories) == 1 else 'ies'} × "
            f"{n_models} candidates + majority baseline · stratified {split} · seed "
            f"{cfg.get('seed', 0)} · {cfg.get('epochs')} epochs"
        )
        if cfg.get("by_language"):
            parts.append(" · one model per language")
        if r.status == "cancelled":
            trained = sum(1 for x in r.results if x.error != "cancelled")
            parts.append(
                (
                    f"\ncancelled: partial results, {trained} of {len(r.results)} trainings "
                    "finished; the ranking covers those only",
                    "$text-warning",
                )
            )
        for ex in r.excluded:
            where = cell_name(ex["category"], ex.get("language"))
            parts.append((f"\nexcluded {where}: {ex['reason']}", "$text-muted"))
        for note in r.notes:
            parts.append((f"\n{note}", "$text-muted"))
        self.query_one("#clres-head", Static).update(Content.assemble(*parts))
        self.query_one("#clres-caption", Static).update(
            Content.assemble(
                ("Ranking per category ", "bold"),
                ("by macro-F1", "$accent"),
                (
                    " · ties: accuracy, then training time · vs base: macro-F1 above the "
                    "majority baseline · medals only above it",
                    "$text-muted",
                ),
            )
        )

    def _analysis_of(self, category: str, language: str | None) -> Any:
        pool = self.result.cell_imbalance if language else self.result.imbalance
        return next((a for a in pool if a.category == category and a.language == language), None)

    def _tables(self) -> None:
        r = self.result
        for i, (category, language) in enumerate(self.cells):
            rows = [row for row in r.rows if row.cell == (category, language)]
            first = rows[0]
            a = self._analysis_of(category, language)
            cap: list[Any] = [(cell_name(category, language), "bold $accent")]
            kind = (
                "binary" if first.group == "binary" else f"multi-class, {first.n_classes} classes"
            )
            cap.append(f" · {kind}")
            if a is not None and a.profile:
                cap.append(f" · {a.profile} (ratio {a.imbalance_ratio:.2f})")
            res = r.result_for(first.model, category, language)
            if res is not None:
                cap.append(
                    (f" · {res.n_train:,} train / {res.n_test:,} test rows", "$text-muted")
                    if res.folds == 1
                    else (f" · {res.folds} folds", "$text-muted")
                )
            self.query_one(f"#clres-cap-{i}", Static).update(Content.assemble(*cap))
            table_rows = []
            for row in rows:
                name = Content.styled(row.model, "dim" if row.baseline else "bold")
                if row.error:
                    name = Content.assemble(name, (f" {row.error}", "$text-error"))
                table_rows.append(
                    (
                        row.model,
                        [
                            _rank_cell(row),
                            name,
                            _f(row.f1_macro),
                            _signed(row.f1_vs_baseline) if not row.baseline else "–",
                            _f(row.accuracy),
                            _f(row.balanced_accuracy),
                            _f(row.minority_f1),
                            _secs(row.train_time_s),
                        ],
                    )
                )
            fill_table(
                self.query_one(f"#clres-rank-{i}", DataTable),
                [
                    ("rank", "#"),
                    ("model", "model"),
                    ("f1", "macro-F1"),
                    ("delta", "vs base"),
                    ("acc", "acc."),
                    ("bacc", "bal.acc"),
                    ("minf1", "min. F1"),
                    ("time", "train s"),
                ],
                table_rows,
            )
        if not self.groups:
            return
        self.query_one("#clres-agg-caption", Static).update(
            Content.assemble(
                ("Across categories ", "bold"),
                (
                    "· mean over the categories of each kind; binary and multi-class never "
                    "averaged together",
                    "$text-muted",
                ),
            )
        )
        for group in self.groups:
            aggs = [a for a in r.aggregates if a.group == group]
            n_cells = max((a.n_cells + a.n_missing for a in aggs), default=0)
            self.query_one(f"#clres-aggcap-{group}", Static).update(
                Content.assemble((GROUP_TITLE[group], "bold"), f" · {n_cells} cell(s)")
            )
            rows = []
            for a in aggs:
                rank = (
                    Content(a.medal)
                    if a.medal
                    else Content(f"{a.rank}.")
                    if a.rank
                    else Content.styled("–", "dim")
                )
                missing = f" ({a.n_missing} missing)" if a.n_missing else ""
                rows.append(
                    (
                        a.model,
                        [
                            rank,
                            Content.styled(a.model, "bold"),
                            f"{a.n_cells}{missing}",
                            _f(a.mean_f1_macro),
                            _signed(a.mean_f1_vs_baseline),
                            _f(a.mean_rank, 2),
                            str(a.wins),
                            _secs(a.total_train_time_s),
                        ],
                    )
                )
            fill_table(
                self.query_one(f"#clres-agg-{group}", DataTable),
                [
                    ("rank", "#"),
                    ("model", "model"),
                    ("cells", "cells"),
                    ("f1", "mean F1"),
                    ("delta", "vs base"),
                    ("mrank", "mean rank"),
                    ("wins", "wins"),
                    ("time", "train s"),
                ],
                rows,
            )

    def _paths(self) -> None:
        o = self.outcome
        parts: list[Any] = []
        if o.reports:
            folder = o.reports[0].parent
            parts += [
                ("reports ", "bold"),
                f"{folder}/ ",
                (" · ".join(p.name for p in o.reports), "$text-muted"),
            ]
        else:
            parts.append(("reports not written", "$text-warning"))
        parts.append("\n")
        if o.run_id is not None:
            parts += [
                ("history ", "bold"),
                f"run {o.run_id}",
                (
                    f" in {home_relative(str(o.db_path))} · tui-bench history --kind classify",
                    "$text-muted",
                ),
            ]
        else:
            parts.append(("not recorded in the history", "$text-warning"))
        self.query_one("#clres-paths", Static).update(Content.assemble(*parts))

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
        box = self.query_one("#clres-final", Static)
        state = self.final_state
        if self.final_error:
            box.update(
                Content.assemble(("✗ ", "bold $text-error"), (self.final_error, "$text-error"))
            )
            return
        if state is None:
            box.update(
                Content.styled("stopped after the benchmark: no model trained", "$text-muted")
                if self.stopped
                else ""
            )
            return
        view = state.snapshot()
        lines: list[Any] = []
        if view.finals:
            folder = Path(view.finals[0].model_path).parent
            lines += [("saved in ", "bold"), f"{folder}/\n"]
        for saved in view.finals:
            lines += [
                ("✓ ", "bold $text-success"),
                (saved.candidate, "bold"),
                f" for {cell_name(saved.category, saved.language)}: ",
                Path(saved.model_path).name,
                (
                    f" + {Path(saved.card_path).name} ({duration(saved.train_time_s)})\n",
                    "$text-muted",
                ),
            ]
        cur = view.final_current
        if cur is not None:
            lines += [
                ("● training ", "$text-success"),
                (cur.candidate, "bold"),
                f" on all {cur.n_samples:,} rows of {cell_name(cur.category, cur.language)}",
                (
                    f"{f', {cur.epochs} epochs' if cur.epochs else ''} · {duration(view.since_s(cur.started_ns))}",
                    "$text-muted",
                ),
            ]
        elif self.busy:
            lines.append(("preparing…", "$text-muted"))
        box.update(Content.assemble(*lines))

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
        """What was chosen and saved when the benchmark ran (a run opened from history)."""
        r = self.result
        choice = r.choice or {}
        mode = choice.get("mode", "none")
        picked = choice.get("model") or ", ".join(
            f"{k}: {v}" for k, v in (choice.get("models_by_language") or {}).items()
        )
        lines: list[Any] = [
            ("chosen ", "bold"),
            f"{mode}{f' · {picked}' if picked else ''}",
            (f" · {choice['reason']}" if choice.get("reason") else "", "$text-muted"),
            "\n",
        ]
        for f in r.final:
            lines += [
                ("✓ ", "bold $text-success"),
                (f.candidate, "bold"),
                f" for {cell_name(f.category, f.language)}: {f.model_path}",
                (f" + {Path(f.card_path).name}\n", "$text-muted"),
            ]
        lines.append(
            (
                "A run opened from the history: to train another final model, run the "
                "benchmark again (f4).",
                "$text-muted",
            )
        )
        self.query_one("#clres-final", Static).update(Content.assemble(*lines))

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
                    self._pick_options(models, None), "Pick the model to train", self._preferred()
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
                    self._pick_options(models, lang),
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

    def _pick_options(self, models: list[str], language: str | None) -> list[tuple[str, Content]]:
        """(model, its line: rank and macro-F1 in each category it was benchmarked on)."""
        out = []
        for model in models:
            bits: list[Any] = [(f"{model:<15}", "bold")]
            for row in self.result.rows:
                if row.model != model or (language is not None and row.language != language):
                    continue
                rank = row.medal or (f"{row.rank}." if row.rank else "✗")
                bits.append(f"  {rank} {row.category} {_f(row.f1_macro)}")
            out.append((model, Content.assemble(*bits)))
        return out

    def action_stop(self) -> None:
        if not self._can_choose():
            return
        self.stopped = True
        self.final_state = None
        self.final_error = None
        self._final()
        self.notify("benchmark kept; no model trained", title="Stopped here", timeout=4)

    def _train(self, choose: str, by_language: dict[str, str] | None) -> None:
        run = FinalTraining(self, self.outcome, choose, by_language)
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


class PickModelScreen(ModalScreen[str | None]):
    """Choose one candidate: enter picks the highlighted one, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="classify-pick.cancel"),
    ]

    def __init__(
        self, options: list[tuple[str, Content]], title: str, preferred: str | None = None
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.options = options
        self.title_text = title
        self.preferred = preferred

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog clpick-dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield Static(
                Content.styled(
                    "rank and macro-F1 in each category · enter picks, escape cancels",
                    "$text-muted",
                ),
                classes="dialog-body",
            )
            yield OptionList(
                *(Option(text, id=model) for model, text in self.options), id="clpick-list"
            )

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        models = [m for m, _ in self.options]
        if self.preferred in models:
            ol.highlighted = models.index(self.preferred)
        elif models:
            ol.highlighted = 0
        ol.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
