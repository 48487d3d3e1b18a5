"""Command-line overrides of a plan are held to the plan's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_bench.core.errors import PlanError


def test_cli_max_tokens_override_is_validated_like_the_file(tmp_path: Path) -> None:
    from tui_bench.cli.run import _load

    (tmp_path / "m.gguf").write_bytes(b"GGUF" + bytes(20))
    path = tmp_path / "p.toml"
    path.write_text(
        'name = "t"\n[[models]]\nid = "m"\nsource = "m.gguf"\nn_ctx = 512\n'
        '[[prompts]]\nid = "p"\ntext = "x"\n'
    )
    assert _load(str(path), {"max_tokens": 100, "repeats": 2}).plan.defaults.max_tokens == 100
    with pytest.raises(PlanError) as err:
        _load(str(path), {"max_tokens": 600, "repeats": None})
    assert str(err.value) == (
        f"{path} with --max-tokens 600: defaults.max_tokens: 600 exceeds models[0].n_ctx (512)"
    )
