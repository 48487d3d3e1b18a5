"""The self-test: 16 tokens of SmolLM2 with weight repacking on, then off, each in its
own worker process, and the recommendation that follows.

When both decode, the recommendation compares the two settings on their gaps between
consecutive tokens (15 a side) with the statistics of ``tui-bench compare`` (difference
of medians, bootstrap 95% interval, Mann-Whitney p): "faster" or "slower" only when those
say so, else the two cannot be told apart and the default stays.
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
        result.itl_ms = [round(x, 4) for x in record.itl_ms]
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
    from tui_bench.core.fmt import signed_pct
    from tui_bench.core.stats import compare

    assert on.decode_tps is not None and off.decode_tps is not None
    rates = f"{on.decode_tps:.0f} vs {off.decode_tps:.0f} tok/s"
    c = compare("itl_ms", off.itl_ms, on.itl_ms, higher_is_better=False)
    if c.ci95 is None or c.rel_diff is None or c.p_value is None:  # a report of an older run
        return f'both work ({rates}, one short decode each: not compared): keep repack = "auto"'
    gaps = (
        f"{rates}; median gap between tokens {signed_pct(c.rel_diff)}, 95% CI "
        f"{signed_pct(c.ci95[0])} to {signed_pct(c.ci95[1])}, p {c.p_value:.2g}, over "
        f"{c.n_candidate} + {c.n_baseline} gaps"
    )
    if c.verdict == "faster":
        return f'both work: repacking on decodes faster than off ({gaps}): keep repack = "auto"'
    if c.verdict == "slower":
        return (
            f"both work: repacking on decodes slower than off ({gaps}): consider repack = "
            "false on this host"
        )
    return f'both work, too close to tell apart ({gaps}): keep repack = "auto"'
