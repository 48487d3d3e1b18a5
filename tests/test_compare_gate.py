"""``tui-bench compare`` as a regression gate: runs named by label, id or output folder,
every metric with its direction, the smallest detectable change, and the exit code."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tui_bench.core.compare.significance import proportion_mde


def _plan(
    path: Path, *, rate: float = 400, repeats: int = 4, fail: list[str] | None = None
) -> Path:
    fails = f"fail_prompts = {json.dumps(fail)}\n" if fail else ""
    path.write_text(
        f'name = "gate"\nrepeats = {repeats}\nwarmup = 0\nsuccess_threshold = 0.0\n'
        "[defaults]\nmax_tokens = 12\n"
        '[[models]]\nid = "m"\nbackend = "mock"\n'
        f"[models.mock]\nttft_ms = 20\ntokens_per_s = {rate}\nload_ms = 1\n{fails}"
        '[[prompts]]\nid = "p1"\ntask = "qa"\ntext = "What is the capital of France?"\n'
        '[[prompts]]\nid = "p2"\ntask = "generation"\ntext = "Write two words."\n',
        encoding="utf-8",
    )
    return path


class Cli:
    """``tui-bench`` in this process: (exit code, stdout, stderr)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        from tui_bench.cli import main

        self.capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main(list(args))
        out = self.capsys.readouterr()
        return int(done.value.code or 0), out.out, out.err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


def _metrics(result: dict[str, Any], model: str = "m") -> dict[str, dict[str, Any]]:
    group = next(g for g in result["models"] if g["model"] == model)
    return {m["metric"]: m for m in group["metrics"]}


def test_a_slower_candidate_fails_the_gate_and_a_rerun_passes(cli: Cli, tmp_path: Path) -> None:
    base = _plan(tmp_path / "base.toml")
    slow = _plan(tmp_path / "slow.toml", rate=200)  # half the decode rate, on purpose
    run = ("run", "--headless", "-o")
    assert cli(run[0], str(base), *run[1:], str(tmp_path / "b"), "--label", "baseline")[0] == 0
    assert cli(run[0], str(base), *run[1:], str(tmp_path / "r"), "--label", "rerun")[0] == 0
    assert cli(run[0], str(slow), *run[1:], str(tmp_path / "s"), "--label", "candidate")[0] == 0
    history = json.loads(cli("history", "--format", "json")[1])
    assert [(r["id"], r["label"]) for r in history] == [
        (3, "candidate"),
        (2, "rerun"),
        (1, "baseline"),
    ]

    # a rerun of the baseline: the same figures, nothing regresses
    code, out, _ = cli("compare", "baseline", "rerun", "--fail-if-regression", "5%")
    assert code == 0, out
    assert "baseline: run 1, gate, label baseline, " in out and " (label baseline)\n" in out
    assert out.rstrip().endswith("gate: PASS: no metric regressed significantly beyond 5%")

    # output folders, no history needed; the candidate decodes at half the rate
    cmp_dir = tmp_path / "cmp"
    code, out, err = cli(
        "compare", str(tmp_path / "b"), str(tmp_path / "s"), "--fail-if-regression", "5%",
        "-o", str(cmp_dir), "--format", "json",
    )  # fmt: skip
    assert code == 1
    result = json.loads(out)
    assert result == json.loads((cmp_dir / "compare.json").read_text())
    assert f"written: {cmp_dir / 'compare.md'}" in err
    m = _metrics(result)
    assert m["decode_tps"]["rel_diff"] == pytest.approx(-0.5, abs=0.002)
    assert m["tpot_ms"]["rel_diff"] == pytest.approx(1.0, abs=0.005)
    assert (m["decode_tps"]["verdict"], m["decode_tps"]["regression"]) == ("slower", True)
    assert (m["ttft_ms"]["verdict"], m["ttft_ms"]["regression"]) == (
        "no significant difference",
        False,
    )
    # 8 requests a side: a decode rate that did not change at all has a p-value of 1 ...
    assert m["n_out"]["p_value"] == 1.0 and m["n_out"]["mde"] == 0.0
    # ... and the success rate's smallest detectable drop is Fisher's at 8 + 8
    assert m["success_rate"]["n_baseline"] == 8
    assert m["success_rate"]["mde"] == pytest.approx(proportion_mde(8, 8, 8)[0], abs=1e-6)
    assert m["peak_rss_kb"]["higher_is_better"] is False
    assert m["quality.heuristic"]["higher_is_better"] is True
    assert m["vram_peak_mb"]["verdict"] == "not measured"  # no GPU on a mock
    assert {r["metric"] for r in result["regressions"]} == {"decode_tps", "e2e_ms", "tpot_ms"}
    assert (result["verdict"], result["exit_code"], result["threshold"]) == ("fail", 1, 0.05)
    md = (cmp_dir / "compare.md").read_text()
    assert "slower: REGRESSION (beyond 5%)" in md and "## Method" in md
    assert "### m, task qa (diagnosis, not gated)" in md

    # the table prints the smallest detectable change beside each verdict
    code, out, _ = cli(
        "compare", "1", "candidate", "--metric", "decode_tps", "--fail-if-regression", "60%"
    )
    assert code == 0  # -50% is significant but within a 60% allowance (TPOT: +100%)
    row = next(line for line in out.splitlines() if line.startswith("m  ") and "decode" in line)
    assert "MDE" in out and "±" in row and "slower" in row and "REGRESSION" not in row
    # the other way round the candidate is faster: no regression
    code, out, _ = cli("compare", "candidate", "baseline", "--fail-if-regression", "5%")
    assert code == 0 and "faster" in out


