"""Weight repacking as a setting: on, off, and "auto" with its one fallback after a crash.

On hosts where llama.cpp's repacking crashes (Intel AMX has), the worker's test-only fault
switch is not needed: the real crash takes the same path. Elsewhere the switch makes the
worker die by SIGSEGV on its first decode with repacking on, as those hosts do.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from bench_helpers import PLANS, cli_env, smollm2_file, tui_bench_cmd

from tui_bench.core.backends.llama_cpp import LlamaCppBackend
from tui_bench.core.engine import Engine
from tui_bench.core.events import Event, Log, ModelLoaded
from tui_bench.core.metrics import FLAG_RATE_MISMATCH, FLAG_REPACK_OFF
from tui_bench.core.plan import LoadedPlan, ModelSpec, parse_plan
from tui_bench.core.report import run_data_from_store
from tui_bench.core.store import Store

FAULT = "TUI_BENCH_FAULT_REPACK_CRASH"
SMOL = {"id": "smol", "source": "builtin:smollm2-135m", "n_ctx": 512, "n_threads": 2}


def plan_with(repack: Any) -> LoadedPlan:
    raw: dict[str, Any] = {
        "name": "repack-test",
        "repeats": 2,
        "warmup": 1,
        "defaults": {"max_tokens": 12, "ignore_eos": True},
        "models": [{**SMOL, "repack": repack}],
        "prompts": [
            {"id": "capital", "task": "qa", "text": "What is the capital of France?"},
            {"id": "story", "task": "generation", "text": "A very short story about a cat."},
        ],
    }
    return LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)


class Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        self.events.append(event)


def run(loaded: LoadedPlan, store: Store | None = None) -> tuple[Any, Collect]:
    sink = Collect()
    engine = Engine(loaded, store=store, sinks=[sink], write_history=False, telemetry=False)
    return asyncio.run(engine.run()), sink


@pytest.mark.real
def test_auto_falls_back_once_and_every_request_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT, "1")
    store = Store(tmp_path / "h.sqlite3")
    try:
        outcome, sink = run(plan_with("auto"), store)
        # every planned request ran, in the safer configuration, and says so
        assert len(outcome.records) == 5 and all(r.ok for r in outcome.records)
        assert all(FLAG_REPACK_OFF in r.flags for r in outcome.records)
        assert outcome.passed
        loads = [e for e in sink.events if isinstance(e, ModelLoaded)]
        assert [e.info["repack"] for e in loads] == [True, False]
        assert "SIGSEGV" in loads[1].info["fallback"]
        assert outcome.model_info["smol"]["fallback"] == loads[1].info["fallback"]
        warnings = [e.message for e in sink.events if isinstance(e, Log) and e.level == "warning"]
        assert any("repacking turned off" in w for w in warnings)
        # history keeps both loads; a report rebuilt from it shows the measured configuration
        data = run_data_from_store(store, outcome.run_id)
        (smol,) = data.models
        assert smol["info"]["repack"] is False and "SIGSEGV" in smol["info"]["fallback"]
        assert [m.attempt for m in store.get_models(outcome.run_id)] == [0, 1]
        stored = store.get_requests(outcome.run_id)
        assert len(stored) == 5 and all(FLAG_REPACK_OFF in r.flags for r in stored)
    finally:
        store.close()


@pytest.mark.real
def test_repack_false_runs_from_the_start_without_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(FAULT, "1")  # would crash a worker with repacking on
    outcome, sink = run(plan_with(False))
    assert len(outcome.records) == 5 and all(r.ok for r in outcome.records)
    # no fallback: the only flag a request may carry is the host's (a busy host can put the
    # worker's own rate and llama.cpp's counters more than 5% apart), never the repack flag
    assert all(set(r.flags) <= {FLAG_RATE_MISMATCH} for r in outcome.records)
    loads = [e for e in sink.events if isinstance(e, ModelLoaded)]
    assert len(loads) == 1 and loads[0].info["repack"] is False
    assert "fallback" not in loads[0].info
    # the worker attached its own threadpool with the plan's settings
    assert loads[0].info["threadpool"] == {"attached": True, "n_threads": 2, "poll": 50, "prio": 0}


@pytest.mark.real
def test_repack_true_never_changes_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT, "1")
    outcome, sink = run(plan_with(True))
    assert not any(r.ok for r in outcome.records)
    assert "killed by SIGSEGV" in (outcome.records[0].error or "")
    loads = [e for e in sink.events if isinstance(e, ModelLoaded)]
    assert loads and all(e.info["repack"] is True for e in loads)
    assert not any(FLAG_REPACK_OFF in r.flags for r in outcome.records)


class _Proc:
    def __init__(self, returncode: int) -> None:
        self.returncode = returncode


@pytest.mark.parametrize(
    ("repack", "rid", "returncode", "falls_back"),
    [
        ("auto", 1, -signal.SIGSEGV, True),
        ("auto", 1, -signal.SIGBUS, True),
        ("auto", 1, -signal.SIGKILL, False),  # the OOM killer's signal: not the repack crash
        ("auto", 1, 1, False),  # an ordinary exit
        ("auto", 2, -signal.SIGSEGV, False),  # not the first decode after the load
        (True, 1, -signal.SIGSEGV, False),  # the plan asked for repacking: keep it
    ],
)
def test_only_a_native_crash_on_the_first_decode_triggers_the_fallback(
    repack: Any, rid: int, returncode: int, falls_back: bool
) -> None:
    backend = LlamaCppBackend(ModelSpec(id="m", source="x.gguf", repack=repack))
    backend.proc = _Proc(returncode)  # type: ignore[assignment]
    got = backend._repack_fallback(rid)
    assert (got is not None) == falls_back
    if got is not None:
        spec, reason = got
        assert spec.repack is False and spec.id == "m"
        assert signal.Signals(-returncode).name in reason


@pytest.mark.real
def test_cli_override_and_reports_record_the_fallback(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home") | {FAULT: "1"}

    def run_quickstart(out: Path, *extra: str) -> dict[str, Any]:
        """One repeat of the quickstart plan, 8 tokens; its data.json."""
        args = ["run", str(PLANS / "quickstart.toml"), "--headless", "--repeats", "1"]
        args += ["--output", str(out), "--max-tokens", "8", *extra]
        proc = subprocess.run(
            tui_bench_cmd(*args), env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads((out / "data.json").read_text())

    out = tmp_path / "out"
    data = run_quickstart(out)
    (model,) = data["models"]
    assert model["info"]["repack"] is False and "SIGSEGV" in model["info"]["fallback"]
    assert all(FLAG_REPACK_OFF in r["flags"] for r in data["requests"])
    md = (out / "report.md").read_text()
    assert "repacking off" in md and "weight repacking turned off" in md
    assert FLAG_REPACK_OFF in md  # the flags section names it with its meaning
    # --repack off: no crash, no fallback, the setting recorded as asked
    data = run_quickstart(tmp_path / "out2", "--repack", "off")
    assert data["models"][0]["info"]["repack"] is False
    assert "fallback" not in data["models"][0]["info"]
    # no repack flag; a busy host may put the worker's rate and llama.cpp's 5% apart
    assert all(set(r["flags"]) <= {FLAG_RATE_MISMATCH} for r in data["requests"])


@pytest.mark.real
def test_a_failed_reload_in_the_safer_configuration_fails_the_rest_and_unloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker crashes with repacking on, and its file is gone when the safer
    configuration loads: the remaining requests fail with the load's reason, the model is
    reported failed and then unloaded (the live view stops showing it as loaded)."""
    monkeypatch.setenv(FAULT, "1")
    link = tmp_path / "smol.gguf"
    link.symlink_to(smollm2_file())
    loaded = plan_with("auto")
    loaded.plan.models[0] = ModelSpec(**{**SMOL, "source": str(link), "repack": "auto"})

    class GoneAfterLoad(Collect):
        def handle(self, event: Event) -> None:
            super().handle(event)
            if isinstance(event, ModelLoaded):
                link.unlink()  # the worker has it open; the reload will not find it

    sink = GoneAfterLoad()
    engine = Engine(loaded, sinks=[sink], write_history=False, telemetry=False)
    outcome = asyncio.run(engine.run())
    assert len(outcome.records) == 5 and not any(r.ok for r in outcome.records)
    assert all((r.error or "").startswith("load failed") for r in outcome.records)
    kinds = [type(e).__name__ for e in sink.events if type(e).__name__.startswith("Model")]
    assert kinds == ["ModelLoading", "ModelLoaded", "ModelFailed", "ModelUnloaded"]
    assert outcome.model_info["smol"]["repack"] is True  # the one load that happened
