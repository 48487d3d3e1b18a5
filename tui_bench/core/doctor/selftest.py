"""The self-test: 16 tokens of SmolLM2 with weight repacking on, then off, each in its
own worker process, and the recommendation that follows.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tui_bench.core.doctor.facts import SELFTEST_PROMPT, SELFTEST_SOURCE, SELFTEST_TOKENS, SelfTest
from tui_bench.core.doctor.system import signal_of


def run_selftest(repack: bool, path: Path) -> SelfTest:
    """One 16-token decode of the builtin model, in its own worker, repacking on or off."""
    return asyncio.run(_selftest(repack, path))


async def _selftest(repack: bool, path: Path) -> SelfTest:
    from tui_bench.core.backends.base import GenRequest
    from tui_bench.core.backends.llama_cpp import LlamaCppBackend
    from tui_bench.core.errors import BackendError
    from tui_bench.core.hostinfo import now_iso
    from tui_bench.core.plan import Generation, ModelSpec, PromptSpec
    from tui_bench.core.results import build_record

    spec = ModelSpec(
        id=f"selftest-repack-{'on' if repack else 'off'}",
        source=SELFTEST_SOURCE,
        n_ctx=256,
        repack=repack,
        load_timeout_s=120,
    )
    prompt = PromptSpec(id="selftest", task="other", text=SELFTEST_PROMPT)
    gen = Generation(max_tokens=SELFTEST_TOKENS, ignore_eos=True, mode="completion", timeout_s=120)
    backend = LlamaCppBackend(spec, path)
    result = SelfTest(repack=repack, ok=False)
    try:
        try:
            load = await backend.load()
        except BackendError as exc:
            result.stage, result.error = "load", str(exc)
            result.signal = signal_of(backend.proc.returncode if backend.proc else None)
            result.crashed = result.signal is not None
            return result
        result.load_ms = load.load_ms
        result.repack_applied = load.info.get("repack")
        result.threadpool = load.info.get("threadpool")
        started = now_iso()
        outcome = await backend.generate(GenRequest(prompt, gen), lambda _batch: None)
        record = build_record(
            run_id=0,
            seq=0,
            model=spec.id,
            prompt=prompt.id,
            task=prompt.task,
            repeat=0,
            warmup=False,
            started_at=started,
            outcome=outcome,
            prompt_cache=False,
            load_ms=load.load_ms,
        )
        result.n_out = record.n_out
        result.decode_tps = record.decode_tps
        result.ok = record.ok and record.decode_tps is not None
        if not result.ok:
            result.stage = "decode"
            result.error = record.error or (
                f"{record.n_out} token(s): no decode rate" if record.ok else record.finish_reason
            )
            if not backend.alive and backend.proc is not None:
                result.signal = signal_of(backend.proc.returncode)
                result.crashed = result.signal is not None
        return result
    finally:
        await backend.close()


def recommend(on: SelfTest, off: SelfTest) -> str:
    """What the two self-tests mean for the ``repack`` setting of a model."""
    if not on.ok and off.ok:
        how = f"the worker was killed by {on.signal}" if on.crashed else (on.error or "failed")
        return (
            f'repacking crashes on this host ({how}): keep repack = "auto" (it falls back '
            "to repacking off) or set repack = false"
        )
    if on.ok and not off.ok:
        return 'repacking off fails on this host: keep repack = "auto" or set repack = true'
    if not on.ok and not off.ok:
        return "llama.cpp decodes with neither setting on this host: see the errors above"
    assert on.decode_tps is not None and off.decode_tps is not None
    diff = 100.0 * (on.decode_tps / off.decode_tps - 1.0)
    word = "faster" if diff >= 0 else "slower"
    advice = 'keep repack = "auto"' if diff >= 0 else "consider repack = false on this host"
    return (
        f"both work: repacking on decodes {abs(diff):.0f}% {word} than off "
        f"({SELFTEST_TOKENS} tokens, a rough figure): {advice}"
    )
