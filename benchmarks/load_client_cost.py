"""What does tui-bench's load generator cost? Two measurements, printed side by side.

(a) Against a mock server that answers instantly (a tiny SSE server in this file: plain
    asyncio on 127.0.0.1, in its own process), the load generator at its highest rate:
    a closed loop of ``--users`` users for ``--seconds`` gives the requests/s and tokens/s
    one client process sustains (and the CPU it used); then open loops at 50% and 90% of
    that rate give its timing error: the dispatch lag (``t_send - t_scheduled``) and the
    stamp error (each token's client arrival stamp minus the server's own send time, which
    the mock writes into the token's text; one monotonic clock on loopback, so the error
    is loopback transit + the client's reading delay).

(b) Against llama-cpp-python's real server (tui-bench's launcher, ``--timings on`` so it
    reports llama.cpp's own decode counters per request) with SmolLM2: the server's own
    decode rate while a trivial client (httpx, one request after another) reads it, and
    while tui-bench measures it at the same load (one user, the same prompts and unique
    prefixes), alternating round by round so drift hits both. Prints the medians and the
    ratio (goal: >= 0.97 of the server alone).

    python benchmarks/load_client_cost.py [--seconds 5] [--users 32] [--tokens 16]
        [--rounds 3] [--per-round 3] [--max-tokens 64] [--threads N] [--no-real]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HOST = "127.0.0.1"
PROMPT = "Write a detailed explanation of how a lighthouse works, its history and its parts."

# -- the mock server (runs in its own process: python load_client_cost.py --serve-mock) ----


def _event(obj: dict[str, Any]) -> bytes:
    data = b"data: " + json.dumps(obj).encode() + b"\n\n"
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def _answer(writer: asyncio.StreamWriter, body: dict[str, Any]) -> None:
    """An SSE answer at once: one token per chunk, each carrying its own send time."""
    n = int(body.get("max_tokens") or 16)
    chat = "messages" in body
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    for _ in range(n):
        text = f"{time.perf_counter_ns()} "  # stamped just before its bytes go out
        choice = {"index": 0, "finish_reason": None}
        choice |= {"delta": {"content": text}} if chat else {"text": text}
        writer.write(_event({"choices": [choice]}))
    end = {"index": 0, "finish_reason": "length"} | ({"delta": {}} if chat else {"text": ""})
    writer.write(_event({"choices": [end]}))
    usage = {"prompt_tokens": 20, "completion_tokens": n, "total_tokens": 20 + n}
    writer.write(_event({"choices": [], "usage": usage}))
    done = b"data: [DONE]\n\n"
    writer.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")
    await writer.drain()


def _json(writer: asyncio.StreamWriter, status: str, obj: dict[str, Any]) -> None:
    data = json.dumps(obj).encode()
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n".encode()
        + data
    )


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:  # keep-alive: requests one after another on the connection
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target = head[0].split(" ")[:2]
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            raw = await reader.readexactly(length) if length else b""
            path = target.split("?")[0].rstrip("/")
            if method == "GET" and path.endswith("/models"):
                _json(writer, "200 OK", {"data": [{"id": "mock"}]})
            elif method == "POST" and path.endswith("completions"):
                await _answer(writer, json.loads(raw or b"{}"))
            else:
                _json(writer, "404 Not Found", {"error": {"message": "not found"}})
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve_mock() -> None:
    server = await asyncio.start_server(_handle, HOST, 0, backlog=1024)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def start_mock() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-mock"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("port "):
        proc.kill()
        raise SystemExit(f"the mock server did not start: {line!r}")
    return proc, f"http://{HOST}:{int(line.split()[1])}/v1"


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# -- tui-bench's load generator -------------------------------------------------------------


def run_load(
    url: str, model: str, load: dict[str, Any], max_tokens: int, mode: str = "chat"
) -> tuple[list[Any], float]:
    """One tui-bench run of ``load`` against ``url``: its measured records, and the CPU
    seconds this process spent per wall second over the run."""
    from tui_bench.core.engine import Engine
    from tui_bench.core.plan import LoadedPlan, parse_plan

    raw = {
        "name": "load-client-cost",
        "warmup": 0,
        "defaults": {"max_tokens": max_tokens, "temperature": 0.0, "mode": mode},
        "models": [{"id": "m", "backend": "openai", "base_url": url, "model": model}],
        "prompts": [{"id": "p", "text": PROMPT}],
        "load": load,
        # the answers' quality is not what this measures: no scoring model after the run
        "quality": {"fluency": False, "judge": False},
    }
    loaded = LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)
    cpu0, t0 = time.process_time(), time.perf_counter()
    outcome = asyncio.run(Engine(loaded, write_history=False, telemetry=False).run())
    cpu = (time.process_time() - cpu0) / (time.perf_counter() - t0)
    recs = [r for r in outcome.records if not r.warmup and r.level]
    bad = [r.error for r in recs if not r.ok]
    if bad:
        print(f"  {len(bad)} failed requests, e.g. {bad[0]}", file=sys.stderr)
    return [r for r in recs if r.ok], cpu


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def throughput(recs: list[Any]) -> tuple[float, float, float]:
    """(D seconds, requests/s, output tokens/s) as metrics.md defines them."""
    first = min(r.t_send_ns for r in recs)
    last = max(r.t_send_ns + r.token_us[-1] * 1000 for r in recs if r.token_us)
    d = (last - first) / 1e9
    return d, len(recs) / d, sum(r.n_out for r in recs) / d


def stamp_errors_us(recs: list[Any]) -> list[float]:
    """Client stamp − the mock's send stamp, per token (the stored offsets are in µs)."""
    out = []
    for r in recs:
        sent = [int(x) for x in r.text.split()]
        for t_server, off in zip(sent, r.token_us, strict=False):
            out.append((r.t_send_ns + off * 1000 - t_server) / 1000)
    return out


