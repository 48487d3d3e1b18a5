"""The real path: SmolLM2-135M (and Gemma-3-270M) through the llama.cpp worker.

Numbers are checked against llama.cpp's own counters, never against fixed figures.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from bench_helpers import cli_env, tui_bench_cmd

from tui_bench.core.engine import Engine
from tui_bench.core.events import Event, TokensGenerated
from tui_bench.core.plan import LoadedPlan, parse_plan
from tui_bench.core.store import Store

pytestmark = pytest.mark.real


def plan_for(models: list[dict[str, Any]], **over: Any) -> LoadedPlan:
    raw: dict[str, Any] = {
        "name": "real-test",
        "repeats": 2,
        "warmup": 1,
        "defaults": {"max_tokens": 24, "ignore_eos": True, "temperature": 0.0},
        "models": models,
        "prompts": [
            {"id": "capital", "task": "qa", "text": "What is the capital of France?"},
            {"id": "story", "task": "generation", "text": "Tell a very short story about a cat."},
        ],
    }
    for k, v in over.items():
        if k == "defaults":
            raw["defaults"] = {**raw["defaults"], **v}
        else:
            raw[k] = v
    return LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)


SMOL = {"id": "smol", "source": "builtin:smollm2-135m", "n_ctx": 512, "n_threads": 2}


def run(loaded: LoadedPlan, sinks: list[Any] | None = None, store: Store | None = None) -> Any:
    engine = Engine(
        loaded, store=store, sinks=sinks or [], write_history=False, telemetry_interval_s=0.05
    )
    return asyncio.run(engine.run())


def test_smollm2_client_timings_agree_with_engine_counters() -> None:
    outcome = run(plan_for([SMOL], repeats=3))
    measured = [r for r in outcome.records if not r.warmup]
    assert len(measured) == 6 and all(r.ok for r in measured)
    ratios = []
    for r in measured:
        e = r.engine
        assert r.finish_reason == "length" and r.n_out == 24 and r.n_out_source == "engine"
        # the prompt was evaluated in full: no KV cache reuse between requests
        assert e.n_p_eval == r.n_in
        # every generated token but the last was decoded by the engine
        assert e.n_eval == r.n_out - 1
        assert e.n_sample == r.n_out
        # the client's first-to-last interval holds the engine's decode time for those tokens
        interval_ms = (r.token_us[-1] - r.token_us[0]) / 1000
        assert interval_ms >= e.t_eval_ms
        # ... and the worker's stamps of the calls inside it: one decode and one sample per
        # token after the first. llama.cpp times a decode from its start to the logits'
        # synchronisation, which happens inside the next sample call: the two calls hold it
        assert e.n_decode_call == r.n_out - 1 == e.n_eval
        assert e.t_decode_call_ms is not None and e.t_sample_call_ms is not None
        assert e.t_decode_call_ms + e.t_sample_call_ms >= e.t_eval_ms
        assert e.t_decode_call_ms + e.t_sample_call_ms <= interval_ms
        # definitions applied to the stored raw series
        assert r.decode_tps == pytest.approx((r.n_out - 1) / (interval_ms / 1000), rel=1e-3)
        assert r.ttft_ms == pytest.approx(r.token_us[0] / 1000, abs=0.01)
        assert r.ttft_ms >= e.t_p_eval_ms  # TTFT includes the prompt evaluation
        assert r.peak_rss_kb and r.peak_rss_kb > 50_000
        ratios.append(r.decode_tps / e.decode_tps)
    # client decode rate vs llama.cpp decode + sampling counters: within 5% (median)
    assert statistics.median(ratios) == pytest.approx(1.0, abs=0.05)
    assert all(0.5 < x <= 1.01 for x in ratios)


def test_greedy_output_is_identical_across_repeats_and_kv_cache_is_reset() -> None:
    outcome = run(plan_for([SMOL], repeats=3))
    by_prompt: dict[str, list[Any]] = {}
    for r in outcome.records:
        by_prompt.setdefault(r.prompt, []).append(r)
    for recs in by_prompt.values():
        assert len({r.text for r in recs}) == 1
        assert all(r.engine.n_p_eval == r.n_in for r in recs)
        assert all("cache_hit" not in r.flags for r in recs)


def test_prompt_cache_when_the_plan_asks_for_it() -> None:
    outcome = run(
        plan_for(
            [SMOL],
            repeats=2,
            warmup=0,
            defaults={"prompt_cache": True},
            prompts=[{"id": "p", "text": "Name three colors."}],
        )
    )
    first, second = outcome.records
    assert first.engine.n_p_eval == first.n_in
    # the second identical prompt reuses the cached prefix: only the last token is evaluated
    assert second.engine.n_eval + second.engine.n_p_eval < first.engine.n_eval + first.n_in
    assert "cache_hit" not in second.flags  # asked for, so not a validity problem
    assert second.text == first.text


def test_eos_and_stop_strings() -> None:
    fix = "Fix the bug so that it returns the sum. Reply with the function in a code block.\n\ndef total(xs):\n    s = 0\n    for x in xs:\n        s = x\n    return s"
    loaded = plan_for(
        [SMOL],
        repeats=1,
        warmup=0,
        defaults={"ignore_eos": False, "max_tokens": 200},
        prompts=[{"id": "eos", "text": fix}, {"id": "stop", "text": "Say hello.", "stop": ["."]}],
    )
    eos, stop = run(loaded).records
    # the model ended its answer itself: the end-of-generation token is not an output token
    assert eos.ok and eos.finish_reason == "stop" and eos.n_out < 200
    assert eos.engine.n_eval == eos.n_out  # every content token was decoded before EOS was sampled
    assert stop.ok and stop.finish_reason == "stop" and stop.n_out < 200
    assert stop.text and "." not in stop.text


def _truncated_copy(src: Path, dst: Path, n_bytes: int) -> Path:
    with open(src, "rb") as fh:
        dst.write_bytes(fh.read(n_bytes))
    return dst


def test_corrupt_and_truncated_models_fail_cleanly_next_to_a_good_one(
    tmp_path: Path, smollm2_path: Path
) -> None:
    truncated = _truncated_copy(smollm2_path, tmp_path / "truncated.gguf", 4_000_000)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(os.urandom(100_000))
    models = [
        {"id": "truncated", "source": str(truncated), "n_ctx": 256},
        {"id": "smol", "source": str(smollm2_path), "n_ctx": 256, "n_threads": 2},
        {"id": "junk", "source": str(junk), "n_ctx": 256},
    ]
    store = Store(tmp_path / "h.sqlite3")
    outcome = run(plan_for(models, success_threshold=0.0), store=store)
    good = [r for r in outcome.records if r.model == "smol"]
    assert len(good) == 5 and all(r.ok for r in good)
    for bad in ("truncated", "junk"):
        recs = [r for r in outcome.records if r.model == bad]
        assert len(recs) == 5 and not any(r.ok for r in recs)
        assert all(r.error and r.error.startswith("load failed:") for r in recs)
    assert outcome.status == "completed"
    stored = store.get_requests(outcome.run_id)
    assert len(stored) == 15
    errors = {m.model: m.error for m in store.get_models(outcome.run_id)}
    assert errors["smol"] is None and errors["junk"] and errors["truncated"]
    store.close()


def test_worker_crash_mid_request_is_recorded_and_the_model_reloaded(tmp_path: Path) -> None:
    engine_ref: dict[str, Engine] = {}

    class KillOnce:
        done = False

        def handle(self, event: Event) -> None:
            if (
                isinstance(event, TokensGenerated)
                and not event.key.warmup
                and event.key.repeat == 0
                and not self.done
            ):
                self.done = True
                backend = engine_ref["e"]._backend
                assert backend is not None and backend.pid
                os.kill(backend.pid, signal.SIGKILL)

    loaded = plan_for([SMOL], defaults={"max_tokens": 200}, repeats=2)
    engine = Engine(loaded, sinks=[KillOnce()], write_history=False)
    engine_ref["e"] = engine
    outcome = asyncio.run(engine.run())
    measured = [r for r in outcome.records if not r.warmup]
    crashed = measured[0]
    assert not crashed.ok and "killed by SIGKILL" in (crashed.error or "")
    assert all(r.ok for r in measured[1:])  # the model was reloaded and the run went on
    assert outcome.status == "completed"


def test_gemma3_runs_with_its_builtin_template() -> None:
    gemma = {
        "id": "gemma",
        "source": "builtin:gemma3-270m",
        "n_ctx": 512,
        "n_threads": 2,
        "chat_template": "gemma",
    }
    outcome = run(plan_for([gemma], repeats=1, warmup=0, defaults={"max_tokens": 8}))
    for r in outcome.records:
        assert r.ok and r.n_out == 8 and r.engine.n_p_eval == r.n_in and r.engine.n_eval == 7


def test_sigint_mid_run_exits_130_and_keeps_finished_requests(
    tmp_path: Path, bench_home: Path
) -> None:
    plan = tmp_path / "long.toml"
    plan.write_text(
        """
