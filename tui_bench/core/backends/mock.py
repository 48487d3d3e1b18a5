"""A deterministic simulated model: instant demos and UI tests, never a measurement.

Timings follow the plan's ``[models.mock]`` settings (TTFT, token rate, jitter); token
timestamps are the simulated schedule, so a mock run's decode rate is exactly the
configured rate (within jitter). Failures can be injected per prompt or at a rate, and a
load failure on demand. Output text is drawn from the prompt's own words and a filler
vocabulary with a seeded generator: the same plan gives the same text.

By default it serves one request at a time, as an in-process engine does. With
``slots = S`` it plays a server that takes every request at once (for load tests): with
``n`` requests in flight, each decodes at ``tokens_per_s x min(1, S / n)`` (re-read at
every batch of tokens, so a request slows down as others arrive and speeds up as they
leave), and a request's first token comes after ``TTFT x max(1, n / S)``, ``n`` counted
when it arrives. Total decode throughput therefore saturates at ``S x tokens_per_s``
while latency keeps growing: a sweep shows a knee. Timings are deterministic given the
seed and the order requests arrive in.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from pathlib import Path

from tui_bench.core.backends.base import Backend, GenRequest, LoadInfo, OnTokens, TokenBatch
from tui_bench.core.errors import BackendError
from tui_bench.core.metrics import RawTiming
from tui_bench.core.mock_options import MockOptions
from tui_bench.core.plan import ModelSpec
from tui_bench.core.results import GenOutcome

_FILLER = [
    "the",
    "model",
    "answers",
    "with",
    "a",
    "short",
    "explanation",
    "of",
    "the",
    "main",
    "idea",
    "and",
    "then",
    "adds",
    "a",
    "few",
    "details",
    "about",
    "how",
    "it",
    "works",
    "in",
    "practice",
    "so",
    "that",
    "the",
    "reader",
    "can",
    "follow",
    "each",
    "step",
    "clearly",
    "while",
    "the",
    "benchmark",
    "measures",
    "time",
    "to",
    "first",
    "token",
    "and",
    "tokens",
    "per",
    "second",
]

BATCH_NS = 20_000_000


class MockBackend(Backend):
    token_source = "mock"

    def __init__(self, spec: ModelSpec, path: Path | None = None) -> None:
        super().__init__(spec, path)
        self.opts = spec.mock or MockOptions()
        self._cancel = False
        self._n = 0
        self._rng = random.Random(f"{self.opts.seed}:{spec.id}")
        self._active = 0  # requests in flight (several only with slots)
        self.max_concurrency = None if self.opts.slots else 1

    async def load(self) -> LoadInfo:
        if self.opts.fail_load:
            await asyncio.sleep(self.opts.load_ms / 1000)
            raise BackendError(f"{self.spec.id}: mock load failure (fail_load = true)")
        t0 = time.perf_counter_ns()
        await asyncio.sleep(self.opts.load_ms / 1000)
        load_ms = (time.perf_counter_ns() - t0) / 1e6
        return LoadInfo(
            load_ms=load_ms,
            pid=None,
            info={
                "desc": f"mock model ({self.opts.tokens_per_s:g} tok/s, TTFT {self.opts.ttft_ms:g} ms)",
                "simulated": True,
                "gpu_offload_supported": False,
            },
        )

    def _jitter(self, value: float) -> float:
        j = self.opts.jitter
        return value * (1 + self._rng.uniform(-j, j)) if j else value

    def _words(self, prompt: str, n: int) -> list[str]:
        own = [w.lower() for w in re.findall(r"\w{4,}", prompt)]
        out = []
        for i in range(n):
            pool = own if own and self._rng.random() < 0.3 else _FILLER
            word = self._rng.choice(pool)
            out.append(word if i == 0 else " " + word)
        return out

    def _share(self) -> float:
        """Each request's share of the full decode rate: all of it up to the slots."""
        slots = self.opts.slots
        return 1.0 if not slots or self._active <= slots else slots / self._active

    async def generate(self, request: GenRequest, on_tokens: OnTokens) -> GenOutcome:
        if self._active == 0:  # a cancel stays in force for the requests still running
            self._cancel = False
        self._active += 1
        try:
            return await self._generate(request, on_tokens)
        finally:
            self._active -= 1

    async def _generate(self, request: GenRequest, on_tokens: OnTokens) -> GenOutcome:
        opts, gen, prompt = self.opts, request.gen, request.prompt
        self._n += 1
        n_in = max(1, round(len(prompt.text.split()) * 1.3))
        fail = prompt.id in opts.fail_prompts or (
            opts.fail_rate > 0 and self._rng.random() < opts.fail_rate
        )
        n_target = gen.max_tokens
        finish = "length"
        if opts.eos_after is not None and not gen.ignore_eos and opts.eos_after < n_target:
            n_target, finish = opts.eos_after, "stop"
        words = self._words(prompt.text, n_target)
        ttft_ms = self._jitter(opts.ttft_ms + 1000 * n_in / opts.prompt_tokens_per_s)
        ttft_ns = int(ttft_ms * 1e6 / self._share())  # waits longer as the queue grows
        rate = self._jitter(opts.tokens_per_s)

        t_send = time.perf_counter_ns()
        if fail:
            await asyncio.sleep(ttft_ns / 2e9)
            return GenOutcome(
                raw=RawTiming(t_send),
                n_in=n_in,
                n_in_source="mock",
                error=f"mock failure injected for prompt {prompt.id!r}",
                finish_reason="error",
            )
        t_first = t_send + ttft_ns
        await _sleep_until(t_first)
        times: list[int] = []
        sent = 0
        next_t = t_first
        while len(times) < n_target:
            if self._cancel:
                finish = "cancelled"
                break
            now = time.perf_counter_ns()
            step_ns = int(1e9 / (rate * self._share()))
            while next_t <= now and len(times) < n_target:
                times.append(next_t)
                next_t += step_ns
            if len(times) > sent:
                on_tokens(
                    TokenBatch(
                        times[sent:],
                        [1] * (len(times) - sent),
                        "".join(words[sent : len(times)]),
                        len(times),
                        t_send,
                    )
                )
                sent = len(times)
            if len(times) < n_target:
                await _sleep_until(max(next_t, now + BATCH_NS))
        n_out = len(times)
        return GenOutcome(
            raw=RawTiming(t_send, times[0] if times else None, times, [1] * n_out),
            n_in=n_in,
            n_in_source="mock",
            n_out=n_out,
            n_out_source="mock",
            finish_reason=finish,
            text="".join(words[:n_out]),
            peak_rss_kb=int(opts.rss_mb * 1024) if opts.rss_mb else None,
        )

    def cancel(self) -> None:
        self._cancel = True

    async def close(self) -> None:
        return None


async def _sleep_until(t_ns: int) -> None:
    delay = (t_ns - time.perf_counter_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)
