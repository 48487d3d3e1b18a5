"""The redaction helper: home paths written ``~/...``, host names dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_bench.core.redact import expand_home, home_relative, public_host, redact


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home" / "ann"
    folder.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(folder))
    return folder


def test_home_relative_rewrites_only_whole_home_paths(home: Path) -> None:
    h = str(home)
    assert home_relative(f"{h}/models/a.gguf") == "~/models/a.gguf"
    assert home_relative(h) == "~"
    assert home_relative(f"cannot open '{h}/x.csv': gone") == "cannot open '~/x.csv': gone"
    assert home_relative(f"{h}/a:{h}/b") == "~/a:~/b"
    # a sibling folder whose name starts with the user's, or the home's path under another root
    assert home_relative(f"{h}na/x") == f"{h}na/x"
    assert home_relative(f"{h}.bak/x") == f"{h}.bak/x"
    assert home_relative(f"/srv{h}/x") == f"/srv{h}/x"


def test_a_home_of_root_rewrites_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/")
    assert home_relative("/usr/lib/x") == "/usr/lib/x"


def test_redact_walks_keys_values_and_paths(home: Path) -> None:
    value = {
        "path": home / "m.gguf",
        str(home / "k"): [f"{home}/a", 3, None, (f"{home}/b",)],
        "n": 1.5,
    }
    assert redact(value) == {"path": "~/m.gguf", "~/k": ["~/a", 3, None, ["~/b"]], "n": 1.5}
    assert expand_home("~/m.gguf") == f"{home}/m.gguf"
    assert expand_home("/abs/x") == "/abs/x" and expand_home(None) is None


def test_public_host_drops_the_name_and_keeps_the_hardware(home: Path) -> None:
    host = {
        "hostname": "ann-laptop",
        "label": None,
        "cpu": "CPU X",
        "ram_gb": 16.0,
        "python_executable": f"{home}/.venv/bin/python",
    }
    assert public_host(host) == {
        "label": None,
        "cpu": "CPU X",
        "ram_gb": 16.0,
        "python_executable": "~/.venv/bin/python",
    }
