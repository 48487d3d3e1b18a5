"""The shape of a mode's run screen (classifier benchmark, pipeline): the app runs the
mode's run controller (:mod:`tui_bench.tui.runs`) this screen hands it and cancels it;
nothing here reacts to an event. A timer takes a snapshot of the run's state a few times a
second and repaints when it moved (:meth:`paint`); when the run has ended (stored in
history and reported, in the run's thread), the app calls :meth:`run_ended` and the
results replace the screen, or an error dialog says why the run stopped.

A subclass composes its widgets, sets ``self.run`` (its controller) in ``__init__``, and
says how to paint a snapshot, what its results screen is, and its words.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.timer import Timer

from tui_bench.tui.screens.dialogs import ErrorScreen
from tui_bench.tui.widgets.run_status import RunStatus


class ModeRunScreen(Screen[None]):
    # words of the mode, as its user reads them
    RESULTS_HINT = "press o on the run screen for the results"
    STOPPED = "The run stopped"
    CANCEL_COMMAND = ("Cancel run", "Stop the run; finished results are kept")
    RESULTS_COMMAND = ("Open the results", "The run's results")

    run: Any  # the mode's run controller (tui/runs.py)
    refresh_hz: float

    def _init_refresh(self, refresh_hz: float) -> None:
        self.refresh_hz = refresh_hz
        self.state = self.run.state
        self.refreshes = 0
        self._seen_version = -1
        self._timer: Timer | None = None

    @property
    def busy(self) -> bool:
        """True while the run runs."""
        return bool(self.run.running)

    @property
    def outcome(self) -> Any:
        return self.run.outcome

    def start_run(self) -> None:
        """From ``on_mount``: the repaint timer, then the run (the app may refuse it)."""
        self._timer = self.set_interval(1 / self.refresh_hz, self._tick)
        if self.app.start(self.run) is None:  # type: ignore[attr-defined]
            self.app.pop_screen()  # another run is in progress (the app said so)
            return
        self._tick()

    # -- refresh ------------------------------------------------------------------------

    def repaint(self) -> None:
        self._tick()

    def _tick(self) -> None:
        view = self.state.snapshot()
        self.query_one(RunStatus).show(view.progress)
        self.paint_always(view)
        if view.version == self._seen_version:
            return
        self._seen_version = view.version
        self.refreshes += 1
        self.paint(view)

    def paint_always(self, view: Any) -> None:
        """What moves on every tick whether the state moved or not (elapsed times)."""

    def paint(self, view: Any) -> None:
        raise NotImplementedError

    # -- the end of the run (told by the app) -------------------------------------------

    def ended_title(self, run: Any) -> str:
        return f"Run {run.outcome.status}"

    def run_ended(self, run: Any) -> None:
        self._tick()
        self.refresh_bindings()
        app = self.app
        if run.outcome is not None:
            if app.screen is self:
                self.action_open_results()
            else:
                self.notify(self.RESULTS_HINT, title=self.ended_title(run))
            return

        def back(_: None) -> None:
            if app.screen is self:
                app.pop_screen()  # back to the setup, to fix it

        app.push_screen(ErrorScreen(self.STOPPED, run.error or ""), back)

    # -- actions ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_results":
            return True if self.outcome is not None else None
        if action == "cancel_run":
            return True if self.busy else None
        return True

    def action_cancel_run(self) -> None:
        self.app.request_cancel()  # type: ignore[attr-defined]

    def action_open_results(self) -> None:
        if self.outcome is None or self.app.screen is not self:
            return
        self.app.switch_screen(self.results_screen(self.outcome))

    def results_screen(self, outcome: Any) -> Screen[Any]:
        raise NotImplementedError

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        if self.busy:
            return [(*self.CANCEL_COMMAND, self.action_cancel_run)]
        if self.outcome is not None:
            return [(*self.RESULTS_COMMAND, self.action_open_results)]
        return []
