"""The step-screen base on a screen of its own: ctrl+n / escape move between the steps and
focus into each; escape on the first step is the screen's; a step shown as the screen
mounts stays shown."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.widgets import Button, Input
from tui_helpers import wait_for

from tui_bench.tui.screens.steps import Step, StepScreen, step_bindings


def _one(screen: Any) -> ComposeResult:
    yield Input(id="first")


def _two(screen: Any) -> ComposeResult:
    yield Input(id="other")
    yield Button("go", id="second")


class TwoSteps(StepScreen):
    BINDINGS: ClassVar[list[BindingType]] = [*step_bindings("two-steps")]
    STEPS = (Step("one", "1 One", "#first", _one), Step("two", "2 Two", "#second", _two))
    TABS_ID = "two-tabs"

    def __init__(self, *, start: str | None = None) -> None:
        super().__init__()
        self.start = start
        self.backs = 0

    def compose(self) -> ComposeResult:
        yield from self.compose_steps()

    def on_mount(self) -> None:
        if self.start is not None:
            self.goto(self.start)

    def back_from_first_step(self) -> None:
        self.backs += 1


class StepsApp(App[None]):
    def __init__(self, screen: TwoSteps) -> None:
        super().__init__()
        self.steps = screen

    def on_mount(self) -> None:
        self.push_screen(self.steps)


def focused_id(app: App[Any]) -> str | None:
    return getattr(app.focused, "id", None)


async def test_next_and_previous_move_and_focus_into_each_step() -> None:
    screen = TwoSteps()
    app = StepsApp(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.pause()
        assert screen.step == "one"
        assert screen.active_bindings["ctrl+n"].binding.id == "two-steps.next"
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: focused_id(app) == "second")
        assert screen.step == "two"
        await pilot.press("ctrl+n")  # the last step: nowhere further
        await pilot.pause()
        assert (screen.step, focused_id(app)) == ("two", "second")
        await pilot.press("escape")
        await wait_for(pilot, lambda: focused_id(app) == "first")
        assert screen.step == "one" and screen.backs == 0
        await pilot.press("escape")  # the first step: the screen's own
        await pilot.pause()
        assert (screen.step, screen.backs) == ("one", 1)


async def test_a_step_shown_as_the_screen_mounts_stays_shown() -> None:
    screen = TwoSteps(start="two")
    app = StepsApp(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen is screen)
        await wait_for(pilot, lambda: focused_id(app) == "second")
        await pilot.pause(0.2)
        assert (screen.step, focused_id(app)) == ("two", "second")
