"""The regression gate on real models: the same model id served by a slower model (Gemma-3
270M in place of SmolLM2-135M, as a heavier quantisation or a bigger model would be) is
a regression the gate catches, and llama.cpp's own counters confirm the slowdown.

One thread instead of two was the first choice of a deliberate slowdown, but on a host
whose two cores are busy with other work two threads are no faster than one, and the
test then said nothing. Run one after the other, the two models can still meet different
loads (work starting or ending beside the test made the slower model the faster one by
llama.cpp's own counters). So both runs go at once, one thread each: whatever else the
host does, it does to both."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bench_helpers import cli_env, tui_bench_cmd
from test_compare_gate import Cli

pytestmark = pytest.mark.real


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


def _plan(path: Path, source: str) -> Path:
    path.write_text(
        f'name = "threads"\nrepeats = 4\nwarmup = 1\nsuccess_threshold = 1.0\n'
        "[defaults]\nmax_tokens = 32\nignore_eos = true\n"
        f'[[models]]\nid = "smol"\nsource = "{source}"\nn_ctx = 256\nn_threads = 1\n'
        '[[prompts]]\nid = "capital"\ntask = "qa"\ntext = "What is the capital of France?"\n'
        '[[prompts]]\nid = "cat"\ntask = "generation"\ntext = "Tell a short story about a cat."\n',
        encoding="utf-8",
    )
    return path


def test_a_slower_model_fails_the_gate(cli: Cli, tmp_path: Path, bench_home: Path) -> None:
    two, one = tmp_path / "base", tmp_path / "slower"
    base = _plan(tmp_path / "base.toml", "builtin:smollm2-135m")
    slower = _plan(tmp_path / "slower.toml", "builtin:gemma3-270m")
    runs = [
        subprocess.Popen(
            tui_bench_cmd("run", str(plan), "--headless", "-o", str(out)),
            env=cli_env(bench_home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for plan, out in ((base, two), (slower, one))
    ]
    for proc in runs:
        log, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, log
    code, out, _ = cli(
        "compare", str(two), str(one), "--metric", "decode_tps", "--metric", "n_out",
        "--fail-if-regression", "5%", "--format", "json",
    )  # fmt: skip
    result = json.loads(out)
    m = {x["metric"]: x for x in result["models"][0]["metrics"]}
    # what llama.cpp itself measured: the candidate really decoded slower
    engine = {}
    for name, folder in (("two", two), ("one", one)):
        reqs = json.loads((folder / "data.json").read_text())["requests"]
        rates = sorted(r["engine_decode_tps"] for r in reqs if not r["warmup"])
        engine[name] = rates[len(rates) // 2]
    assert engine["one"] < 0.95 * engine["two"], engine
    assert m["decode_tps"]["n_baseline"] == m["decode_tps"]["n_candidate"] == 8
    assert m["decode_tps"]["verdict"] == "slower" and m["decode_tps"]["regression"] is True
    assert m["n_out"]["baseline"] == m["n_out"]["candidate"] == 32  # ignore_eos: same work
    assert m["n_out"]["verdict"] == "no significant difference"
    assert code == 1 and result["regressions"] == [
        {"model": "smol", "metric": "decode_tps", "rel_diff": m["decode_tps"]["rel_diff"]}
    ]
