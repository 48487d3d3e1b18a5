"""Helpers for the TUI tests: the app as tests build it, mock plans, hand-made history."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tui_bench.core.plan import LoadedPlan, parse_plan
from tui_bench.core.results import RequestRecord
from tui_bench.core.store import Store
from tui_bench.core.summary import summarize_run
from tui_bench.tui.app import TuiBenchApp, create_app

HERE = Path(__file__).resolve().parent
TEST_PLANS = HERE / "plans"
SIZE = (100, 30)
REPO_PLANS = HERE.parent.parent / "plans"


def make_app(**kw: Any) -> TuiBenchApp:
    """The app as every TUI test builds it: fixed plans, no store scans, no blinking, no
    facts of the machine the tests run on."""
    kw.setdefault("plans_dirs", [TEST_PLANS])
    kw.setdefault("models_dirs", [])
    kw.setdefault("discover_stores", False)
    kw.setdefault("cursor_blink", False)
    kw.setdefault("keymap", {})
    kw.setdefault("check_machine", False)
    return create_app(**kw)


MOCK_RAW: dict[str, Any] = {
    "name": "mock-tui",
    "repeats": 2,
    "warmup": 1,
    "success_threshold": 0.5,
    "defaults": {"max_tokens": 10},
    "models": [
        {
            "id": "fast",
            "backend": "mock",
            "mock": {"ttft_ms": 5, "tokens_per_s": 4000, "load_ms": 1},
        },
        {
            "id": "slow",
            "backend": "mock",
            "mock": {"ttft_ms": 8, "tokens_per_s": 1500, "load_ms": 1},
        },
    ],
    "prompts": [
        {"id": "a", "task": "analysis", "text": "Explain distillation"},
        {"id": "b", "task": "generation", "text": "Write a story"},
    ],
}


def mock_loaded(**over: Any) -> LoadedPlan:
    raw = copy.deepcopy(MOCK_RAW)
    raw.update(over)
    return LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)


async def wait_for(
    pilot: Pilot[Any], cond: Callable[[], bool], timeout: float = 20.0, step: float = 0.05
) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(step)


def text_of(app: TuiBenchApp, selector: str) -> str:
    """The rendered text of a widget of the current screen ("" while it does not exist)."""
    from textual.css.query import NoMatches

    try:
        return str(app.screen.query_one(selector).render())
    except NoMatches:
        return ""


def screen_name(app: TuiBenchApp) -> str:
    return type(app.screen).__name__


async def wait_results(pilot: Pilot[Any], app: TuiBenchApp, timeout: float = 30.0) -> Any:
    await wait_for(
        pilot,
        lambda: screen_name(app) == "ResultsScreen" and app.screen.loaded is not None,  # type: ignore[attr-defined]
        timeout,
    )
    await pilot.pause()
    return app.screen


# -- hand-made history (deterministic: no timing of a live run) --------------------------


def record(
    run_id: int,
    seq: int,
    model: str,
    prompt: str,
    task: str,
    repeat: int,
    ttft_ms: float,
    tps: float,
    *,
    n_out: int = 32,
    flags: list[str] | None = None,
    ok: bool = True,
    warmup: bool = False,
    finish_reason: str | None = None,
    rss_mb: float = 200.0,
) -> RequestRecord:
    e2e = ttft_ms + (n_out - 1) / tps * 1000
    return RequestRecord(
        run_id=run_id,
        seq=seq,
        model=model,
        prompt=prompt,
        task=task,
        repeat=repeat,
        warmup=warmup,
        ok=ok,
        error=None if ok else "mock failure injected",
        finish_reason=finish_reason or ("length" if ok else "error"),
        started_at="2025-03-01T10:00:00+00:00",
        ttfr_ms=ttft_ms if ok else None,
        ttft_ms=ttft_ms if ok else None,
        e2e_ms=e2e if ok else None,
        tpot_ms=1000 / tps if ok else None,
        decode_tps=tps if ok else None,
        prefill_tps=12 / ttft_ms * 1000 if ok else None,
        n_in=12,
        n_in_source="mock",
        n_out=n_out if ok else 0,
        n_out_source="mock",
        peak_rss_kb=int(rss_mb * 1024),
        flags=list(flags or []),
        text="the model answers with a short explanation",
    )


def add_run(
    store: Store,
    *,
    plan: str,
    started: str,
    finished: str,
    status: str,
    rates: dict[str, list[float]],
    ttfts: dict[str, float],
    flags: dict[str, list[str]] | None = None,
    threshold: float = 0.9,
    n_planned: int | None = None,
    failed: dict[str, int] | None = None,
) -> int:
    """A finished run with fixed numbers; returns its id."""
    prompts = [("explain", "analysis"), ("story", "generation")]
    models = list(rates)
    raw = {
        "name": plan,
        "description": "hand-made history for the TUI tests",
        "success_threshold": threshold,
        "repeats": max(len(v) for v in rates.values()) // len(prompts),
        "warmup": 0,
        "models": [{"id": m, "backend": "mock"} for m in models],
        "prompts": [{"id": p, "task": t, "text": p} for p, t in prompts],
    }
    rid = store.create_run(
        plan=plan,
        plan_path=None,
        plan_raw=raw,
        started_at=started,
        host={"gpu": {"available": False, "reason": "no NVIDIA GPU (test)"}},
        threshold=threshold,
        n_planned=n_planned or sum(len(v) for v in rates.values()),
    )
    seq = 0
    recs: list[RequestRecord] = []
    for m in models:
        store.add_model(rid, m, 12.0, None, {"simulated": True, "desc": "hand-made"})
        for i, tps in enumerate(rates[m]):
            p, t = prompts[i % len(prompts)]
            f = (flags or {}).get(m, []) if i == 0 else []
            ttft = ttfts[m] * (1 + 0.02 * (i % 3))
            recs.append(record(rid, seq, m, p, t, i // len(prompts), ttft, tps, flags=f))
            seq += 1
        for _ in range((failed or {}).get(m, 0)):
            recs.append(record(rid, seq, m, "story", "generation", 0, 0, 1, ok=False))
            seq += 1
    for r in recs:
        store.add_request(r)
    s = summarize_run(recs, models)
    ov = s.overall
    store.finish_run(
        rid,
        status=status,
        finished_at=finished,
        n_measured=ov.n,
        n_ok=ov.n_ok,
        n_failed=ov.n_failed,
        success_rate=ov.success_rate,
        mean_e2e_ms=ov.metrics["e2e_ms"].mean,
        mean_ttft_ms=ov.metrics["ttft_ms"].mean,
        summary=[g.as_dict() for g in s.per_model],
        output_dir=None,
    )
    return rid


def fill_history() -> dict[str, int]:
    """Three runs of plan "demo": a baseline, a faster candidate, a cancelled one."""
    store = Store()
    try:
        base = add_run(
            store,
            plan="demo",
            started="2025-03-01T10:00:00+00:00",
            finished="2025-03-01T10:00:12+00:00",
            status="completed",
            rates={
                "fast": [401.0, 398.5, 405.2, 399.9, 402.3, 397.1, 404.4, 400.8],
                "slow": [121.2, 119.8, 120.5, 118.9, 122.0, 120.1, 119.4, 121.7],
            },
            ttfts={"fast": 25.0, "slow": 80.0},
            flags={"slow": ["rate_mismatch"]},
        )
        cand = add_run(
            store,
            plan="demo",
            started="2025-03-02T09:30:00+00:00",
            finished="2025-03-02T09:30:11+00:00",
            status="completed",
            rates={
                "fast": [452.0, 449.5, 455.1, 450.2, 448.8, 453.3, 451.7, 450.9],
                "slow": [120.9, 121.4, 119.6, 120.3, 121.8, 119.9, 120.7, 120.2],
            },
            ttfts={"fast": 22.0, "slow": 81.0},
        )
        cancelled = add_run(
            store,
            plan="demo",
            started="2025-03-03T08:00:00+00:00",
            finished="2025-03-03T08:00:03+00:00",
            status="cancelled",
            rates={"fast": [430.0, 428.0, 433.0]},
            ttfts={"fast": 24.0},
            n_planned=16,
        )
        other = add_run(
            store,
            plan="other",
            started="2025-03-04T08:00:00+00:00",
            finished="2025-03-04T08:00:05+00:00",
            status="completed",
            rates={"m1": [50.0, 52.0, 51.0, 49.5], "m2": [70.0, 71.0, 69.0, 70.5]},
            ttfts={"m1": 300.0, "m2": 250.0},
            failed={"m1": 1},
        )
        store.set_label(base, "baseline")
        store.set_label(cand, "candidate")
    finally:
        store.close()
    return {"baseline": base, "candidate": cand, "cancelled": cancelled, "other": other}


def hold_after_first_candidate(monkeypatch: Any) -> threading.Event:
    """Hold the classifier's training thread after each finished candidate until the
    returned event is set (a test cancels or quits in between)."""
    from tui_bench.core.classify.events import CandidateFinished
    from tui_bench.tui.state.classify import ClassifySink

    gate = threading.Event()
    original = ClassifySink.handle

    def handle(self: ClassifySink, event: Any) -> None:
        original(self, event)
        if isinstance(event, CandidateFinished):
            gate.wait(30)

    monkeypatch.setattr(ClassifySink, "handle", handle)
    return gate


async def wait_loaded(pilot: Pilot[Any], screen: Any) -> None:
    """The classifier setup has loaded its data, or said why it could not."""
    await wait_for(
        pilot,
        lambda: (
            (screen.loaded is not None and not screen.analysing)
            or screen.load_error is not None
            or screen.file_error is not None
        ),
    )
    await pilot.pause()


async def start_preset_benchmark(pilot: Pilot[Any], app: TuiBenchApp) -> None:
    """The classifier setup opened with the command line's settings: wait for its data,
    then ctrl+r (what happens next is the caller's to wait for)."""
    from tui_bench.tui.screens.classify import ClassifySetupScreen

    await wait_for(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
    await wait_loaded(pilot, app.screen)
    await pilot.press("ctrl+r")
