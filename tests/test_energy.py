"""Energy per request: the counter interpolated at the request's instants, the phase split,
short requests flagged, the counter's update period, the idle baseline, throttling, and
the figures a record derives. Samples are hand-made: every expected joule is computed by
hand in the comments."""

from __future__ import annotations

import pytest
from energy_helpers import Clock, CounterGpu

from tui_bench.core.energy import (
    FLAG_ENERGY_SHORT,
    PowerMeter,
    UpdatePeriod,
    idle_power_w,
    interpolate,
    model_uses_gpu,
    request_energy,
)
from tui_bench.core.metrics import RawTiming
from tui_bench.core.results import GenOutcome, build_record
from tui_bench.core.telemetry import GpuReading, Telemetry

MS = 1_000_000
GPU_MODEL = {"n_gpu_layers": -1, "gpu_offload_supported": True}

# 100 W for the first 100 ms (1000 -> 11000 mJ), then 200 W (11000 -> 31000 mJ)
POINTS = [(0, 1000.0), (100 * MS, 11000.0), (200 * MS, 31000.0)]


def test_the_counter_is_interpolated_linearly_between_the_samples_around_an_instant() -> None:
    assert interpolate(POINTS, 50 * MS) == pytest.approx(6000.0)  # half of 1000 -> 11000
    assert interpolate(POINTS, 150 * MS) == pytest.approx(21000.0)  # half of 11000 -> 31000
    assert interpolate(POINTS, 100 * MS) == 11000.0
    assert interpolate(POINTS, 201 * MS) is None  # outside the samples: no guess
    assert interpolate([], 0) is None


def test_a_request_gets_its_joules_and_both_phases_when_each_lasts_two_periods() -> None:
    # send at 10 ms, first token at 60 ms, last token at 190 ms; the counter updates every 20 ms
    e = request_energy(
        POINTS, period_ns=20 * MS, t_send_ns=10 * MS, t_first_ns=60 * MS, t_last_ns=190 * MS
    )
    # E(10) = 1000 + 10000 * 0.1 = 2000; E(60) = 1000 + 10000 * 0.6 = 7000;
    # E(190) = 11000 + 20000 * 0.9 = 29000 (mJ)
    assert e.energy_j == pytest.approx(27.0)  # (29000 - 2000) mJ
    assert e.prefill_j == pytest.approx(5.0)  # (7000 - 2000) mJ
    assert e.decode_j == pytest.approx(22.0)  # (29000 - 7000) mJ
    assert e.flags == [] and e.idle_w is None


def test_a_phase_shorter_than_two_counter_updates_gets_no_figure_of_its_own() -> None:
    # period 30 ms: the 50 ms prefill is under 60 ms, the 130 ms decode is not
    e = request_energy(
        POINTS, period_ns=30 * MS, t_send_ns=10 * MS, t_first_ns=60 * MS, t_last_ns=190 * MS
    )
    assert e.energy_j == pytest.approx(27.0)
    assert e.prefill_j is None
    assert e.decode_j == pytest.approx(22.0)
    assert e.flags == []


def test_a_request_shorter_than_two_counter_updates_is_flagged_without_a_figure() -> None:
    # 180 ms from send to last token against a 100 ms counter: under 200 ms
    e = request_energy(
        POINTS, period_ns=100 * MS, t_send_ns=10 * MS, t_first_ns=60 * MS, t_last_ns=190 * MS
    )
    assert (e.energy_j, e.prefill_j, e.decode_j) == (None, None, None)
    assert e.flags == [FLAG_ENERGY_SHORT]
    # an update period not known yet (the counter never moved twice): no figure either
    unknown = request_energy(
        POINTS, period_ns=None, t_send_ns=10 * MS, t_first_ns=60 * MS, t_last_ns=190 * MS
    )
    assert unknown.energy_j is None and unknown.flags == [FLAG_ENERGY_SHORT]


def test_no_counter_no_bracketing_samples_or_a_restarted_counter_give_none() -> None:
    args = {"period_ns": 20 * MS, "t_send_ns": 10 * MS, "t_first_ns": 60 * MS}
    assert request_energy([], **args, t_last_ns=190 * MS).energy_j is None
    assert request_energy([], **args, t_last_ns=190 * MS).flags == []  # not short: absent
    # the last token after the last sample: the samples do not bracket the request
    assert request_energy(POINTS, **args, t_last_ns=250 * MS).energy_j is None
    restarted = [(0, 1000.0), (100 * MS, 50.0), (200 * MS, 20050.0)]
    assert request_energy(restarted, **args, t_last_ns=190 * MS).energy_j is None


