"""``tui-bench suite``: plans one after another into their folders, a failing plan recorded
and passed over, the comparison per model and per task type, and Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from bench_helpers import cli_env, tui_bench_cmd
from test_compare_gate import Cli

# ten words: round(10 x 1.3) = 13 prompt tokens, TTFT 20 + 13 / 2000 tok/s = 26.5 ms;
# two words: 3 tokens, 21.5 ms. Then 5 tokens at exactly 100 tok/s (no jitter): +40 ms.
PROMPTS = (
    '[[prompts]]\nid = "long"\ntask = "qa"\ntext = "one two three four five six seven eight nine ten"\n'
    '[[prompts]]\nid = "short"\ntask = "generation"\ntext = "alpha beta"\n'
)


def _mock(
    path: Path, name: str, extra: str = "", tail: str = "", rate: int = 100, tokens: int = 5
) -> Path:
    path.write_text(
        f'name = "{name}"\nrepeats = 2\nwarmup = 0\nsuccess_threshold = 0.5\n'
        f"[defaults]\nmax_tokens = {tokens}\n"
        '[[models]]\nid = "m"\nbackend = "mock"\n'
        f"[models.mock]\nttft_ms = 20\ntokens_per_s = {rate}\njitter = 0\nload_ms = 1\n{extra}"
        + PROMPTS
        + tail,
        encoding="utf-8",
    )
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


def test_a_suite_runs_every_plan_and_compares_them(cli: Cli, tmp_path: Path) -> None:
    fast = _mock(tmp_path / "fast.toml", "fast")
    broken = _mock(tmp_path / "broken.toml", "broken", extra="fail_load = true\n")
    out = tmp_path / "suite"
    code, _, err = cli("suite", str(fast), str(broken), "no-such-plan", "-o", str(out))
    assert code == 2  # the highest of 0 (fast), 1 (broken: below threshold), 2 (no plan)
    for folder in ("fast", "broken"):
        assert sorted(p.name for p in (out / folder).iterdir()) == [
            *(["chart_decode.svg", "chart_ttft.svg"] if folder == "fast" else []),
            "data.json",
            "report.md",
            "results.csv",
        ]
    assert "suite: 2/3 broken: exit 1: below its success threshold" in err
    assert "suite: 3/3 no-such-plan: exit 2: bad input (no-such-plan: no such plan file" in err

    data = json.loads((out / "comparison_data.json").read_text())
    plans = [(p["name"], p["folder"], p["exit_code"], p.get("status")) for p in data["plans"]]
    assert plans == [
        ("fast", "fast", 0, "completed"),
        ("broken", "broken", 1, "completed"),
        (None, None, 2, None),
    ]
    assert data["plans"][2]["reason"].startswith("no-such-plan: no such plan file")

    (model,) = data["models"]
    fast_row, broken_row = model["plans"]
    assert model["model"] == "m" and fast_row["provider"] == "mock"
    # by hand: TTFT 26.5 and 21.5 ms (median 24.0), end-to-end 66.5 and 61.5 (median 64.0)
    assert (fast_row["n_ok"], fast_row["n"], fast_row["success_rate"]) == (4, 4, 1.0)
    assert (fast_row["ttft_ms"], fast_row["e2e_ms"], fast_row["decode_tps"]) == (24.0, 64.0, 100.0)  # fmt: skip
    assert (fast_row["n_out"], fast_row["n_out_total"]) == (5, 20)
    assert fast_row["peak_rss_kb"] == 120 * 1024
    assert fast_row["cost"] is None  # no price table (test_cost: the suite with one)
    assert (broken_row["plan"], broken_row["n_ok"], broken_row["n"]) == ("broken", 0, 4)
    assert broken_row["success_rate"] == 0.0 and broken_row["decode_tps"] is None
    assert broken_row["cost"] is None

    tasks = {t["task"]: t["rows"] for t in data["tasks"]}
    assert [(r["plan"], r["ttft_ms"], r["e2e_ms"]) for r in tasks["qa"]] == [
        ("fast", 26.5, 66.5),
        ("broken", None, None),
    ]
    assert [(r["plan"], r["ttft_ms"], r["e2e_ms"]) for r in tasks["generation"]] == [
        ("fast", 21.5, 61.5),
        ("broken", None, None),
    ]

    md = (out / "comparison_report.md").read_text()
    assert "| 2 | broken | `broken` | completed | 1 | below its success threshold | " in md
    assert "| fast | mock | 4/4 | 100% | 24.0 | 100.0 | – | 64 | 5 / 20 | 120 MiB | – |" in md
    assert "| m | fast | 2/2 | 100% | 26.5 | 100.0 | 66 | 5 |" in md  # qa


def test_the_same_plan_twice_gets_two_folders(cli: Cli, tmp_path: Path) -> None:
    plan = _mock(tmp_path / "p.toml", "same")
    out = tmp_path / "suite"
    assert cli("suite", str(plan), str(plan), "-o", str(out), "--repeats", "1")[0] == 0
    data = json.loads((out / "comparison_data.json").read_text())
    assert [p["folder"] for p in data["plans"]] == ["same", "same-2"]
    rows = data["models"][0]["plans"]
    # the mock's timings are its schedule: the same plan twice gives the same figures
    assert rows[0]["decode_tps"] == rows[1]["decode_tps"] == 100.0
    assert rows[1]["decode_vs_first"] == 0.0 and rows[0]["decode_vs_first"] is None


def test_ctrl_c_keeps_what_finished_and_compares_it(bench_home: Path, tmp_path: Path) -> None:
    quick = _mock(tmp_path / "quick.toml", "quick")
    # 3 s a request: the interrupt sent after the first lands while the second runs, even
    # on a host so busy that the signal takes a second to arrive (at 1 s a request, with
    # both cores busy, the second request had sometimes finished: 2 ok instead of 1)
    slow = _mock(tmp_path / "slow.toml", "slow", rate=4, tokens=13)
    out = tmp_path / "suite"
    proc = subprocess.Popen(
        tui_bench_cmd("suite", str(quick), str(slow), str(quick), "-o", str(out)),
        env=cli_env(bench_home),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    killer = threading.Timer(120, proc.kill)  # a bound, never expected to fire
    killer.start()
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        in_slow = False
        for line in proc.stderr:
            lines.append(line)
            in_slow = in_slow or line.startswith("suite: plan 2/3 slow")
            if in_slow and line.startswith("[1/4] m / long"):  # the first request of slow done
                proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        killer.cancel()
    text = "".join(lines)
    assert proc.returncode == 130, text
    data = json.loads((out / "comparison_data.json").read_text())
    outcome = [(p["name"], p["exit_code"], p.get("status")) for p in data["plans"]]
    assert outcome == [("quick", 0, "completed"), ("slow", 130, "cancelled"), ("quick", None, None)]
    assert data["plans"][2]["reason"] == "not run: the suite was stopped"
    rows = {r["plan"]: r for r in data["models"][0]["plans"]}
    assert rows["quick"]["n_ok"] == 4 and rows["slow"]["n_ok"] == 1  # what finished is kept
    assert json.loads((out / "slow" / "data.json").read_text())["run"]["status"] == "cancelled"
    assert not (out / "quick-2").exists()
