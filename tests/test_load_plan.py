"""The plan's ``[load]`` and ``[slo]`` tables: validation in one line naming the field,
planned counts, which table applies to which model, written back to TOML."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from bench_helpers import cli_env, tui_bench_cmd

from tui_bench.core.errors import PlanError
from tui_bench.core.load.spec import level_name, levels, load_for
from tui_bench.core.plan import parse_plan, plan_to_toml

BASE: dict[str, Any] = {
    "name": "p",
    "repeats": 3,
    "warmup": 1,
    "models": [{"id": "a", "backend": "mock"}, {"id": "b", "backend": "mock"}],
    "prompts": [{"id": "x", "text": "hello"}, {"id": "y", "text": "bye"}],
}


def parse(**over: Any) -> Any:
    return parse_plan(BASE | over, "plan.toml")


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"load": {"requests": 4}}, "plan.toml: load: give concurrency = [users, ...] or rate = [requests/s, ...]"),
        ({"load": {"concurrency": [1], "rate": [1], "requests": 4}}, "plan.toml: load.rate: give concurrency or rate, not both"),
        ({"load": {"rate": [1, 2]}}, "plan.toml: load: give requests = N or duration_s = S: every level must end"),
        ({"load": {"concurrency": [1, 4, 2], "requests": 4}}, "plan.toml: load.concurrency[2]: levels must increase"),
        ({"load": {"concurrency": [2], "requests": 4, "arrival": "constant"}}, "plan.toml: load.arrival: applies to rate levels only"),
        ({"load": {"rate": [0], "requests": 4}}, "plan.toml: load.rate[0]: Input should be greater than 0"),
        ({"load": {"rate": [1], "requests": 4, "arrival": "bursty"}}, "plan.toml: load.arrival: Input should be 'poisson' or 'constant'"),
        ({"load": {"concurrency": [1], "duration_s": -1}}, "plan.toml: load.duration_s: Input should be greater than 0"),
        ({"load": {"concurrency": [1], "requests": 4, "users": 3}}, "plan.toml: load.users: unknown field"),
        ({"slo": {"percentile": 95}}, "plan.toml: slo: give at least one of ttft_ms, e2e_ms, decode_tps"),
        ({"slo": {"ttft_ms": 500, "percentile": 120}}, "plan.toml: slo.percentile: Input should be less than or equal to 100"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line_naming_the_field(over: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError) as err:
        parse(**over)
    text = str(err.value)
    assert text.startswith(message) and "\n" not in text


def test_a_models_own_table_wins_and_is_checked_under_its_path() -> None:
    models = [
        {"id": "a", "backend": "mock", "load": {"rate": [1, 2], "requests": 5}},
        {"id": "b", "backend": "mock"},
    ]
    plan = parse(
        models=models, load={"concurrency": [1, 2, 4], "requests": 6, "warmup_requests": 2}
    )
    a, b = plan.models
    assert load_for(plan, a).kind == "rate" and load_for(plan, b).kind == "concurrency"
    # a: 2 levels x 5; b: 3 levels x 6; warm-ups: the plan's one each, then 2 per level of b
    assert plan.n_measured == 2 * 5 + 3 * 6
    assert plan.n_warmup == 1 + (1 + 3 * 2)
    assert [lv.label for lv in levels(load_for(plan, a))] == ["r=1", "r=2"]
    assert level_name("concurrency", 1) == "1 user" and level_name("rate", 0.5) == "0.5 requests/s"
    bad = [{"id": "a", "backend": "mock", "load": {"concurrency": [2, 2], "requests": 1}}]
    with pytest.raises(PlanError, match=r"^plan.toml: models\[0\].load.concurrency\[1\]: "):
        parse(models=bad)
    # without a load table nothing changes
    assert parse().n_measured == 2 * 2 * 3 and parse().n_warmup == 2


def test_load_tables_survive_a_round_trip_through_toml() -> None:
    import tomllib

    plan = parse(
        load={"rate": [0.5, 1], "arrival": "constant", "seed": 4, "duration_s": 30},
        slo={"ttft_ms": 500, "decode_tps": 20},
    )
    again = parse_plan(tomllib.loads(plan_to_toml(plan)))
    assert again.load == plan.load and again.slo == plan.slo
    assert again.slo is not None and again.slo.percentile == 90


def test_the_cli_refuses_a_bad_load_table_with_exit_code_2(
    tmp_path: Path, bench_home: Path
) -> None:
    plan = tmp_path / "bad.toml"
    plan.write_text(
        'name = "bad"\n[[models]]\nid = "m"\nbackend = "mock"\n[[prompts]]\nid = "p"\n'
        'text = "hi"\n[load]\nconcurrency = [1, 2]\n'
    )
    proc = subprocess.run(
        tui_bench_cmd("run", str(plan), "--headless"),
        env=cli_env(bench_home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {plan}: load: give requests = N or duration_s = S: every level must end"
    ]
    assert "Traceback" not in proc.stderr
