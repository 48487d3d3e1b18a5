"""The encoders of the Hugging Face cache, found offline to be offered (a fake cache laid
out as the hub library writes it), and a model typed by hand, checked before it is
offered: one line when it is not a model on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify import encoders
from tui_bench.core.errors import UserError


def hub_model(
    cache: Path,
    repo: str,
    *,
    model_type: str = "bert",
    weights: str | None = "model.safetensors",
    commit: str = "abc123",
) -> Path:
    """A cached model: refs/main names its snapshot, which holds config.json and weights."""
    root = cache / ("models--" + repo.replace("/", "--"))
    snap = root / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps({"model_type": model_type, "vocab_size": 30}))
    if weights:
        (snap / weights).write_bytes(b"placeholder")
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit)
    return snap


def model_dir(path: Path, *, config: bool = True, weights: bool = True) -> Path:
    path.mkdir(parents=True)
    if config:
        (path / "config.json").write_text(json.dumps({"model_type": "camembert"}))
    if weights:
        (path / "model.safetensors").write_bytes(b"placeholder")
    return path


def test_the_cache_offers_its_encoders_with_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    hub_model(cache, "org/tiny-bert")
    hub_model(cache, "almanach/camembert-like", model_type="camembert", weights="pytorch_model.bin")
    hub_model(
        cache, "org/sharded-xlmr", model_type="xlm-roberta", weights="model.safetensors.index.json"
    )
    hub_model(cache, "org/chat-llm", model_type="llama")  # a decoder: not offered
    hub_model(cache, "org/unfinished", weights=None)  # config fetched, weights never were
    broken = hub_model(cache, "org/broken-link", weights=None)
    (broken / "model.safetensors").symlink_to(tmp_path / "blobs" / "gone")
    (cache / "models--org--no-snapshot").mkdir()
    (cache / "datasets--org--some-data").mkdir()
    (cache / "version.txt").write_text("1")
    assert encoders.cached_models() == [
        "almanach/camembert-like",
        "org/sharded-xlmr",
        "org/tiny-bert",
    ]
    assert encoders.cached_models(limit=2) == ["almanach/camembert-like"]  # 2 repos looked at
    assert cand.cached_names() == encoders.cached_models()  # torch and transformers are here
    # each resolves offline to the snapshot it was found in
    assert encoders.model_folder("org/tiny-bert") == cache / (
        "models--org--tiny-bert/snapshots/abc123"
    )


def test_no_cache_is_an_empty_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "nowhere"))
    assert encoders.cached_models() == []


def test_a_model_typed_by_hand_is_checked_and_named_by_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    hub_model(cache, "org/tiny-bert")
    folder = model_dir(tmp_path / "models" / "camembert-like")
    monkeypatch.chdir(tmp_path)
    assert cand.checked_name("models/camembert-like") == str(folder)  # absolute
    assert cand.checked_name(" frozen:models/camembert-like ") == f"frozen:{folder}"
    assert cand.checked_name("org/tiny-bert") == "org/tiny-bert"
    assert cand.checked_name("char-svm") == "char-svm"
    assert cand.checked_name("builtin:minilm-l6") == "builtin:minilm-l6"
    # one folder however it is named: one candidate, under the first name given
    names = ["char-svm", "models/camembert-like", str(folder), "./models/camembert-like/"]
    assert cand.resolve(names) == ["char-svm", "models/camembert-like"]
    assert cand.resolve([*names, f"frozen:{folder}"])[-1] == f"frozen:{folder}"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("org/absent", "model 'org/absent' is not on this machine (not in the Hugging Face"),
        ("no/such/folder/here", "model 'no/such/folder/here': no such folder"),
        ("nosuchmodel", "unknown model 'nosuchmodel' (catalog: "),
        ("majority", "majority is a baseline: it always runs"),
        ("empty", "no config.json in "),
        ("noweights", "no weights in "),
    ],
)
def test_what_is_not_a_model_here_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed: str, message: str
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    model_dir(tmp_path / "empty", config=False, weights=False)
    model_dir(tmp_path / "noweights", weights=False)
    with pytest.raises(UserError) as err:
        cand.checked_name(typed)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_checking_and_scanning_never_import_torch(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    hub_model(cache, "org/tiny-bert")
    folder = model_dir(tmp_path / "camembert-like")
    code = (
        "import sys\n"
        "from tui_bench.core.classify import candidates as cand\n"
        "print(cand.cached_names())\n"
        f"print(cand.checked_name({str(folder)!r}), cand.checked_name('org/tiny-bert'))\n"
        "print(sorted({'torch', 'transformers'} & set(sys.modules)))\n"
    )
    env = {**os.environ, "HF_HUB_CACHE": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.splitlines() == [
        "['org/tiny-bert']",
        f"{folder} org/tiny-bert",
        "[]",
    ]
