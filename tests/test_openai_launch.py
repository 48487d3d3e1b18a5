"""``launch = true``: tui-bench starts llama-cpp-python's server with the model's GGUF on
127.0.0.1 for the run, measures through it, and stops it after; a server that cannot
start is one line naming why."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import psutil
import pytest
from bench_helpers import load_error, smollm2_file

from tui_bench.core.backends.openai import OpenAIBackend
from tui_bench.core.engine import Engine
from tui_bench.core.errors import PlanError
from tui_bench.core.plan import LoadedPlan, load_plan, parse_plan

MAX_TOKENS = 8


def plan(model: dict[str, Any], **over: Any) -> LoadedPlan:
    raw: dict[str, Any] = {
        "name": "launch",
        "repeats": 2,
        "warmup": 0,
        "defaults": {"max_tokens": MAX_TOKENS, "temperature": 0.0},
        "models": [{"id": "smol", "backend": "openai", **model}],
        "prompts": [{"id": "p", "text": "Name three colours."}],
        "quality": {"fluency": False, "judge": False},
        **over,
    }
    return LoadedPlan(plan=parse_plan(raw, "plan.toml"), path=None, raw=raw)


def plan_file(folder: Path, model: dict[str, Any]) -> Path:
    """A plan file in ``folder`` with one openai model (TOML written by hand)."""
    lines = [f"{k} = {json.dumps(v)}" for k, v in model.items()]
    path = folder / "plan.toml"
    path.write_text(
        'name = "launch"\nrepeats = 2\nwarmup = 0\n'
        f"[defaults]\nmax_tokens = {MAX_TOKENS}\ntemperature = 0.0\n"
        '[[models]]\nid = "smol"\nbackend = "openai"\n' + "\n".join(lines) + "\n"
        '[[prompts]]\nid = "p"\ntext = "Name three colours."\n'
        "[quality]\nfluency = false\njudge = false\n"
    )
    return path


@pytest.mark.real
def test_launch_serves_the_gguf_for_the_run_and_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the GGUF beside the plan, named relative to it, run from another directory
    (tmp_path / "plans").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "smol.gguf").symlink_to(smollm2_file())
    spec = {"launch": True, "source": "../models/smol.gguf", "n_threads": 2, "n_ctx": 512}
    loaded = load_plan(plan_file(tmp_path / "plans", spec))
    elsewhere = tmp_path / "elsewhere" / "deep"  # where ../models/smol.gguf is nothing
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    outcome = asyncio.run(Engine(loaded, write_history=False, telemetry=False).run())
    recs = [r for r in outcome.records if not r.warmup]
    assert len(recs) == 2 and all(r.ok for r in recs), [r.error for r in recs]
    assert all(r.n_out > 0 and r.finish_reason in ("stop", "length") for r in recs)
    info = outcome.model_info["smol"]
    assert info["launched"] is True
    assert info["base_url"].startswith("http://127.0.0.1:")
    # the source is a local GGUF: the chat prompt is counted with it, exactly (the server
    # is llama-cpp-python's, whose template rendering the count uses)
    assert {(r.n_in_source, r.engine.n_in_exact) for r in recs} == {("client_tokenizer", True)}
    assert recs[0].n_in == recs[1].n_in > 20  # SmolLM2's template adds a system prompt
    pid = info["server_pid"]
    assert isinstance(pid, int)
    # stopped with the model: gone, or at most a zombie nobody has reaped yet
    gone = not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert gone


def test_a_server_that_cannot_start_is_one_line() -> None:
    loaded = plan({"launch": True, "source": "no-such-model.gguf", "load_timeout_s": 60})
    backend = OpenAIBackend(loaded.plan.models[0])

    msg = load_error(backend)
    assert msg.startswith(
        "smol: the launched server did not start: --model no-such-model.gguf: "
        "model file not found: no-such-model.gguf"
    )
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            {"launch": True, "source": "x.gguf", "base_url": "http://127.0.0.1:8080"},
            "plan.toml: models[0].launch: starts its own server on 127.0.0.1: leave base_url out",
        ),
        (
            {"launch": True},
            "plan.toml: models[0].source: required with launch = true: the GGUF the server "
            "is to serve",
        ),
    ],
)
def test_launch_plan_errors_name_the_field(model: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError) as err:
        plan(model)
    assert str(err.value) == message


def test_launch_only_applies_to_openai(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as err:
        plan({"backend": "mock", "launch": True})
    assert str(err.value) == "plan.toml: models[0].launch: only applies to backend 'openai'"


@pytest.mark.parametrize(
    ("model", "field", "message"),
    [
        (
            {"launch": True, "source": "missing.gguf"},
            "source",
            "model file not found: missing.gguf",
        ),
        (
            {"base_url": "http://127.0.0.1:9/v1", "tokenizer": "tok.gguf"},
            "tokenizer",
            "model file not found: tok.gguf",
        ),
        (
            {"base_url": "http://127.0.0.1:9/v1", "tokenizer": "notes.txt"},
            "tokenizer",
            "notes.txt is not a GGUF file",
        ),
    ],
)
def test_the_local_files_of_a_server_model_are_checked_when_the_plan_loads(
    tmp_path: Path, model: dict[str, Any], field: str, message: str
) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    path = plan_file(tmp_path, model)
    with pytest.raises(PlanError) as err:
        load_plan(path)
    assert str(err.value).startswith(f"{path}: models[0].{field}: {message}")


def test_a_server_models_source_without_launch_is_no_file(tmp_path: Path) -> None:
    # a description of what the server runs: nothing to find on this machine
    spec = {"base_url": "http://127.0.0.1:9/v1", "source": "Qwen/Qwen3-8B on the GPU box"}
    assert load_plan(plan_file(tmp_path, spec)).plan.models[0].source == spec["source"]
