"""Model-based scoring in a run: after the measured requests, into the records, the
history and the models' info; never in the run's time; a missing scoring model costs
the scores, not the run."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tui_bench.core.engine import Engine
from tui_bench.core.events import Event, Log, RequestFinished, RunFinished
from tui_bench.core.plan import LoadedPlan, parse_plan
from tui_bench.core.quality import combine, fluency_from_logprobs, model_scoring
from tui_bench.core.quality.judge import RUBRIC_VERSION, UNPARSABLE_FLAG
from tui_bench.core.store import Store

FAST_MOCK = {"ttft_ms": 1, "tokens_per_s": 5000, "load_ms": 1, "jitter": 0}


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def plan(quality: dict[str, Any] | None, *, repeats: int = 2) -> LoadedPlan:
    raw: dict[str, Any] = {
        "name": "quality-test",
        "repeats": repeats,
        "warmup": 1,
        "defaults": {"max_tokens": 12},
        "models": [{"id": "fast", "backend": "mock", "mock": FAST_MOCK}],
        "prompts": [
            {"id": "a", "task": "qa", "text": "What is the capital of Australia?"},
            {"id": "b", "task": "translation", "text": "Translate into French: good morning"},
        ],
    }
    if quality is not None:
        raw["quality"] = quality
    return LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)


class FakeScorer:
    """Stands in for the scoring worker: answers to prompt "a" are fluent and graded 4,
    the judge's reply to prompt "b" is not a bare digit."""

    def __init__(self, collect: Collect, n_measured: int) -> None:
        self.collect = collect
        self.n_measured = n_measured
        self.calls = 0
        self.closed = False

    def _all_measured(self) -> None:
        # scoring never overlaps a measurement: every request is finished
        assert len(self.collect.of(RequestFinished)) == self.n_measured

    async def logprobs(self, prompt: str, answer: str, **kw: Any) -> tuple[list[float], bool]:
        self._all_measured()
        self.calls += 1
        await asyncio.sleep(0.05)
        return ([-1.0] * 3 if "Australia" in prompt else [-9.0] * 3), False

    async def reply(self, prompt: str, *, max_tokens: int, system: str | None = None) -> str:
        self._all_measured()
        await asyncio.sleep(0.05)
        return "4" if "Australia" in prompt else "Grade: 4"

    async def close(self) -> None:
        self.closed = True


