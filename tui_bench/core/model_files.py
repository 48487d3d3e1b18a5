"""The GGUF files on this machine a plan's model uses, resolved as the plan reads.

A llama_cpp model loads its ``source``; an ``openai`` model with ``launch = true`` serves
its ``source``; an ``openai`` model's ``tokenizer`` counts tokens. Each is a file here, and
a relative path in any of them is relative to the plan's folder (then to the current
directory), as for every ``source``. (An ``openai`` model's ``source`` without ``launch``
is only a description of what the server runs: not a file to find.)

Plan loading checks them (:func:`tui_bench.core.plan.check_sources`); the engine resolves
them once per model before loading it and hands the backend the resolved paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, TypeVar


class _Spec(Protocol):
    """What is read of a plan's ``ModelSpec`` (not imported: the plan imports this)."""

    @property
    def backend(self) -> str: ...
    @property
    def source(self) -> str | None: ...
    @property
    def tokenizer(self) -> str | None: ...
    @property
    def launch(self) -> bool | None: ...
    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any: ...


S = TypeVar("S", bound=_Spec)


def model_files(spec: _Spec) -> list[tuple[str, str]]:
    """``(field, source)`` of each local GGUF the model uses (fields as the spec names them)."""
    files: list[tuple[str, str]] = []
    if spec.source is not None and (spec.backend == "llama_cpp" or spec.launch):
        files.append(("source", spec.source))
    if spec.tokenizer is not None:
        files.append(("tokenizer", spec.tokenizer))
    return files


def resolve_files(spec: S, base_dir: Path | None) -> tuple[Path | None, S]:
    """The model's file (what a llama_cpp model loads or a launched server serves; None
    otherwise) and the spec its backend is given, its file fields as resolved paths. A
    builtin is assembled on first use. Raises ``ModelNotFoundError``."""
    from tui_bench.core.models import resolve_source

    resolved = {
        field: resolve_source(source, base_dir=base_dir, assemble=True)
        for field, source in model_files(spec)
    }
    if not resolved:
        return None, spec
    local: S = spec.model_copy(update={k: str(p) for k, p in resolved.items()})
    return resolved.get("source"), local
