"""The LLM sink folds engine events into plain state, in bounded memory, without Textual."""

from __future__ import annotations

import subprocess
import sys

from tui_helpers import record

from tui_bench.core.events import (
    Log,
    ModelLoaded,
    RequestFinished,
    RequestKey,
    RequestStarted,
    RunFinished,
    RunStarted,
    TelemetrySample,
    TokensGenerated,
)
from tui_bench.tui.state.llm import BUCKET_NS, TEXT_TAIL_CHARS, BridgeSink, LiveState

MS = 1_000_000


def started(state: LiveState) -> BridgeSink:
    sink = BridgeSink(state)
    sink.handle(
        RunStarted(
            run_id=7,
            plan="p",
            plan_path=None,
            started_at="2025-01-01T00:00:00",
            n_measured=4,
            n_warmup=1,
            models=["a", "b"],
            prompts=["x"],
            repeats=2,
            host={"gpu": {"available": False, "reason": "no NVIDIA GPU (test)"}, "ram_gb": 16},
        )
    )
    return sink


def test_token_batches_fill_250ms_buckets_and_the_live_rate() -> None:
    state = LiveState(clock=lambda: 0)
    sink = started(state)
    key = RequestKey("a", "x", 0)
    sink.handle(RequestStarted(key, 0, 5))
    t0 = 1_000 * MS
    # 100 tokens 1 ms apart from t0, in batches of 10 (two buckets: 0-249 ms and beyond)
    for b in range(10):
        ts = [t0 + (10 * b + i) * MS for i in range(10)]
        sink.handle(TokensGenerated(key, ts, [1] * 10, "w " * 10, 10 * (b + 1), t0 - 20 * MS))
    m = state.models["a"]
    assert m.tokens == 100 and state.tokens_total == 100
    assert sum(m.buckets) == 100
    assert list(m.buckets) == [100]  # all within the first 250 ms bucket
    later = [t0 + BUCKET_NS * 3 + i * MS for i in range(5)]
    sink.handle(TokensGenerated(key, later, [1] * 5, "z", 105, t0 - 20 * MS))
    assert list(m.buckets) == [100, 0, 0, 5]  # gaps are zero-filled, not dropped
    assert m.rates()[0] == 100 * 4  # tokens per second of a 250 ms bucket
    cur = state.current
    assert cur.ttft_ms == 20.0
    assert (
        cur.decode_tps is not None and abs(cur.decode_tps - 104 / ((later[-1] - t0) / 1e9)) < 1e-6
    )


def test_text_tail_is_bounded_and_kept_until_the_next_answer_starts() -> None:
    state = LiveState(clock=lambda: 0)
    sink = started(state)
    key = RequestKey("a", "x", 0)
    sink.handle(RequestStarted(key, 0, 5))
    for i in range(100):
        sink.handle(TokensGenerated(key, [i * MS], [1], "x" * 500, i + 1, 0))
    assert len(state.text_tail) == TEXT_TAIL_CHARS
    sink.handle(RequestStarted(RequestKey("a", "x", 1), 1, 5))
    assert state.text_tail  # the previous answer stays until the next one has tokens
    sink.handle(TokensGenerated(RequestKey("a", "x", 1), [200 * MS], [1], "new", 1, 190 * MS))
    assert state.text_tail == "new"


def test_requests_telemetry_and_log() -> None:
    state = LiveState(clock=lambda: 0)
    sink = started(state)
    assert state.ram_total_kb == 16 * 1024 * 1024
    assert not state.gpu_available and "test" in state.gpu_reason
    sink.handle(ModelLoaded("a", 12.0, 123, {"n_threads": 2, "gpu_offload_supported": False}))
    sink.handle(TelemetrySample("a", 1, 2048, 95.0, None, None, None))
    assert list(state.rss_kb) == [2048.0] and not state.vram_used_mb
    sink.handle(RequestFinished(record(7, 0, "a", "x", "analysis", 0, 20.0, 100.0, warmup=True)))
    sink.handle(RequestFinished(record(7, 1, "a", "x", "analysis", 0, 21.0, 110.0)))
    sink.handle(RequestFinished(record(7, 2, "a", "x", "analysis", 1, 0, 1, ok=False)))
    m = state.models["a"]
    assert m.ttft_ms == [20.0, 21.0]  # warm-ups included in the live TTFT series
    assert m.decode_tps == [110.0]  # measured requests only
    assert (m.n_ok, m.n_failed, state.done) == (1, 1, 3)
    sink.handle(Log("warning", "careful"))
    sink.handle(
        RunFinished(7, "completed", 1, 1, 2, 0.5, 0.9, False, 1.0, output_dir=None, db_path=None)
    )
    levels = [line.level for line in state.log]
    assert "error" in levels and "warning" in levels
    assert state.finished is not None and not state.running
    assert [line.seq for line in state.log] == sorted(line.seq for line in state.log)


def test_live_states_do_not_import_textual() -> None:
    code = (
        "import tui_bench.tui.state.llm, tui_bench.tui.state.classify, "
        "tui_bench.tui.classify_bridge, sys; print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_configuration_fallback_is_kept_and_logged() -> None:
    state = LiveState()
    sink = started(state)
    info = {"n_threads": 2, "repack": True}
    sink.handle(ModelLoaded("a", 120.0, 11, info))
    assert state.model("a").fallback is None
    reason = "weight repacking turned off: the worker was killed by SIGSEGV on the first decode"
    sink.handle(ModelLoaded("a", 80.0, 12, {**info, "repack": False, "fallback": reason}))
    assert state.model("a").fallback == reason
    assert state.model("b").fallback is None
    logged = [(line.level, line.text) for line in state.log]
    assert ("warning", f"a: {reason}") in logged
    assert any("repacking off" in text for level, text in logged if level == "info")
