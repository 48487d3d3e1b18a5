"""Does tui-bench slow what it measures? Side by side, alternating, in one run.

For each model, the same prompt and token count (EOS ignored), at the same threads,
weight repacking and polling, measured
- by tui-bench: its client decode rate (timestamps in the worker, sampling and the token
  loop included) and its engine rate (llama.cpp's own ``n_eval / t_eval`` for the same
  requests: decode only);
- by a bare llama-cpp-python streaming loop (``Llama.create_completion(stream=True)``,
  EOS suppressed with ``logit_bias``, the prompt re-evaluated every time);
- by llama.cpp's ``llama-bench`` (``tg`` test, the prompt's token count already in the
  context with ``-d``), built from the same vendored llama.cpp (benchmarks/llama_bench.py);
alternating round by round so that machine drift hits all alike. Prints the medians and
their ratios to llama-bench (goals: engine >= 0.97, client >= 0.95).

    python benchmarks/harness_overhead.py [--rounds 5] [--max-tokens 128] [--threads N]
        [--repack off|on] [--poll 50] [--llama-bench PATH] [--no-llama-bench]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llama_bench

from tui_bench.core.engine import Engine
from tui_bench.core.models import resolve_source
from tui_bench.core.plan import LoadedPlan, parse_plan

PROMPT = "Write a detailed explanation of how a lighthouse works, its history and its parts."


def tui_bench_round(
    source: str, max_tokens: int, threads: int, n: int, repack: bool, poll: int, n_ctx: int
) -> list[Any]:
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
        "models": [
            {
                "id": "m",
                "source": source,
                "n_ctx": n_ctx,
                "n_threads": threads,
                "repack": repack,
                "poll": poll,
            }
        ],
        "prompts": [{"id": "p", "text": PROMPT}],
    }
    loaded = LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)
    outcome = asyncio.run(Engine(loaded, write_history=False, telemetry=True).run())
    recs = [r for r in outcome.records if not r.warmup]
    assert all(r.ok and r.n_out == max_tokens for r in recs), [r.error for r in recs]
    return recs


class Bare:
    """The plain llama-cpp-python way: high-level API, streaming."""

    def __init__(self, path: Path, threads: int, repack: bool, n_ctx: int) -> None:
        import llama_cpp.llama_cpp as ll
        from llama_cpp import Llama

        # Llama() takes no repacking argument: give it default model params that carry it
        defaults = ll.llama_model_default_params

        def params() -> Any:
            p = defaults()
            p.use_extra_bufts = repack
            return p

        ll.llama_model_default_params = params
        try:
            self.llm = Llama(
                str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False
            )
        finally:
            ll.llama_model_default_params = defaults
        self.eos = self.llm.token_eos()

    @staticmethod
    def tokenize(path: Path, text: str) -> list[int]:
        from llama_cpp import Llama

        llm = Llama(str(path), vocab_only=True, verbose=False)
        return llm.tokenize(text.encode(), add_bos=True)

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
    ap.add_argument(
        "--repack",
        choices=["off", "on"],
        default="off",
        help="weight repacking on every side (off: it crashes on some hosts, e.g. with AMX)",
    )
    ap.add_argument("--poll", type=int, default=50, help="threadpool polling level (0-100)")
    ap.add_argument(
        "--llama-bench", help="llama-bench binary (default: build or find the cached one)"
    )
    ap.add_argument("--no-llama-bench", action="store_true")
    args = ap.parse_args()
    repack = args.repack == "on"
    bench_bin = None if args.no_llama_bench else llama_bench.find_or_build(args.llama_bench)

    med = statistics.median
    rows = []
    for source in args.models:
        path = resolve_source(source)
        # every side gets the context llama-bench makes for its test (prompt + generated
        # tokens): the KV cache's size alone moves the decode rate by several percent
        n_prompt = len(Bare.tokenize(path, PROMPT))
        n_ctx = n_prompt + args.max_tokens
        bare = Bare(path, args.threads, repack, n_ctx)
        bare.run(args.max_tokens)  # warm-up
        client, engine_eval, engine_ds, ttft, n_in = [], [], [], [], []
        bare_decode, bare_ttft, ref = [], [], []
        sides = [0, 1, 2] if bench_bin else [0, 1]
        for i in range(args.rounds):
            order = sides[i % len(sides) :] + sides[: i % len(sides)]  # rotate who goes first
            for side in order:
                if side == 0:
                    for r in tui_bench_round(
                        source,
                        args.max_tokens,
                        args.threads,
                        args.per_round,
                        repack,
                        args.poll,
                        n_ctx,
                    ):
                        client.append(r.decode_tps)
                        ttft.append(r.ttft_ms)
                        engine_ds.append(r.engine.decode_tps)
                        engine_eval.append(r.engine.eval_tps)
                        n_in.append(r.n_in)
                elif side == 1:
                    for _ in range(args.per_round):
                        t, d = bare.run(args.max_tokens)
                        bare_ttft.append(t)
                        bare_decode.append(d)
                else:
                    depth = n_in[0] if n_in else n_prompt
                    ref += llama_bench.tg(
                        bench_bin,
                        path,
                        n_gen=args.max_tokens,
                        threads=args.threads,
                        repack=repack,
                        poll=args.poll,
                        depth=depth,
                        repetitions=args.per_round,
                    )
            print(f"  {source}: round {i + 1}/{args.rounds} done", file=sys.stderr)
        del bare
        reference = med(ref) if ref else None
        rows.append(
            {
                "model": source,
                "client": med(client),
                "engine": med(engine_eval),
                "bare": med(bare_decode),
                "llama_bench": reference,
                "client_vs_engine": med([c / e for c, e in zip(client, engine_ds, strict=True)]),
                "ttft": med(ttft),
                "bare_ttft": med(bare_ttft),
                "n": len(client),
            }
        )

    print()
    print(
        f"max_tokens={args.max_tokens}, n_ctx=prompt+max_tokens, threads={args.threads}, "
        f"repack={args.repack}, "
        f"poll={args.poll}; {args.rounds} alternating rounds x {args.per_round} requests per side"
    )
    print()
    head = (
        "model", "tui-bench client tok/s", "tui-bench engine tok/s", "bare loop tok/s",
        "llama-bench tg tok/s", "engine/llama-bench", "client/llama-bench", "bare/llama-bench",
        "client/(engine decode+sample)", "TTFT ms tui-bench / bare", "n",
    )  # fmt: skip
    print(" | ".join(head))

    def ratio(a: float, b: float | None) -> str:
        return "–" if b is None else f"{a / b:.3f}"

    for r in rows:
        lb = r["llama_bench"]
        print(
            f"{r['model']} | {r['client']:.1f} | {r['engine']:.1f} | {r['bare']:.1f} | "
            f"{'–' if lb is None else f'{lb:.1f}'} | {ratio(r['engine'], lb)} | "
            f"{ratio(r['client'], lb)} | {ratio(r['bare'], lb)} | {r['client_vs_engine']:.3f} | "
            f"{r['ttft']:.1f} / {r['bare_ttft']:.1f} | {r['n']}"
        )
    print()
    print(
        "engine = llama.cpp's n_eval / t_eval inside tui-bench (decode only, like llama-bench's tg);"
        " client = tui-bench's own timestamps (sampling and the token loop included)."
    )
    print("goals: engine/llama-bench >= 0.97, client/llama-bench >= 0.95.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
