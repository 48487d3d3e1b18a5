"""Default folders the TUI proposes: the same layout as the CLI's ``runs/`` folder."""

from __future__ import annotations

from pathlib import Path

from tui_bench.core import paths


def default_output_dir(plan_name: str, *, run_id: int | None = None) -> Path:
    return paths.run_output_dir(plan_name, run_id=run_id)
