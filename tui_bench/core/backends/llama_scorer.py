"""A llama.cpp model used to judge answers, not to be measured: the fluency scorer's
log-probabilities (the worker's ``score`` op, :mod:`.llama_score`) and the LLM judge's
replies (the ordinary ``generate`` op).

It runs in the same worker process as a model under test, started and stopped the same
way, but only after the measured requests are over: nothing it does is timed. It runs
on the CPU, with weight repacking off (``repack = False``): repacking speeds up nothing
that is measured, and llama.cpp's repacking crashes on some CPUs (AMX). The worker's
test-only fault switches are not passed on to it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tui_bench.core.backends.base import GenRequest
from tui_bench.core.backends.llama_cpp import STREAM_LIMIT, LlamaCppBackend
from tui_bench.core.backends.spawn import start_process
from tui_bench.core.errors import BackendError
from tui_bench.core.plan import Generation, ModelSpec, PromptSpec

SCORER_N_CTX = 2048
SCORE_TIMEOUT_S = 120.0
# the worker's test-only fault switches (see .llama_worker) target the model under test
_FAULT_PREFIX = "TUI_BENCH_FAULT_"


def scorer_spec(
    model_id: str, source: str, *, n_threads: int = 1, n_ctx: int = SCORER_N_CTX
) -> ModelSpec:
    """The settings a scoring model loads with: CPU, repacking off, threads that never
    busy-wait (``poll = 0``), one thread unless asked: the builtin 135M model reads an
    answer in a fraction of a second on one, and more threads only lose time when other
    work shares the CPUs (llama.cpp's threads wait for each other at every step)."""
    return ModelSpec(
        id=model_id,
        source=source,
        n_ctx=n_ctx,
        n_batch=512,
        n_threads=n_threads,
        poll=0,
        repack=False,
    )


class LlamaScorer(LlamaCppBackend):
    """A loaded scoring model (:meth:`load` / :meth:`close` as every backend)."""

    def __init__(self, spec: ModelSpec, path: Path) -> None:
        super().__init__(spec, path)

    async def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_FAULT_PREFIX)}
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("GGML_NO_BACKTRACE", "1")
        env["CUDA_VISIBLE_DEVICES"] = ""  # a small model on the CPU: no GPU memory taken
        env["TUI_BENCH_HIDE_GPUS"] = "1"
        self.proc = await start_process(
            [sys.executable, "-m", "tui_bench.core.backends.llama_worker"],
            env=env,
            limit=STREAM_LIMIT,
        )
        self._stderr_task = asyncio.create_task(self._drain_stderr())

    async def logprobs(
        self, prompt: str, answer: str, *, system: str | None = None, mode: str = "chat"
    ) -> tuple[list[float], bool]:
        """The natural-log probability of each of ``answer``'s tokens after ``prompt``, and
        whether the answer was clipped (only its first tokens scored)."""
        if not self.alive:
            raise BackendError(f"{self.spec.id}: {self._dead_reason or 'worker is not running'}")
        self._seq += 1
        rid = self._seq
        self._send(
            {
                "op": "score",
                "id": rid,
                "prompt": prompt,
                "system": system,
                "mode": mode,
                "answer": answer,
            }
        )
        try:
            msg = await self._recv(SCORE_TIMEOUT_S)
        except asyncio.TimeoutError:
            await self._kill()
            self._dead_reason = f"scoring timed out after {SCORE_TIMEOUT_S:g} s"
            raise BackendError(f"{self.spec.id}: {self._dead_reason}") from None
        if msg is None:
            self._dead_reason = await self._death_reason()
            raise BackendError(f"{self.spec.id}: crashed while scoring: {self._dead_reason}")
        if msg.get("type") == "error":
            raise BackendError(f"{self.spec.id}: {msg.get('message')}")
        return [float(x) for x in msg.get("logprobs", [])], bool(msg.get("clipped"))

    async def reply(self, prompt: str, *, max_tokens: int, system: str | None = None) -> str:
        """The model's greedy reply to ``prompt`` (chat mode), as text."""
        gen = Generation(max_tokens=max_tokens, temperature=0.0, ignore_eos=False)
        spec = PromptSpec(id="judge", text=prompt, system=system)
        outcome = await self.generate(GenRequest(spec, gen), lambda batch: None)
        if outcome.error:
            raise BackendError(f"{self.spec.id}: {outcome.error}")
        return outcome.text
