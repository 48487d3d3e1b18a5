"""The live view of a run: progress, per-model token rate and TTFT, memory, output, log.

Nothing here reacts to an engine event. A timer (``refresh_hz``, a few per second) reads
the :class:`LiveState` the engine's sink keeps and repaints only when it changed, so a
flood of tokens costs the UI nothing more than a trickle. While a request is being
measured the panels repaint at most ``stream_refresh_hz`` (once a second): on a small
machine every repaint takes CPU and cache from the model's threads, and at 4 Hz that
cost the model several percent of its decode rate and TTFT (benchmarks/tui_overhead.py).
The token-rate sparkline keeps its 250 ms buckets; a repaint draws all new ones.
"""

from __future__ import annotations

import time
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer

from tui_bench.tui.state.llm import LiveState
from tui_bench.tui.widgets.footer import Footer
from tui_bench.tui.widgets.header import AppHeader
from tui_bench.tui.widgets.live import LogTail, MemoryView, ModelsView, TailView
from tui_bench.tui.widgets.load import LoadView
from tui_bench.tui.widgets.run_status import RunStatus

DEFAULT_REFRESH_HZ = 4.0  # one repaint per 250 ms token-rate bucket
DEFAULT_STREAM_REFRESH_HZ = 1.0  # while a request is measured


class LiveScreen(Screen[None]):
    HELP = (
        "The run as it goes. Per model: the token rate in 250 ms buckets (sparkline), the "
        "decode rate of the request in flight, the median of finished requests and the TTFT "
        "of each request. Memory is drawn against total RAM / VRAM, not auto-scaled. "
        "Cancelling keeps every finished request; the partial results open when it stops. "
        "A plan with load levels shows the load panel instead of the output: the level "
        "running (users or target rate, requests in flight and queued, the achieved rate), "
        "one row per finished level with its output tok/s and TTFT p90 (✓/✗: the SLOs), "
        "failures by class and the capacity once the sweep ends."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_run", "Cancel run", id="live.cancel"),
        Binding("l", "toggle_log", "Log/output", id="live.toggle-log"),
        Binding("o", "open_results", "Results", id="live.results"),
    ]

    def __init__(
        self,
        state: LiveState,
        *,
        refresh_hz: float = DEFAULT_REFRESH_HZ,
        stream_refresh_hz: float = DEFAULT_STREAM_REFRESH_HZ,
        plan_name: str = "",
    ) -> None:
        super().__init__()
        self.state = state
        self.plan_name = plan_name
        self.refresh_hz = refresh_hz
        self.stream_period_s = 1 / min(stream_refresh_hz, refresh_hz)
        self._last_paint = self._memory_paint = -1e9
        self.refreshes = 0  # timer ticks that repainted: bounded by refresh_hz x duration
        self.ticks = 0
        self._seen_version = -1
        self._seen_finished = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield RunStatus(
            unit="requests", waiting="starting…", stops="the current token", id="live-status"
        )
        with Horizontal(id="live-top"):
            models = ModelsView(self.state, id="live-models")
            models.border_title = "models · tokens/s per 250 ms · TTFT per request"
            yield models
            memory = MemoryView(self.state, id="live-memory")
            memory.border_title = "memory · scale: total RAM / VRAM"
            yield memory
        with Horizontal(id="live-bottom"):
            load = LoadView(self.state, id="live-load")  # shown once a load level starts
            load.border_title = "load · output tok/s and TTFT p90 per level"
            yield load
            out = TailView(id="live-output")
            out.border_title = "output"
            yield out
            log = LogTail(id="live-log")
            log.border_title = "log"
            yield log
        yield Footer()

    def on_mount(self) -> None:
        self.title = "tui-bench · live run"
        self.sub_title = self.state.plan or self.plan_name
        self._timer = self.set_interval(1 / self.refresh_hz, self._tick)
        self._tick()

    # -- refresh ------------------------------------------------------------------------

    def _tick(self) -> None:
        """Runs ``refresh_hz`` times a second; repaints only what the sink changed."""
        self.ticks += 1
        s = self.state
        view = s.snapshot()
        self.query_one(RunStatus).show(view.progress)  # its clock moves every second
        if view.version == self._seen_version:
            return
        now = time.monotonic()
        if s.in_flight and s.finished is None and now - self._last_paint < self.stream_period_s:
            return  # measuring: the panels wait for the slower streaming rate
        self._last_paint = now
        if s.finished is not None and not self._seen_finished:
            self._seen_finished = True
            self.refresh_bindings()
        self._seen_version = view.version
        self.refreshes += 1
        if s.plan and self.sub_title != s.plan:
            self.sub_title = s.plan
        self.query_one(ModelsView).changed()
        if s.load.active:
            if not self.has_class("-load"):
                self.add_class("-load")  # under load no text streams: the panel takes its place
            self.query_one(LoadView).changed()
        # memory moves slowly (sampled at 10 Hz): repaint it about once a second
        if now - self._memory_paint >= 1.0 or s.finished is not None:
            self._memory_paint = now
            self.query_one(MemoryView).changed()
        out = self.query_one(TailView)
        out.set_text(s.text_tail)
        title = f"output · {s.current.label}" if s.current.label else "output"
        if out.border_title != title:
            out.border_title = title
        self.query_one(LogTail).set_lines(view.log)

    # -- actions ------------------------------------------------------------------------

    def action_cancel_run(self) -> None:
        self.app.request_cancel()  # type: ignore[attr-defined]  # the app owns the run

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        finished = self.state.finished is not None
        if action == "open_results":
            return True if finished else None  # shown disabled until the run has finished
        if action == "cancel_run":
            return None if finished else True
        return True

    def action_open_results(self) -> None:
        if self.state.finished is not None and self.state.run_id is not None:
            from tui_bench.tui.screens.results import ResultsScreen

            self.app.switch_screen(ResultsScreen(self.state.run_id))

    def action_toggle_log(self) -> None:
        # under load the load panel stands where the output was
        out = self.query_one("#live-load" if self.has_class("-load") else "#live-output")
        log = self.query_one("#live-log")
        if out.display and log.display:
            out.display = False
        elif log.display:
            out.display, log.display = True, False
        else:
            out.display = log.display = True
