"""The regression gate on a real model: SmolLM2 decoding on one thread instead of two is
a regression the gate catches (llama.cpp's own counters confirm the slowdown)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_compare_gate import Cli

pytestmark = pytest.mark.real


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


def _plan(path: Path, threads: int) -> Path:
    path.write_text(
        f'name = "threads"\nrepeats = 4\nwarmup = 1\nsuccess_threshold = 1.0\n'
        "[defaults]\nmax_tokens = 32\nignore_eos = true\n"
        '[[models]]\nid = "smol"\nsource = "builtin:smollm2-135m"\nn_ctx = 256\n'
        f"n_threads = {threads}\n"
        '[[prompts]]\nid = "capital"\ntask = "qa"\ntext = "What is the capital of France?"\n'
        '[[prompts]]\nid = "cat"\ntask = "generation"\ntext = "Tell a short story about a cat."\n',
        encoding="utf-8",
    )
    return path


def test_one_thread_instead_of_two_fails_the_gate(cli: Cli, tmp_path: Path) -> None:
    two, one = tmp_path / "two", tmp_path / "one"
    assert cli("run", str(_plan(tmp_path / "2.toml", 2)), "--headless", "-o", str(two))[0] == 0
    assert cli("run", str(_plan(tmp_path / "1.toml", 1)), "--headless", "-o", str(one))[0] == 0
    code, out, _ = cli(
        "compare", str(two), str(one), "--metric", "decode_tps", "--metric", "n_out",
        "--fail-if-regression", "5%", "--format", "json",
    )  # fmt: skip
    result = json.loads(out)
    m = {x["metric"]: x for x in result["models"][0]["metrics"]}
    # what llama.cpp itself measured: the one-thread run really decoded slower
    engine = {}
    for name, folder in (("two", two), ("one", one)):
        reqs = json.loads((folder / "data.json").read_text())["requests"]
        rates = sorted(r["engine_decode_tps"] for r in reqs if not r["warmup"])
        engine[name] = rates[len(rates) // 2]
    if engine["one"] >= 0.95 * engine["two"]:  # a host too busy for two threads to help
        pytest.skip(f"llama.cpp decoded as fast on one thread as on two here: {engine}")
    assert m["decode_tps"]["n_baseline"] == m["decode_tps"]["n_candidate"] == 8
    assert m["decode_tps"]["verdict"] == "slower" and m["decode_tps"]["regression"] is True
    assert m["n_out"]["baseline"] == m["n_out"]["candidate"] == 32  # ignore_eos: same work
    assert m["n_out"]["verdict"] == "no significant difference"
    assert code == 1 and result["regressions"] == [
        {"model": "smol", "metric": "decode_tps", "rel_diff": m["decode_tps"]["rel_diff"]}
    ]