def part_a(args: argparse.Namespace) -> None:
    proc, url = start_mock()
    try:
        bounds = {"duration_s": args.seconds, "requests": 100_000, "unique_prompts": True}
        recs, cpu = run_load(url, "mock", {"concurrency": [args.users]} | bounds, args.tokens)
        d, rps, tps = throughput(recs)
        print(f"\n(a) mock server answering at once, {args.tokens} tokens per answer")
        print(
            f"  closed loop, {args.users} users, {d:.1f} s: {len(recs)} requests, "
            f"{rps:,.0f} req/s, {tps:,.0f} tok/s, client CPU {cpu:.2f} cores"
        )
        err = stamp_errors_us(recs)
        print(
            f"  stamp error (client stamp - server send), us: p50 {pct(err, 50):.0f}  "
            f"p90 {pct(err, 90):.0f}  p99 {pct(err, 99):.0f}  max {max(err):.0f}"
        )
        print("  open loop (constant arrivals) at a share of that rate:")
        print("    target   achieved   dispatch lag ms p50 / p99 / max   stamp error us p50 / p99")
        for share in (0.5, 0.9):
            rate = round(rps * share, 1)
            open_bounds = bounds | {"rate": [rate], "arrival": "constant"}
            recs, _ = run_load(url, "mock", open_bounds, args.tokens)
            lag = [r.dispatch_lag_us / 1000 for r in recs]
            sched = [r.t_sched_us for r in recs]
            span = (max(sched) - min(sched)) / 1e6 if len(sched) > 1 else float("nan")
            achieved = (len(recs) - 1) / span if span else float("nan")
            err = stamp_errors_us(recs)
            print(
                f"    {rate:>6,.1f}   {achieved:>8,.1f}   "
                f"{pct(lag, 50):.2f} / {pct(lag, 99):.2f} / {max(lag):.2f}"
                f"                    {pct(err, 50):.0f} / {pct(err, 99):.0f}"
            )
    finally:
        stop(proc)


# -- the real server ------------------------------------------------------------------------


