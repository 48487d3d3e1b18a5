"""Hand-made LLM run records for the report tests: exact timings, no measurement noise."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tui_bench.core.metrics import RawTiming
from tui_bench.core.report import RunData
from tui_bench.core.results import GenOutcome, RequestRecord, build_record, failed_record

MS = 1_000_000


def rec(
    seq: int,
    model: str,
    *,
    rate: float,
    ttft: float = 50.0,
    prompt: str = "p",
    task: str = "analysis",
    n: int = 11,
    quality: dict[str, float] | None = None,
    text: str = "an answer",
    warmup: bool = False,
) -> RequestRecord:
    """A successful request decoding ``n`` tokens at exactly ``rate`` tok/s after ``ttft`` ms."""
    t0 = 10_000 * MS
    step = 1000.0 / rate  # ms per token
    times = [t0 + round((ttft + i * step) * MS) for i in range(n)]
    out = GenOutcome(
        raw=RawTiming(t0, times[0], times, [1] * n),
        n_in=20,
        n_in_source="engine",
        n_out=n,
        n_out_source="engine",
        finish_reason="stop",
        text=text,
        engine=None,
        peak_rss_kb=100_000,
    )
    r = build_record(
        run_id=1, seq=seq, model=model, prompt=prompt, task=task, repeat=0, warmup=warmup,
        started_at="2026-01-01T00:00:00+00:00", outcome=out, prompt_cache=False, load_ms=10.0,
    )  # fmt: skip
    r.quality = dict(quality or {})
    return r


def failed(seq: int, model: str, *, prompt: str = "p", task: str = "analysis") -> RequestRecord:
    return failed_record(
        run_id=1, seq=seq, model=model, prompt=prompt, task=task, repeat=0, warmup=False,
        started_at="2026-01-01T00:00:00+00:00", error="boom", load_ms=10.0,
    )  # fmt: skip


def from_rates(rates: dict[str, Sequence[float]], **kw: Any) -> list[RequestRecord]:
    """One record per rate, model after model, numbered in that order."""
    out: list[RequestRecord] = []
    for model, values in rates.items():
        for v in values:
            out.append(rec(len(out), model, rate=v, **kw))
    return out


def run_data(
    records: list[RequestRecord], models: Sequence[str], plan: dict[str, Any] | None = None
) -> RunData:
    run = {"id": 1, "plan": "hand", "status": "completed", "started_at": "a", "finished_at": "b"}
    infos = [{"id": m, "backend": "mock", "info": {}} for m in models]
    return RunData(run=run, plan=plan or {"name": "hand"}, models=infos, records=records)


def seeded_rates() -> dict[str, list[float]]:
    """a and b: the same speed distribution (seeded); c: clearly faster."""
    rng = np.random.default_rng(7)
    return {
        "a": list(rng.normal(100, 5, 12)),
        "b": list(rng.normal(100, 5, 12)),
        "c": list(rng.normal(150, 5, 12)),
    }


def front_run() -> RunData:
    """analysis: big is better, small 2x faster, worse behind both; code: nothing scored."""
    recs = []
    for i in range(4):
        recs.append(rec(len(recs), "big", rate=50, quality={"composite": 0.8 + 0.02 * (i % 2)}))
        recs.append(rec(len(recs), "small", rate=100, quality={"composite": 0.4}))
        recs.append(rec(len(recs), "worse", rate=90, quality={"composite": 0.2}))
        recs.append(rec(len(recs), "big", rate=50, prompt="c", task="code"))
        recs.append(rec(len(recs), "small", rate=100, prompt="c", task="code"))
    return run_data(recs, ["big", "small", "worse"])


def scored_run() -> RunData:
    recs = []
    for i in range(6):
        recs.append(rec(len(recs), "big", rate=50 + i, ttft=80 + 4 * i, quality={"composite": 0.8}))
        recs.append(
            rec(len(recs), "small", rate=100 + 2 * i, ttft=30 + i, quality={"composite": 0.4})
        )
        recs.append(rec(len(recs), "worse", rate=90 - i, ttft=40, quality={"composite": 0.2}))
        recs.append(
            rec(len(recs), "small", rate=100, prompt="c", task="code", quality={"composite": 0.6})
        )
    return run_data(recs, ["big", "small", "worse"])
