"""Where users keep GGUF files (models folders, the Hugging Face cache, LM Studio, Ollama)
and :func:`discover`, which lists them without reading weights or hashing.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from tui_bench.core.models.builtin import builtin_entries
from tui_bench.core.models.entries import (
    MODELS_DIR_ENV,
    ModelEntry,
    absolute,
    make_entry,
    mtime,
    subdirs,
    unique_paths,
    walk_gguf,
)

# Ollama's system-wide store (Linux service install); a module constant so tests can empty it.
OLLAMA_SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/ollama/.ollama/models"),)


OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"


OLLAMA_REGISTRY = "registry.ollama.ai"


OLLAMA_NAMESPACE = "library"


def models_dirs(extra: Sequence[str | os.PathLike[str]] = ()) -> list[Path]:
    """The folders searched for GGUF files, in priority order, without duplicates.

    ``--models-dir`` folders first, then ``TUI_BENCH_MODELS_DIR`` (``os.pathsep``-separated),
    then ``~/models`` and ``./models`` where they exist.
    """
    found = [absolute(d) for d in extra]
    env = os.environ.get(MODELS_DIR_ENV, "")
    found += [absolute(part) for part in env.split(os.pathsep) if part.strip()]
    found += [d for d in (absolute("~/models"), absolute("models")) if d.is_dir()]
    return unique_paths(found)


default_dirs = models_dirs  # discover() and resolve_source() shadow the name with a parameter


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, following the hub library's own environment variables."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return absolute(os.environ[var])
    if os.environ.get("HF_HOME"):
        return absolute(os.environ["HF_HOME"]) / "hub"
    if os.environ.get("XDG_CACHE_HOME"):
        return absolute(os.environ["XDG_CACHE_HOME"]) / "huggingface" / "hub"
    return absolute("~/.cache/huggingface/hub")


def lmstudio_dirs() -> list[Path]:
    dirs = [absolute("~/.lmstudio/models"), absolute("~/.cache/lm-studio/models")]
    with contextlib.suppress(OSError, UnicodeDecodeError):
        pointer = absolute("~/.lmstudio-home-pointer").read_text(encoding="utf-8").strip()
        if pointer:
            dirs.insert(0, absolute(pointer) / "models")
    return unique_paths(dirs)


def ollama_dirs() -> list[Path]:
    env = os.environ.get("OLLAMA_MODELS")
    first = absolute(env) if env else absolute("~/.ollama/models")
    return unique_paths([first, *OLLAMA_SYSTEM_DIRS])


def _models_dir_entries(folder: Path) -> list[ModelEntry]:
    return [make_entry(str(p), "models_dir", p) for p in walk_gguf(folder)]


def _hf_repo_dirs(root: Path) -> list[tuple[str, Path]]:
    """(``org/repo``, folder) for every model repository in the hub cache."""
    out = []
    for d in subdirs(root):
        if d.name.startswith("models--"):
            out.append(("/".join(d.name[len("models--") :].split("--")), d))
    return out


def _hf_cache_entries() -> list[ModelEntry]:
    entries = []
    for repo_id, repo_dir in _hf_repo_dirs(hf_cache_dir()):
        # One entry per file: the newest snapshot holding it wins.
        newest: dict[str, Path] = {}
        snapshots = subdirs(repo_dir / "snapshots")
        for snap in sorted(snapshots, key=lambda s: (mtime(s), s.name)):
            for path in walk_gguf(snap):
                newest[path.relative_to(snap).as_posix()] = path
        for rel in sorted(newest):
            entries.append(make_entry(f"hf:{repo_id}/{rel}", "hf_cache", newest[rel]))
    return entries


def _lmstudio_entries() -> list[ModelEntry]:
    entries = []
    for root in lmstudio_dirs():
        for publisher in subdirs(root):
            for repo in subdirs(publisher):
                for path in walk_gguf(repo):
                    rel = path.relative_to(root).as_posix()
                    entries.append(make_entry(f"lmstudio:{rel}", "lmstudio", path))
    return entries


def _ollama_id(registry: str, namespace: str, model: str, tag: str) -> str:
    if registry == OLLAMA_REGISTRY:
        name = model if namespace == OLLAMA_NAMESPACE else f"{namespace}/{model}"
    else:
        name = f"{registry}/{namespace}/{model}"
    return f"ollama:{name}:{tag}"


def ollama_blob(root: Path, manifest: Path) -> Path | None:
    """The model weights a manifest points at, or None (unreadable, no model layer, no blob)."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        layers = data.get("layers") or []
        digest = next(
            layer["digest"]
            for layer in layers
            if isinstance(layer, dict) and layer.get("mediaType") == OLLAMA_MODEL_LAYER
        )
    except (OSError, ValueError, AttributeError, KeyError, StopIteration):
        return None
    if not isinstance(digest, str) or ":" not in digest:
        return None
    # Ollama names blobs sha256-HEX; very old versions used sha256:HEX.
    for name in (digest.replace(":", "-", 1), digest):
        blob = root / "blobs" / name
        if blob.is_file():
            return blob
    return None


def _ollama_entries() -> list[ModelEntry]:
    entries = []
    for root in ollama_dirs():
        for registry in subdirs(root / "manifests"):
            for namespace in subdirs(registry):
                for model in subdirs(namespace):
                    try:
                        tags = sorted(p for p in model.iterdir() if p.is_file())
                    except OSError:
                        continue
                    for tag in tags:
                        blob = ollama_blob(root, tag)
                        if blob is None:
                            continue
                        id_ = _ollama_id(registry.name, namespace.name, model.name, tag.name)
                        entries.append(make_entry(id_, "ollama", blob, id_.removeprefix("ollama:")))
    return entries


def discover(
    models_dirs: Sequence[str | os.PathLike[str]] | None = None, *, stores: bool = True
) -> list[ModelEntry]:
    """Every GGUF a user keeps, builtins first, then models folders, then the stores.

    ``models_dirs`` defaults to :func:`models_dirs`; ``stores=False`` skips the Hugging Face
    cache, LM Studio and Ollama. Fast: directory listings and ``stat`` only. A file reachable
    from two places is listed once, under the first.
    """
    dirs = default_dirs() if models_dirs is None else [absolute(d) for d in models_dirs]
    scans: list[Callable[[], list[ModelEntry]]] = [builtin_entries]
    scans += [lambda d=d: _models_dir_entries(d) for d in dirs]
    if stores:
        scans += [_hf_cache_entries, _lmstudio_entries, _ollama_entries]
    entries: list[ModelEntry] = []
    seen: set[str] = set()
    for scan in scans:
        try:
            found = scan()
        except OSError:
            continue
        for entry in found:
            key = os.path.realpath(entry.path)
            if key not in seen:
                seen.add(key)
                entries.append(entry)
    return entries
