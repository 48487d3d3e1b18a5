"""Step 1 of the classifier setup: the data. A file path (enter reads it) and its
columns, chosen from the file's own header and guessed at first (``classify_columns``):
the text, the labels (one label column, or an annotation column holding a JSON object
category → label per row) and an optional language. The core loads the data and
analyses every category in a thread; its one-line error is shown, never raised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.content import Content
from textual.widgets import Checkbox, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from tui_bench.core.classify import imbalance as imb
from tui_bench.core.classify.data import load_dataset, read_table
from tui_bench.tui.classify_columns import SAMPLE_ROWS, guess_columns
from tui_bench.tui.format import error_text
from tui_bench.tui.screens.classify.base import FileInfo, Loaded, SetupBase
from tui_bench.tui.screens.steps import Step

NO_LANGUAGE = ""
KINDS = (
    ("label column (one label per row)", "label"),
    ("annotation column (JSON category → label)", "annotation"),
)


class DataStep(SetupBase):
    def compose_data(self) -> ComposeResult:
        with VerticalScroll(id="cl-data-scroll"):
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
        self.input_rejected = True

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
                self.input_rejected = True

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


DATA = Step("cl-step-data", "1 Data", "#cl-path", DataStep.compose_data)