def test_a_drop_in_success_rate_is_a_regression(cli: Cli, tmp_path: Path) -> None:
    base = _plan(tmp_path / "base.toml", repeats=8)
    flaky = _plan(tmp_path / "flaky.toml", repeats=8, fail=["p1"])  # every p1 fails
    assert cli("run", str(base), "--headless", "-o", str(tmp_path / "b"))[0] == 0
    assert cli("run", str(flaky), "--headless", "-o", str(tmp_path / "f"))[0] == 0
    code, out, _ = cli(
        "compare", str(tmp_path / "b"), str(tmp_path / "f"), "--metric", "success_rate",
        "--fail-if-regression", "10", "--format", "json",
    )  # fmt: skip
    assert code == 1
    result = json.loads(out)
    assert result["metrics"] == ["success_rate"]
    s = _metrics(result)["success_rate"]
    assert (s["baseline"], s["candidate"], s["rel_diff"]) == (1.0, 0.5, -0.5)
    assert (s["n_baseline"], s["n_candidate"], s["test"]) == (16, 16, "Fisher exact")
    # two equally likely extreme tables of 24 successes in 32 (see test_compare_stats)
    assert s["p_value"] == pytest.approx(2 * math.comb(24, 16) / math.comb(32, 16), rel=1e-5)
    assert (s["verdict"], s["regression"]) == ("worse", True)
    # per task type: qa (p1) lost every request, generation none; never part of the gate
    tasks = {t["task"]: t["metrics"][0] for t in result["models"][0]["tasks"]}
    assert (tasks["qa"]["candidate"], tasks["generation"]["candidate"]) == (0.0, 1.0)
    assert tasks["generation"]["verdict"] == "no significant difference"


def test_one_sample_gives_no_verdict_and_no_gate(cli: Cli, tmp_path: Path) -> None:
    one = _plan(tmp_path / "one.toml", repeats=1)
    assert cli("run", str(one), "--headless", "-o", str(tmp_path / "a"))[0] == 0
    assert cli("run", str(one), "--headless", "-o", str(tmp_path / "b"), "--max-tokens", "4")[0] == 0  # fmt: skip
    args = ("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--metric", "n_out")
    code, out, _ = cli(*args, "--format", "json")
    m = _metrics(json.loads(out))["n_out"]
    # per model 2 requests (one per prompt), per task type one: never a verdict from one
    assert (m["n_baseline"], m["verdict"]) == (2, "no significant difference")
    assert m["mde"] is None and m["mde_note"] == "Mann-Whitney cannot reach p < 0.05 with n = 2 + 2"  # fmt: skip
    task = json.loads(out)["models"][0]["tasks"][0]["metrics"][0]
    assert (task["n_baseline"], task["verdict"], task["p_value"]) == (1, "too few samples", None)
    code, out, _ = cli(*args, "--fail-if-regression", "5%")
    assert code == 0  # 12 -> 4 tokens would be "worse" if it could be told; it cannot
    # a gate on nothing it could test is refused, not passed
    code, _, err = cli(*args[:-1], "vram_peak_mb", "--fail-if-regression", "5%")
    assert code == 2 and err.endswith(
        "no metric could be tested (fewer than 2 samples a side, or not measured)\n"
    )


