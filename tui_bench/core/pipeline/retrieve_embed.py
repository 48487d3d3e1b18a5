"""The retrieve stage with embeddings: cosine between a question's vector and every
chunk's, from any GGUF through llama.cpp's embedding mode
(:class:`~tui_bench.core.backends.llama_embedder.Embedder`, in its own worker process).

The same chunking and ranking as :class:`~.retrieve.TfidfRetriever`: each document's
title and text, whole or in windows of ``chunk_words`` words, a document scoring as its
best chunk, ties by the collection's order. :meth:`EmbeddingRetriever.open` loads the
model and embeds every chunk once (the stage's setup, timed apart like the TF-IDF index);
:meth:`EmbeddingRetriever.search` embeds the question (inside the question's span) and
ranks by cosine, the dot product of the unit vectors the worker returns.

Any GGUF works. The default, ``builtin:smollm2-135m``, is a small causal LM, not an
embedding model: its mean-pooled hidden states rank far worse than a model trained for
embeddings (nomic-embed, bge, e5 ... as GGUF), which is the one to use for real figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tui_bench.core.backends.llama_embed import DEFAULT_POOLING
from tui_bench.core.backends.llama_embedder import DEFAULT_EMBED_MODEL, Embedder
from tui_bench.core.pipeline.retrieve import (
    DEFAULT_TOP_K,
    Retrieved,
    check_settings,
    chunk_documents,
    rank_documents,
)
from tui_bench.core.scenarios import Document

RETRIEVERS = ("tfidf", "embed")


class EmbeddingRetriever:
    """Async counterpart of ``TfidfRetriever``: ``await open()``, ``await search(q)``,
    ``info()``, ``await close()``."""

    def __init__(
        self,
        documents: Sequence[Document],
        *,
        source: str = DEFAULT_EMBED_MODEL,
        pooling: str = DEFAULT_POOLING,
        top_k: int = DEFAULT_TOP_K,
        chunk_words: int | None = None,
        overlap: int = 0,
        log: Callable[[str, str], None] | None = None,
    ) -> None:
        check_settings(top_k, chunk_words, overlap)
        self.documents = list(documents)
        self.top_k = top_k
        self.chunk_words, self.overlap = chunk_words, overlap
        self.texts, self._owner = chunk_documents(self.documents, chunk_words, overlap)
        self.n_chunks = len(self.texts)
        self.embedder = Embedder(source, pooling=pooling, log=log)
        self.matrix: Any = None  # n_chunks × n_embd, unit rows
        self.embed_ms: float | None = None  # embedding the chunks (setup, after the load)
        self.truncated = 0

    async def open(self) -> None:
        """Load the model and embed every chunk; ``TuiBenchError`` when it cannot."""
        await self.embedder.load()
        found = await self.embedder.embed(self.texts)
        self.matrix, self.embed_ms, self.truncated = found.vectors, found.wall_ms, found.truncated

    async def search(self, query: str) -> Retrieved:
        found = await self.embedder.embed([query])
        sims = self.matrix @ found.vectors[0]
        return rank_documents(self.documents, self._owner, sims, self.top_k)

    def info(self) -> dict[str, Any]:
        e = self.embedder
        return {
            "method": f"embedding cosine (llama.cpp, {e.pooling} pooling, {e.spec.id})",
            "retriever": "embed",
            "documents": len(self.documents),
            "chunks": self.n_chunks,
            "chunk_words": self.chunk_words,
            "overlap": self.overlap if self.chunk_words else None,
            "top_k": self.top_k,
            "load_ms": e.load_ms,
            "embed_chunks_ms": self.embed_ms,
            "chunks_truncated": self.truncated,
            "embedder": dict(e.info),
        }

    async def close(self) -> None:
        await self.embedder.close()
