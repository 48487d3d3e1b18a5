"""Step 2 of the classifier setup: the categories. The imbalance table (classes,
samples, ratio max/min, normalised entropy, minority share, profile), the thresholds the
profiles follow, excluded categories with their reasons; the core's suggestions (one per
profile, ★) are preselected, space toggles, ctrl+g selects them again.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from tui_bench.core.classify import imbalance as imb
from tui_bench.tui.screens.classify.base import SetupBase, fixed, header_line, table_row
from tui_bench.tui.screens.steps import Step
from tui_bench.tui.widgets.toggle_list import ToggleList

CATEGORY_HEADER = (
    ("category", 16, "<"),
    ("profile", 12, "<"),
    ("classes", 7, ">"),
    ("samples", 8, ">"),
    ("ratio", 7, ">"),
    ("entropy", 8, ">"),
    ("minority", 9, ">"),
)


class CategoriesStep(SetupBase):
    def compose_categories(self) -> ComposeResult:
        with Vertical():
            yield Static(Content.styled(header_line(CATEGORY_HEADER), "bold"), id="cl-cat-head")
            yield ToggleList(id="cl-categories")
            yield Static(id="cl-cat-detail")

    def _suggested_names(self) -> list[str]:
        if self.loaded is None:
            return []
        out: list[str] = []
        for profile in imb.PROFILES:
            name = self.loaded.suggested[profile].category
            if name is not None and name not in out:
                out.append(name)
        return out

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
            fixed(a.imbalance_ratio),
            fixed(a.normalized_entropy, 3),
            f"{100 * a.minority_share:.1f}%" if a.minority_share is not None else "–",
        ]
        style = {"balanced": "$text-success", "imbalanced": "$text-warning"}.get(
            a.profile or "", ""
        )
        line = table_row(CATEGORY_HEADER, texts)
        head, tail = line[:17], line[17:]
        prompt = Content.assemble(head, (tail[:13], style), tail[13:])
        return Selection(prompt, a.category, chosen)

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


CATEGORIES = Step(
    "cl-step-categories", "2 Categories", "#cl-categories", CategoriesStep.compose_categories
)