def test_models_only_in_one_run_are_named(cli: Cli, tmp_path: Path) -> None:
    def two(name: str, ids: tuple[str, str]) -> Path:
        models = "".join(f'[[models]]\nid = "{i}"\nbackend = "mock"\n' for i in ids)
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'name = "{name}"\nrepeats = 2\nwarmup = 0\n{models}'
            '[[prompts]]\nid = "p"\ntext = "hello there"\n'
        )
        return path

    cli("run", str(two("a", ("x", "y"))), "--headless", "--max-tokens", "4", "-o", str(tmp_path / "a"))  # fmt: skip
    cli("run", str(two("b", ("x", "z"))), "--headless", "--max-tokens", "4", "-o", str(tmp_path / "b"))  # fmt: skip
    code, out, _ = cli("compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 0
    assert "only in the baseline: y" in out and "only in the candidate: z" in out
    assert "caveat: different plans (a vs b)" in out
    assert {line.split()[0] for line in out.splitlines() if "(tok/s)" in line} == {"x"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "{a}", "{a}", "--metric", "speed"], "error: --metric speed: unknown metric"),
        (
            ["compare", "{a}", "{a}", "--fail-if-regression", "lots"],
            "error: --fail-if-regression lots: give a percentage, e.g. 5%",
        ),
        (
            ["compare", "{tmp}", "{a}"],
            "error: {tmp}: no data.json here (a run's output folder has one)",
        ),
        (["compare", "nightly", "{a}"], "error: nightly: not a run id, no LLM run in"),
        (
            ["run", "{plan}", "--headless", "--label", "12"],
            "error: --label 12: compare would read this as a run id; choose a name",
        ),
    ],
    ids=["metric", "threshold", "folder", "label", "numeric-label"],
)
def test_bad_input_is_one_line_and_exit_2(
    cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    plan = _plan(tmp_path / "p.toml", repeats=2)
    assert cli("run", str(plan), "--headless", "-o", str(tmp_path / "a"))[0] == 0
    names = {"a": str(tmp_path / "a"), "tmp": str(tmp_path), "plan": str(plan)}
    code, _, err = cli(*[a.format(**names) for a in args])
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(message.format(**names))


def test_a_change_inside_one_percent_is_within_noise_unless_the_gate_is_stricter() -> None:
    """Every candidate request decodes 0.5% slower: significant, within noise; a gate at
    0.2% judges changes down to its own size, and that one regresses."""
    from report_helpers import from_rates

    from tui_bench.core.compare.gate import compare_metric

    rates = [100.0 + 0.01 * i for i in range(10)]
    base = from_rates({"m": rates})
    cand = from_rates({"m": [r * 0.995 for r in rates]})
    m = compare_metric("decode_tps", base, cand, threshold=None)
    assert m.p_value is not None and m.p_value < 0.05
    assert m.rel_diff == pytest.approx(-0.005, abs=1e-4)
    assert m.verdict == "within noise" and not m.regression
    assert compare_metric("decode_tps", base, cand, threshold=0.05).verdict == "within noise"
    strict = compare_metric("decode_tps", base, cand, threshold=0.002)
    assert strict.verdict == "slower" and strict.regression


def test_a_narrow_terminal_gets_each_metric_on_a_line_or_two() -> None:
    """The one wide table (the model on every line, for CI logs) does not fit 80 columns:
    a terminal that narrow gets each model's metrics under it, figures then verdict, and
    the per-task changes the same way; the same facts, every line within 80 columns."""
    from report_helpers import from_rates

    from tui_bench.cli.common import table
    from tui_bench.core.compare import render
    from tui_bench.core.compare.gate import gate
    from tui_bench.core.compare.sources import RunSource

    rates = [100.0 + i for i in range(8)]
    base = RunSource("folder a", {"id": 1, "plan": "p"}, from_rates({"m": rates}))
    cand = RunSource("folder b", {"id": 2, "plan": "p"}, from_rates({"m": [r / 2 for r in rates]}))
    result = gate(base, cand, metrics=["decode_tps", "vram_peak_mb"], threshold=0.05)
    wide = render.terminal(result, table)
    assert max(map(len, wide.splitlines())) > 80
    assert render.terminal(result, table, width=200) == wide  # it fits: unchanged
    narrow = render.terminal(result, table, width=80).splitlines()
    assert max(map(len, narrow)) <= 80
    decode = next(i for i, line in enumerate(narrow) if line.startswith("  decode (tok/s) ↑: "))
    # medians 103.5 and 51.75 (-50%); complete separation of 8 + 8: p = 2 / C(16, 8)
    assert narrow[decode].startswith("  decode (tok/s) ↑: 103.5 → 51.8, -50.0% [")
    assert narrow[decode].endswith(f"], p {2 / math.comb(16, 8):.3g}, n 8/8")
    assert narrow[decode + 1].startswith("      slower: REGRESSION (beyond 5%) (MDE ±")
    assert "  peak VRAM (MiB) ↓: not measured" in narrow
    task = narrow.index("m, task analysis")  # the per-task change, under its group
    assert narrow[task + 1].startswith("  decode (tok/s) ↑: 103.5 → 51.8, -50.0% [")
    assert narrow[-1] == wide.splitlines()[-1] and narrow[-1].startswith("gate: FAIL")
