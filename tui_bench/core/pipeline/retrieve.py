"""The retrieve stage: TF-IDF cosine over a scenario's documents, and its metrics (the
embedding retriever, :mod:`.retrieve_embed`, shares the chunking and the ranking).

The index is scikit-learn's ``TfidfVectorizer`` (sublinear tf, English stop words) fitted
once on every document's title and text (its build time is reported apart, like a
model's load time). A question is turned into a vector by the same vectoriser and every
document scored by cosine similarity; the ranking is by score, ties by the collection's
order. With ``chunk_words`` set, each document is cut into windows of that many words
(``overlap`` words shared by neighbours) and a document scores as its best window.

Metrics, per question, over the full ranking against the judgements (documents not
judged count 0):

- ``ndcg_time@k``: temporal nDCG (:mod:`tui_bench.core.ranking`) with the scenario's
  ``now``, ``T_days`` and ``lam`` (documents with timestamps only);
- ``ndcg@k``: the same with λ = 0 (no decay: plain nDCG on gains 2^rel − 1);
- ``recall@k``: judged documents (grade > 0) in the top k / judged documents;
- ``mrr``: 1 / the rank of the first judged document (0 when none is ranked).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tui_bench.core.errors import UserError
from tui_bench.core.ranking import RankedItem, temporal_ndcg
from tui_bench.core.scenarios import Document, RankingParams

DEFAULT_TOP_K = 10
METRIC_K = 10


@dataclass(frozen=True)
class Retrieved:
    """A question's ranking: every document id, best first, with its score."""

    ranking: list[tuple[str, float]]
    top_k: int

    @property
    def top(self) -> list[tuple[str, float]]:
        return self.ranking[: self.top_k]


class TfidfRetriever:
    def __init__(
        self,
        documents: Sequence[Document],
        *,
        top_k: int = DEFAULT_TOP_K,
        chunk_words: int | None = None,
        overlap: int = 0,
    ) -> None:
        check_settings(top_k, chunk_words, overlap)
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.documents = list(documents)
        self.top_k = top_k
        self.chunk_words, self.overlap = chunk_words, overlap
        texts, self._owner = chunk_documents(self.documents, chunk_words, overlap)
        self._vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english")
        self._matrix = self._vectorizer.fit_transform(texts)
        self.n_chunks = len(texts)

    def search(self, query: str) -> Retrieved:
        from sklearn.metrics.pairwise import cosine_similarity

        sims = cosine_similarity(self._vectorizer.transform([query]), self._matrix)[0]
        return rank_documents(self.documents, self._owner, sims, self.top_k)

    def info(self) -> dict[str, Any]:
        return {
            "method": "tf-idf cosine (scikit-learn, sublinear tf, English stop words)",
            "retriever": "tfidf",
            "documents": len(self.documents),
            "chunks": self.n_chunks,
            "chunk_words": self.chunk_words,
            "overlap": self.overlap if self.chunk_words else None,
            "top_k": self.top_k,
        }


def check_settings(top_k: int, chunk_words: int | None, overlap: int) -> None:
    """``UserError`` for a top-k or chunking a retriever cannot use."""
    if top_k < 1:
        raise UserError(f"--top-k: must be at least 1, got {top_k}")
    if chunk_words is not None and (chunk_words < 1 or not 0 <= overlap < chunk_words):
        raise UserError(
            f"chunk_words/overlap: need chunk_words ≥ 1 and 0 ≤ overlap < chunk_words, "
            f"got {chunk_words}/{overlap}"
        )


def chunk_documents(
    documents: Sequence[Document], chunk_words: int | None, overlap: int
) -> tuple[list[str], list[int]]:
    """The texts a retriever indexes (each document's title and text, whole or in
    windows) and, for each, the index of its document."""
    texts: list[str] = []
    owner: list[int] = []
    for i, doc in enumerate(documents):
        for chunk in _chunks(f"{doc.title} {doc.text}".strip(), chunk_words, overlap):
            texts.append(chunk)
            owner.append(i)
    return texts, owner


def rank_documents(
    documents: Sequence[Document], owner: Sequence[int], sims: Any, top_k: int
) -> Retrieved:
    """Every document ranked by its best chunk's score (ties: the collection's order)."""
    import numpy as np

    best = np.full(len(documents), -np.inf)
    np.maximum.at(best, np.asarray(owner), np.asarray(sims, dtype=np.float64))
    order = sorted(range(len(documents)), key=lambda i: (-best[i], i))
    return Retrieved(ranking=[(documents[i].id, float(best[i])) for i in order], top_k=top_k)


def _chunks(text: str, words: int | None, overlap: int) -> list[str]:
    if words is None:
        return [text]
    tokens = text.split()
    step = words - overlap
    out = [" ".join(tokens[i : i + words]) for i in range(0, max(len(tokens) - overlap, 1), step)]
    return out or [text]


def retrieval_metrics(
    ranking: Sequence[str],
    relevant: Mapping[str, int],
    timestamps: Mapping[str, datetime | None],
    params: RankingParams,
    k: int = METRIC_K,
) -> dict[str, float | None]:
    """The question's metrics (see the module docstring) for a ranking of document ids."""
    grades = [relevant.get(doc_id, 0) for doc_id in ranking]
    dated = all(timestamps.get(doc_id) is not None for doc_id in ranking)
    now = params.now or datetime.now(timezone.utc)
    stamps = [timestamps.get(doc_id) or now for doc_id in ranking]
    items = [RankedItem(g, ts) for g, ts in zip(grades, stamps, strict=True)]
    flat = temporal_ndcg(items, k=k, now=now, T_days=params.T_days, lam=0.0).value
    timed = (
        temporal_ndcg(items, k=k, now=now, T_days=params.T_days, lam=params.lam).value
        if dated
        else None
    )
    judged = {d for d, g in relevant.items() if g > 0}
    found = sum(1 for doc_id in ranking[:k] if doc_id in judged)
    first = next((i for i, doc_id in enumerate(ranking, 1) if doc_id in judged), None)
    return {
        f"ndcg_time@{k}": timed,
        f"ndcg@{k}": flat,
        f"recall@{k}": found / len(judged) if judged else None,
        "mrr": 1.0 / first if first else 0.0,
    }