name = "long"
repeats = 30
warmup = 0
[defaults]
max_tokens = 48
ignore_eos = true
[[models]]
id = "smol"
source = "builtin:smollm2-135m"
n_ctx = 256
[[prompts]]
id = "p"
text = "Count slowly from one to one hundred."
"""
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        tui_bench_cmd("run", str(plan), "--headless", "--output", str(out)),
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(bench_home),
    )
    assert proc.stderr is not None
    finished = 0
    lines = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if "rep " in line and "TTFT" in line:
                finished += 1
                if finished == 3:
                    break
        assert finished == 3, "".join(lines)
        time.sleep(0.1)  # inside request 4
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = "".join(lines) + err
    assert proc.returncode == 130, text
    assert "Traceback" not in text
    assert "finished request(s) kept" in text and str(out) in text
    db = bench_home / "history.sqlite3"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    status, n_ok = con.execute("SELECT status, n_ok FROM runs").fetchone()
    assert status == "cancelled"
    ok_rows = con.execute("SELECT count(*) FROM requests WHERE ok = 1").fetchone()[0]
    assert ok_rows >= 3 and ok_rows == n_ok
    last = con.execute("SELECT finish_reason FROM requests ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert last in ("cancelled", "length")
    con.close()
    assert (out / "data.json").exists() and (out / "report.md").exists()
    # no orphan worker left behind
    time.sleep(0.5)
    ps = subprocess.run(
        ["pgrep", "-f", "tui_bench.core.backends.llama_worker"], capture_output=True, text=True
    )
    assert str(proc.pid) not in ps.stdout


@pytest.mark.skipif(shutil.which("pgrep") is None, reason="needs pgrep")
def test_worker_exits_with_the_engine() -> None:
    outcome = run(plan_for([SMOL], repeats=1, warmup=0, defaults={"max_tokens": 4}))
    pid = outcome.model_info["smol"]["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
