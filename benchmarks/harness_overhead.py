"""Does tui-bench slow what it measures? Side by side, alternating, in one run.

For each model: the same prompt and token count (EOS ignored) measured
- by tui-bench (its engine, worker process, telemetry on), and
- by a bare llama-cpp-python streaming loop (``Llama.create_completion(stream=True)``,
  EOS suppressed with ``logit_bias``, the prompt re-evaluated every time),
alternating round by round so that machine drift hits both alike. Prints, per model, the
median decode rate and TTFT of each and their ratios, and tui-bench's client decode rate
against llama.cpp's own decode + sampling counters for the same requests.

    python benchmarks/harness_overhead.py [--rounds 5] [--max-tokens 128] [--threads N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from tui_bench.core.engine import Engine
from tui_bench.core.models import resolve_source
from tui_bench.core.plan import LoadedPlan, parse_plan

PROMPT = "Write a detailed explanation of how a lighthouse works, its history and its parts."


def tui_bench_round(source: str, max_tokens: int, threads: int, n: int) -> list[Any]:
    raw = {
        "name": "harness-overhead",
        "repeats": n,
        "warmup": 1,
        "defaults": {
            "max_tokens": max_tokens,
            "ignore_eos": True,
            "temperature": 0.0,
            "mode": "completion",
        },
        "models": [{"id": "m", "source": source, "n_ctx": 1024, "n_threads": threads}],
        "prompts": [{"id": "p", "text": PROMPT}],
    }
    loaded = LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)
    outcome = asyncio.run(Engine(loaded, write_history=False).run())
    recs = [r for r in outcome.records if not r.warmup]
    assert all(r.ok and r.n_out == max_tokens for r in recs), [r.error for r in recs]
    return recs


class Bare:
    """The plain llama-cpp-python way: high-level API, streaming."""

    def __init__(self, path: Path, threads: int) -> None:
        from llama_cpp import Llama

        self.llm = Llama(
            str(path), n_ctx=1024, n_threads=threads, n_threads_batch=threads, verbose=False
        )
        self.eos = self.llm.token_eos()

    def run(self, max_tokens: int) -> tuple[float, float]:
        self.llm.reset()  # no prompt reuse from the previous round: a full prefill, like tui-bench
        t_send = time.perf_counter_ns()
        times = []
        stream = self.llm.create_completion(
            PROMPT,
            max_tokens=max_tokens,
            temperature=0.0,
            stream=True,
            logit_bias={self.eos: float("-inf")},
        )
        for chunk in stream:
            if chunk["choices"][0]["text"]:
                times.append(time.perf_counter_ns())
        ttft = (times[0] - t_send) / 1e6
        # chunks are re-chunked text; the token count is max_tokens (EOS suppressed)
        decode = (max_tokens - 1) / ((times[-1] - times[0]) / 1e9)
        return ttft, decode


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", nargs="+", default=["builtin:smollm2-135m", "builtin:gemma3-270m"])
    ap.add_argument(
        "--rounds", type=int, default=5, help="alternating rounds (each: 2 requests per side)"
    )
    ap.add_argument("--per-round", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    rows = []
    for source in args.models:
        path = resolve_source(source)
        bare = Bare(path, args.threads)
        bare.run(args.max_tokens)  # warm-up
        tb_decode, tb_ttft, tb_engine, tb_eval = [], [], [], []
        bare_decode, bare_ttft = [], []
        for i in range(args.rounds):
            order = [0, 1] if i % 2 == 0 else [1, 0]
            for side in order:
                if side == 0:
                    for r in tui_bench_round(source, args.max_tokens, args.threads, args.per_round):
                        tb_decode.append(r.decode_tps)
                        tb_ttft.append(r.ttft_ms)
                        tb_engine.append(r.engine.decode_tps)
                        tb_eval.append(r.engine.eval_tps)
                else:
                    for _ in range(args.per_round):
                        ttft, decode = bare.run(args.max_tokens)
                        bare_ttft.append(ttft)
                        bare_decode.append(decode)
            print(f"  {source}: round {i + 1}/{args.rounds} done", file=sys.stderr)
        del bare
        med = statistics.median
        ratios_engine = [c / e for c, e in zip(tb_decode, tb_engine, strict=True)]
        rows.append(
            (
                source,
                med(tb_decode),
                med(bare_decode),
                med(tb_decode) / med(bare_decode),
                med(tb_ttft),
                med(bare_ttft),
                med(tb_ttft) / med(bare_ttft),
                med(tb_engine),
                med(ratios_engine),
                med(tb_eval),
                len(tb_decode),
            )
        )

    print()
    print(
        f"max_tokens={args.max_tokens}, threads={args.threads}, {args.rounds} alternating rounds x {args.per_round} requests per side"
    )
    print()
    head = (
        "model", "tui-bench tok/s", "bare tok/s", "ratio", "tui-bench TTFT ms", "bare TTFT ms",
        "TTFT ratio", "engine decode+sample tok/s", "tui-bench/engine", "engine eval-only tok/s", "n",
    )  # fmt: skip
    print(" | ".join(head))
    for r in rows:
        print(
            f"{r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:.3f} | {r[4]:.1f} | {r[5]:.1f} | {r[6]:.3f} | "
            f"{r[7]:.1f} | {r[8]:.3f} | {r[9]:.1f} | {r[10]}"
        )
    print()
    print(
        "ratio > 1: tui-bench decodes faster than the bare loop; TTFT ratio < 1: tui-bench answers sooner."
    )
    print(
        "tui-bench/engine: client-measured decode rate over llama.cpp's own decode + sampling counters (goal >= 0.97)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
