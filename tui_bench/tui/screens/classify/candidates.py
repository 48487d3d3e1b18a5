"""Step 3 of the classifier setup: the candidates. The catalog, what each one is (trained
by epochs or in one fit, safe for any script or word-based); the default set
preselected; at least two, besides the baselines that always run.

When the data has languages, "for" picks whose list the toggles edit: every language's
(the default), or one language's own (a French model for French rows, an English one for
English rows, as ``--models-for LANG=A,B`` does). A language's own list is used when
training by language (step 4); the other languages use the default list.

Transformers: the builtins installed here, the encoders found in the Hugging Face cache
(scanned in a thread once, offered unselected), and any model typed in "add": a model
folder or a cached model id, checked offline (never downloaded, torch not imported); it
joins the list selected, in the "for" scope, or a one-line message says why not.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from tui_bench.core.classify import candidates as cand
from tui_bench.core.errors import UserError
from tui_bench.tui.screens.classify.base import SetupBase, header_line, table_row
from tui_bench.tui.screens.steps import Step
from tui_bench.tui.widgets.toggle_list import ToggleList

EVERY = "*"  # the scope of the default list

MODEL_HEADER = (
    ("candidate", 15, "<"),
    ("trains", 10, "<"),
    ("scripts", 11, "<"),
    ("suits", 20, "<"),
)


ADD_PLACEHOLDER = "add: a model folder or a cached model id (org/name), enter"


def short_name(name: str, width: int) -> str:
    """A model's name in a cell: a path or a hub id keeps its end (its name), not its
    start (``/home/...``)."""
    if len(name) <= width or "/" not in name:
        return name
    return "…" + name[-(width - 1) :]


class CandidatesStep(SetupBase):
    model_scope: str = EVERY
    _scope_options: list[tuple[str, str]] | None = None
    _cached: tuple[str, ...] = ()  # the encoders of the Hugging Face cache (offered)
    _added: tuple[str, ...] = ()  # the models typed in "add" (offered, even unselected)

    def compose_candidates(self) -> ComposeResult:
        with Vertical():
            yield Select[str](
                [("for every language", EVERY)],
                value=EVERY,
                allow_blank=False,
                id="cl-model-scope",
                compact=True,
            )
            yield Static(Content.styled(header_line(MODEL_HEADER), "bold"), id="cl-model-head")
            yield ToggleList(id="cl-models")
            yield Input(placeholder=ADD_PLACEHOLDER, id="cl-model-add", compact=True)
            yield Static(id="cl-model-detail")

    def _scope_models(self) -> list[str]:
        """The list the toggles edit: the default one, or the scope language's own."""
        if self.model_scope == EVERY:
            return self.selected_models
        return self.models_by_language.get(self.model_scope, self.selected_models)

    def _refresh_scopes(self) -> None:
        """The "for" choices: every language, then each language of the data."""
        langs = self.loaded.dataset.languages if self.loaded else []
        sel = self.query_one("#cl-model-scope", Select)
        options = [("for every language", EVERY)]
        for lang in langs:
            own = " (own list)" if lang in self.models_by_language else ""
            options.append((f"for {lang} rows{own}", lang))
        sel.display = bool(langs)
        if self._scope_options == options:
            return
        self._scope_options = options
        with self.prevent(Select.Changed):
            sel.set_options(options)
            sel.value = self.model_scope if self.model_scope in (EVERY, *langs) else EVERY
        if self.model_scope not in (EVERY, *langs):
            self.model_scope = EVERY
            self._fill_models()

    @on(Select.Changed, "#cl-model-scope")
    def _scope_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.model_scope = str(event.value)
        self._fill_models()

    def _offered(self) -> list[str]:
        """The scikit-learn candidates, the transformers installed here, the encoders of
        the Hugging Face cache, those added by hand, and any model the command line named
        (a folder, a cached model id)."""
        names = [*cand.real_names(), *cand.transformer_names()]
        named = [
            *self._cached,
            *self._added,
            *self.selected_models,
            *(m for ms in self.models_by_language.values() for m in ms),
        ]
        return names + [n for n in dict.fromkeys(named) if n not in names]

    @work(group="cl-hf-cache", exclusive=True, exit_on_error=False)
    async def scan_cache(self) -> None:
        """Offer the encoders of the Hugging Face cache (read in a thread: a cache on a
        slow disk never holds the keys)."""
        found = await asyncio.to_thread(cand.cached_names)
        if tuple(found) != self._cached:
            self._cached = tuple(found)
            self._fill_models()

    @on(Input.Submitted, "#cl-model-add")
    def _model_added(self, event: Input.Submitted) -> None:
        """A model typed by hand, checked offline: selected in the scope's list."""
        event.stop()
        raw = event.value.strip()
        if not raw:
            return
        try:
            name = cand.checked_name(raw)
        except UserError as exc:
            self.notify(str(exc), title="Model not added", severity="error", timeout=8)
            return
        offered = self._offered()
        # the command line's ./models/x and the typed /data/models/x are one model
        name = next((n for n in offered if cand.canonical(n) == name), name)
        if name not in offered:
            self._added = (*self._added, name)
        if self.model_scope == EVERY:
            if name not in self.selected_models:
                self.selected_models = [*self.selected_models, name]
        else:
            own = list(self._scope_models())
            if name not in own:
                self.models_by_language[self.model_scope] = [*own, name]
        event.input.value = ""
        self._fill_models(highlight=name)
        self._rebuild()
        scope = "" if self.model_scope == EVERY else f" for {self.model_scope} rows"
        self.notify(f"{name} added and selected{scope}", timeout=4)

    def _fill_models(self, highlight: str | None = None) -> None:
        sl = self.query_one("#cl-models", SelectionList)
        keep = highlight or (self._highlighted(sl) if sl.highlighted is not None else None)
        sl.clear_options()
        chosen = self._scope_models()
        offered = self._offered()
        for name in offered:
            spec = cand.info(name)  # never raises, as the list must not
            texts = [
                short_name(name, MODEL_HEADER[0][1]),
                "by epochs" if spec["by_epochs"] else "one fit",
                "transformer"
                if spec["kind"] != cand.SKLEARN
                else ("any script" if spec["multilingual"] else "word-based"),
                spec["good_for"],
            ]
            sl.add_option(Selection(table_row(MODEL_HEADER, texts), name, name in chosen))
        if keep in offered:
            sl.highlighted = offered.index(keep)
        self._model_detail(self._highlighted(sl))

    @on(SelectionList.SelectionHighlighted, "#cl-models")
    def _model_highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._model_detail(event.selection.value)

    def _model_detail(self, name: str | None) -> None:
        base = cand.CATALOG[cand.BASELINE]
        parts: list[Any] = []
        if name is not None:
            where = " (in the Hugging Face cache)" if name in self._cached else ""
            parts += [
                (f"{name}: ", "bold $accent"),
                f"{cand.info(name)['description']}{where}.\n",
            ]
        parts += [
            (f"{cand.BASELINE}: ", "bold"),
            f"{base.description}; always trained, shown with every category, never ranked. ",
            (f"{cand.GUESS}: ", "bold"),
            "guessing by the class priors, its expected scores computed. A medal needs a "
            "95% interval above the better of the two.\n",
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
        picked = [n for n in self._offered() if n in chosen]
        if self.model_scope == EVERY:
            self.selected_models = picked
        elif picked == self.selected_models:
            self.models_by_language.pop(self.model_scope, None)  # back to the default list
        else:
            self.models_by_language[self.model_scope] = picked
        if self.model_scope != EVERY and not self.by_language:
            self.notify(
                f"the list for {self.model_scope} is used when training by language (step 4)",
                timeout=4,
            )
        self._rebuild()


CANDIDATES = Step("cl-step-models", "3 Candidates", "#cl-models", CandidatesStep.compose_candidates)
