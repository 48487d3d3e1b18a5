"""Reports rebuilt from history (``tui-bench report RUN_ID``) are the originals byte for
byte: report.md, data.json, results.csv and the charts, for a mock run and a real one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bench_helpers import cli_env, tui_bench_cmd
from report_helpers import rec

from tui_bench.core.metrics import EngineCounters
from tui_bench.core.store import Store

MOCK_PLAN = """
name = "rebuild-mock"
description = "two mock models, two prompts"
repeats = 3
warmup = 1
[defaults]
max_tokens = 12
[[models]]
id = "quick"
backend = "mock"
[models.mock]
tokens_per_s = 3000
ttft_ms = 2
[[models]]
id = "steady"
backend = "mock"
[models.mock]
tokens_per_s = 1500
ttft_ms = 3
[[prompts]]
id = "hello"
task = "qa"
text = "Say hello."
[prompts.expect]
contains = ["hello"]
[[prompts]]
id = "story"
task = "generation"
text = "Write a two-line story."
"""

REAL_PLAN = """
name = "rebuild-real"
repeats = 2
warmup = 1
[defaults]
max_tokens = 8
temperature = 0.0
seed = 42
ignore_eos = true
mode = "chat"
[[models]]
id = "smollm2"
source = "builtin:smollm2-135m"
n_ctx = 256
[[prompts]]
id = "hello"
task = "qa"
text = "Say hello."
[[prompts]]
id = "translate-fr"
task = "translation"
text = "Translate into French: good morning"
[prompts.expect]
reference = "Bonjour"
"""


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        tui_bench_cmd(*args), capture_output=True, text=True, env=cli_env(home), timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def run_and_rebuild(home: Path, tmp_path: Path, plan: str, *label: str) -> tuple[Path, Path]:
    path = tmp_path / "plan.toml"
    path.write_text(plan)
    original, rebuilt = tmp_path / "original", tmp_path / "rebuilt"
    _cli(home, "run", str(path), "--output", str(original), *label)
    _cli(home, "report", "latest", "--output", str(rebuilt))
    return original, rebuilt


def assert_identical(original: Path, rebuilt: Path) -> set[str]:
    names = {p.name for p in original.iterdir()}
    assert names == {p.name for p in rebuilt.iterdir()}
    for name in sorted(names):
        assert (rebuilt / name).read_bytes() == (original / name).read_bytes(), name
    return names


def test_a_mock_run_rebuilt_from_history_is_byte_identical(
    bench_home: Path, tmp_path: Path
) -> None:
    original, rebuilt = run_and_rebuild(bench_home, tmp_path, MOCK_PLAN, "--label", "first")
    names = assert_identical(original, rebuilt)
    assert {"report.md", "data.json", "results.csv", "chart_decode.svg"} <= names
    run = json.loads((rebuilt / "data.json").read_text())["run"]
    # the duration and the label come back from history
    assert run["label"] == "first" and run["duration_s"] > 0
    assert f"({run['duration_s']:.1f} s)" in (rebuilt / "report.md").read_text()


@pytest.mark.real
def test_a_real_run_rebuilt_from_history_is_byte_identical(
    bench_home: Path, tmp_path: Path
) -> None:
    original, rebuilt = run_and_rebuild(bench_home, tmp_path, REAL_PLAN)
    assert_identical(original, rebuilt)
    data = json.loads((rebuilt / "data.json").read_text())
    # what changed after loading (the scorers that read the answers) is in history too
    assert data["models"][0]["info"]["quality_scorers"]["fluency_model"] == "builtin:smollm2-135m"
    assert all(r["engine"] is not None for r in data["requests"] if r["ok"])


def test_engine_counters_are_stored_as_measured(tmp_path: Path) -> None:
    # rounded to 4 decimals in history, these counters gave another engine rate
    r = rec(0, "m", rate=100)
    r.engine = EngineCounters(
        n_p_eval=20, t_p_eval_ms=10.0, n_eval=15, t_eval_ms=116.80807910822021,
        n_sample=16, t_sample_ms=2.3038500808519564,
    )  # fmt: skip
    store = Store(tmp_path / "h.sqlite3")
    try:
        r.run_id = store.create_run(
            plan="p", plan_path=None, plan_raw={}, started_at="x", host={}, threshold=1.0,
            n_planned=1,
        )  # fmt: skip
        store.add_request(r)
        (back,) = store.get_requests(r.run_id)
    finally:
        store.close()
    assert back.engine == r.engine
    assert back.to_dict(raw=True) == r.to_dict(raw=True)
    assert back.to_dict()["engine_decode_tps"] == round(r.engine.decode_tps or 0, 4) == 126.0844
