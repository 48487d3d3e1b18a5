"""The command line: lazy start-up, the core/front-end layering, and each subcommand."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench_helpers import PLANS, cli_env, tui_bench_cmd

HEAVY = (
    "numpy",
    "scipy",
    "sklearn",
    "llama_cpp",
    "pydantic",
    "textual",
    "rich",
    "psutil",
    "pynvml",
    "sqlite3",
)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_help_imports_nothing_heavy() -> None:
    mods = _modules_after(
        "import sys; sys.argv=['tui-bench','--help']\nfrom tui_bench import cli\ntry:\n    cli.main()\nexcept SystemExit:\n    pass"
    )
    loaded = {m for m in HEAVY if m in mods}
    assert not loaded, f"--help imported {loaded}"


def test_core_never_loads_textual_or_rich() -> None:
    # every module of core (found by walking it) and the headless front end import with
    # textual and rich made unimportable (scikit-learn imports rich only if it is there)
    mods = _modules_after(
        "import importlib, pkgutil, sys\n"
        "sys.modules.update({'textual': None, 'rich': None, 'textual_plotext': None})\n"
        "import tui_bench.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, prefix='tui_bench.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "import tui_bench.headless"
    )
    assert "tui_bench.core.engine" in mods and "tui_bench.core.classify.train" in mods
    assert "tui_bench.headless" in mods


def _cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        tui_bench_cmd(*args), capture_output=True, text=True, env=cli_env(home), timeout=300
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_help_lists_the_commands(bench_home: Path) -> None:
    out = _cli(bench_home, "--help").stdout
    for cmd in ("run", "plans", "models", "history", "report", "compare"):
        assert cmd in out


def test_plans_catalog(bench_home: Path, tmp_path: Path) -> None:
    data = json.loads(_cli(bench_home, "plans", "--dir", str(PLANS), "--format", "json").stdout)
    ids = {e["id"]: e for e in data}
    assert {"quickstart", "dual-llm", "mock"} <= set(ids)
    assert ids["dual-llm"]["models"] == ["smollm2-135m", "gemma3-270m"]
    assert ids["quickstart"]["threshold"] == 1.0
    (tmp_path / "broken.toml").write_text("name = ")
    table = _cli(bench_home, "plans", "--dir", str(tmp_path)).stdout
    assert "broken" in table and "INVALID" in table


def test_models_lists_builtins_with_gguf_facts(bench_home: Path) -> None:
    data = json.loads(_cli(bench_home, "models", "--format", "json", "--no-stores").stdout)
    assert data["engine"]["gpu_offload"] in (True, False)
    smol = next(m for m in data["models"] if m["id"] == "builtin:smollm2-135m")
    assert smol["architecture"] == "llama" and smol["quantization"] == "Q4_1"
    text = _cli(bench_home, "models", "--no-stores").stdout
    assert text.startswith("engine: llama-cpp-python") and "builtin:gemma3-270m" in text


def test_run_history_report_compare(bench_home: Path, tmp_path: Path) -> None:
    out1, out2 = tmp_path / "r1", tmp_path / "r2"
    r1 = _cli(
        bench_home,
        "run",
        str(PLANS / "mock.toml"),
        "--headless",
        "--output",
        str(out1),
        "--repeats",
        "2",
        "--max-tokens",
        "8",
    )
    assert "PASS" in r1.stderr and "report:" in r1.stderr
    r2 = _cli(
        bench_home,
        "run",
        str(PLANS / "mock.toml"),
        "--json",
        "--output",
        str(out2),
        "--repeats",
        "2",
        "--max-tokens",
        "8",
    )
    events = [json.loads(line) for line in r2.stdout.splitlines()]
    kinds = {e["event"] for e in events}
    assert {
        "RunStarted",
        "ModelLoaded",
        "RequestStarted",
        "TokensGenerated",
        "RequestFinished",
        "RunFinished",
    } <= kinds
    assert events[-1]["event"] == "RunFinished" and events[-1]["passed"] is True

    runs = json.loads(_cli(bench_home, "history", "--format", "json").stdout)
    assert [r["id"] for r in runs] == [2, 1]
    assert all(r["status"] == "completed" and r["success_rate"] == 1.0 for r in runs)
    rows = list(
        csv.DictReader(
            io.StringIO(_cli(bench_home, "history", "--format", "csv", "--limit", "1").stdout)
        )
    )
    assert len(rows) == 1 and rows[0]["id"] == "2"
    listed = _cli(bench_home, "history", "--plan", "mock").stdout.splitlines()
    assert listed[0].split() == [
        "id",
        "kind",
        "plan",
        "status",
        "started",
        "ok/n",
        "TTFT",
        "ms",
        "e2e",
        "ms",
    ]
    ok = f"{runs[0]['n_ok']}/{runs[0]['n_measured']} 100%"  # one fact: the rate is ok/n
    assert listed[2].startswith(
        f"2   llm   mock  completed  {runs[0]['started_at'][:16].replace('T', ' ')}  {ok}"
    )
    assert max(map(len, listed)) <= 80  # a row a line on an 80-column terminal
    assert "no runs" in _cli(bench_home, "history", "--plan", "other").stdout

    rebuilt = tmp_path / "rebuilt"
    _cli(bench_home, "report", "1", "--output", str(rebuilt))
    original = json.loads((out1 / "data.json").read_text())
    again = json.loads((rebuilt / "data.json").read_text())
    assert again["requests"] == original["requests"] and again["summary"] == original["summary"]

    cmp = json.loads(_cli(bench_home, "compare", "1", "2", "--format", "json").stdout)
    assert [m["model_baseline"] for m in cmp["models"]] == ["mock-fast", "mock-slow"]
    verdicts = {m["metric"]: m["verdict"] for m in cmp["models"][0]["metrics"]}
    assert set(verdicts) >= {"ttft_ms", "decode_tps", "e2e_ms"}
    assert _cli(bench_home, "compare", "1", "latest").stdout.count("mock-fast") >= 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "99", "--output", "x"], "error: run 99 not found"),
        (["report", "abc", "--output", "x"], "error: abc: a run id is a number"),
        (["run", "no-such-plan"], "error: no-such-plan: no such plan file"),
        (["run", str(PLANS / "mock.toml"), "--repeats", "0"], "Invalid value for '--repeats'"),
    ],
)
def test_bad_arguments_exit_2(bench_home: Path, args: list[str], message: str) -> None:
    proc = _cli(bench_home, *args, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("sig", ["SIGHUP", "SIGTERM"])
def test_hangup_or_terminate_stops_cleanly(bench_home: Path, tmp_path: Path, sig: str) -> None:
    """An SSH session that drops (SIGHUP) or a kill (SIGTERM): exit 130, results kept."""
    import signal
    import sqlite3

    plan = tmp_path / "slow-mock.toml"
    plan.write_text(
        'name = "slow"\nrepeats = 50\nwarmup = 0\n[defaults]\nmax_tokens = 20\n'
        '[[models]]\nid = "m"\nbackend = "mock"\n[models.mock]\ntokens_per_s = 100\nload_ms = 1\n'
        '[[prompts]]\nid = "p"\ntext = "hello"\n'
    )
    proc = subprocess.Popen(
        tui_bench_cmd("run", str(plan), "--headless", "-o", str(tmp_path / "out")),
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(bench_home),
    )
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            if "rep 2:" in line:
                break
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    con = sqlite3.connect(bench_home / "history.sqlite3")
    status, n_ok = con.execute("SELECT status, n_ok FROM runs").fetchone()
    con.close()
    assert status == "cancelled" and n_ok >= 2
    assert (tmp_path / "out" / "data.json").exists()
