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
made again, once; the reason is kept in :attr:`Embedder.info` (``fallback``).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_bench.core.backends.llama_cpp import LlamaCppBackend
from tui_bench.core.backends.llama_embed import DEFAULT_POOLING, POOLING
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
        self.spec = embedder_spec(source, n_ctx=n_ctx, n_threads=n_threads)
        self.log = log
        self.backend: LlamaEmbedder | None = None
        self.path: Path | None = None
        self.load_ms: float | None = None
        self.last_ms: float | None = None
        self.n_embd: int | None = None
        self.fallback: str | None = None
        self.info: dict[str, Any] = {}

    async def load(self) -> float:
        """Resolve and load the model; the load time (ms). ``TuiBenchError`` on failure."""
        from tui_bench.core.model_files import resolve_files

        self.path, self.spec = await asyncio.to_thread(resolve_files, self.spec, None)
        await self._load()
        assert self.load_ms is not None
        return self.load_ms

    async def _load(self) -> None:
        assert self.path is not None
        backend = LlamaEmbedder(self.spec, self.path, pooling=self.pooling)
        if self.log is not None:
            log = self.log
            backend.log = lambda level, text: log(level, f"{self.spec.id}: {text}")
        try:
            info = await backend.load()
        except BaseException:
            await backend.close()
            raise
        self.backend, self.load_ms = backend, info.load_ms
        keep = ("desc", "n_params", "n_ctx", "n_ctx_train", "n_threads", "repack", "path")
        self.info = {
            "model": self.spec.id,
            "source": self.source,
            "pooling": self.pooling,
            **{k: info.info.get(k) for k in keep},
            "pid": info.pid,
        }
        if self.fallback:
            self.info["fallback"] = self.fallback

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Unit vectors for ``texts``, in order; reloads once with repacking off after the
        repacking crash (see the module's doc). ``BackendError`` otherwise."""
        if self.backend is None:
            raise BackendError(f"{self.spec.id}: not loaded")
        while True:
            t0 = time.perf_counter_ns()
            try:
                msg = await self.backend.embed(texts)
            except BackendError:
                safer = None if self.fallback else self.backend.fallback()
                if safer is None:
                    raise
                self.spec, self.fallback = safer
                if self.log is not None:
                    self.log("warning", f"{self.spec.id}: {self.fallback}; reloading")
                await self.backend.close()
                self.backend = None
                await self._load()
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
        if self.backend is not None:
            await self.backend.close()
            self.backend = None
