"""Embeddings through the llama.cpp worker (the ``embed`` op) with SmolLM2, and the
pipeline's embedding retriever: vectors checked against the GGUF's own embedding size
and unit length, rankings and metrics against a cosine computed here from the vectors
the Embedder returns, the command end to end.

SmolLM2-135M is a causal LM, not an embedding model: mean pooling separates a clear
paraphrase from an unrelated sentence by a wide margin (0.90 against 0.67 here), which is
all these tests ask of its vectors' meaning."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bench_helpers import cli_env, smollm2_file, tui_bench_cmd

from tui_bench.core.backends.llama_embedder import Embedder
from tui_bench.core.errors import EXIT_BAD_INPUT, BackendError, UserError
from tui_bench.core.gguf import read_gguf
from tui_bench.core.pipeline.retrieve import retrieval_metrics
from tui_bench.core.pipeline.retrieve_embed import EmbeddingRetriever
from tui_bench.core.scenarios import SCENARIOS_ENV, find_scenario, load_rag_data

QUESTION = "How do I reset my password?"
PARAPHRASE = "I forgot my password and need to change it."
UNRELATED = "The weather in Paris is sunny today."


@pytest.fixture(autouse=True)
def _no_user_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCENARIOS_ENV, raising=False)


def _embed(texts: list[str], **kw: Any) -> tuple[Any, Embedder]:
    async def go() -> tuple[Any, Embedder]:
        e = Embedder(str(smollm2_file()), **kw)
        await e.load()
        try:
            return await e.embed(texts), e
        finally:
            await e.close()

    return asyncio.run(go())


def _ranking(doc_vecs: Any, q_vec: Any, ids: list[str]) -> list[tuple[str, float]]:
    """Cosine computed apart: float64, each vector normalised here."""
    d = doc_vecs.astype(np.float64)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    q = q_vec.astype(np.float64) / np.linalg.norm(q_vec)
    sims = d @ q
    order = sorted(range(len(ids)), key=lambda i: (-sims[i], i))
    return [(ids[i], float(sims[i])) for i in order]


@pytest.mark.real
def test_vectors_have_the_model_s_size_unit_length_and_meaning() -> None:
    n_embd = read_gguf(smollm2_file(), tensors=False).metadata["llama.embedding_length"]
    texts = [QUESTION, PARAPHRASE, UNRELATED, QUESTION, ""]
    found, e = _embed(texts)
    v = found.vectors
    assert v.shape == (5, n_embd) and v.dtype == np.float32 and e.n_embd == n_embd
    assert np.linalg.norm(v.astype(np.float64), axis=1) == pytest.approx(np.ones(5), abs=1e-6)
    # the same text in the same batch: the same vector; with itself, cosine 1
    assert np.array_equal(v[0], v[3])
    assert float(v[0] @ v[0]) == pytest.approx(1.0, abs=1e-6)
    # a paraphrase is closer than an unrelated sentence, by a wide margin
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.1
    # every text its own sequence, packed into one batch; the empty text embedded as a space
    assert found.n_batches == 1 and found.truncated == 0
    assert found.n_tokens[0] == found.n_tokens[3] and found.n_tokens[4] >= 1
    assert e.info["pooling"] == "mean" and e.info["pooling_applied"] == "mean"
    assert e.info["source"] == str(smollm2_file()) and e.info["n_embd"] == n_embd


@pytest.mark.real
def test_a_text_alone_and_in_a_batch_and_truncation() -> None:
    async def go() -> tuple[Any, Any, Any]:
        e = Embedder(str(smollm2_file()), n_ctx=64)
        await e.load()
        try:
            batch = await e.embed([UNRELATED, QUESTION, PARAPHRASE])
            alone = await e.embed([QUESTION])
            long = await e.embed([" ".join(["password"] * 200), QUESTION])
            return batch, alone, long
        finally:
            await e.close()

    batch, alone, long = asyncio.run(go())
    # a sequence's vector does not depend on its neighbours in the batch
    assert alone.vectors[0] == pytest.approx(batch.vectors[1], abs=1e-5)
    assert long.truncated == 1 and long.n_tokens[0] == 64  # cut to n_batch (= n_ctx) tokens
    assert long.n_batches == 2  # the cut text fills a batch: the question goes in the next
    assert long.vectors[1] == pytest.approx(alone.vectors[0], abs=1e-5)


@pytest.mark.real
def test_repacking_crash_falls_back_to_repacking_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUI_BENCH_FAULT_REPACK_CRASH", "1")
    found, e = _embed([QUESTION, PARAPHRASE])
    assert "weight repacking turned off" in e.info["fallback"]
    assert e.info["repack"] is False and e.spec.repack is False
    assert float(found.vectors[0] @ found.vectors[1]) > 0.5


@pytest.mark.real
def test_a_model_not_loaded_for_embeddings_says_so() -> None:
    from tui_bench.core.backends.llama_embedder import LlamaEmbedder, embedder_spec

    class Plain(LlamaEmbedder):
        def _load_options(self) -> dict[str, Any]:
            return {}

    async def go() -> str:
        b = Plain(embedder_spec(str(smollm2_file()), n_ctx=256), smollm2_file())
        await b.load()
        try:
            with pytest.raises(BackendError) as exc:
                await b.embed([QUESTION])
            return str(exc.value)
        finally:
            await b.close()

    assert "not loaded for embeddings" in asyncio.run(go())


@pytest.mark.real
def test_embedding_retriever_ranks_by_the_embedder_s_cosine() -> None:
    data = load_rag_data(find_scenario("support-rag"))
    docs, questions = data.documents, data.questions[:4]
    ids = [d.id for d in docs]

    async def go() -> tuple[list[Any], Any, list[Any], dict[str, Any]]:
        r = EmbeddingRetriever(docs, source=str(smollm2_file()), top_k=5)
        await r.open()
        try:
            got = [await r.search(q.text) for q in questions]
            doc_vecs = (await r.embedder.embed([f"{d.title} {d.text}" for d in docs])).vectors
            q_vecs = [(await r.embedder.embed([q.text])).vectors[0] for q in questions]
            return got, doc_vecs, q_vecs, r.info()
        finally:
            await r.close()

    got, doc_vecs, q_vecs, info = asyncio.run(go())
    assert info["retriever"] == "embed" and info["chunks"] == len(docs)
    assert info["embedder"]["pooling"] == "mean" and info["embed_chunks_ms"] > 0
    for found, q_vec in zip(got, q_vecs, strict=True):
        expect = _ranking(doc_vecs, q_vec, ids)
        assert [d for d, _ in found.top] == [d for d, _ in expect[:5]]
        assert [s for _, s in found.top] == pytest.approx([s for _, s in expect[:5]], abs=1e-5)
        assert sorted(d for d, _ in found.ranking) == sorted(ids)


@pytest.mark.real
def test_pipeline_with_embed_retriever_end_to_end(tmp_path: Path, bench_home: Path) -> None:
    out = tmp_path / "out"
    source = str(smollm2_file())
    run = subprocess.run(
        tui_bench_cmd(
            "pipeline", "support-rag", "--retriever", "embed", "--embed-model", source,
            "--limit", "2", "--max-tokens", "4", "-o", str(out),
        ),
        env=cli_env(bench_home), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr
    data = json.loads((out / "data.json").read_text())
    assert data["config"]["retriever"] == "embed" and data["config"]["embed_model"] == source
    detail = data["setup"]["retrieve"]["detail"]
    assert detail["retriever"] == "embed" and detail["embedder"]["pooling"] == "mean"
    assert detail["embedder"]["n_embd"] == 576 and data["setup"]["retrieve"]["setup_ms"] > 0
    report = (out / "report.md").read_text()
    assert "- retriever: embedding cosine (llama.cpp, mean pooling" in report

    # each question's ranking and metrics from vectors embedded here, apart from the run:
    # the documents in one call and each question alone, as the run embeds them (a text's
    # vector moves in the 6th digit with its batch's neighbours, enough to swap near-ties)
    s = find_scenario("support-rag")
    rag = load_rag_data(s)
    docs, questions = rag.documents, rag.questions[:2]
    doc_vecs, q_vecs = _embed_apart(
        [f"{d.title} {d.text}" for d in docs], [q.text for q in questions]
    )
    stamps = {d.id: d.ts for d in docs}
    for q, q_vec, got in zip(questions, q_vecs, data["questions"], strict=True):
        expect = _ranking(doc_vecs, q_vec, [d.id for d in docs])
        assert [d for d, _ in got["retrieve"]["top"]] == [d for d, _ in expect[:10]]
        assert [sc for _, sc in got["retrieve"]["top"]] == pytest.approx(
            [sc for _, sc in expect[:10]], abs=2e-6
        )
        want = retrieval_metrics([d for d, _ in expect], q.relevant, stamps, s.ranking, 10)
        assert got["retrieve"]["metrics"] == pytest.approx(want)
        assert (
            got["spans"]["retrieve"]["cpu_ms"] is None and got["spans"]["retrieve"]["wall_ms"] > 0
        )


def _embed_apart(doc_texts: list[str], queries: list[str]) -> tuple[Any, list[Any]]:
    async def go() -> tuple[Any, list[Any]]:
        e = Embedder(str(smollm2_file()))
        await e.load()
        try:
            docs = (await e.embed(doc_texts)).vectors
            return docs, [(await e.embed([q])).vectors[0] for q in queries]
        finally:
            await e.close()

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--retriever", "embed", "--embed-model", "mock:"], "--embed-model: mock:"),
        (["--retriever", "embed", "--embed-model", "/nonexistent/x.gguf"], "x.gguf"),
    ],
)
def test_bad_embed_options_are_one_line_exit_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from tui_bench.cli.pipeline import pipeline

    r = CliRunner().invoke(
        pipeline, ["support-rag", *args, "-o", str(tmp_path / "out")], standalone_mode=False
    )
    assert isinstance(r.exception, UserError) and r.exception.exit_code == EXIT_BAD_INPUT
    assert message in str(r.exception) and "\n" not in str(r.exception)
