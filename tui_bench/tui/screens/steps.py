"""The base of every step-by-step screen (the wizard, the classifier setup).

A :class:`StepScreen` owns its steps: one tab each, in order (:class:`Step`: the pane's
id and title, the widget that gets the focus when it is shown, what the pane holds), and
the moves between them: :meth:`StepScreen.goto`, next and previous with their keys
(:func:`step_bindings`: ctrl+n and escape, under ids of the screen's own). A screen is
made of one class per step (a subclass of its own base, in a file of its own), each with
its pane, its handlers and its rendering; the screen's class joins them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Label, TabPane

from tui_bench.tui.focus import focus_soon
from tui_bench.tui.widgets.steps import StepTabs


@dataclass(frozen=True)
class Step:
    """One step: its pane (id, tab title), the widget (a selector) that gets the focus
    when the step is shown, and what the pane holds (a compose method of the screen)."""

    id: str
    title: str
    focus: str
    compose: Callable[[Any], ComposeResult]


def step_bindings(prefix: str) -> list[Binding]:
    """ctrl+n / escape, with ids of the screen's own (``wizard.next``): a keymap remaps
    one screen's keys, and every binding id of the app is unique."""
    return [
        Binding("ctrl+n", "next_step", "Next step", id=f"{prefix}.next"),
        Binding("escape", "prev_step", "Previous step", id=f"{prefix}.back"),
    ]


class StepScreen(Screen[None]):
    """A screen of steps in tabs; a subclass names its ``STEPS`` and the tabs' id, lists
    :func:`step_bindings` in its ``BINDINGS``, and composes its tabs with
    :meth:`compose_steps`."""

    STEPS: ClassVar[tuple[Step, ...]] = ()
    TABS_ID: ClassVar[str] = "steps"

    def compose_steps(self) -> ComposeResult:
        with StepTabs(id=self.TABS_ID, initial=self.STEPS[0].id):
            for step in self.STEPS:
                with TabPane(step.title, id=step.id):
                    yield from step.compose(self)

    @property
    def step(self) -> str:
        """The id of the step shown."""
        return str(self.query_one(f"#{self.TABS_ID}", StepTabs).active)

    def _index(self, step: str) -> int:
        ids = [s.id for s in self.STEPS]
        if step not in ids:
            raise KeyError(step)
        return ids.index(step)

    def goto(self, step: str) -> None:
        """Show ``step`` and move the focus into it: now, so that a focus queued earlier
        cannot bring its step back, and again shortly if the pane could not take it yet."""
        target = self.query_one(self.STEPS[self._index(step)].focus)
        self.query_one(f"#{self.TABS_ID}", StepTabs).show(step, lambda: self.goto(step))
        self.set_focus(target)
        focus_soon(target, self.query_one(f"#{step}"))

    def action_next_step(self) -> None:
        i = self._index(self.step)
        if i + 1 < len(self.STEPS):
            self.goto(self.STEPS[i + 1].id)

    def action_prev_step(self) -> None:
        i = self._index(self.step)
        if i > 0:
            self.goto(self.STEPS[i - 1].id)
        else:
            self.back_from_first_step()

    def back_from_first_step(self) -> None:
        """escape on the first step: nothing here; a screen opened from another may close."""


# A settings grid's field: key, label, input type ("integer", "number", "text"), placeholder.
SettingField = tuple[str, str, str, str]


def setting_inputs(
    fields: Iterable[SettingField],
    values: Mapping[str, str],
    *,
    id_prefix: str,
    label_class: str,
    compact: bool = False,
) -> Iterator[Widget]:
    """A label and an input per field, for a step's settings grid (ids: prefix + key)."""
    for key, label, kind, placeholder in fields:
        yield Label(label, classes=label_class)
        yield Input(
            values.get(key, ""),
            placeholder=placeholder,
            type=kind,  # type: ignore[arg-type]
            id=f"{id_prefix}{key}",
            compact=compact,
        )