def start_real(threads: int) -> tuple[subprocess.Popen[str], str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from bench_helpers import smollm2_file

    cmd = [sys.executable, "-m", "tui_bench.core.backends.serve", "--model", str(smollm2_file())]
    cmd += ["--alias", "smol", "--n-ctx", "512", "--n-threads", str(threads)]
    cmd += ["--repack", "off", "--timings", "on"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        stop(proc)
        raise SystemExit(f"the server did not start: {line!r}")
    root = line.split("listening on ", 1)[1].strip()
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{root}/v1/models", timeout=5).status_code == 200:
                return proc, f"{root}/v1"
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise SystemExit("the server never answered /v1/models")


def server_rate(timings: dict[str, Any]) -> float | None:
    """The server's own decode rate: decodes after the first token over their time."""
    n, ms = timings.get("predicted_n"), timings.get("predicted_ms")
    return (n - 1) * 1000 / ms if n and n > 1 and ms else None


def trivial_round(url: str, n: int, max_tokens: int, rng: random.Random) -> list[float]:
    """n requests one after another from a plain httpx stream reader: the server's rates."""
    import httpx

    rates = []
    with httpx.Client(timeout=120) as client:
        for _ in range(n):
            body = {
                "model": "smol",
                "messages": [
                    {"role": "user", "content": f"[{rng.getrandbits(48):012x}]\n{PROMPT}"}
                ],
                "max_tokens": max_tokens,
                "temperature": 0.0,
                "stream": True,
            }
            timings: dict[str, Any] = {}
            with client.stream("POST", f"{url}/chat/completions", json=body) as resp:
                for line in resp.iter_lines():
                    if line.startswith("data: {"):
                        timings = json.loads(line[6:]).get("timings") or timings
            rate = server_rate(timings)
            if rate:
                rates.append(rate)
    return rates


def part_b(args: argparse.Namespace) -> None:
    proc, url = start_real(args.threads)
    rng = random.Random(0)
    alone: list[float] = []
    measured: list[float] = []
    client: list[float] = []
    cpu: dict[str, list[float]] = {"alone": [], "tui-bench": []}
    try:
        trivial_round(url, 1, args.max_tokens, rng)  # warm-up
        for i in range(args.rounds):
            sides = ("alone", "tui-bench") if i % 2 == 0 else ("tui-bench", "alone")
            for side in sides:
                c0, t0 = time.process_time(), time.perf_counter()
                if side == "alone":
                    alone += trivial_round(url, args.per_round, args.max_tokens, rng)
                else:
                    load = {"concurrency": [1], "requests": args.per_round, "seed": i}
                    recs, _ = run_load(url, "smol", load, args.max_tokens)
                    measured += [r.engine.eval_tps for r in recs if r.engine and r.engine.eval_tps]
                    client += [r.decode_tps for r in recs if r.decode_tps]
                cpu[side].append((time.process_time() - c0) / (time.perf_counter() - t0))
            print(f"  round {i + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        stop(proc)
    med = statistics.median
    print(f"\n(b) llama-cpp-python's server, SmolLM2, {args.threads} thread(s), one user")
    print(f"  server decode rate (its llama.cpp counters), {args.max_tokens} tokens max:")
    print(
        f"    trivial client:        {med(alone):7.1f} tok/s  (n={len(alone)}, "
        f"p10 {pct(alone, 10):.1f}, p90 {pct(alone, 90):.1f}; client CPU "
        f"{med(cpu['alone']):.3f} cores)"
    )
    print(
        f"    tui-bench measuring:   {med(measured):7.1f} tok/s  (n={len(measured)}, "
        f"p10 {pct(measured, 10):.1f}, p90 {pct(measured, 90):.1f}; client CPU "
        f"{med(cpu['tui-bench']):.3f} cores)"
    )
    print(f"    ratio tui-bench/alone: {med(measured) / med(alone):.3f}  (goal >= 0.97)")
    print(f"  tui-bench's client-side decode rate: {med(client):.1f} tok/s (SSE arrivals)")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--serve-mock", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=5.0, help="per mock level")
    ap.add_argument("--users", type=int, default=32, help="closed-loop users on the mock")
    ap.add_argument("--tokens", type=int, default=16, help="tokens per mock answer")
    ap.add_argument("--rounds", type=int, default=4, help="alternating rounds on the real server")
    ap.add_argument("--per-round", type=int, default=3, help="requests per side per round")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-real", action="store_true", help="skip (b)")
    args = ap.parse_args()
    if args.serve_mock:
        asyncio.run(_serve_mock())
        return 0
    part_a(args)
    if not args.no_real:
        part_b(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
