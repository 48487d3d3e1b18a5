"""A llama.cpp model that turns texts into vectors (the worker's ``embed`` op,
:mod:`.llama_embed`), for the pipeline's embedding retriever.

It runs in the same worker process as a model under test, started and stopped the same
way (:class:`LlamaEmbedder` is a :class:`~.llama_cpp.LlamaCppBackend` whose load command
asks for an embedding context). :class:`Embedder` is what a caller holds: it resolves the
source as a plan's model resolves (a builtin is assembled on first use), loads it, times
the load and each call, and keeps what the vectors came from (model, pooling, size).

Weight repacking: loaded with ``repack = "auto"``, like a model under test. If the worker
dies by a native signal on its first embedding with repacking on (llama.cpp's repacking
crashes on some CPUs, AMX), the model is loaded again with repacking off and the call
made again, once; the reason is kept in :attr:`Embedder.info` (``fallback``). The
load and the fallback are the engine's (:class:`~.session.ModelSession`).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from tui_bench.core.backends.base import LoadInfo
from tui_bench.core.backends.llama_cpp import LlamaCppBackend
from tui_bench.core.backends.llama_embed import DEFAULT_POOLING, POOLING
from tui_bench.core.backends.session import ModelSession
from tui_bench.core.errors import BackendError, UserError
from tui_bench.core.plan import ModelSpec

DEFAULT_EMBED_MODEL = "builtin:smollm2-135m"
EMBED_N_CTX = 2048
EMBED_TIMEOUT_S = 600.0


@dataclass
class Embeddings:
    """One call's vectors (``n_texts × n_embd`` float32, unit rows) and its figures."""

    vectors: Any
    wall_ms: float  # the call's round trip, as the caller sees it
    n_tokens: list[int] = field(default_factory=list)
    truncated: int = 0
    n_batches: int = 0


class LlamaEmbedder(LlamaCppBackend):
    """A model loaded for embeddings (:meth:`load` / :meth:`close` as every backend)."""

    def __init__(self, spec: ModelSpec, path: Path, *, pooling: str = DEFAULT_POOLING) -> None:
        super().__init__(spec, path)
        self.pooling = pooling

    def _load_options(self) -> dict[str, Any]:
        return {"embeddings": True, "pooling": self.pooling}

    async def embed(self, texts: Sequence[str], *, timeout_s: float = EMBED_TIMEOUT_S) -> Any:
        """The ``embedded`` message for ``texts``, its ``vectors`` decoded (numpy)."""
        import numpy as np

        if not self.alive:
            raise BackendError(f"{self.spec.id}: {self._dead_reason or 'worker is not running'}")
        self._seq += 1
        self._errors = []
        rid = self._seq
        self._send({"op": "embed", "id": rid, "texts": list(texts)})
        try:
            msg = await self._recv(timeout_s)
        except asyncio.TimeoutError:
            await self._kill()
            self._dead_reason = f"embedding timed out after {timeout_s:g} s"
            raise BackendError(f"{self.spec.id}: {self._dead_reason}") from None
        if msg is None:
            self._dead_reason = await self._death_reason()
            self._fallback = self._repack_fallback(rid)
            raise BackendError(f"{self.spec.id}: crashed while embedding: {self._dead_reason}")
        if msg.get("type") == "error":
            raise BackendError(f"{self.spec.id}: {msg.get('message')}")
        raw = base64.b64decode(msg["vectors"])
        msg["vectors"] = np.frombuffer(raw, dtype="<f4").reshape(len(texts), int(msg["n_embd"]))
        return msg


def embedder_spec(source: str, *, n_ctx: int = EMBED_N_CTX, n_threads: int | None = None) -> Any:
    """The settings an embedding model loads with: one batch as large as the context (a
    text is embedded whole, up to ``n_ctx`` tokens), repacking ``auto``."""
    stem = Path(source).stem if source.lower().endswith(".gguf") else source
    return ModelSpec(
        id=f"embed-{stem}".replace("/", "-").replace(" ", "-"),
        source=source,
        n_ctx=n_ctx,
        n_batch=n_ctx,
        n_threads=n_threads,
        repack="auto",
    )


class Embedder:
    """A source's embedding model, loaded once: :meth:`load`, :meth:`embed`, :meth:`close`.
    ``load_ms`` is the worker's model load; each :class:`Embeddings` carries its call's
    wall time (``last_ms`` the latest)."""

    def __init__(
        self,
        source: str = DEFAULT_EMBED_MODEL,
        *,
        pooling: str = DEFAULT_POOLING,
        n_ctx: int = EMBED_N_CTX,
        n_threads: int | None = None,
        log: Callable[[str, str], None] | None = None,
    ) -> None:
        if pooling not in POOLING:
            raise UserError(f"--embed-pooling: expected one of {', '.join(POOLING)}, got {pooling}")
        if source.startswith("mock:"):
            raise UserError(f"--embed-model: {source}: the embedder needs a GGUF model")
        self.source, self.pooling = source, pooling
        spec = embedder_spec(source, n_ctx=n_ctx, n_threads=n_threads)
        self.session = ModelSession(
            spec.id, spec, make=self._make, describe=self._describe, log=log
        )
        self.log = log
        self.last_ms: float | None = None
        self.n_embd: int | None = None

    @property
    def spec(self) -> Any:
        """The settings it loads with: resolved once loaded, repacking off after the fallback."""
        return self.session.local

    @property
    def backend(self) -> LlamaEmbedder | None:
        return cast("LlamaEmbedder | None", self.session.backend)

    @property
    def path(self) -> Path | None:
        return self.session.path

    @property
    def load_ms(self) -> float | None:
        return self.session.load_ms

    @property
    def fallback(self) -> str | None:
        return self.session.fallback

    @property
    def info(self) -> dict[str, Any]:
        return self.session.info

    async def load(self) -> float:
        """Resolve and load the model; the load time (ms). ``TuiBenchError`` on failure."""
        from tui_bench.core.model_files import resolve_files

        found = await asyncio.to_thread(resolve_files, self.spec, None)
        self.session.path, self.session.local = found
        await self.session.load()
        assert self.load_ms is not None
        return self.load_ms

    def _make(self, spec: ModelSpec, path: Path | None) -> LlamaEmbedder:
        assert path is not None
        return LlamaEmbedder(spec, path, pooling=self.pooling)

    def _describe(self, info: LoadInfo) -> dict[str, Any]:
        keep = ("desc", "n_params", "n_ctx", "n_ctx_train", "n_threads", "repack", "path")
        return {
            "model": self.spec.id,
            "source": self.source,
            "pooling": self.pooling,
            **{k: info.info.get(k) for k in keep},
            "pid": info.pid,
        }

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Unit vectors for ``texts``, in order; reloads once with repacking off after the
        repacking crash (see the module's doc). ``BackendError`` otherwise."""
        backend = self.backend
        if backend is None:
            raise BackendError(f"{self.spec.id}: not loaded")
        while True:
            t0 = time.perf_counter_ns()
            try:
                msg = await backend.embed(texts)
            except BackendError:
                if not await self.session.after_failure(False):
                    raise
                await self.session.load()
                backend = self.backend
                assert backend is not None
                continue
            self.last_ms = (time.perf_counter_ns() - t0) / 1e6
            self.n_embd = int(msg["n_embd"])
            self.info.update(n_embd=self.n_embd, pooling_applied=msg["pooling"])
            return Embeddings(
                msg["vectors"],
                self.last_ms,
                list(msg["n_tokens"]),
                int(msg["truncated"]),
                int(msg["n_batches"]),
            )

    async def close(self) -> None:
        await self.session.close()
