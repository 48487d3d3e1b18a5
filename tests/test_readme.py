"""The README's two set-up commands are the ones CI runs."""

from __future__ import annotations

import re

from bench_helpers import REPO


def _commands(text: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [line for b in blocks for line in b.splitlines() if line.startswith("python3 -m venv")]


def test_ci_runs_the_readme_commands() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    commands = _commands(readme)
    assert len(commands) == 2
    assert "tui-bench run plans/dual-llm.toml" in commands[0]
    assert commands[1].endswith("&& pytest")
    ci_lines = [line for line in ci.splitlines() if line.startswith("python3 -m venv")]
    assert ci_lines == commands
