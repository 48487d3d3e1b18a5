"""Plans: the shipped ones validate; every malformed plan is one line, exit 2, no traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bench_helpers import PLANS, cli_env, tui_bench_cmd

from tui_bench.core.errors import PlanError
from tui_bench.core.plan import load_plan, parse_plan, plan_to_toml

GOOD = """
name = "t"
[[models]]
id = "m"
backend = "mock"
[[prompts]]
id = "p"
text = "hello"
"""


@pytest.mark.parametrize("name", ["quickstart.toml", "dual-llm.toml", "mock.toml"])
def test_shipped_plans_validate(name: str) -> None:
    loaded = load_plan(PLANS / name)
    assert loaded.plan.models and loaded.plan.prompts


def test_dual_llm_covers_the_task_types() -> None:
    plan = load_plan(PLANS / "dual-llm.toml").plan
    assert {p.task for p in plan.prompts} >= {
        "analysis",
        "generation",
        "code_correction",
        "translation",
    }
    assert [m.source for m in plan.models] == ["builtin:smollm2-135m", "builtin:gemma3-270m"]


def test_defaults_and_overrides() -> None:
    plan = parse_plan(
        {
            "name": "t",
            "defaults": {"max_tokens": 10, "stop": ["\n"]},
            "models": [{"id": "m", "backend": "mock"}],
            "prompts": [
                {"id": "a", "text": "x"},
                {"id": "b", "text": "y", "max_tokens": 3, "stop": []},
            ],
        }
    )
    assert plan.repeats == 3 and plan.warmup == 1 and plan.defaults.prompt_cache is False
    assert plan.generation_for(plan.prompts[0]).max_tokens == 10
    assert plan.generation_for(plan.prompts[1]).max_tokens == 3
    assert plan.generation_for(plan.prompts[1]).stop == []
    assert plan.n_measured == 6 and plan.n_warmup == 1


def test_toml_round_trip(tmp_path: Path) -> None:
    plan = load_plan(PLANS / "dual-llm.toml").plan
    out = tmp_path / "copy.toml"
    out.write_text(plan_to_toml(plan))
    assert load_plan(out).plan == plan


MALFORMED = {
    "syntax.toml": ('name = "x\n', "TOML syntax error"),
    "syntax.json": ('{"name": "x",', "JSON syntax error"),
    "no-models.toml": (
        'name = "x"\n[[prompts]]\nid = "p"\ntext = "t"\n',
        "models: required field is missing",
    ),
    "no-name.toml": (GOOD.replace('name = "t"', ""), "name: required field is missing"),
    "bad-type.toml": (
        GOOD.replace('name = "t"', 'name = "t"\nrepeats = "three"'),
        "repeats: Input should be a valid integer",
    ),
    "negative-repeats.toml": (
        GOOD.replace('name = "t"', 'name = "t"\nrepeats = -1'),
        "repeats: Input should be greater than or equal to 1",
    ),
    "negative-warmup.toml": (
        GOOD.replace('name = "t"', 'name = "t"\nwarmup = -2'),
        "warmup: Input should be greater than or equal to 0",
    ),
    "threshold.toml": (
        GOOD.replace('name = "t"', 'name = "t"\nsuccess_threshold = 1.5'),
        "success_threshold: Input should be less than or equal to 1",
    ),
    "unknown-backend.toml": (
        GOOD.replace('backend = "mock"', 'backend = "vllm-magic"'),
        "models[0].backend: Input should be 'llama_cpp' or 'mock'",
    ),
    "unknown-field.toml": (
        GOOD.replace('text = "hello"', 'text = "hello"\ntemprature = 0.5'),
        "prompts[0].temprature: unknown field",
    ),
    "dup-model.toml": (
        GOOD + '[[models]]\nid = "m"\nbackend = "mock"\n',
        "models[1].id: duplicate id 'm' (also models[0])",
    ),
    "dup-prompt.toml": (
        GOOD + '[[prompts]]\nid = "p"\ntext = "again"\n',
        "prompts[1].id: duplicate id 'p' (also prompts[0])",
    ),
    "missing-file.toml": (
        GOOD.replace(
            'backend = "mock"', 'backend = "llama_cpp"\nsource = "/nonexistent/model.gguf"'
        ),
        "models[0].source: ",
    ),
    "no-source.toml": (
        GOOD.replace('backend = "mock"', 'backend = "llama_cpp"'),
        "models[0]: field 'source' is required",
    ),
    "zero-max-tokens.toml": (
        GOOD + "[defaults]\nmax_tokens = 0\n",
        "defaults.max_tokens: Input should be greater than or equal to 1",
    ),
    "empty-prompt.toml": (
        GOOD.replace('text = "hello"', 'text = ""'),
        "prompts[0].text: String should have at least 1 character",
    ),
    "bad-regex.toml": (
        GOOD + '[prompts.expect]\nregex = "(unclosed"\n',
        "prompts[0].expect.regex: invalid regular expression",
    ),
    "top-level-list.json": ("[1, 2]", "a plan must be a table/object at the top level"),
    "wrong-ext.yaml": ("name: x", "unknown plan format '.yaml'"),
}


@pytest.mark.parametrize("filename", sorted(MALFORMED))
def test_malformed_plan_is_one_line_exit_2(filename: str, tmp_path: Path, bench_home: Path) -> None:
    text, expected = MALFORMED[filename]
    path = tmp_path / filename
    path.write_text(text)
    proc = subprocess.run(
        tui_bench_cmd("run", str(path), "--headless"),
        capture_output=True,
        text=True,
        env=cli_env(bench_home),
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith(f"error: {path}: ")
    assert expected in lines[0]
    assert proc.stdout == ""


def test_missing_plan_file(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="plan file not found"):
        load_plan(tmp_path / "nope.toml")


def test_plan_error_names_the_field() -> None:
    with pytest.raises(PlanError) as err:
        parse_plan(
            {
                "name": "x",
                "models": [{"id": "m", "backend": "mock", "n_ctx": 2}],
                "prompts": [{"id": "p", "text": "t"}],
            },
            "p.toml",
        )
    assert str(err.value).startswith(
        "p.toml: models[0].n_ctx: Input should be greater than or equal to 16"
    )
