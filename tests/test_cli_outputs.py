"""A run whose reports cannot be written never reports success: a folder that cannot take
them is refused before the run, a write that still fails ends with exit code 3; the
default folder's name stays bounded whatever the plan is called."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bench_helpers import PLANS, cli_env, tui_bench_cmd

from tui_bench.core import paths
from tui_bench.core.errors import EXIT_SAVE_FAILED, exit_code_for

FAST = ["--headless", "--repeats", "1", "--max-tokens", "2"]


def _run(home: Path, plan: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tui_bench_cmd("run", str(plan), *FAST, *args),
        capture_output=True,
        text=True,
        env=cli_env(home),
        timeout=300,
    )


def _history(home: Path) -> list[dict[str, object]]:
    proc = subprocess.run(
        tui_bench_cmd("history", "--format", "json"),
        capture_output=True,
        text=True,
        env=cli_env(home),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_an_output_that_is_a_file_is_refused_before_the_run(
    bench_home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "results.txt"
    target.write_text("keep me\n")
    proc = _run(bench_home, PLANS / "mock.toml", "--output", str(target))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"error: output folder {target}: is a file, not a folder"]
    assert target.read_text() == "keep me\n"
    assert not (bench_home / "history.sqlite3").exists()  # nothing ran, nothing recorded


def test_an_output_inside_a_file_is_refused_before_the_run(
    bench_home: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    target = blocker / "reports"
    proc = _run(bench_home, PLANS / "mock.toml", "--output", str(target))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: output folder {target}: {blocker} is a file, not a folder"
    ]


def test_reports_that_cannot_be_written_at_the_end_exit_3(bench_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "report.md").mkdir(parents=True)  # the folder is writable, this one file is not
    proc = _run(bench_home, PLANS / "mock.toml", "--output", str(out))
    assert proc.returncode == EXIT_SAVE_FAILED == 3
    lines = proc.stderr.splitlines()
    verdict = next(line for line in lines if line.startswith("[run 1] completed"))
    assert verdict.endswith(": REPORTS NOT WRITTEN (measured: PASS)")
    assert lines[-1] == (
        f"error: the reports of run 1 could not be written (Is a directory: {out / 'report.md'}); "
        "the results are in history: tui-bench report 1 -o FOLDER writes them"
    )
    assert not any("sink ReportSink failed" in line for line in lines)
    assert [r["status"] for r in _history(bench_home)] == ["completed"]


def test_a_very_long_plan_name_gets_a_bounded_default_folder(
    bench_home: Path, tmp_path: Path
) -> None:
    name = "n" * 10_000
    text = (PLANS / "mock.toml").read_text().replace('name = "mock"', f'name = "{name}"', 1)
    plan = tmp_path / "long.toml"
    plan.write_text(text)
    proc = _run(bench_home, plan)
    assert proc.returncode == 0, proc.stderr
    report_line = next(line for line in proc.stderr.splitlines() if line.startswith("report: "))
    md = Path(report_line.removeprefix("report: ").split(", ")[0])
    assert md.name == "report.md" and md.is_file()
    folder = md.parent
    assert folder.parent == bench_home / "runs"
    assert folder.name.endswith("-" + "n" * 80)
    assert len(folder.name) == len("20260101-000000-") + 80


@pytest.mark.parametrize(
    ("plan_name", "expected"),
    [
        ("quick start/v2", "quick-start-v2"),
        ("..", "plan"),
        ("../../etc", "-..-etc"),
        (".hidden", "hidden"),
        ("é" * 200, "é" * 40),  # 80 bytes of UTF-8
        ("x" * 10_000, "x" * 80),
    ],
)
def test_default_folder_names_are_one_bounded_component(plan_name: str, expected: str) -> None:
    past = paths.run_output_dir(plan_name, run_id=7)
    assert past.parent == paths.data_dir() / "runs"
    assert past.name == f"run-7-{expected}"
    new = paths.run_output_dir(plan_name)
    assert new.parent == paths.data_dir() / "runs"
    assert new.name.endswith(f"-{expected}") and len(new.name.encode()) <= 16 + 80


def test_exit_code_says_outputs_were_not_written() -> None:
    assert exit_code_for("completed", True) == 0
    assert exit_code_for("completed", False) == 1
    assert exit_code_for("completed", True, outputs_written=False) == 3
    assert exit_code_for("completed", False, outputs_written=False) == 3
    assert exit_code_for("cancelled", False, outputs_written=False) == 130
