"""Model backends: the interface (:mod:`.base`), llama.cpp in a worker process
(:mod:`.llama_cpp`, :mod:`.llama_worker`), the simulated one (:mod:`.mock`) and models
behind an OpenAI-compatible server (:mod:`.openai`).

The factory lives here, above the implementations, so that the interface module never
imports what implements it.
"""

from __future__ import annotations

from pathlib import Path

from tui_bench.core.backends.base import Backend
from tui_bench.core.plan import ModelSpec


def create_backend(spec: ModelSpec, path: Path | None) -> Backend:
    if spec.backend == "mock":
        from tui_bench.core.backends.mock import MockBackend

        return MockBackend(spec, path)
    if spec.backend == "llama_cpp":
        from tui_bench.core.backends.llama_cpp import LlamaCppBackend

        return LlamaCppBackend(spec, path)
    if spec.backend == "openai":
        from tui_bench.core.backends.openai import OpenAIBackend

        return OpenAIBackend(spec, path)
    raise ValueError(f"unknown backend {spec.backend!r}")