def test_slowdown_reasons_seen_in_the_window_become_flags() -> None:
    e = request_energy(
        POINTS,
        period_ns=20 * MS,
        t_send_ns=10 * MS,
        t_first_ns=60 * MS,
        t_last_ns=190 * MS,
        throttle={"thermal", "power"},
    )
    assert e.flags == ["throttled_power", "throttled_thermal"]
    assert e.energy_j == pytest.approx(27.0)  # still measured: the flag says why it is high


def test_the_update_period_is_the_shortest_span_holding_two_changes() -> None:
    # sampled every 100 ms; the counter moves at 0.95 s, 1.95 s, 2.95 s (every second)
    p = UpdatePeriod()
    for i in range(31):
        t = i * 100 * MS
        p.feed(t, 1000.0 * ((t + 50 * MS) // (1000 * MS)))
    # changes seen at 1.0, 2.0 and 3.0 s; each span runs from the sample before the
    # previous change (0.9 s, 1.9 s) to the change: 1.1 s, an upper bound of the 1 s period
    assert p.period_ns == 1100 * MS
    # a counter that moves between every two samples 10 ms apart: two steps, 20 ms
    fast = UpdatePeriod()
    for i in range(10):
        fast.feed(i * 10 * MS, 5.0 * i)
    assert fast.period_ns == 20 * MS


def test_the_update_period_skips_missing_and_late_readings_and_restarts_after_a_reset() -> None:
    p = UpdatePeriod()
    p.feed(0, 0.0)
    p.feed(10 * MS, None)  # no device answered
    p.feed(100 * MS, 10.0)  # change 1 (span from 0)
    p.feed(50 * MS, 99.0)  # stamped before the last sample by another thread: ignored
    assert p.period_ns is None
    p.feed(200 * MS, 20.0)  # change 2: 200 - 0
    assert p.period_ns == 200 * MS
    p.feed(300 * MS, 5.0)  # the counter restarted: no span across it
    p.feed(310 * MS, 6.0)
    assert p.period_ns == 200 * MS
    p.feed(320 * MS, 7.0)  # 320 - 300
    assert p.period_ns == 20 * MS


def test_idle_power_runs_from_the_first_to_the_last_change() -> None:
    # counter moving by 5 J every 100 ms, sampled every 50 ms: 50 W
    pts = [(i * 50 * MS, 5000.0 * (i // 2)) for i in range(7)]
    assert idle_power_w(pts) == pytest.approx(50.0)  # (15000 - 5000) mJ over 200 ms
    assert idle_power_w([(0, 1.0), (MS, 1.0), (2 * MS, 2.0)]) is None  # one change only


def test_the_live_power_is_taken_between_two_changes_of_the_counter() -> None:
    meter = PowerMeter()
    assert meter.feed(0, 1000.0) is None
    assert meter.feed(100 * MS, 1000.0) is None  # not updated yet
    assert meter.feed(200 * MS, 21000.0) == pytest.approx(100.0)  # 20 J over 200 ms
    assert meter.feed(300 * MS, None) == pytest.approx(100.0)  # a missing reading keeps it


def test_energy_belongs_to_a_model_only_when_it_runs_on_the_gpu() -> None:
    assert model_uses_gpu(GPU_MODEL)
    assert not model_uses_gpu({"n_gpu_layers": 0, "gpu_offload_supported": True})
    assert not model_uses_gpu({"n_gpu_layers": -1, "gpu_offload_supported": False})
    assert not model_uses_gpu({"simulated": True, "n_gpu_layers": -1})
    assert not model_uses_gpu({})  # a server elsewhere: nothing says it is this host's GPU
    assert model_uses_gpu({"uses_gpu": True})
    # llama.cpp's load log says how many layers went to the GPU: that wins over the ask
    offloaded = {"n_gpu_layers": -1, "gpu_offload_supported": True}
    assert not model_uses_gpu({**offloaded, "gpu_layers": {"offloaded": 0, "total": 31}})
    assert model_uses_gpu({**offloaded, "gpu_layers": {"offloaded": 1, "total": 31}})
    assert model_uses_gpu({"n_gpu_layers": 0, "gpu_layers": {"offloaded": 31, "total": 31}})


def _outcome(t_send: int, t_first: int, t_last: int, n: int) -> GenOutcome:
    step = (t_last - t_first) // (n - 1)
    times = [t_first + i * step for i in range(n)]
    return GenOutcome(
        raw=RawTiming(t_send, t_first, times, [1] * n),
        n_in=20,
        n_out=n,
        finish_reason="length",
    )


def _record(outcome: GenOutcome, window: object) -> object:
    return build_record(
        run_id=1, seq=0, model="m", prompt="p", task="analysis", repeat=0, warmup=False,
        started_at="2026-01-01T00:00:00+00:00", outcome=outcome, prompt_cache=False,
        load_ms=None, window=window,
    )  # fmt: skip


def test_telemetry_measures_the_idle_baseline_and_a_request_window_into_a_record() -> None:
    clock = Clock()
    gpu = CounterGpu(clock, 100.0)
    t = Telemetry(gpu=gpu, clock=clock)  # type: ignore[arg-type]
    line = t.measure_idle(0.05)
    # a counter moving at 100 W from first to last change: 100 W exactly
    assert t.idle_w == pytest.approx(100.0)
    assert line.startswith("idle baseline: 100.0 W on the GPUs over 0.05 s")
    gpu.watts = 250.0  # the model at work (the counter jumps at the change of rate: unused)
    t.set_target("m", None, GPU_MODEL)
    t.window_start()
    w0 = clock.now
    for _ in range(10):  # the sampling thread, every 10 ms of the clock
        t.sample()
    peaks = t.window_end()
    # samples are 10 ms apart and the counter moves at each: a 20 ms period
    assert peaks.period_ns == 20 * MS and peaks.idle_w == pytest.approx(100.0)
    # send 5 ms after the window opened, first token 25 ms in, last 105 ms in, 9 tokens
    rec = _record(_outcome(w0 + 5 * MS, w0 + 25 * MS, w0 + 105 * MS, 9), peaks)
    assert rec.energy_j == pytest.approx(25.0)  # 250 W x 100 ms
    assert rec.energy_prefill_j is None  # 20 ms: under two 20 ms periods
    assert rec.energy_decode_j == pytest.approx(20.0)  # 250 W x 80 ms
    assert rec.energy_w == pytest.approx(250.0)
    assert rec.energy_j_per_token == pytest.approx(25.0 / 9)
    assert rec.energy_decode_j_per_token == pytest.approx(20.0 / 8)
    assert rec.energy_idle_w == pytest.approx(100.0)
    assert rec.energy_net_j == pytest.approx(25.0 - 100.0 * 0.1)  # 15 J over idle
    assert rec.energy_net_w == pytest.approx(150.0)
    assert rec.energy_net_j_per_token == pytest.approx(15.0 / 9)
    assert rec.flags == []
    d = rec.to_dict()
    assert d["energy_j"] == 25.0 and d["energy_net_w"] == 150.0 and d["energy_prefill_j"] is None


def test_a_throttled_window_flags_the_request_and_a_cpu_model_gets_neither() -> None:
    clock = Clock()
    gpu = CounterGpu(clock, 300.0)
    t = Telemetry(gpu=gpu, clock=clock)  # type: ignore[arg-type]
    for info in (GPU_MODEL, {"n_gpu_layers": 0, "gpu_offload_supported": True}):
        t.set_target("m", None, info)
        t.window_start()
        w0 = clock.now
        gpu.throttle = ("power",)
        t.sample()
        gpu.throttle = ()
        for _ in range(8):
            t.sample()
        peaks = t.window_end()
        rec = _record(_outcome(w0 + 5 * MS, w0 + 45 * MS, w0 + 85 * MS, 5), peaks)
        if info is GPU_MODEL:
            assert rec.flags == ["throttled_power"]
            assert rec.energy_j == pytest.approx(24.0)  # 300 W x 80 ms
        else:  # the GPU's draw and slowdowns are not a CPU model's
            assert rec.flags == [] and rec.energy_j is None and rec.energy_idle_w is None


def test_without_an_energy_counter_a_record_has_none_and_no_flag() -> None:
    t = Telemetry(gpu=CounterGpu(Clock(), 0.0), clock=Clock())  # type: ignore[arg-type]
    t.gpu.sample = lambda pid: GpuReading(used_mb=100.0, total_mb=1000.0)  # type: ignore[method-assign]
    t.set_target("m", None, GPU_MODEL)
    t.window_start()
    peaks = t.window_end()
    rec = _record(_outcome(0, 10 * MS, 90 * MS, 5), peaks)
    assert rec.energy_j is None and rec.energy_j_per_token is None and rec.energy_w is None
    assert rec.flags == [] and rec.vram_peak_mb == 100.0
