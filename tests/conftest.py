"""Shared fixtures: every test gets its own TUI_BENCH_HOME, so user state is never touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bench_helpers import smollm2_file


@pytest.fixture(autouse=True)
def bench_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("TUI_BENCH_HOME", str(home))
    # the gemma builtin is assembled once per test session, not once per test
    shared_cache = os.environ.get("TUI_BENCH_TEST_CACHE")
    if shared_cache and not (home / "cache").exists():
        (home / "cache").symlink_to(shared_cache)
    return home


@pytest.fixture(scope="session", autouse=True)
def _shared_model_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    if "TUI_BENCH_TEST_CACHE" not in os.environ:
        path = tmp_path_factory.mktemp("model-cache")
        os.environ["TUI_BENCH_TEST_CACHE"] = str(path)


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    path = smollm2_file()
    assert path.exists()
    return path
