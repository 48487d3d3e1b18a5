"""tui-bench installed from its wheel, not run from a clone: the shipped plans are found.

The wheel is built from a copy of the sources (the checkout gets no build/ folder) and
installed into a fresh virtual environment outside the checkout. Its dependencies come
from the environment running the tests (nothing is downloaded): that environment's
site-packages are put on the new one's path, without any tui-bench found there.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from bench_helpers import REPO

pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _build_wheel(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(
        REPO / "tui_bench", src / "tui_bench", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = tmp / "dist"
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", dist, src, cwd=tmp,
    )  # fmt: skip
    (wheel,) = dist.glob("tui_bench-*.whl")
    return wheel


def _dependencies_view(tmp: Path) -> Path:
    """The test environment's site-packages, every entry linked except tui-bench's own."""
    view = tmp / "deps"
    view.mkdir()
    for folder in map(Path, site.getsitepackages()):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            low = entry.name.lower()
            if low.startswith(("tui_bench", "tui-bench", "__editable__")) or low.endswith(".pth"):
                continue
            if not (view / entry.name).exists():
                (view / entry.name).symlink_to(entry)
    return view


def _venv(tmp: Path, deps: Path) -> tuple[Path, Path]:
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv, cwd=tmp)
    python = venv / "bin" / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp
    ).strip()
    Path(purelib, "_test_dependencies.pth").write_text(f"{deps}\n")
    return venv, python


def test_wheel_install_lists_and_runs_the_shipped_plans(tmp_path: Path) -> None:
    assert not str(tmp_path.resolve()).startswith(str(REPO))
    wheel = _build_wheel(tmp_path)
    names = _run(sys.executable, "-m", "zipfile", "-l", wheel, cwd=tmp_path)
    for plan in ("quickstart", "dual-llm", "mock"):
        assert f"tui_bench/plans/{plan}.toml" in names

    venv, python = _venv(tmp_path, _dependencies_view(tmp_path))
    work = tmp_path / "work"  # no plans/ folder here
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "TUI_BENCH_"))}
    env |= {"TUI_BENCH_HOME": str(tmp_path / "bench"), "PATH": f"{venv / 'bin'}:{env['PATH']}"}
    _run(
        python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", wheel,
        cwd=work, env=env,
    )  # fmt: skip

    where = Path(
        _run(python, "-c", "import tui_bench; print(tui_bench.__file__)", cwd=work, env=env).strip()
    ).resolve()
    assert where.is_relative_to(venv.resolve()) and not where.is_relative_to(REPO), where

    tui_bench = venv / "bin" / "tui-bench"
    listed = json.loads(_run(tui_bench, "plans", "--format", "json", cwd=work, env=env))
    by_id = {e["id"]: e for e in listed}
    assert {"quickstart", "dual-llm", "mock"} <= set(by_id)
    assert all(e["error"] is None for e in listed)
    assert Path(by_id["mock"]["path"]).resolve().is_relative_to(venv.resolve())
    assert by_id["dual-llm"]["models"] == ["smollm2-135m", "gemma3-270m"]
    table = _run(tui_bench, "plans", cwd=work, env=env)
    assert all(plan in table for plan in ("quickstart", "dual-llm", "mock"))

    out = tmp_path / "out"
    _run(tui_bench, "run", "mock", "--headless", "--output", out, cwd=work, env=env)
    data = json.loads((out / "data.json").read_text())
    assert data["run"]["status"] == "completed" and data["run"]["passed"] is True
    assert data["run"]["plan_path"].endswith("/site-packages/tui_bench/plans/mock.toml")
    assert {m["id"] for m in data["models"]} == {"mock-fast", "mock-slow"}
    assert "# tui-bench report: mock" in (out / "report.md").read_text()
