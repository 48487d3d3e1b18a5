"""The generate stage: the LLM answers each question from the retrieved documents.

The model runs exactly as in a plan's run: resolved like a plan's model (a builtin is
assembled on first use), in its own worker process (``create_backend``), one request at
a time, its record built by ``core.results.build_record`` (TTFT, decode tok/s, E2E,
engine counters, the worker's peak RSS). If the worker dies on a request in a
configuration its backend can make safer (llama.cpp's CPU weight repacking on some
hosts), the model is reloaded in that configuration and the request tried again, once;
the reason is kept and every later request carries the backend's flag, as the engine
does. A worker that dies otherwise is reloaded for the next question (at most
``MAX_RELOADS`` times). The loop is the engine's too (``core/backends/session.py``).

``mock:`` as the source runs the simulated backend instead (``core/backends/mock.py``:
deterministic timings, text drawn from the prompt), with a plan's ``[models.mock]``
options as ``name=value`` pairs: ``mock:ttft_ms=5,tokens_per_s=800``. It measures the
pipeline's own machinery, not a model.

The prompt is :data:`TEMPLATE` filled with the question and ``{context}``: the top
``CONTEXT_DOCS`` retrieved documents, each as ``[title]`` and its text, separated by a
blank line (no retrieve stage: no context block).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tui_bench.core.errors import UserError

DEFAULT_MODEL = "builtin:smollm2-135m"
DEFAULT_MAX_TOKENS = 64
CONTEXT_DOCS = 3
TEMPLATE = (
    "Answer the customer's question using the help articles below. Be brief.\n\n"
    "{context}\n\nQuestion: {question}"
)
TEMPLATE_NO_CONTEXT = "Answer the customer's question. Be brief.\n\nQuestion: {question}"


def build_prompt(question: str, documents: Sequence[Any]) -> str:
    """The template filled with the question and the documents (``title``, ``text``)."""
    if not documents:
        return TEMPLATE_NO_CONTEXT.format(question=question)
    context = "\n\n".join(f"[{d.title}]\n{d.text}" if d.title else d.text for d in documents)
    return TEMPLATE.format(context=context, question=question)


def model_id(source: str) -> str:
    """A model id (plan syntax) for a source: its file or builtin name."""
    name = Path(source).stem if source.lower().endswith(".gguf") else source
    return re.sub(r"[^A-Za-z0-9_.:@+-]+", "-", name).strip("-") or "model"


def model_spec(source: str, *, n_ctx: int = 2048, repack: bool | str = "auto") -> Any:
    """The plan model a source stands for: ``mock:[name=value,...]`` the simulated
    backend with those options, anything else a GGUF source (builtin, file, store).
    ``UserError`` names the option at fault."""
    from pydantic import ValidationError

    from tui_bench.core.plan import MockOptions, ModelSpec

    if not source.startswith("mock:"):
        return ModelSpec(id=model_id(source), source=source, n_ctx=n_ctx, repack=repack)
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in source[len("mock:") :].split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise UserError(f"--model: {source}: {part!r} is not name=value (a mock option)")
        options[name.strip()] = value.strip()
    try:
        mock = MockOptions.model_validate(options)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"])) or "mock"
        raise UserError(f"--model: {source}: {where}: {err['msg']}") from None
    return ModelSpec(id="mock", backend="mock", n_ctx=n_ctx, mock=mock)


class GenerateStage:
    """One model, loaded once, answering the questions one by one (async)."""

    def __init__(
        self,
        source: str,
        *,
        max_tokens: int,
        log: Callable[[str, str], None],
        n_ctx: int = 2048,
        repack: bool | str = "auto",
    ) -> None:
        from tui_bench.core.backends.session import ModelSession
        from tui_bench.core.plan import Generation

        self.spec = model_spec(source, n_ctx=n_ctx, repack=repack)
        self.gen = Generation(max_tokens=max_tokens)
        self.log = log
        self.session = ModelSession(self.spec.id, None, log=log)
        self.last_wall_ms: float | None = None  # the last request's own wall time
        # why the model serves no more questions (as the engine fails a model's remaining
        # requests): a crash past the reload limit, or a reload that failed
        self.gave_up: str | None = None

    @property
    def load_ms(self) -> float | None:
        return self.session.load_ms

    @property
    def info(self) -> dict[str, Any]:
        return self.session.info

    @property
    def fallback(self) -> str | None:
        """Why the model runs in another configuration (None: it does not)."""
        return self.session.fallback

    async def open(self) -> None:
        """Resolve and load the model; raises ``TuiBenchError`` (one line) on failure."""
        import asyncio

        from tui_bench.core.model_files import resolve_files

        self.session.path, self.session.local = await asyncio.to_thread(
            resolve_files, self.spec, None
        )
        await self.session.load()

    async def answer(self, run_id: int, seq: int, qid: str, text: str) -> Any:
        """One request: the question's ``RequestRecord`` (its failure inside, never
        raised), retried once in a safer configuration after a configuration crash. Once
        the model cannot be kept loaded, every later question fails with that reason
        without another load."""
        from tui_bench.core.backends.base import GenRequest
        from tui_bench.core.backends.session import SessionFailed
        from tui_bench.core.hostinfo import now_iso
        from tui_bench.core.plan import PromptSpec
        from tui_bench.core.results import build_record, failed_record

        prompt = PromptSpec(id=qid, task="rag", text=text)
        ids = dict(
            run_id=run_id,
            seq=seq,
            model=self.spec.id,
            prompt=qid,
            task="rag",
            repeat=0,
            warmup=False,
        )
        while True:
            if self.gave_up is not None:
                return failed_record(**ids, started_at=now_iso(), error=self.gave_up)
            try:
                backend = await self.session.ensure_loaded()
            except SessionFailed as exc:
                self.gave_up = exc.reason
                return failed_record(**ids, started_at=now_iso(), error=exc.reason)
            started = now_iso()
            t0 = time.perf_counter_ns()
            outcome = await backend.generate(GenRequest(prompt, self.gen), lambda _b: None)
            self.last_wall_ms = (time.perf_counter_ns() - t0) / 1e6
            rec = build_record(
                **ids,
                started_at=started,
                outcome=outcome,
                prompt_cache=False,
                load_ms=self.session.load_ms,
            )
            if await self.session.after_failure(rec.ok):
                continue  # the configuration crashed, not the request
            self.session.flag(rec.flags)
            return rec

    def cancel(self) -> None:
        self.session.cancel()

    async def close(self) -> None:
        await self.session.close()
