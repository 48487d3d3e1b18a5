"""The live view's energy line beside VRAM: the GPUs' power from their energy counter, the
last request's joules per token, the slowdown reasons active now; nothing without a counter."""

from __future__ import annotations

from tui_helpers import record

from tui_bench.core.events import RequestFinished, RunStarted, TelemetrySample
from tui_bench.tui.state.llm import BridgeSink, LiveState
from tui_bench.tui.widgets.live import energy_line

MS = 1_000_000
GPU = {"available": True, "devices": [{"index": 0, "name": "NVIDIA H100", "total_mb": 81559}]}


def _sample(t_ms: int, energy_mj: float | None, throttle: tuple[str, ...] = ()) -> TelemetrySample:
    return TelemetrySample("m", t_ms * MS, 1000, 50.0, 900.0, 81559.0, None, energy_mj, throttle)


def _state() -> tuple[LiveState, BridgeSink]:
    state = LiveState(ram_total_kb=1024 * 1024)
    sink = BridgeSink(state)
    sink.handle(RunStarted(1, "p", None, "now", 1, 0, ["m"], ["p"], 1, {"gpu": GPU}))
    return state, sink


def test_power_and_the_last_requests_joules_per_token_are_shown_beside_vram() -> None:
    state, sink = _state()
    assert energy_line(state) is None  # nothing read yet: no line
    sink.handle(_sample(0, 50_000.0))
    sink.handle(_sample(100, 50_000.0))  # the counter not updated yet
    sink.handle(_sample(200, 90_000.0))  # 40 J over 200 ms
    assert state.power.watts == 200.0
    line = energy_line(state)
    assert line is not None and line.plain == "power 200 W"
    rec = record(1, 0, "m", "p", "analysis", 0, 50.0, 100.0, n_out=11)
    rec.energy_j = 5.5  # 0.5 J per token over 11 tokens; e2e 150 ms -> 36.7 W
    sink.handle(RequestFinished(rec))
    line = energy_line(state)
    assert line is not None
    assert line.plain == "power 200 W · last request 0.5 J/tok at 37 W"
    assert state.log[-1].text.endswith("(length), 0.5 J/tok")


def test_active_slowdowns_are_named_and_cleared_when_they_end() -> None:
    state, sink = _state()
    sink.handle(_sample(0, None, ("power", "thermal")))
    line = energy_line(state)
    assert line is not None and line.plain == "throttled: power, thermal"
    sink.handle(_sample(100, None))
    assert energy_line(state) is None  # no counter, no slowdown: the panel stays as it was


def _memory_text(state: LiveState) -> str:
    """The memory panel's text at 60x20, rendered outside an app."""
    from textual.geometry import Size

    from tui_bench.tui.widgets.live import MemoryView

    class Sized(MemoryView):
        @property
        def content_size(self) -> Size:  # type: ignore[override]
            return Size(60, 20)

    return str(Sized(state).render())


def test_the_models_vram_is_never_a_zero_the_driver_did_not_give() -> None:
    state, sink = _state()
    sink.handle(_sample(0, None))  # device memory read, the model's own not reported
    assert not state.vram_proc_seen and state.vram_proc_note == ""
    assert "VRAM model not reported by the driver" in _memory_text(state)
    gpu = GPU | {"proc_memory": {"readable": False, "state": "n/a (container PIDs)"}}
    state = LiveState(ram_total_kb=1024 * 1024)
    sink = BridgeSink(state)
    sink.handle(RunStarted(1, "p", None, "now", 1, 0, ["m"], ["p"], 1, {"gpu": gpu}))
    sink.handle(_sample(0, None))
    assert state.vram_proc_note == "n/a (container PIDs)" and not state.vram_proc_seen
    text = _memory_text(state)
    assert "VRAM model n/a (container PIDs)" in text and "model 0" not in text
    sink.handle(TelemetrySample("m", 1, 1000, 50.0, 900.0, 81559.0, 700.0))
    assert state.vram_proc_seen and state.vram_proc_mb[-1] == 700.0
    assert "VRAM model 700 MiB of 79.6 GiB" in _memory_text(state)


def test_per_process_memory_lost_mid_run_shows_n_a_with_the_reason_not_zero() -> None:
    """The model's own VRAM was read, then NVML's PIDs turned out to be another
    namespace's (a container found while the model runs): n/a and why, never 0 MB."""
    state, sink = _state()
    sink.handle(TelemetrySample("m", 1, 1000, 50.0, 900.0, 81559.0, 700.0))
    assert "VRAM model 700 MiB of 79.6 GiB" in _memory_text(state)
    why = "the worker (PID 42) uses the GPU but NVML never lists it"
    lost = TelemetrySample("m", 2, 1000, 50.0, 900.0, 81559.0, None)
    lost.vram_proc_state, lost.vram_proc_reason = "n/a (container PIDs)", why
    sink.handle(lost)
    assert list(state.vram_proc_mb) == [700.0, None]  # no made-up zero in the history
    text = _memory_text(state)
    assert "VRAM model n/a (container PIDs)" in text and "model 0" not in text
    assert "the worker (PID 42) uses the GPU" in text
    # a sample without the model's figure and no reason from the driver: n/a, not zero
    state, sink = _state()
    sink.handle(TelemetrySample("m", 1, 1000, 50.0, 900.0, 81559.0, 700.0))
    sink.handle(TelemetrySample("m", 2, 1000, 50.0, 900.0, 81559.0, None))
    text = _memory_text(state)
    assert "VRAM model n/a (not reported by the driver)" in text and "model 0" not in text
