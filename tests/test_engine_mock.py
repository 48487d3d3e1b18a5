"""The engine on the mock backend: schedule, events, failures, cancellation, store, reports."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tui_bench.core.engine import Engine
from tui_bench.core.events import (
    Event,
    ModelFailed,
    ModelLoaded,
    RequestFinished,
    RequestStarted,
    RunFinished,
    RunStarted,
    TokensGenerated,
)
from tui_bench.core.plan import LoadedPlan, parse_plan
from tui_bench.core.report import ReportSink, run_data_from_store, to_json, write_reports
from tui_bench.core.store import Store, iter_history_lines


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def mock_plan(**over: Any) -> LoadedPlan:
    raw: dict[str, Any] = {
        "name": "mock-test",
        "repeats": 2,
        "warmup": 1,
        "success_threshold": 0.5,
        "defaults": {"max_tokens": 12},
        "models": [
            {
                "id": "fast",
                "backend": "mock",
                "mock": {"ttft_ms": 5, "tokens_per_s": 2000, "load_ms": 1, "jitter": 0},
            },
            {
                "id": "slow",
                "backend": "mock",
                "mock": {"ttft_ms": 10, "tokens_per_s": 1000, "load_ms": 1, "jitter": 0},
            },
        ],
        "prompts": [
            {
                "id": "a",
                "task": "analysis",
                "text": "Explain distillation",
                "expect": {"contains": ["model"]},
            },
            {"id": "b", "task": "translation", "text": "Translate hello"},
        ],
    }
    raw.update(over)
    return LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)


def run(loaded: LoadedPlan, **kw: Any) -> tuple[Any, Collect]:
    c = Collect()
    engine = Engine(loaded, sinks=[c, *kw.pop("sinks", [])], telemetry=False, **kw)
    return asyncio.run(engine.run()), c


def test_schedule_events_and_records() -> None:
    outcome, c = run(mock_plan(), write_history=False)
    assert outcome.status == "completed" and outcome.passed
    # per model: 1 warm-up + 2 repeats x 2 prompts
    assert len(outcome.records) == 10
    order = [(r.model, r.prompt, r.repeat, r.warmup) for r in outcome.records]
    assert order[:5] == [
        ("fast", "a", 0, True),
        ("fast", "a", 0, False),
        ("fast", "b", 0, False),
        ("fast", "a", 1, False),
        ("fast", "b", 1, False),
    ]
    assert [r.seq for r in outcome.records] == list(range(10))
    kinds = [type(e).__name__ for e in c.events if not isinstance(e, TokensGenerated)]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    assert len(c.of(RequestStarted)) == len(c.of(RequestFinished)) == 10
    assert len(c.of(ModelLoaded)) == 2
    # token batches add up to each request's output
    for rec in outcome.records:
        batches = [
            e
            for e in c.of(TokensGenerated)
            if e.key.model == rec.model
            and e.key.prompt == rec.prompt
            and e.key.repeat == rec.repeat
            and e.key.warmup == rec.warmup
        ]
        assert sum(len(b.t_ns) for b in batches) == rec.n_out == 12
        assert "".join(b.text for b in batches) == rec.text


def test_mock_timings_follow_the_configuration() -> None:
    outcome, _ = run(mock_plan(), write_history=False)
    fast = [r for r in outcome.records if r.model == "fast" and not r.warmup]
    for r in fast:
        # the mock's token times are its schedule: 2000 tok/s exactly, without jitter
        assert r.decode_tps == pytest.approx(2000, rel=1e-3)
        assert r.ttft_ms >= 5
        assert r.quality["heuristic"] >= 0
    g = outcome.summary.model("slow")
    assert g.metrics["decode_tps"].median == pytest.approx(1000, rel=1e-3)
    assert g.n == 4 and g.n_ok == 4 and g.success_rate == 1.0


def test_injected_failures_are_recorded_and_the_run_goes_on() -> None:
    loaded = mock_plan(
        models=[
            {"id": "broken", "backend": "mock", "mock": {"fail_load": True, "load_ms": 1}},
            {
                "id": "flaky",
                "backend": "mock",
                "mock": {"fail_prompts": ["b"], "load_ms": 1, "ttft_ms": 1, "tokens_per_s": 5000},
            },
        ]
    )
    outcome, c = run(loaded, write_history=False)
    assert outcome.status == "completed"
    broken = [r for r in outcome.records if r.model == "broken"]
    assert len(broken) == 5 and not any(r.ok for r in broken)
    assert all("mock load failure" in (r.error or "") for r in broken)
    assert c.of(ModelFailed)[0].model == "broken"
    flaky = [r for r in outcome.records if r.model == "flaky" and not r.warmup]
    assert [r.ok for r in flaky] == [True, False, True, False]
    # 2 ok out of 8 attempted measured requests
    assert outcome.success_rate == pytest.approx(2 / 8)
    assert not outcome.passed  # threshold 0.5
    assert c.of(RunFinished)[0].passed is False


def test_cancel_keeps_finished_requests(tmp_path: Path) -> None:
    loaded = mock_plan(
        models=[
            {
                "id": "m",
                "backend": "mock",
                "mock": {"ttft_ms": 1, "tokens_per_s": 200, "load_ms": 1},
            }
        ],
        defaults={"max_tokens": 40},
        repeats=5,
    )
    store = Store(tmp_path / "h.sqlite3")
    c = Collect()
    engine = Engine(loaded, store=store, sinks=[c], telemetry=False, write_history=False)

    class Trigger:
        def handle(self, event: Event) -> None:
            if (
                isinstance(event, TokensGenerated)
                and event.key.repeat == 1
                and event.key.prompt == "b"
            ):
                engine.cancel()  # mid-request

    engine.sinks.append(Trigger())
    outcome = asyncio.run(engine.run())
    assert outcome.status == "cancelled"
    assert not outcome.passed
    last = outcome.records[-1]
    assert last.finish_reason == "cancelled" and not last.ok and 0 < last.n_out < 40
    stored = store.get_requests(outcome.run_id)
    assert [r.seq for r in stored] == [r.seq for r in outcome.records]
    assert store.get_run(outcome.run_id).status == "cancelled"
    # cancelled requests are neither successes nor failures
    assert outcome.summary.overall.n_cancelled == 1
    assert outcome.summary.overall.n_failed == 0
    assert store.integrity_ok()
    store.close()


def test_store_and_reports_round_trip(tmp_path: Path) -> None:
    loaded = mock_plan()
    store = Store(tmp_path / "h.sqlite3")
    out = tmp_path / "out"
    report = ReportSink(out, loaded.plan.model_dump(mode="json"))
    outcome, _ = run(loaded, store=store, sinks=[report], output_dir=out)
    assert sorted(p.name for p in report.written) == [
        "chart_decode.svg",
        "chart_ttft.svg",
        "data.json",
        "report.md",
        "results.csv",
    ]
    data = json.loads((out / "data.json").read_text())
    assert data["run"]["id"] == outcome.run_id and data["run"]["status"] == "completed"
    assert set(data["run"]) >= {
        "id",
        "plan",
        "status",
        "started_at",
        "finished_at",
        "versions",
        "host",
    }
    req_keys = {
        "model", "prompt", "task", "repeat", "warmup", "ok", "error", "finish_reason", "ttft_ms", "e2e_ms",
        "tpot_ms", "decode_tps", "prefill_tps", "n_in", "n_out", "n_out_source", "load_ms", "peak_rss_kb",
        "vram_peak_mb", "engine", "flags",
    }  # fmt: skip
    assert all(req_keys <= set(r) for r in data["requests"])
    assert len(data["requests"]) == 10
    s = {g["model"]: g for g in data["summary"]}
    for key in ("ttft_ms", "decode_tps", "e2e_ms"):
        assert set(s["fast"][key]) >= {"n", "mean", "median", "p90", "p99", "sd", "ci95"}
    assert s["fast"]["n"] == 4 and s["fast"]["success_rate"] == 1.0
    # rebuilt from history: the same data
    rebuilt = run_data_from_store(store, outcome.run_id)
    again = to_json(rebuilt)
    assert again["requests"] == data["requests"]
    assert again["summary"] == data["summary"]
    write_reports(rebuilt, tmp_path / "rebuilt")
    assert (tmp_path / "rebuilt" / "results.csv").read_text() == (out / "results.csv").read_text()
    # history line
    lines = list(iter_history_lines())
    assert lines[-1]["run_id"] == outcome.run_id and lines[-1]["status"] == "completed"
    runs = store.list_runs(plan="mock-test")
    assert runs[0].id == outcome.run_id and runs[0].n_ok == 8 and runs[0].success_rate == 1.0
    store.close()


def test_run_started_describes_the_matrix() -> None:
    _, c = run(mock_plan(), write_history=False)
    rs = c.of(RunStarted)[0]
    assert rs.n_measured == 8 and rs.n_warmup == 2 and rs.models == ["fast", "slow"]
    assert "gpu" in rs.host and rs.host["versions"]["tui_bench"]


def test_history_counts_a_run_that_died_midway(tmp_path: Path) -> None:
    """A run whose process vanished is 'interrupted', and shows what it had committed."""
    loaded = mock_plan()
    store = Store(tmp_path / "h.sqlite3")
    outcome, _ = run(loaded, store=store, write_history=False)
    # make it look like its process died before finishing
    store.conn.execute(
        "UPDATE runs SET status='running', pid=999999999, n_measured=NULL, n_ok=NULL, n_failed=NULL,"
        " success_rate=NULL WHERE id=?",
        (outcome.run_id,),
    )
    store.conn.commit()
    row = store.get_run(outcome.run_id)
    assert row.status == "interrupted"
    assert (row.n_measured, row.n_ok, row.success_rate) == (8, 8, 1.0)
    store.close()


def test_compare_names_what_differs_besides_the_change(tmp_path: Path) -> None:
    from tui_bench.core.compare import compare_runs

    store = Store(tmp_path / "h.sqlite3")
    a, _ = run(mock_plan(), store=store, write_history=False)
    b, _ = run(
        mock_plan(name="other", defaults={"max_tokens": 8}), store=store, write_history=False
    )
    c, _ = run(mock_plan(), store=store, write_history=False)
    assert compare_runs(store, a.run_id, c.run_id)["caveats"] == []
    caveats = compare_runs(store, a.run_id, b.run_id)["caveats"]
    assert "different plans (mock-test vs other)" in caveats and "max_tokens: 12 vs 8" in caveats
    store.close()
