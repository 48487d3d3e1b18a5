"""The classifier benchmark, set up from the keyboard: data, categories, candidates, run.

Four steps in tabs; ctrl+n / escape move between them, ctrl+r starts from any step:

1. Data: a file path (enter reads it) and its columns, chosen from the file's own header
   and guessed at first (``classify_columns``). The core loads the data and analyses
   every category in a thread; its one-line error is shown, never raised.
2. Categories: the imbalance table (classes, samples, ratio max/min, normalised
   entropy, minority share, profile), the thresholds the profiles follow, excluded
   categories with their reasons; the core's three suggestions are preselected (★).
3. Candidates: the catalog, what each one is (trained by epochs or in one fit, safe for
   any script or word-based); the default set preselected; at least two.
4. Run: epochs, jobs, test size, folds, seed, by language, output folder; what will run.

Every number comes from ``tui_bench.core.classify``; this screen only collects choices
and builds a ``ClassifyConfig``, validated by the core on every change.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Input,
    Label,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.selection_list import Selection
from textual.worker import Worker, WorkerState

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify import imbalance as imb
from tui_bench.core.classify.data import Dataset, load_dataset, read_table
from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.core.errors import UserError
from tui_bench.tui.classify_columns import SAMPLE_ROWS, ColumnGuess, guess_columns
from tui_bench.tui.format import error_text
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.steps import StepTabs, show_step
from tui_bench.tui.widgets.toggle_list import ToggleList

STEPS = ("cl-step-data", "cl-step-categories", "cl-step-models", "cl-step-run")
NO_LANGUAGE = ""
KINDS = (
    ("label column (one label per row)", "label"),
    ("annotation column (JSON category → label)", "annotation"),
)
# key, label, input type, placeholder
SETTING_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("epochs", "epochs", "integer", "3"),
    ("jobs", "jobs (0 = every core)", "integer", "1"),
    ("test_size", "test size (0.05-0.5)", "number", "0.2"),
    ("cv", "folds (blank: hold-out)", "integer", "hold-out split"),
    ("seed", "seed", "integer", "0"),
    ("output", "output folder", "text", "a new folder under runs/"),
)
CATEGORY_HEADER = (
    ("category", 16, "<"),
    ("profile", 12, "<"),
    ("classes", 7, ">"),
    ("samples", 8, ">"),
    ("ratio", 7, ">"),
    ("entropy", 8, ">"),
    ("minority", 9, ">"),
)
MODEL_HEADER = (
    ("candidate", 15, "<"),
    ("trains", 10, "<"),
    ("scripts", 11, "<"),
    ("suits", 20, "<"),
)


@dataclass
class FileInfo:
    path: Path
    format: str
    columns: list[str]
    n_rows: int
    sample: list[dict[str, Any]]


@dataclass
class Loaded:
    key: tuple[str, str, str, str, str]
    dataset: Dataset
    analysis: list[imb.CategoryImbalance]
    suggested: dict[str, imb.Suggestion]


def _cells(values: tuple[tuple[str, int, str], ...], texts: list[str]) -> str:
    out = []
    for (_name, width, align), text in zip(values, texts, strict=True):
        text = text if len(text) <= width else text[: width - 1] + "…"
        out.append(f"{text:{align}{width}}")
    return " ".join(out)


def header_line(columns: tuple[tuple[str, int, str], ...]) -> str:
    return _cells(columns, [c[0] for c in columns])


def _f(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


class ClassifySetupScreen(Screen[None]):
    HELP = (
        "Benchmark text classifiers on your labelled data. 1 Data: a CSV, TSV, JSONL, JSON or "
        "Parquet file (enter reads it) and its columns: the text, the labels (one label "
        "column, or an annotation column holding a JSON object category → label per row) "
        "and an optional language. 2 Categories: class imbalance per category; profiles "
        "follow the ratio of the largest to the smallest class; the suggested categories "
        "(★, one per profile) are preselected, space toggles. 3 Candidates: scikit-learn "
        "pipelines and a majority baseline that always runs; pick at least two. 4 Run: "
        "settings, then ctrl+r. The ranking and the choice of a final model follow the run."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "next_step", "Next step", id="classify.next"),
        Binding("escape", "prev_step", "Previous step", id="classify.back"),
        Binding("ctrl+r", "start", "Start benchmark", id="classify.start"),
        Binding("ctrl+g", "suggested", "Suggested categories", show=False, id="classify.suggested"),
    ]

    def __init__(self, config: ClassifyConfig | None = None, *, from_cli: bool = False) -> None:
        super().__init__()
        self.preset = config
        self.from_cli = from_cli
        self.file: FileInfo | None = None
        self.file_error: str | None = None
        self.loaded: Loaded | None = None
        self.load_error: str | None = None
        self._load_worker: Worker[Loaded] | None = None
        self.analysing = False
        self._load_key: tuple[str, str, str, str, str] | None = None
        self._guess: ColumnGuess | None = None
        self._kind_set: str | None = None  # the kind this screen set (its echo is no choice)
        self._preset_columns = config is not None
        self._preset_categories = config is not None and bool(config.categories)
        self._jump_once = config is not None  # to the categories once the preset data loads
        self.selected_categories: list[str] = []
        names = config.model_names() if config is not None else list(cand.DEFAULT_MODELS)
        self.selected_models: list[str] = names
        self.settings: dict[str, str] = {
            "epochs": str(config.epochs) if config else "3",
            "jobs": str(config.jobs) if config else "1",
            "test_size": f"{config.test_size:g}" if config else "0.2",
            "cv": str(config.cv) if config and config.cv else "",
            "seed": str(config.seed) if config else "0",
            "output": str(config.output_dir) if config and config.output_dir else "",
        }
        self.by_language = bool(config and config.by_language)
        self.config: ClassifyConfig | None = None
        self.error: str | None = "choose a data file (step 1)"

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with StepTabs(id="cl-steps", initial="cl-step-data"):
            with TabPane("1 Data", id="cl-step-data"), VerticalScroll(id="cl-data-scroll"):
                with Grid(id="cl-data-grid", classes="cl-grid"):
                    yield Label("data file", classes="cl-label")
                    yield Input(
                        placeholder="path to a .csv, .tsv, .jsonl, .json or .parquet file",
                        id="cl-path",
                        compact=True,
                    )
                    yield Label("text column", classes="cl-label")
                    yield Select[str]([], prompt="read a file first", id="cl-text", compact=True)
                    yield Label("labels from", classes="cl-label")
                    yield Select[str](
                        list(KINDS), value="label", allow_blank=False, id="cl-kind", compact=True
                    )
                    yield Label("label column", classes="cl-label", id="cl-labels-label")
                    yield Select[str]([], prompt="read a file first", id="cl-labels", compact=True)
                    yield Label("language column", classes="cl-label")
                    yield Select[str](
                        [("none", NO_LANGUAGE)],
                        value=NO_LANGUAGE,
                        allow_blank=False,
                        id="cl-lang",
                        compact=True,
                    )
                yield Static(id="cl-data-info")
            with TabPane("2 Categories", id="cl-step-categories"), Vertical():
                yield Static(Content.styled(header_line(CATEGORY_HEADER), "bold"), id="cl-cat-head")
                yield ToggleList(id="cl-categories")
                yield Static(id="cl-cat-detail")
            with TabPane("3 Candidates", id="cl-step-models"), Vertical():
                yield Static(Content.styled(header_line(MODEL_HEADER), "bold"), id="cl-model-head")
                yield ToggleList(id="cl-models")
                yield Static(id="cl-model-detail")
            with TabPane("4 Run", id="cl-step-run"), VerticalScroll(id="cl-run-scroll"):
                with Grid(id="cl-settings-grid", classes="cl-grid"):
                    for key, label, kind, placeholder in SETTING_FIELDS:
                        yield Label(label, classes="cl-label")
                        yield Input(
                            self.settings.get(key, ""),
                            placeholder=placeholder,
                            type=kind,  # type: ignore[arg-type]
                            id=f"cl-set-{key}",
                            compact=True,
                        )
                    yield Label("by language", classes="cl-label")
                    yield Checkbox(
                        "one model per language",
                        self.by_language,
                        id="cl-by-language",
                        compact=True,
                    )
                yield Static(id="cl-review")
                with Horizontal(id="cl-run-buttons"):
                    yield Button("Start benchmark (ctrl+r)", variant="success", id="cl-start")
        yield Static(id="cl-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "tui-bench · classifier benchmark"
        self.sub_title = "find the best text classifier for your labelled data"
        blink = getattr(self.app, "cursor_blink", True)
        for field in self.query(Input):
            field.cursor_blink = blink
        self._fill_models()
        self._render_categories()
        self._rebuild()
        if self.preset is not None:
            self.query_one("#cl-path", Input).value = str(self.preset.data)
            self._read_file()
        # now, not .focus(): a queued focus on the path would bring its step back after
        # the preset data has loaded and moved on to the categories
        self.set_focus(self.query_one("#cl-path", Input))

    # -- step 1: data -------------------------------------------------------------------

    @on(Input.Submitted, "#cl-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        self._read_file()

    def _read_file(self) -> None:
        raw = self.query_one("#cl-path", Input).value.strip()
        if not raw:
            self._set_file_error("enter the path of a data file")
            return
        path = Path(raw).expanduser()
        self.file_error = None
        self._show_data_info(Content.styled(f"reading {path}…", "$text-muted"))
        self.run_worker(
            lambda: self._read(path),
            thread=True,
            exit_on_error=False,
            name="cl-read",
            group="cl-read",
            exclusive=True,
        )

    @staticmethod
    def _read(path: Path) -> FileInfo:
        fmt, columns, rows = read_table(path)
        return FileInfo(path, fmt, list(columns), len(rows), list(rows[:SAMPLE_ROWS]))

    def _set_file_error(self, message: str) -> None:
        self.file = None
        self.file_error = message
        self.loaded = None
        self._load_key = None
        self._show_data_info(Content.assemble(("✗ ", "bold $error"), (message, "$error")))
        self._render_categories()
        self._rebuild()
        self._bad_input()

    def _bad_input(self) -> None:
        note = getattr(self.app, "note_classify_exit", None)
        if self.from_cli and note is not None:
            from tui_bench.core.errors import EXIT_BAD_INPUT

            note(EXIT_BAD_INPUT, ran=False)

    def _file_read(self, info: FileInfo) -> None:
        self.file = info
        self.file_error = None
        cols = info.columns
        text_sel = self.query_one("#cl-text", Select)
        labels_sel = self.query_one("#cl-labels", Select)
        lang_sel = self.query_one("#cl-lang", Select)
        text_sel.set_options([(c, c) for c in cols])
        labels_sel.set_options([(c, c) for c in cols])
        lang_sel.set_options([("none", NO_LANGUAGE), *((c, c) for c in cols)])
        guess = self._guess = guess_columns(cols, info.sample)
        text, kind, labels, lang = guess.text, guess.kind, guess.labels, guess.language
        if self._preset_columns and self.preset is not None:
            p = self.preset
            self._preset_columns = False
            text = p.text_column
            kind = "annotation" if p.annotation_column else "label"
            labels = p.annotation_column or p.label_column
            lang = p.language_column or lang
        for sel, value in ((text_sel, text), (labels_sel, labels)):
            if value in cols:
                sel.value = value
        self._kind_set = kind
        self.query_one("#cl-kind", Select).value = kind
        lang_sel.value = lang if lang in cols else NO_LANGUAGE
        self._label_caption(kind)
        self._load(self._key_from(text, kind, labels, lang))

    def _label_caption(self, kind: str) -> None:
        self.query_one("#cl-labels-label", Label).update(
            "annotation column" if kind == "annotation" else "label column"
        )

    def _key_from(
        self, text: str | None, kind: str, labels: str | None, lang: str | None
    ) -> tuple[str, str, str, str, str] | None:
        if self.file is None:
            return None
        return (str(self.file.path), text or "", kind, labels or "", lang or NO_LANGUAGE)

    def _widget_key(self) -> tuple[str, str, str, str, str] | None:
        def value(sel_id: str) -> str | None:
            v = self.query_one(sel_id, Select).value
            return v if isinstance(v, str) else None

        kind = value("#cl-kind") or "label"
        labels = value("#cl-labels")
        asked = self._load_key[3] if self._load_key is not None else ""
        if labels is None and asked and self.file is not None and asked not in self.file.columns:
            # a column asked for (--label-column) that the file lacks has no option to show:
            # it stays asked for, with its error, until the user picks one
            labels = asked
        return self._key_from(value("#cl-text"), kind, labels, value("#cl-lang"))

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "cl-kind":
            self._label_caption(str(event.value))
            # the column guessed for that kind, when there is one
            guess = self._guess
            echo = event.value == self._kind_set
            self._kind_set = None
            if guess is not None and not echo:
                wanted = (
                    guess.annotation_column if event.value == "annotation" else guess.label_column
                )
                labels = self.query_one("#cl-labels", Select)
                if wanted is not None and labels.value != wanted:
                    labels.value = wanted
                    return  # its own Changed message loads
        key = self._widget_key()
        if key is not None and key != self._load_key:
            self._load(key)

    def _load(self, key: tuple[str, str, str, str, str] | None) -> None:
        if key is None:
            return
        path, text, kind, labels, lang = key
        self._load_key = key
        if not text or not labels:
            self.loaded = None
            self.load_error = f"choose the text column and the {kind} column"
            self._after_load()
            return
        self.analysing = True
        self.load_error = None
        self._show_data_info(Content.styled("loading and analysing…", "$text-muted"))

        def work() -> Loaded:
            dataset = load_dataset(
                path,
                text_column=text,
                label_column=labels if kind == "label" else None,
                annotation_column=labels if kind == "annotation" else None,
                language_column=lang or None,
            )
            analysis = imb.analyse_dataset(dataset)
            return Loaded(key, dataset, analysis, imb.suggest(analysis))

        self._load_worker = self.run_worker(
            work,
            thread=True,
            exit_on_error=False,
            name="cl-load",
            group="cl-load",
            exclusive=True,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "cl-read":
            if event.state == WorkerState.SUCCESS:
                self._file_read(worker.result)
            elif event.state == WorkerState.ERROR:
                self._set_file_error(error_text(worker.error))
        elif worker.name == "cl-load":
            if event.state == WorkerState.SUCCESS:
                loaded: Loaded = worker.result
                if loaded.key != self._load_key:
                    return  # the columns changed since
                self.analysing = False
                self.loaded = loaded
                self.load_error = None
                self._after_load(first=True)
            elif event.state == WorkerState.ERROR:
                if worker is not self._load_worker:
                    return  # a load the columns have changed since
                self.analysing = False
                self.loaded = None
                self.load_error = error_text(worker.error)
                self._after_load()
                self._bad_input()

    def _after_load(self, first: bool = False) -> None:
        loaded = self.loaded
        if loaded is None:
            self.selected_categories = []
            msg = self.load_error or "nothing loaded"
            self._show_data_info(Content.assemble(("✗ ", "bold $error"), (msg, "$error")))
        else:
            eligible = [a.category for a in loaded.analysis if a.eligible]
            if self._preset_categories and self.preset is not None and self.preset.categories:
                self._preset_categories = False
                wanted = [c.strip() for c in self.preset.categories]
                self.selected_categories = [c for c in wanted if c in eligible]
            else:
                self.selected_categories = self._suggested_names()
            self._show_data_info(self._data_summary(loaded))
            if first and self._jump_once and self.step == "cl-step-data":
                self._jump_once = False
                self.goto("cl-step-categories")
        box = self.query_one("#cl-by-language", Checkbox)
        has_lang = loaded is not None and bool(loaded.dataset.languages)
        box.disabled = not has_lang
        if not has_lang and self.by_language:
            self.by_language = False
            box.value = False
        self._render_categories()
        self._rebuild()

    def _suggested_names(self) -> list[str]:
        if self.loaded is None:
            return []
        out: list[str] = []
        for profile in imb.PROFILES:
            name = self.loaded.suggested[profile].category
            if name is not None and name not in out:
                out.append(name)
        return out

    def _show_data_info(self, content: Content) -> None:
        self.query_one("#cl-data-info", Static).update(content)

    def _data_summary(self, loaded: Loaded) -> Content:
        ds = loaded.dataset
        info = self.file
        parts: list[Any] = [("✓ ", "bold $success"), (Path(ds.path).name, "bold")]
        fmt = info.format if info else ds.format
        parts.append(f" · {fmt} · {ds.n_rows:,} rows · columns: {', '.join(ds.columns)}\n")
        n_cat = len(ds.categories)
        eligible = sum(1 for a in loaded.analysis if a.eligible)
        parts.append(
            f"{n_cat} categor{'y' if n_cat == 1 else 'ies'} ({eligible} usable): "
            + ", ".join(f"{name} ({cat.n:,})" for name, cat in list(ds.categories.items())[:8])
            + (" …" if n_cat > 8 else "")
        )
        if ds.languages:
            parts.append(f"\nlanguages: {', '.join(ds.languages[:12])}")
            if ds.language_column and self._widget_lang() != ds.language_column:
                parts.append((f" (column {ds.language_column!r}, found by name)", "$text-muted"))
        if ds.skipped_no_text:
            parts.append((f"\n{ds.skipped_no_text} rows without text left out", "$warning"))
        parts.append(("\nctrl+n: the categories", "$text-muted"))
        return Content.assemble(*parts)

    def _widget_lang(self) -> str:
        v = self.query_one("#cl-lang", Select).value
        return v if isinstance(v, str) else NO_LANGUAGE

    # -- step 2: categories -------------------------------------------------------------

    def _render_categories(self) -> None:
        sl = self.query_one("#cl-categories", SelectionList)
        highlighted = sl.highlighted
        sl.clear_options()
        if self.loaded is None:
            self.query_one("#cl-cat-detail", Static).update(
                Content.styled(
                    "No data yet: choose a file and its columns in step 1.", "$text-muted"
                )
            )
            return
        suggested = set(self._suggested_names())
        chosen = set(self.selected_categories)
        for a in self.loaded.analysis:
            sl.add_option(self._category_option(a, a.category in suggested, a.category in chosen))
        if highlighted is not None and highlighted < sl.option_count:
            sl.highlighted = highlighted
        self._category_detail(self._highlighted(sl))

    def _category_option(
        self, a: imb.CategoryImbalance, suggested: bool, chosen: bool
    ) -> Selection[str]:
        if not a.eligible:
            prompt = Content.assemble(
                (f"{a.category[:15]:<16} ", "$text-muted"),
                (f"excluded: {a.reason}", "$text-error"),
            )
            return Selection(prompt, a.category, False, disabled=True)
        profile = (a.profile or "–") + (" ★" if suggested else "")
        texts = [
            a.category,
            profile,
            str(a.n_classes),
            f"{a.n_samples:,}",
            _f(a.imbalance_ratio),
            _f(a.normalized_entropy, 3),
            f"{100 * a.minority_share:.1f}%" if a.minority_share is not None else "–",
        ]
        style = {"balanced": "$text-success", "imbalanced": "$text-warning"}.get(
            a.profile or "", ""
        )
        line = _cells(CATEGORY_HEADER, texts)
        head, tail = line[:17], line[17:]
        prompt = Content.assemble(head, (tail[:13], style), tail[13:])
        return Selection(prompt, a.category, chosen)

    @staticmethod
    def _highlighted(sl: SelectionList[str]) -> str | None:
        index = sl.highlighted if sl.highlighted is not None else (0 if sl.option_count else None)
        if index is None or index >= sl.option_count:
            return None
        return sl.get_option_at_index(index).value  # type: ignore[attr-defined, no-any-return]

    @on(SelectionList.SelectionHighlighted, "#cl-categories")
    def _category_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._category_detail(event.selection.value)

    def _category_detail(self, name: str | None) -> None:
        if self.loaded is None:
            return
        th = imb.thresholds()
        parts: list[Any] = [
            ("profiles ", "bold"),
            f"{th['rule']}. ",
            ("eligible ", "bold"),
            f"{th['eligibility']}; {th['rare_class_rule']}.\n",
            ("suggested ", "bold"),
        ]
        bits = []
        for profile in imb.PROFILES:
            s = self.loaded.suggested[profile]
            bits.append(f"{profile}: {s.category or 'none with this profile'}")
        parts.append(" · ".join(bits))
        parts.append(("  (ctrl+g selects them again)", "$text-muted"))
        a = next((x for x in self.loaded.analysis if x.category == name), None)
        if a is not None:
            parts.append("\n")
            parts.append((f"{a.category}: ", "bold $accent"))
            counts = list(a.class_counts.items())
            parts.append(
                ", ".join(f"{label} {n:,}" for label, n in counts[:10])
                + (f", … ({len(counts)} classes)" if len(counts) > 10 else "")
            )
            if a.dropped_classes:
                dropped = ", ".join(f"{k} {v}" for k, v in a.dropped_classes.items())
                parts.append((f" · left out (too rare): {dropped}", "$text-warning"))
            if a.minority_vs_fair is not None:
                parts.append(
                    (f" · smallest class vs fair share {a.minority_vs_fair:.2f}", "$text-muted")
                )
        self.query_one("#cl-cat-detail", Static).update(Content.assemble(*parts))

    @on(SelectionList.SelectedChanged, "#cl-categories")
    def _categories_changed(self, event: SelectionList.SelectedChanged) -> None:
        if self.loaded is None:
            return
        chosen = set(event.selection_list.selected)
        self.selected_categories = [
            a.category for a in self.loaded.analysis if a.category in chosen
        ]
        self._rebuild()

    def action_suggested(self) -> None:
        """Back to the suggested categories."""
        if self.loaded is None:
            self.notify("no data loaded yet", severity="warning")
            return
        self.selected_categories = self._suggested_names()
        self._render_categories()
        self._rebuild()
        self.notify("the suggested categories are selected", timeout=3)

    # -- step 3: candidates -------------------------------------------------------------

    def _fill_models(self) -> None:
        sl = self.query_one("#cl-models", SelectionList)
        sl.clear_options()
        for name in cand.real_names():
            spec = cand.CATALOG[name]
            texts = [
                name,
                "by epochs" if spec.by_epochs else "one fit",
                "any script" if spec.multilingual else "word-based",
                spec.good_for,
            ]
            sl.add_option(
                Selection(_cells(MODEL_HEADER, texts), name, name in self.selected_models)
            )
        self._model_detail(self._highlighted(sl))

    @on(SelectionList.SelectionHighlighted, "#cl-models")
    def _model_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._model_detail(event.selection.value)

    def _model_detail(self, name: str | None) -> None:
        base = cand.CATALOG[cand.BASELINE]
        parts: list[Any] = []
        if name in cand.CATALOG:
            spec = cand.CATALOG[name]
            parts += [(f"{name}: ", "bold $accent"), f"{spec.description}.\n"]
        parts += [
            (f"{cand.BASELINE}: ", "bold"),
            f"{base.description}; always trained, shown with every category, never ranked.\n",
            (
                "by epochs: partial_fit one epoch at a time, early stopping on a validation "
                "split, live macro-F1 per epoch. any script: character n-grams, safe when one "
                "model serves several languages; word-based needs spaces between words.",
                "$text-muted",
            ),
        ]
        self.query_one("#cl-model-detail", Static).update(Content.assemble(*parts))

    @on(SelectionList.SelectedChanged, "#cl-models")
    def _models_changed(self, event: SelectionList.SelectedChanged) -> None:
        chosen = set(event.selection_list.selected)
        self.selected_models = [n for n in cand.real_names() if n in chosen]
        self._rebuild()

    # -- step 4: settings and review ----------------------------------------------------

    @on(Input.Changed)
    def _setting_changed(self, event: Input.Changed) -> None:
        wid = event.input.id or ""
        if wid.startswith("cl-set-"):
            self.settings[wid.removeprefix("cl-set-")] = event.value
            self._rebuild()

    @on(Input.Submitted)
    def _setting_submitted(self, event: Input.Submitted) -> None:
        if (event.input.id or "").startswith("cl-set-"):
            self.focus_next()

    @on(Checkbox.Changed, "#cl-by-language")
    def _by_language_changed(self, event: Checkbox.Changed) -> None:
        self.by_language = event.value
        self._rebuild()

    def _int_setting(self, key: str, label: str, *, blank: int | None) -> int | None:
        raw = self.settings.get(key, "").strip()
        if not raw:
            return blank
        try:
            return int(raw)
        except ValueError:
            raise UserError(f"{label}: {raw!r} is not a whole number") from None

    def build_config(self) -> ClassifyConfig:
        """The configuration as chosen, validated by the core; UserError otherwise."""
        if self.file_error:
            raise UserError(self.file_error)
        if self.file is None or self._load_key is None:
            raise UserError("choose a data file (step 1)")
        if self.load_error:
            raise UserError(self.load_error)
        if self.analysing or self.loaded is None:
            raise UserError("the data is still loading")
        if not self.selected_categories:
            raise UserError("categories: pick at least one (step 2; space toggles)")
        models = cand.resolve(self.selected_models)
        raw_test = self.settings.get("test_size", "").strip() or "0.2"
        try:
            test_size = float(raw_test)
        except ValueError:
            raise UserError(f"test size: {raw_test!r} is not a number") from None
        path, text, kind, labels, lang = self.loaded.key
        base = self.preset
        output = self.settings.get("output", "").strip()
        config = ClassifyConfig(
            data=Path(path),
            text_column=text,
            label_column=labels if kind == "label" else None,
            annotation_column=labels if kind == "annotation" else None,
            language_column=lang or None,
            categories=list(self.selected_categories),
            models=models,
            models_by_language=base.models_by_language if base and self.by_language else None,
            epochs=self._int_setting("epochs", "epochs", blank=3) or 0,
            jobs=self._int_setting("jobs", "jobs", blank=1) or 0,
            by_language=self.by_language,
            seed=self._int_setting("seed", "seed", blank=0) or 0,
            test_size=test_size,
            cv=self._int_setting("cv", "folds", blank=None),
            patience=base.patience if base else 2,
            language_penalty=base.language_penalty if base and self.by_language else None,
            output_dir=Path(output).expanduser() if output else None,
        )
        config.validate()
        languages = self.loaded.dataset.languages
        if not config.by_language:
            cand.check_multilingual(models, languages)
        return config

    def _rebuild(self) -> None:
        try:
            self.config = self.build_config()
        except UserError as exc:
            self.config, self.error = None, str(exc)
        else:
            self.error = None
        self._render_status()
        self._render_review()

    def _plan_text(self, config: ClassifyConfig) -> str:
        n_cat = len(config.categories or [])
        n_models = len(config.model_names())
        langs = self.loaded.dataset.languages if self.loaded else []
        cells = n_cat * (len(langs) if config.by_language and langs else 1)
        per_lang = f" × {len(langs)} languages" if config.by_language and langs else ""
        return (
            f"{n_cat} categor{'y' if n_cat == 1 else 'ies'}{per_lang} × "
            f"({n_models} candidates + baseline) = {cells * (n_models + 1)} trainings"
        )

    def _render_status(self) -> None:
        status = self.query_one("#cl-status", Static)
        if self.error or self.config is None:
            status.update(
                Content.assemble(("✗ ", "bold $error"), (self.error or "not ready", "$error"))
            )
            return
        status.update(
            Content.assemble(
                ("▶ ", "bold $success"),
                (Path(str(self.config.data)).name, "bold"),
                f" · {self._plan_text(self.config)} · ctrl+r starts",
            )
        )

    def _render_review(self) -> None:
        review = self.query_one("#cl-review", Static)
        c = self.config
        if c is None:
            review.update(
                Content.assemble(
                    ("Not ready to run: ", "bold"),
                    (self.error or "", "$error"),
                )
            )
            return
        by_epochs = [n for n in c.model_names() if cand.CATALOG[n].by_epochs]
        cores = os.cpu_count() or 1
        jobs = f"every core ({cores})" if c.jobs <= 0 else f"{c.jobs} of {cores} cores"
        split = f"{c.cv}-fold cross-validation" if c.cv else f"hold-out, {c.test_size:.0%} test"
        parts: list[Any] = [
            ("run      ", "bold"),
            self._plan_text(c),
            "\n",
            ("split    ", "bold"),
            f"stratified {split} · seed {c.seed} · {jobs}\n",
            ("epochs   ", "bold"),
            (
                f"{c.epochs} for {', '.join(by_epochs)} (early stopping, patience {c.patience})"
                if by_epochs
                else "no candidate trains by epochs: each fits once"
            ),
            "\n",
            ("models   ", "bold"),
            ", ".join(c.model_names()) + " + majority baseline\n",
            ("output   ", "bold"),
            str(c.output_dir) if c.output_dir else "a new folder under runs/ (reports, models)",
        ]
        if c.jobs != 1:
            parts.append(
                (
                    "\nSeveral jobs train candidates in parallel processes: their training "
                    "times then share the cores.",
                    "$text-muted",
                )
            )
        review.update(Content.assemble(*parts))

    # -- navigation and actions ---------------------------------------------------------

    @property
    def step(self) -> str:
        return str(self.query_one("#cl-steps", TabbedContent).active)

    def goto(self, step: str) -> None:
        focus = {
            "cl-step-data": "#cl-path",
            "cl-step-categories": "#cl-categories",
            "cl-step-models": "#cl-models",
            "cl-step-run": "#cl-start",
        }[step]
        show_step(self, self.query_one("#cl-steps", TabbedContent), step, focus)

    def action_next_step(self) -> None:
        i = STEPS.index(self.step)
        if i + 1 < len(STEPS):
            self.goto(STEPS[i + 1])

    def action_prev_step(self) -> None:
        i = STEPS.index(self.step)
        if i > 0:
            self.goto(STEPS[i - 1])
        elif len(self.app.screen_stack) > 2:
            self.app.pop_screen()  # back to the wizard

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cl-start":
            self.action_start()

    def action_start(self) -> None:
        self._rebuild()
        if self.config is None:
            self.notify(self.error or "not ready", title="Cannot start", severity="error")
            return
        from tui_bench.tui.paths import default_output_dir
        from tui_bench.tui.screens.classify_live import ClassifyRunScreen

        config = dataclasses.replace(self.config)
        if config.output_dir is None:
            config.output_dir = default_output_dir(f"classify-{Path(str(config.data)).stem}")
        choose = self.preset.choose if self.preset is not None else "top"
        self.app.push_screen(
            ClassifyRunScreen(
                config,
                from_cli=self.from_cli,
                choose_default=choose,
                refresh_hz=getattr(self.app, "refresh_hz", 4.0),
            )
        )

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            ("Start classifier benchmark", "Run the benchmark as set up", self.action_start),
            (
                "Suggested categories",
                "Select the suggested categories again",
                self.action_suggested,
            ),
        ]
