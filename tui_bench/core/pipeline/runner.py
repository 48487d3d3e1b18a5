"""Runs a scenario's pipeline question by question: retrieve → classify → generate.

Setup first (the TF-IDF index built or the documents embedded, the classifier loaded and its labels checked, the
LLM loaded: each timed apart, never inside a question's spans), then per question each
stage of the scenario in order, each its own span (:mod:`.spans`). The runner prints
nothing: it publishes events (:mod:`.events`, ``core.events.Log``) and returns a
:class:`~.result.PipelineResult`; the caller stores and reports it.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tui_bench.core.backends.llama_embed import DEFAULT_POOLING, POOLING
from tui_bench.core.backends.llama_embedder import DEFAULT_EMBED_MODEL
from tui_bench.core.errors import UserError
from tui_bench.core.events import Event, Log
from tui_bench.core.pipeline import events as pe
from tui_bench.core.pipeline.generate import (
    CONTEXT_DOCS,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    TEMPLATE,
    GenerateStage,
    build_prompt,
    model_spec,
)
from tui_bench.core.pipeline.result import PipelineResult, QuestionResult, generate_figures
from tui_bench.core.pipeline.retrieve import (
    DEFAULT_TOP_K,
    METRIC_K,
    TfidfRetriever,
    retrieval_metrics,
)
from tui_bench.core.pipeline.retrieve_embed import RETRIEVERS, EmbeddingRetriever
from tui_bench.core.pipeline.spans import StageSpan, measure

Publish = Callable[[Event], None]


@dataclass
class PipelineConfig:
    scenario: str
    output_dir: Path
    classifier: Path | None = None
    model: str = DEFAULT_MODEL
    max_tokens: int = DEFAULT_MAX_TOKENS
    limit: int | None = None
    top_k: int = DEFAULT_TOP_K
    chunk_words: int | None = None
    overlap: int = 0
    retriever: str = "tfidf"
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_pooling: str = DEFAULT_POOLING

    def validate(self) -> None:
        for name, value in (
            ("--max-tokens", self.max_tokens),
            ("--limit", self.limit),
            ("--top-k", self.top_k),
        ):
            if value is not None and value < 1:
                raise UserError(f"{name}: must be at least 1, got {value}")
        if self.retriever not in RETRIEVERS:
            raise UserError(
                f"--retriever: expected one of {', '.join(RETRIEVERS)}, got {self.retriever}"
            )
        if self.retriever == "embed" and self.embed_pooling not in POOLING:
            raise UserError(
                f"--embed-pooling: expected one of {', '.join(POOLING)}, got {self.embed_pooling}"
            )
        if self.retriever == "embed" and self.embed_model.startswith("mock:"):
            raise UserError(f"--embed-model: {self.embed_model}: the embedder needs a GGUF model")
        model_spec(self.model)  # a bad mock: option, said before anything runs

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()} | {
            "template": TEMPLATE,
            "context_docs": CONTEXT_DOCS,
        }


class PipelineRunner:
    def __init__(self, config: PipelineConfig, publish: Publish) -> None:
        config.validate()
        self.config, self.publish = config, publish
        self._cancel = threading.Event()
        self._generate: GenerateStage | None = None

    def cancel(self) -> None:
        """Stop after the running stage (the running request stops at its next token)."""
        self._cancel.set()
        if self._generate is not None:
            self._generate.cancel()

    def run(self) -> PipelineResult:
        """Load the scenario (``UserError`` for bad input, before anything runs), then run."""
        from tui_bench.core.hostinfo import now_iso
        from tui_bench.core.scenarios import find_scenario, load_rag_data

        scenario = find_scenario(self.config.scenario)
        data = load_rag_data(scenario)
        questions = data.questions[: self.config.limit] if self.config.limit else data.questions
        result = PipelineResult(
            scenario=scenario.as_dict(),
            config=self.config.to_dict(),
            started_at=now_iso(),
            stages=list(scenario.stages),
            output_dir=str(self.config.output_dir),
        )
        classifier = None
        if "classify" in scenario.stages and self.config.classifier is not None:
            from tui_bench.core.pipeline.classifier import load_classifier

            with measure() as w:  # bad input: said before the model loads
                classifier = load_classifier(self.config.classifier, scenario.labels, scenario.id)
            result.setup["classify"] = {"setup_ms": w.wall_ms, "detail": classifier.info()}
        self.publish(
            pe.PipelineStarted(scenario.id, result.stages, len(questions), result.started_at)
        )
        try:
            asyncio.run(self._run(scenario, data, questions, classifier, result))
        finally:
            result.finished_at = now_iso()
        if result.status == "running":
            result.status = "cancelled" if self._cancel.is_set() else "completed"
        self.publish(
            pe.PipelineFinished(
                result.status, result.passed(), result.success_rate(), result.bottleneck()
            )
        )
        return result

    async def _run(
        self,
        scenario: Any,
        data: Any,
        questions: list[Any],
        classifier: Any,
        result: PipelineResult,
    ) -> None:
        stages = scenario.stages
        retriever: Any = None
        try:
            if "retrieve" in stages:
                retriever = await self._retriever(data.documents, result)
            await self._open_rest(scenario, data, questions, retriever, classifier, result)
        finally:
            if isinstance(retriever, EmbeddingRetriever):
                await retriever.close()

    async def _retriever(self, documents: list[Any], result: PipelineResult) -> Any:
        """The retrieve stage built (TF-IDF index or embedded documents), its setup timed."""
        cfg = self.config
        settings = dict(top_k=cfg.top_k, chunk_words=cfg.chunk_words, overlap=cfg.overlap)
        retriever: Any
        with measure() as w:
            if cfg.retriever == "embed":
                self.publish(Log("info", f"retrieve: embedding documents with {cfg.embed_model}"))
                log = lambda lvl, msg: self.publish(Log(lvl, msg))  # noqa: E731
                retriever = EmbeddingRetriever(
                    documents,
                    source=cfg.embed_model,
                    pooling=cfg.embed_pooling,
                    log=log,
                    **settings,
                )
                try:
                    await retriever.open()
                except BaseException:
                    await retriever.close()
                    raise
            else:
                retriever = TfidfRetriever(documents, **settings)
        result.setup["retrieve"] = {"setup_ms": w.wall_ms, "detail": retriever.info()}
        self.publish(pe.StageReady("retrieve", w.wall_ms, retriever.info()))
        return retriever

    async def _open_rest(
        self,
        scenario: Any,
        data: Any,
        questions: list[Any],
        retriever: Any,
        classifier: Any,
        result: PipelineResult,
    ) -> None:
        stages = scenario.stages
        if "classify" in stages:
            if classifier is None:
                why = "no classifier given (--classifier DIR: a model saved by tui-bench classify)"
                result.setup["classify"] = {"setup_ms": None, "skipped": why}
                self.publish(pe.StageReady("classify", None, skipped=why))
                self.publish(Log("warning", f"classify stage skipped: {why}"))
            else:
                setup = result.setup["classify"]
                self.publish(pe.StageReady("classify", setup["setup_ms"], setup["detail"]))
        if "generate" in stages:
            gen = GenerateStage(
                self.config.model,
                max_tokens=self.config.max_tokens,
                log=lambda lvl, msg: self.publish(Log(lvl, msg)),
            )
            self.publish(Log("info", f"generate: loading {self.config.model}"))
            await gen.open()  # a model that does not resolve or load: the run's error
            self._generate = gen
            result.setup["generate"] = {
                "setup_ms": gen.load_ms,
                "detail": {"model": gen.spec.id, "source": self.config.model, **gen.info},
            }
            self.publish(pe.StageReady("generate", gen.load_ms, result.setup["generate"]["detail"]))
        try:
            await self._questions(scenario, data, questions, retriever, classifier, result)
        finally:
            if self._generate is not None:
                result.model_info = dict(self._generate.info)
                await self._generate.close()
        if classifier is not None:
            from tui_bench.core.pipeline.classifier import classification_metrics

            rows = [(q.label, q.classify["label"]) for q in result.questions if q.classify]
            result.setup["classify"]["metrics"] = classification_metrics(
                [t for t, _ in rows], [p for _, p in rows]
            )

    async def _questions(
        self,
        scenario: Any,
        data: Any,
        questions: list[Any],
        retriever: Any,
        classifier: Any,
        result: PipelineResult,
    ) -> None:
        from tui_bench.core.plan import Expect
        from tui_bench.core.quality import score

        docs = {d.id: d for d in data.documents}
        stamps = {d.id: d.ts for d in data.documents}
        ks = sorted({METRIC_K} | {int(m.split("@")[1]) for m in scenario.thresholds if "@" in m})
        gen = self._generate
        for n, q in enumerate(questions, 1):
            if self._cancel.is_set():
                break
            qr = QuestionResult(id=q.id, label=q.label)
            top: list[Any] = []
            if retriever is not None:
                self.publish(pe.StageStarted(n, q.id, "retrieve"))
                with measure() as w:
                    found = retriever.search(q.text)
                    if inspect.isawaitable(found):  # embeddings: the question goes to the worker
                        found = await found
                # the embedding worker's CPU time is not this process's: none, as for generate
                cpu = None if isinstance(retriever, EmbeddingRetriever) else w.cpu_ms
                qr.spans.append(StageSpan("retrieve", w.wall_ms, cpu))
                ranking = [doc_id for doc_id, _ in found.ranking]
                metrics: dict[str, Any] = {}
                for k in ks:
                    metrics |= retrieval_metrics(ranking, q.relevant, stamps, scenario.ranking, k)
                qr.retrieve = {"top": [[d, round(s, 6)] for d, s in found.top], "metrics": metrics}
                top = [docs[doc_id] for doc_id, _ in found.top[:CONTEXT_DOCS]]
            if classifier is not None:
                self.publish(pe.StageStarted(n, q.id, "classify"))
                with measure() as w:
                    pred = classifier.predict(q.text)
                qr.spans.append(StageSpan("classify", w.wall_ms, w.cpu_ms))
                qr.classify = {
                    "label": pred.label,
                    "confidence": pred.confidence,
                    "correct": pred.label == q.label,
                }
            if gen is not None and not self._cancel.is_set():
                self.publish(pe.StageStarted(n, q.id, "generate"))
                rec = await gen.answer(0, n - 1, q.id, build_prompt(q.text, top))
                wall = gen.last_wall_ms if gen.last_wall_ms is not None else 0.0
                note = f"fallback: {gen.fallback}" if gen.fallback else None
                qr.spans.append(StageSpan("generate", wall, None, rec.peak_rss_kb, rec.ok, note))
                expect = Expect.model_validate(q.expect) if q.expect else None
                quality = (
                    score(
                        expect,
                        rec.text or "",
                        prompt=q.text,
                        task="rag",
                        max_tokens=gen.gen.max_tokens,
                        finish_reason=rec.finish_reason,
                    )
                    if rec.ok
                    else ({"contains": 0.0} if expect and expect.contains else {})
                )
                qr.generate, qr.record = generate_figures(rec, quality), rec
                if not rec.ok:
                    qr.error = f"generate: {rec.error or rec.finish_reason}"
            elif gen is not None:
                break  # cancelled before this question's answer: not a result
            result.questions.append(qr)
            self.publish(pe.QuestionFinished(n, len(questions), qr.to_dict()))
