"""What every step of the classifier setup shares: the file read and the data loaded
(with the core's imbalance analysis), the categories, candidates (one list for every
language, and a list of its own for a language that asks) and settings chosen, and the
``ClassifyConfig`` they make, rebuilt and validated by the core on every change (its
one-line error is shown, never raised), with the status line and the duration estimate. Each step's class
(data.py, categories.py ...) adds its pane, handlers and rendering.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.widgets import SelectionList, Static
from textual.worker import Worker

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify import imbalance as imb
from tui_bench.core.classify.data import Dataset
from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.core.errors import UserError
from tui_bench.core.fmt import num
from tui_bench.tui.classify_columns import ColumnGuess
from tui_bench.tui.screens.steps import StepScreen


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


def table_row(values: tuple[tuple[str, int, str], ...], texts: list[str]) -> str:
    """One row of fixed-width cells (name, width, alignment); a long text ends in …."""
    out = []
    for (_name, width, align), text in zip(values, texts, strict=True):
        text = text if len(text) <= width else text[: width - 1] + "…"
        out.append(f"{text:{align}{width}}")
    return " ".join(out)


def header_line(columns: tuple[tuple[str, int, str], ...]) -> str:
    return table_row(columns, [c[0] for c in columns])


def fixed(x: float | None, digits: int = 2) -> str:
    """``x`` with ``digits`` decimals (two unless told), as every report writes numbers."""
    return num(x, digits)


class SetupBase(StepScreen):
    def __init__(self, config: ClassifyConfig | None = None, *, from_cli: bool = False) -> None:
        super().__init__()
        self.preset = config
        self.from_cli = from_cli
        self.file: FileInfo | None = None
        self.file_error: str | None = None
        self.loaded: Loaded | None = None
        self.load_error: str | None = None
        # the data given could not be used (a missing file or column), once at least: the
        # app's exit code for the command that opened this screen (2, until a benchmark ran)
        self.input_rejected = False
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
        # a language's own candidates (used when training by language); others: the above
        self.models_by_language: dict[str, list[str]] = {
            lang: list(models)
            for lang, models in ((config and config.models_by_language) or {}).items()
        }
        # the command line's models stay offered when unselected, as those typed in "add"
        self._added = tuple(
            dict.fromkeys([*names, *(m for ms in self.models_by_language.values() for m in ms)])
        )
        self.settings: dict[str, str] = {
            "epochs": str(config.epochs) if config else "3",
            "max_length": str(config.max_length) if config else "256",
            "jobs": str(config.jobs) if config else "1",
            "test_size": f"{config.test_size:g}" if config else "0.2",
            "cv": str(config.cv) if config and config.cv else "",
            "cv_repeats": str(config.cv_repeats) if config else "1",
            "seed": str(config.seed) if config else "0",
            "output": str(config.output_dir) if config and config.output_dir else "",
        }
        self.by_language = bool(config and config.by_language)
        self.config: ClassifyConfig | None = None
        self.error: str | None = "choose a data file (step 1)"

    if TYPE_CHECKING:  # each step's own, in its file

        def _render_categories(self) -> None: ...  # categories.py
        def _suggested_names(self) -> list[str]: ...  # categories.py
        def _render_review(self) -> None: ...  # options.py
        def _schedule_estimate(self) -> None: ...  # options.py
        def _refresh_scopes(self) -> None: ...  # candidates.py

    @staticmethod
    def _highlighted(sl: SelectionList[str]) -> str | None:
        index = sl.highlighted if sl.highlighted is not None else (0 if sl.option_count else None)
        if index is None or index >= sl.option_count:
            return None
        return sl.get_option_at_index(index).value  # type: ignore[attr-defined, no-any-return]

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
            models_by_language=self._language_lists() if self.by_language else None,
            epochs=self._int_setting("epochs", "epochs", blank=3) or 0,
            jobs=self._int_setting("jobs", "jobs", blank=1) or 0,
            by_language=self.by_language,
            seed=self._int_setting("seed", "seed", blank=0) or 0,
            test_size=test_size,
            cv=self._int_setting("cv", "folds", blank=None),
            cv_repeats=self._int_setting("cv_repeats", "repeats", blank=1) or 0,
            patience=base.patience if base else 2,
            max_length=self._int_setting("max_length", "max length", blank=256) or 0,
            language_penalty=base.language_penalty if base and self.by_language else None,
            output_dir=Path(output).expanduser() if output else None,
        )
        config.validate()
        languages = self.loaded.dataset.languages
        if not config.by_language:
            cand.check_multilingual(models, languages)
        return config

    def _language_lists(self) -> dict[str, list[str]] | None:
        """The languages of the data with a candidate list of their own."""
        langs = self.loaded.dataset.languages if self.loaded else []
        lists = {lang: m for lang, m in self.models_by_language.items() if lang in langs}
        return lists or None

    def _rebuild(self) -> None:
        try:
            self.config = self.build_config()
        except UserError as exc:
            self.config, self.error = None, str(exc)
        else:
            self.error = None
        self._refresh_scopes()
        self._schedule_estimate()
        self._render_status()
        self._render_review()

    def _plan_text(self, config: ClassifyConfig) -> str:
        n_cat = len(config.categories or [])
        n_models = len(config.model_names())
        langs = self.loaded.dataset.languages if self.loaded else []
        own = config.models_by_language or {}
        cells = n_cat * (len(langs) if config.by_language and langs else 1)
        per_lang = f" × {len(langs)} languages" if config.by_language and langs else ""
        if config.by_language and own:
            counts = {lang: len(own.get(lang, config.model_names())) for lang in langs}
            total = n_cat * sum(n + 1 for n in counts.values())
            each = ", ".join(f"{lang}: {n}" for lang, n in counts.items())
            return (
                f"{n_cat} categor{'y' if n_cat == 1 else 'ies'}{per_lang} × "
                f"(candidates + baseline; {each}) = {total} trainings"
            )
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
