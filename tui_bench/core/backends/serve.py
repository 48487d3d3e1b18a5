"""A launcher for llama-cpp-python's OpenAI-compatible server, bound to loopback only.

``python -m tui_bench.core.backends.serve --model PATH|builtin:NAME [--port N]`` serves one
GGUF model on ``http://127.0.0.1:PORT`` through ``llama_cpp.server``'s own app (extra
``server``). It exists for what ``python -m llama_cpp.server`` cannot do:

- ``--repack off`` loads the model with llama.cpp's weight repacking off
  (``use_extra_bufts = False``): on hosts where the repacked (AMX) layouts crash on the
  first decode, the server has no option for it. ``llama.Llama`` builds its model
  parameters from ``llama_model_default_params()`` and loads the model in its constructor,
  so the launcher wraps that factory before the app loads the model.
- ``--prompt-cache off`` (the default) starts every request with an empty KV cache, as
  tui-bench does in process: ``Llama.generate`` otherwise reuses the longest prefix it
  evaluated before, so a repeated prompt would skip its prefill, unseen by the client
  (the server reports no cached-token count).
- ``--port 0`` (the default) binds a free port itself and prints it, so a caller never
  races another process for a port it guessed.
- An API key is read from the environment variable ``--api-key-env`` names, never from
  the command line (which any user can read in the process list).

- ``--timings on`` adds llama.cpp's own counters to the last chunk of every answer, in
  llama-server's ``timings`` shape (``prompt_n``/``prompt_ms``, ``predicted_n``/
  ``predicted_ms``; read from ``llama_perf_context``, reset at the start of each request),
  plus the server's wall time from taking the request to its first chunk (``first_ms``) and
  to its last (``wall_ms``), and the time spent in ``Llama.sample`` after the first token
  (``sample_ms``: the samples inside the client's decode interval, as the in-process
  worker stamps them). Off by default: decode + sampling still leaves out the server's other
  Python work per token (detokenizing, building and sending chunks), so a client comparing
  its own decode rate with it may flag requests. tui-bench turns it on for the servers it
  launches (:mod:`.openai_launch`), whose wall time splits a report's HTTP overhead.

It never cuts a running stream for a newer request (``interrupt_requests = False``), so a
measured stream is never truncated by the benchmark's own next request.

The first line on stdout is ``listening on http://127.0.0.1:PORT`` once the port is bound
(before the model loads); ``GET /v1/models`` answers once the model is loaded.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tui_bench.core.backends.serve",
        description="Serve one GGUF model with llama-cpp-python's OpenAI-compatible server "
        f"on {HOST}.",
    )
    p.add_argument("--model", required=True, help="a GGUF path or builtin:NAME")
    p.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    p.add_argument("--alias", default=None, help="the model name the server answers to")
    p.add_argument("--n-ctx", type=int, default=2048)
    p.add_argument("--n-threads", type=int, default=None)
    p.add_argument(
        "--repack",
        choices=("on", "off"),
        default="on",
        help="llama.cpp weight repacking (off: use_extra_bufts = False)",
    )
    p.add_argument(
        "--prompt-cache",
        choices=("on", "off"),
        default="off",
        help="off: every request starts with an empty KV cache (no prefix reuse)",
    )
    p.add_argument(
        "--timings",
        choices=("on", "off"),
        default="off",
        help="on: llama.cpp's counters as llama-server's `timings` in each answer's last chunk",
    )
    p.add_argument(
        "--api-key-env",
        default=None,
        help="an environment variable holding the key clients must send",
    )
    return p.parse_args(argv)


def repack_off() -> None:
    """Make every model llama-cpp-python loads from now on load with repacking off."""
    import llama_cpp.llama_cpp as ll

    make_default = ll.llama_model_default_params
    if getattr(make_default, "_tui_bench_repack_off", False):
        return

    def default_params() -> Any:
        params = make_default()
        params.use_extra_bufts = False
        return params

    default_params._tui_bench_repack_off = True  # type: ignore[attr-defined]
    ll.llama_model_default_params = default_params


def prompt_cache_off() -> None:
    """Make every generation start from an empty KV cache (no reuse of an earlier prefix)."""
    from llama_cpp import Llama

    generate = Llama.generate
    if getattr(generate, "_tui_bench_cache_off", False):
        return

    def fresh_generate(self: Any, *args: Any, **kwargs: Any) -> Any:
        self.reset()  # n_tokens = 0: generate() finds no common prefix to keep
        return generate(self, *args, **kwargs)

    fresh_generate._tui_bench_cache_off = True  # type: ignore[attr-defined]
    Llama.generate = fresh_generate  # type: ignore[method-assign]


def _finished(chunk: Any) -> bool:
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    return bool(choices) and choices[0].get("finish_reason") is not None


def _timings(llama: Any, t0: int, t_first: int | None) -> dict[str, Any]:
    import time

    import llama_cpp.llama_cpp as ll

    now = time.perf_counter_ns()
    perf = ll.llama_perf_context(llama._ctx.ctx)
    return {
        "prompt_n": int(perf.n_p_eval),
        "prompt_ms": float(perf.t_p_eval_ms),
        # llama-server counts the first token in predicted_n (its time starts after it):
        # llama.cpp's n_eval counts decodes, one fewer than the tokens sampled
        "predicted_n": int(perf.n_eval) + 1,
        "predicted_ms": float(perf.t_eval_ms),
        # the first sample ends the prefill: the client's decode interval holds the others
        "sample_ms": sum(getattr(llama, "_tui_bench_samples", [])[1:]) / 1e6,
        "first_ms": None if t_first is None else (t_first - t0) / 1e6,
        "wall_ms": (now - t0) / 1e6,
        "source": "llama_perf_context",
    }


def server_timings() -> None:
    """Add llama.cpp's counters for the request to the last chunk of every streamed answer
    (and to a whole answer), as llama-server's ``timings``. The server runs one request at
    a time on its model (a lock), so the context's counters belong to this request."""
    import time

    import llama_cpp.llama_cpp as ll
    from llama_cpp import Llama

    def wrap(method: Any) -> Any:
        if getattr(method, "_tui_bench_timings", False):
            return method

        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            ll.llama_perf_context_reset(self._ctx.ctx)
            self._tui_bench_samples = []
            t0 = time.perf_counter_ns()
            out = method(self, *args, **kwargs)
            if isinstance(out, dict):
                return {**out, "timings": _timings(self, t0, None)}

            def stream() -> Any:
                t_first = None
                for chunk in out:
                    if t_first is None:
                        t_first = time.perf_counter_ns()
                    if _finished(chunk):
                        chunk = {**chunk, "timings": _timings(self, t0, t_first)}
                    yield chunk

            return stream()

        timed._tui_bench_timings = True  # type: ignore[attr-defined]
        return timed

    sample = Llama.sample
    if not getattr(sample, "_tui_bench_timings", False):

        def timed_sample(self: Any, *args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter_ns()
            try:
                return sample(self, *args, **kwargs)
            finally:
                samples = getattr(self, "_tui_bench_samples", None)
                if samples is not None:
                    samples.append(time.perf_counter_ns() - t)

        timed_sample._tui_bench_timings = True  # type: ignore[attr-defined]
        Llama.sample = timed_sample  # type: ignore[method-assign]
    # a chat answer goes through create_completion and is converted chunk by chunk (the
    # inner timings are dropped there): the outer wrapper adds them to the chat chunk
    Llama.create_completion = wrap(Llama.create_completion)  # type: ignore[method-assign]
    Llama.create_chat_completion = wrap(Llama.create_chat_completion)  # type: ignore[method-assign]


def _model_path(source: str) -> Path:
    from tui_bench.core.models import resolve_source

    return resolve_source(source, base_dir=Path.cwd(), assemble=True)


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    return sock


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        import uvicorn
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings, ServerSettings
    except ImportError as exc:
        print(
            f"llama-cpp-python's server is not installed ({exc.name}): "
            "pip install 'tui-bench[server]'",
            file=sys.stderr,
        )
        return 2
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            print(f"environment variable {args.api_key_env} is not set", file=sys.stderr)
            return 2
    try:
        path = _model_path(args.model)
    except Exception as exc:  # the message names the source; no traceback for bad input
        print(f"--model {args.model}: {exc}", file=sys.stderr)
        return 2
    if args.repack == "off":
        repack_off()
    if args.prompt_cache == "off":
        prompt_cache_off()
    if args.timings == "on":
        server_timings()
    sock = _bind(args.port)
    port = sock.getsockname()[1]
    print(f"listening on http://{HOST}:{port}", flush=True)
    server_settings = ServerSettings(
        host=HOST, port=port, interrupt_requests=False, api_key=api_key
    )
    threads = args.n_threads or max(1, (os.cpu_count() or 2) // 2)
    model_settings = ModelSettings(
        model=str(path),
        model_alias=args.alias or path.stem,
        n_ctx=args.n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    app = create_app(server_settings=server_settings, model_settings=[model_settings])
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
