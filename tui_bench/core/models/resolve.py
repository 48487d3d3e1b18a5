""":func:`resolve_source`: a plan's ``source`` string to a file path. A source resolves
whether or not the file is a valid GGUF: a corrupt model is a failed run, recorded as
such, not a missing one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tui_bench.core.errors import ModelNotFoundError
from tui_bench.core.models.builtin import resolve_builtin
from tui_bench.core.models.entries import (
    ModelEntry,
    absolute,
    display_name,
    mtime,
    subdirs,
    unique_paths,
)
from tui_bench.core.models.stores import (
    OLLAMA_NAMESPACE,
    OLLAMA_REGISTRY,
    default_dirs,
    discover,
    hf_cache_dir,
    lmstudio_dirs,
    ollama_blob,
    ollama_dirs,
)


def _resolve_hf(rest: str) -> Path:
    source = f"hf:{rest}"
    parts = [p for p in rest.split("/") if p]
    root = hf_cache_dir()
    # ORG/REPO/FILE first; then REPO/FILE for the old organisation-less repositories.
    for n in (2, 1):
        if len(parts) <= n:
            continue
        repo_dir = root / ("models--" + "--".join(parts[:n]))
        rel = "/".join(parts[n:])
        snapshots = sorted(
            subdirs(repo_dir / "snapshots"), key=lambda s: (mtime(s), s.name), reverse=True
        )
        for snap in snapshots:
            path = snap / rel
            if path.is_file():
                return path
    if len(parts) < 3:
        raise ModelNotFoundError(f"{source}: expected hf:ORG/REPO/FILE.gguf")
    repo, rel = "/".join(parts[:2]), "/".join(parts[2:])
    raise ModelNotFoundError(
        f"{source} is not in the Hugging Face cache ({root}): huggingface-cli download {repo} {rel}"
    )


def _resolve_lmstudio(rest: str) -> Path:
    roots = lmstudio_dirs()
    for root in roots:
        path = root / rest
        if path.is_file():
            return path
    where = ", ".join(str(r) for r in roots)
    raise ModelNotFoundError(f"lmstudio:{rest} is not in LM Studio's models ({where})")


def _resolve_ollama(rest: str) -> Path:
    name, tag = rest, "latest"
    if ":" in rest.rsplit("/", 1)[-1]:
        name, tag = rest.rsplit(":", 1)
    parts = name.split("/")
    if len(parts) == 1:
        key = (OLLAMA_REGISTRY, OLLAMA_NAMESPACE, parts[0])
    elif len(parts) == 2:
        key = (OLLAMA_REGISTRY, parts[0], parts[1])
    elif len(parts) == 3:
        key = (parts[0], parts[1], parts[2])
    else:
        key = ("", "", "")
    if not all(key) or not tag:
        raise ModelNotFoundError(f"ollama:{rest}: expected ollama:NAME[:TAG]")
    roots = ollama_dirs()
    for root in roots:
        manifest = root.joinpath("manifests", *key, tag)
        if manifest.is_file():
            blob = ollama_blob(root, manifest)
            if blob is None:
                raise ModelNotFoundError(
                    f"ollama:{name}:{tag}: {manifest} names no model weights present in {root / 'blobs'}"
                )
            return blob
    where = ", ".join(str(r) for r in roots)
    raise ModelNotFoundError(
        f"ollama:{name}:{tag} is not in Ollama's models ({where}): ollama pull {name}:{tag}"
    )


def _is_bare_name(text: str) -> bool:
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return not any(s in text for s in seps) and not text.startswith("~")


def _match_keys(entry: ModelEntry) -> set[str]:
    keys = {entry.name, entry.path.name, display_name(entry.path)}
    if entry.path.name.lower().endswith(".gguf"):
        keys.add(entry.path.name[:-5])
    return keys


def _find_by_name(name: str, dirs: Sequence[Path]) -> ModelEntry | None:
    """A discovered file whose name or stem is ``name``: models folders, stores, builtins."""
    order = {"models_dir": 0, "hf_cache": 1, "lmstudio": 2, "ollama": 3, "builtin": 4}
    entries = sorted(discover(dirs), key=lambda e: order[e.origin])  # stable: keeps dir order
    for fold in (False, True):
        want = name.casefold() if fold else name
        for entry in entries:
            keys = {k.casefold() for k in _match_keys(entry)} if fold else _match_keys(entry)
            if want in keys:
                return entry
    return None


def _resolve_path(
    text: str, base_dir: Path | None, dirs: Sequence[Path] | None, assemble: bool
) -> Path:
    path = Path(text).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [Path(base_dir) / path] if base_dir is not None else []
        candidates.append(Path.cwd() / path)
    candidates = [absolute(c) for c in candidates]
    for c in candidates:
        if c.exists() and not c.is_dir():
            return c
    if any(c.is_dir() for c in candidates):
        raise ModelNotFoundError(f"{text} is a directory; name a .gguf file inside it")
    if path.is_absolute():
        raise ModelNotFoundError(f"model file not found: {text}")
    groups = [", ".join(str(p) for p in unique_paths(c.parent for c in candidates))]
    if _is_bare_name(text):
        folders = list(dirs) if dirs is not None else default_dirs()
        entry = _find_by_name(text, folders)
        if entry is not None:
            if entry.origin == "builtin":
                return resolve_builtin(entry.name, assemble=assemble)
            return entry.path
        if folders:
            groups.append("models folders " + ", ".join(str(d) for d in folders))
        groups.append("the Hugging Face cache, LM Studio and Ollama")
    raise ModelNotFoundError(f"model file not found: {text} (looked in {'; '.join(groups)})")


def resolve_source(
    source: str,
    *,
    base_dir: Path | None = None,
    assemble: bool = True,
    models_dirs: Sequence[Path] | None = None,
) -> Path:
    """The GGUF file a plan's ``source`` names. Raises :class:`ModelNotFoundError`.

    Accepts ``builtin:NAME``, ``ollama:NAME[:TAG]``, ``hf:ORG/REPO/FILE.gguf``,
    ``lmstudio:PUBLISHER/REPO/FILE.gguf``, a path (absolute, ``~``, or relative to
    ``base_dir`` and then to the current directory) or a bare file name or stem found by
    :func:`discover`. With ``assemble=False`` a builtin is only checked for availability and
    the path returned may not exist yet. The file's contents are never checked here.
    """
    text = source.strip()
    if not text:
        raise ModelNotFoundError("empty model source")
    scheme, sep, rest = text.partition(":")
    if sep:
        if scheme == "builtin":
            return resolve_builtin(rest, assemble=assemble)
        if scheme == "hf":
            return _resolve_hf(rest)
        if scheme == "lmstudio":
            return _resolve_lmstudio(rest)
        if scheme == "ollama":
            return _resolve_ollama(rest)
    dirs = None if models_dirs is None else [absolute(d) for d in models_dirs]
    return _resolve_path(text, base_dir, dirs, assemble)
