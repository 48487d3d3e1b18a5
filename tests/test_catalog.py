"""The plan catalog: shipped plans inside the package, a user's folders first."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_helpers import PLANS, REPO

import tui_bench
from tui_bench.core import catalog


def _plan(folder: Path, stem: str, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = (PLANS / "mock.toml").read_text().replace('name = "mock"', f'name = "{name}"')
    path = folder / f"{stem}.toml"
    path.write_text(text)
    return path


def test_plans_ship_inside_the_package_and_the_clone_links_to_them() -> None:
    assert Path(tui_bench.__file__).resolve().parent / "plans" == catalog.SHIPPED_PLANS
    shipped = sorted(p.name for p in catalog.SHIPPED_PLANS.glob("*.toml"))
    assert shipped == ["dual-llm.toml", "mock.toml", "quickstart.toml"]
    # one copy of each file: plans/ in the clone is a relative link to the package's folder
    assert (REPO / "plans").is_symlink()
    assert str((REPO / "plans").readlink()) == "tui_bench/plans"


def test_user_folders_come_before_the_shipped_plans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(catalog.PLANS_DIR_ENV, raising=False)
    own = _plan(tmp_path / "plans", "mock", "my mock")
    assert catalog.plans_dirs() == [tmp_path / "plans", catalog.SHIPPED_PLANS]
    assert catalog.plans_dirs(shipped=False) == [tmp_path / "plans"]
    assert catalog.find_plan("mock") == own
    assert catalog.find_plan("quickstart") == catalog.SHIPPED_PLANS / "quickstart.toml"
    entries = {e.id: e for e in catalog.list_plans()}
    # the shipped mock is hidden by the user's: listed once, as find_plan would run it
    assert [e.id for e in catalog.list_plans()].count("mock") == 1
    assert entries["mock"].name == "my mock" and entries["mock"].path == own
    assert {"quickstart", "dual-llm"} <= set(entries)

    env_dir = tmp_path / "elsewhere"
    first = _plan(env_dir, "mock", "from the variable")
    monkeypatch.setenv(catalog.PLANS_DIR_ENV, str(env_dir))
    assert catalog.plans_dirs()[0] == env_dir
    assert catalog.find_plan("mock") == first