def run_with_fake(
    loaded: LoadedPlan, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[Any, Collect, FakeScorer, Store]:
    collect = Collect()
    n_measured = loaded.plan.n_measured + loaded.plan.n_warmup
    fake = FakeScorer(collect, n_measured)
    opened: list[str] = []

    async def fake_open(source: str, plan: Any, base_dir: Any, log: Any, role: str) -> Any:
        opened.append(role)
        return fake

    monkeypatch.setattr(model_scoring, "_open", fake_open)
    store = Store(tmp_path / "h.sqlite3")
    engine = Engine(loaded, store=store, sinks=[collect], telemetry=False, write_history=False)
    t0 = time.perf_counter()
    outcome = asyncio.run(engine.run())
    fake.wall_s = time.perf_counter() - t0  # type: ignore[attr-defined]
    fake.opened = opened  # type: ignore[attr-defined]
    return outcome, collect, fake, store


def test_fluency_judge_and_composite_after_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    loaded = plan({"fluency": True, "judge": True})
    outcome, collect, fake, store = run_with_fake(loaded, monkeypatch, tmp_path)
    assert outcome.status == "completed"
    # the judge reuses the fluency model's worker: opened once, closed at the end
    assert fake.opened == ["fluency"] and fake.closed  # type: ignore[attr-defined]
    measured = [r for r in outcome.records if not r.warmup]
    assert len(measured) == 4
    for r in measured:
        q = r.quality
        expected_fluency = fluency_from_logprobs([-1.0] * 3 if r.prompt == "a" else [-9.0] * 3)
        assert q["fluency"] == pytest.approx(expected_fluency)
        assert q["composite"] == pytest.approx(
            combine({k: v for k, v in q.items() if k != "composite"})
        )
        if r.prompt == "a":
            assert q["judge"] == 0.75 and UNPARSABLE_FLAG not in r.flags  # (4 - 1) / 4
        else:
            assert "judge" not in q and UNPARSABLE_FLAG in r.flags  # "Grade: 4": never guessed
    # greedy or not, each distinct (prompt, answer) is read once: 4 distinct mock answers
    assert fake.calls == len({(r.prompt, r.text) for r in measured})
    warmup = [r for r in outcome.records if r.warmup]
    assert warmup and all(
        "fluency" not in r.quality and "composite" not in r.quality for r in warmup
    )
    # the history holds the final scores and flags
    stored = {r.seq: r for r in store.get_requests(outcome.run_id)}
    for r in measured:
        assert stored[r.seq].quality == pytest.approx(r.quality)
        assert stored[r.seq].flags == r.flags
    # which scorers read the answers, for data.json
    assert outcome.model_info["fast"]["quality_scorers"] == {
        "fluency_model": "builtin:smollm2-135m",
        "judge_model": "builtin:smollm2-135m",
        "judge_rubric": RUBRIC_VERSION,
    }
    logs = [e.message for e in collect.of(Log)]
    assert any(
        m.startswith("quality: fluency of 4 answers by builtin:smollm2-135m; judge")
        and "graded 2, 2 unparsable" in m
        for m in logs
    ), logs
    # the scoring's time is not the run's: 4 reads and 2 replies slept 0.05 s each
    run_finished = collect.of(RunFinished)[0]
    assert run_finished.duration_s <= fake.wall_s - 6 * 0.05  # type: ignore[attr-defined]


def test_no_model_scoring_for_a_mock_only_plan_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outcome, _, fake, _ = run_with_fake(plan(None), monkeypatch, tmp_path)
    assert fake.opened == []  # type: ignore[attr-defined]
    assert all("composite" not in r.quality for r in outcome.records)
    assert all("not_truncated" in r.quality for r in outcome.records if r.ok)


def test_a_cancelled_run_is_not_scored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    loaded = plan({"fluency": True}, repeats=3)
    collect = Collect()
    opened: list[str] = []

    async def fake_open(*args: Any) -> Any:
        opened.append("x")
        return None

    monkeypatch.setattr(model_scoring, "_open", fake_open)
    engine = Engine(loaded, sinks=[collect], telemetry=False, write_history=False)

    class CancelAfterTwo:
        def handle(self, event: Event) -> None:
            if isinstance(event, RequestFinished) and len(collect.of(RequestFinished)) == 2:
                engine.cancel()

    engine.sinks.append(CancelAfterTwo())
    outcome = asyncio.run(engine.run())
    assert outcome.status == "cancelled" and opened == []


def test_a_missing_scoring_model_costs_the_scores_not_the_run(tmp_path: Path) -> None:
    # parse_plan does not resolve sources (load_plan does): the run finds out, says so
    loaded = plan({"fluency": True, "fluency_model": "builtin:no-such-model"})
    collect = Collect()
    engine = Engine(loaded, sinks=[collect], telemetry=False, write_history=False)
    outcome = asyncio.run(engine.run())
    assert outcome.status == "completed" and outcome.passed
    assert all("fluency" not in r.quality and "composite" not in r.quality for r in outcome.records)
    errors = [e.message for e in collect.of(Log) if e.level == "error"]
    assert len(errors) == 1 and errors[0].startswith("quality: no fluency scores: ")
    assert "no-such-model" in errors[0] and "\n" not in errors[0]


@pytest.mark.real
def test_real_scoring_model_on_mock_output(tmp_path: Path) -> None:
    """The builtin SmolLM2 reads a mock run's word salad after the run (and, as judge,
    either grades it or is recorded unparsable: never both, never a guess)."""
    loaded = plan({"fluency": True, "judge": True}, repeats=1)
    collect = Collect()
    store = Store(tmp_path / "h.sqlite3")
    engine = Engine(loaded, store=store, sinks=[collect], telemetry=False, write_history=False)
    outcome = asyncio.run(engine.run())
    measured = [r for r in outcome.records if not r.warmup]
    assert len(measured) == 2
    for r in measured:
        assert r.quality["fluency"] <= 0.3 and r.quality["composite"] <= 0.3
        assert ("judge" in r.quality) != (UNPARSABLE_FLAG in r.flags)
    stored = {r.seq: r for r in store.get_requests(outcome.run_id)}
    assert all(stored[r.seq].quality["composite"] == r.quality["composite"] for r in measured)
    assert outcome.model_info["fast"]["quality_scorers"]["judge_rubric"] == RUBRIC_VERSION
