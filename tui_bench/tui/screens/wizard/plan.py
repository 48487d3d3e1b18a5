"""Step 1 of the wizard: the plan. The catalog's plans (an invalid one listed, disabled),
the classifier benchmark, and "compose a new plan". Browsing follows the highlight while
nothing was changed since a plan was chosen; enter picks a plan and jumps to the review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui_bench.tui import draft as d
from tui_bench.tui.format import pct
from tui_bench.tui.screens.steps import Step
from tui_bench.tui.screens.wizard.base import WizardBase

COMPOSE = "compose"
CLASSIFY = "classify"


class PlanStep(WizardBase):
    def compose_plan(self) -> ComposeResult:
        with Horizontal(classes="split"):
            yield OptionList(id="plan-list")
            yield Static(id="plan-detail", classes="detail")

    def _preselect_index(self) -> int | None:
        if self.preselect is not None:
            target = self.preselect.resolve()
            for i, o in enumerate(self.options):
                if o.entry.path.resolve() == target and o.loaded is not None:
                    return i
            extra = d.plan_option(self.preselect)  # a plan file outside the catalog
            if extra is not None:
                self.options.append(extra)
                self._fill_plan_list()
                models, alias = d.catalog_models([extra])
                for c in models:
                    self.models.setdefault(c.key, c)
                self.model_alias.update(alias)
                prompts, alias = d.catalog_prompts([extra])
                for c in prompts:
                    self.prompts.setdefault(c.key, c)
                self.prompt_alias.update(alias)
                return len(self.options) - 1
        return d.default_plan_index(self.options)

    def _fill_plan_list(self) -> None:
        ol = self.query_one("#plan-list", OptionList)
        ol.clear_options()
        for o in self.options:
            e = o.entry
            if o.loaded is None:
                prompt = Content.assemble((e.id, "bold $error"), ("  invalid", "$error"))
                ol.add_option(Option(prompt, id=f"plan:{e.id}", disabled=True))
            else:
                prompt = Content.assemble((e.id, "bold"), "\n", (e.description, "$text-muted"))
                ol.add_option(Option(prompt, id=f"plan:{e.id}"))
        ol.add_option(
            Option(Content.styled("◆ benchmark text classifiers…", "$accent bold"), id=CLASSIFY)
        )
        ol.add_option(Option(Content.styled("✚ compose a new plan", "$accent bold"), id=COMPOSE))

    def _option_at(self, index: int | None) -> d.PlanOption | None:
        if index is None or index >= len(self.options):
            return None
        return self.options[index]

    @on(OptionList.OptionHighlighted, "#plan-list")
    def _plan_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id == CLASSIFY:
            self._show_classify_detail()
            return
        option = self._option_at(event.option_index)
        self._show_plan_detail(option)
        if (
            option is not None
            and option.loaded is not None
            and option is not self.base
            and self._pristine()
        ):
            self._use_plan(option)  # the status line and ctrl+r follow the highlight

    @on(OptionList.OptionSelected, "#plan-list")
    def _plan_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == CLASSIFY:
            self.app.action_classify()  # type: ignore[attr-defined]
            return
        option = self._option_at(event.option_index)
        if option is None:
            self._compose_new()
            self.goto("step-models")
            return
        self._use_plan(option)
        self.goto("step-review")

    def _show_classify_detail(self) -> None:
        self.query_one("#plan-detail", Static).update(
            Content.assemble(
                ("Benchmark text classifiers\n\n", "bold"),
                "Find the best text classifier for your labelled data (CSV, JSONL or "
                "Parquet): class imbalance per category, quick training of several "
                "scikit-learn candidates against a majority baseline, a ranking by "
                "macro-F1, then the chosen model trained on all the data and saved. ",
                ("Enter opens it (f4 from anywhere).", "$text-muted"),
            )
        )

    def _show_plan_detail(self, option: d.PlanOption | None) -> None:
        detail = self.query_one("#plan-detail", Static)
        if option is None:
            detail.update(
                Content.assemble(
                    ("Compose a new plan\n\n", "bold"),
                    "Pick models, prompts and settings in the next steps, review the "
                    "matrix, then start it or save it to the plans folder.",
                )
            )
            return
        e = option.entry
        if option.loaded is None:
            detail.update(
                Content.assemble((f"{e.id}\n\n", "bold"), (option.error or "invalid", "$error"))
            )
            return
        p = option.loaded.plan
        parts: list[Any] = [(p.name, "bold $accent"), "\n", (p.description, "$text-muted"), "\n"]
        parts.append((f"{_shown_path(e.path)}\n\n", "$text-muted"))
        parts.append(("models ", "bold"))
        parts.append(f"({len(p.models)})\n")
        for m in p.models:
            src = d.source_text(m)
            parts.append(f"  {m.id} · {src}\n")
        parts.append(("prompts ", "bold"))
        parts.append(f"({len(p.prompts)})\n")
        for pr in p.prompts:
            parts.append(f"  {pr.id} ")
            parts.append((f"[{pr.task}]\n", "$text-muted"))
        parts.append(("\nrepeats ", "bold"))
        parts.append(f"{p.repeats} · ")
        parts.append(("warm-up ", "bold"))
        parts.append(f"{p.warmup} · ")
        parts.append(("max tokens ", "bold"))
        parts.append(f"{p.defaults.max_tokens}\n")
        parts.append(("threshold ", "bold"))
        parts.append(f"{pct(p.success_threshold)} · ")
        parts.append(("matrix ", "bold"))
        parts.append(f"{p.n_measured} measured + {p.n_warmup} warm-up")
        detail.update(Content.assemble(*parts))

    def _selection_of(self, option: d.PlanOption) -> tuple[list[str], list[str], dict[str, str]]:
        """The models, prompts and settings that choosing catalog plan ``option`` selects."""
        assert option.loaded is not None
        pid = option.entry.id
        plan = option.loaded.plan
        models = [
            self.model_alias.get(k, k) for k in (d.plan_model_key(pid, m.id) for m in plan.models)
        ]
        prompts = [
            self.prompt_alias.get(k, k)
            for k in (d.plan_prompt_key(pid, p.id) for p in plan.prompts)
        ]
        return models, prompts, d.settings_of(option.loaded)

    def _use_plan(self, option: d.PlanOption) -> None:
        self.base = option
        self.selected_models, self.selected_prompts, self.settings = self._selection_of(option)
        self._refresh_lists()
        self._fill_settings()
        self._rebuild()

    def _pristine(self) -> bool:
        """Nothing changed since a catalog plan was chosen (a composition, or a plan whose
        models, prompts or settings were edited, is never replaced by browsing the list)."""
        base = self.base
        if base is None or base.loaded is None:
            return False
        self._sync_from_widgets()
        return (self.selected_models, self.selected_prompts, self.settings) == self._selection_of(
            base
        )

    def _compose_new(self) -> None:
        self.base = None
        self.selected_models = []
        self.selected_prompts = []
        self.settings = dict(d.DEFAULT_SETTINGS)
        self._refresh_lists()
        self._fill_settings()
        self._rebuild()


def _shown_path(path: Path) -> str:
    """Relative to the working directory when inside it (shorter, and the same everywhere)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


PLAN = Step("step-plan", "1 Plan", "#plan-list", PlanStep.compose_plan)
