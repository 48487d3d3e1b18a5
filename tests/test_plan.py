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
        "models[0].backend: Input should be 'llama_cpp', 'mock' or 'openai'",
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
    "deep-nesting.toml": (
        GOOD + "[defaults]\nstop = " + "[" * 10_000 + "]" * 10_000 + "\n",
        "TOML arrays/tables nested too deeply to read",
    ),
    "deep-nesting.json": (
        '{"name": "t", "a": ' + "[" * 10_000 + "]" * 10_000 + "}",
        "JSON arrays/tables nested too deeply to read",
    ),
    "max-tokens-over-n-ctx.toml": (
        GOOD.replace('backend = "mock"', 'source = "builtin:smollm2-135m"\nn_ctx = 2048')
        + '[[prompts]]\nid = "q"\ntext = "x"\n[[prompts]]\nid = "r"\ntext = "y"\nmax_tokens = 4096\n',
        "prompts[2].max_tokens: 4096 exceeds models[0].n_ctx (2048)",
    ),
    "control-char-name.toml": (
        GOOD.replace('name = "t"', 'name = "two\\nlines"'),
        "name: control character '\\n' at position 3: use one line of text",
    ),
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


def _plan_with(models: list[dict[str, object]], prompts: list[dict[str, object]], **top: object):
    return {"name": "t", "models": models, "prompts": prompts, **top}


def test_max_tokens_must_leave_room_in_every_llama_cpp_context() -> None:
    small = {"id": "small", "source": "builtin:smollm2-135m", "n_ctx": 512}
    big = {"id": "big", "source": "builtin:smollm2-135m", "n_ctx": 4096}
    prompts = [{"id": "a", "text": "x"}, {"id": "b", "text": "y", "max_tokens": 100}]
    with pytest.raises(PlanError) as err:
        parse_plan(_plan_with([big, small], prompts, defaults={"max_tokens": 600}), "x.toml")
    assert str(err.value) == "x.toml: defaults.max_tokens: 600 exceeds models[1].n_ctx (512)"
    assert err.value.field == "defaults.max_tokens"
    # every prompt's own max_tokens wins over the default, which then limits nothing
    own = [{"id": "a", "text": "x", "max_tokens": 100}, prompts[1]]
    plan = parse_plan(_plan_with([big, small], own, defaults={"max_tokens": 600}))
    assert plan.generation_for(plan.prompts[0]).max_tokens == 100
    # the prompt needs at least one token of the context
    with pytest.raises(PlanError) as err:
        parse_plan(_plan_with([small], [{"id": "a", "text": "x", "max_tokens": 512}]), "x.toml")
    assert str(err.value) == (
        "x.toml: prompts[0].max_tokens: 512 leaves no room for the prompt in models[0].n_ctx (512)"
    )
    assert parse_plan(_plan_with([small], [{"id": "a", "text": "x", "max_tokens": 511}]))
    # the mock backend has no context window
    mock = {"id": "m", "backend": "mock", "n_ctx": 16}
    assert parse_plan(_plan_with([mock], prompts, defaults={"max_tokens": 25_000}))


def test_a_source_that_is_not_a_gguf_file_is_a_plan_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui_bench.cli import main

    notes = tmp_path / "notes.txt"
    notes.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "empty.gguf").write_bytes(b"")
    (tmp_path / "ok.gguf").write_bytes(b"GGUF" + bytes(20))  # damaged, but a GGUF: runs fail
    path = tmp_path / "p.toml"

    def write(source: str) -> None:
        path.write_text(
            f'name = "t"\n[[models]]\nid = "ok"\nsource = "ok.gguf"\n'
            f'[[models]]\nid = "m"\nsource = "{source}"\n[[prompts]]\nid = "p"\ntext = "x"\n'
        )

    def load(source: str) -> str:
        write(source)
        try:
            load_plan(path)
        except PlanError as exc:
            assert exc.field == "models[1].source"
            return exc.message
        return "ok"

    assert load(str(notes)) == f"{notes} is not a GGUF file (it begins with b'root', not b'GGUF')"
    assert load("empty.gguf") == (
        f"empty.gguf is not a GGUF file ({tmp_path / 'empty.gguf'}: the file is empty)"
    )
    assert load("ok.gguf") == "ok"
    write(str(notes))
    with pytest.raises(SystemExit) as stop:
        main(["run", str(path), "--headless"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {path}: models[1].source: {notes} is not a GGUF file "
        "(it begins with b'root', not b'GGUF')\n"
    )


def test_checking_sources_reads_builtins_without_assembling_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tui_bench.core.models import builtin

    def refuse(*_: object) -> None:
        raise AssertionError("validation must not assemble a builtin")

    monkeypatch.setattr(builtin, "_ensure_assembled", refuse)
    plan = load_plan(PLANS / "dual-llm.toml").plan
    assert [m.source for m in plan.models] == ["builtin:smollm2-135m", "builtin:gemma3-270m"]


def test_names_are_one_line_of_text() -> None:
    good = _plan_with([{"id": "m", "backend": "mock"}], [{"id": "p", "text": "x"}])
    for name, shown in (("a\x1b[2Jb", "'\\x1b'"), ("a\u2028b", "'\\u2028'"), ("a\tb", "'\\t'")):
        with pytest.raises(PlanError) as err:
            parse_plan({**good, "name": name}, "x.toml")
        assert err.value.field == "name"
        assert err.value.message.startswith(f"control character {shown} at position 1")
    with pytest.raises(PlanError) as err:
        parse_plan({**good, "models": [{"id": "m", "backend": "mock", "label": "x\ny"}]})
    assert err.value.field == "models[0].label"
    plan = parse_plan({**good, "name": "Café ✓ test", "description": "two\nlines are fine"})
    assert plan.name == "Café ✓ test"


def test_deeply_nested_plans_are_one_line_errors(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"prompts": [{"stop": ' + "[" * 50_000 + "]" * 50_000 + "}]}")
    with pytest.raises(PlanError) as err:
        load_plan(deep)
    assert str(err.value) == (
        f"{deep}: JSON arrays/tables nested too deeply to read (a plan needs only a few levels)"
    )
