""":func:`describe`: header facts for one entry, read with
:func:`tui_bench.core.gguf.read_gguf`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tui_bench.core.gguf import human_bytes, human_params, read_gguf
from tui_bench.core.models.builtin import BUILTINS, assembly
from tui_bench.core.models.entries import (
    NOT_ASSEMBLED,
    ModelEntry,
    absolute,
    make_entry,
    split_parts,
)


def entry_for_path(path: str | os.PathLike[str]) -> ModelEntry:
    """An entry for a file given by path (what ``tui-bench models PATH`` describes)."""
    p = absolute(path)
    return make_entry(str(p), "models_dir", p)


def describe(entry: ModelEntry | str | os.PathLike[str]) -> dict[str, Any]:
    """Header facts for one entry; never raises (a bad file gets an ``unreadable`` status).

    Keys: id, name, origin, kind, path, parts, size_bytes, size, architecture, quantization,
    n_params, params, context_length, chat_template, status. ``status`` is ``ok``,
    ``truncated (N of M bytes)``, ``unreadable: <reason>`` or, for a builtin not assembled
    yet, ``not assembled yet (assembled on first use)``.
    """
    if not isinstance(entry, ModelEntry):
        entry = entry_for_path(entry)
    out: dict[str, Any] = {
        "id": entry.id,
        "name": entry.name,
        "origin": entry.origin,
        "kind": entry.kind,
        "path": str(entry.path),
        "parts": entry.parts,
        "size_bytes": entry.size_bytes,
        "size": human_bytes(entry.size_bytes),
        "architecture": None,
        "quantization": None,
        "n_params": None,
        "params": None,
        "context_length": None,
        "chat_template": None,
        "status": "ok",
    }
    current = entry.path
    infos = []
    try:
        files, status = _header_files(entry)
        for current in files:
            infos.append(read_gguf(current))
    except Exception as exc:  # describe() lists many files: one bad file is a status
        reason = (str(exc) or type(exc).__name__).removeprefix(f"{current}: ")
        out["status"] = f"unreadable: {reason}"
        return out
    head = infos[0]
    n_params = sum(i.n_params for i in infos)
    out.update(
        architecture=head.architecture,
        quantization=head.quantization,
        n_params=n_params,
        params=human_params(n_params),
        context_length=head.context_length,
        chat_template=head.has_chat_template,
    )
    if status is None:
        status = "ok"
        for i in infos:
            if i.truncated:
                status = f"truncated ({i.file_size} of {i.expected_size} bytes)"
                if len(infos) > 1:
                    status += f" in {i.path.name}"
                break
    out["status"] = status
    return out


def _header_files(entry: ModelEntry) -> tuple[list[Path], str | None]:
    """The files whose headers describe ``entry``, and a status fixed in advance (or None)."""
    if entry.origin == "builtin" and not entry.path.is_file():
        b = BUILTINS.get(entry.id.removeprefix("builtin:"))
        if b is not None and b.assembled:
            # The first chunk holds the whole header: the facts are known before assembly.
            return assembly(b).chunks[:1], NOT_ASSEMBLED
    files = split_parts(entry.path) if entry.parts > 1 else [entry.path]
    for i, f in enumerate(files, 1):
        if not f.is_file():
            if len(files) > 1:
                raise _Unreadable(f"part {i} of {len(files)} is missing ({f.name})")
            raise _Unreadable("file not found")
    return files, None


class _Unreadable(Exception):
    """A reason why describe() cannot read an entry's header."""
