"""The llama.cpp worker process: loads one GGUF model and generates on request (or, for
the quality scorers, reads answers: the ``score`` op in :mod:`.llama_score`; or, loaded
for embeddings, turns texts into vectors: the ``embed`` op in :mod:`.llama_embed`).

Started by :mod:`tui_bench.core.backends.llama_cpp` as ``python -m
tui_bench.core.backends.llama_worker``. It speaks JSON lines: commands on stdin,
messages on a private copy of the original stdout (fd 1 itself is pointed at stderr, so
nothing that native code prints can corrupt the protocol).

The token loop runs on llama-cpp-python's low-level API with llama.cpp's C-side sampler
chain: one ``llama_decode`` and one ``llama_sampler_sample`` per token, the timestamp
taken right after the token is sampled, in this process. Timestamps and text are sent
in batches (every ``batch_ms``), so the parent's event loop never paces generation, and
its handling of a batch, which takes a CPU from the model, happens seldom.

Cancellation: SIGUSR1 sets a flag the loop checks between tokens. The worker ignores
SIGINT (a terminal's Ctrl-C goes to the parent, which decides) and dies with its parent.

Threads: like llama-bench, the worker creates its own ggml CPU threadpool (thread count,
polling level, priority) and attaches it to the context, instead of llama.cpp's default
one made anew for every graph computation. Without a count in the plan it runs with
:func:`tui_bench.core.cpus.default_threads` (affinity, cgroup quota, physical cores).

llama.cpp's log (:mod:`.llama_log`): warnings and errors go to the parent as ``log``
messages as they happen; the load's messages are read into the model's info (layers
offloaded, devices, buffer sizes). With ``TUI_BENCH_HIDE_GPUS=1`` (set by the parent for
a model with ``n_gpu_layers = 0``, beside ``CUDA_VISIBLE_DEVICES=""``) the model gets no
device at all: a CPU run on a GPU build stays on the CPU, prompt batches included.

Test-only fault switches: with ``TUI_BENCH_FAULT_REPACK_CRASH=1`` in its environment, a
worker whose model was loaded with weight repacking on kills itself with SIGSEGV on its
first decode, as llama.cpp's AMX repacking does on some hosts. With
``TUI_BENCH_FAULT_NATIVE_ABORT=<message>``, the first decode logs ``<message>`` through
ggml's logger as an error and aborts in ggml, as a CUDA error does. They exist so that the
fallback to repacking off and a native crash's cause can be tested on any machine; never
set them otherwise.
"""

from __future__ import annotations

import codecs
import ctypes
import json
import os
import re
import signal
import sys
import time
from typing import Any

from tui_bench.core.backends.llama_devices import (
    choose_placement,
    cuda_runtime,
    gpu_libraries,
    offload_status,
    registry,
    with_free_after,
)
from tui_bench.core.backends.llama_embed import embed_texts
from tui_bench.core.backends.llama_log import LogCapture, native_abort, parse_load_log
from tui_bench.core.backends.llama_params import context_params, model_params
from tui_bench.core.backends.llama_sampling import sampler_chain
from tui_bench.core.backends.llama_score import score_answer
from tui_bench.core.backends.templates import chat_template, template_name
from tui_bench.core.backends.threadpool import ThreadPool
from tui_bench.core.backends.worker_io import Channel, die_with_parent, peak_rss_kb, peak_rss_reset
from tui_bench.core.cpus import default_threads

perf_ns = time.perf_counter_ns

_cancelled = False
_verbose = os.environ.get("TUI_BENCH_WORKER_VERBOSE") == "1"
_hide_gpus = os.environ.get("TUI_BENCH_HIDE_GPUS") == "1"
_fault_repack_crash = os.environ.get("TUI_BENCH_FAULT_REPACK_CRASH") == "1"
_fault_abort = os.environ.get("TUI_BENCH_FAULT_NATIVE_ABORT", "")
# what hiding the GPUs makes a GPU backend say at start-up: expected, not a warning
_HIDDEN_QUIET = [re.compile(r"failed to initialize \w+: .*(no \w+-capable device|no device)")]
_log = LogCapture(echo=_verbose, quiet=_HIDDEN_QUIET if _hide_gpus else None)


def _on_cancel(signum: int, frame: Any) -> None:
    global _cancelled
    _cancelled = True


class Model:
    """One loaded model and its context."""

    def __init__(self, ll: Any, cmd: dict[str, Any], hello: dict[str, Any]) -> None:
        self.ll = ll
        self.hello = hello
        path = cmd["path"]
        ngl = int(cmd.get("n_gpu_layers", 0))
        gpus = [] if _hide_gpus or ngl == 0 else registry(ll, memory=True)[1]
        try:
            size_mib: float | None = os.path.getsize(path) / 2**20
        except OSError:
            size_mib = None
        try:
            placement = choose_placement(
                split_mode=cmd.get("split_mode"),
                main_gpu=cmd.get("main_gpu"),
                tensor_split=cmd.get("tensor_split"),
                gpus=gpus,
                model_mib=size_mib,
                devices=cmd.get("devices"),
            )
        except ValueError as exc:
            raise RuntimeError(str(exc)) from None
        settings = model_params(ll, cmd, placement, hide_gpus=_hide_gpus)
        self.placement = placement
        self.repack = bool(cmd.get("repack", True))
        _log.record()
        t0 = perf_ns()
        model = ll.llama_model_load_from_file(path.encode(), settings.params)
        if not model:
            _log.recording()
            reason = _log.last_error() or "llama.cpp returned no model"
            raise RuntimeError(f"llama.cpp could not load {path}: {reason}")
        self.model = model
        if cmd.get("n_threads"):
            n_threads, self.threads_from = int(cmd["n_threads"]), "plan"
        else:
            count = default_threads()
            n_threads, self.threads_from = count.n, count.reason
        cparams, self.flash = context_params(ll, cmd, n_threads)
        ctx = ll.llama_init_from_model(model, cparams)
        self.load_log = parse_load_log(_log.recording())
        if not ctx:
            ll.llama_model_free(model)
            reason = _log.last_error() or "context creation failed"
            raise RuntimeError(f"llama.cpp could not create a context for {path}: {reason}")
        self.ctx = ctx
        self.free_after = registry(ll, memory=True)[1] if gpus else []  # weights, KV, compute
        self.pool = ThreadPool(ll, n_threads, int(cmd.get("poll", 50)), int(cmd.get("prio", 0)))
        self.pool.attach(ctx)
        self.load_ms = (perf_ns() - t0) / 1e6
        self.decoded = False  # for the fault switch: crash on the first decode only
        self.vocab = ll.llama_model_get_vocab(model)
        self.n_vocab = ll.llama_vocab_n_tokens(self.vocab)
        self.n_ctx = ll.llama_n_ctx(ctx)
        self.n_threads = n_threads
        self.add_bos = bool(ll.llama_vocab_get_add_bos(self.vocab))
        self.eog = [t for t in range(self.n_vocab) if ll.llama_vocab_is_eog(self.vocab, t)]
        self.cached: list[int] = []  # tokens in the KV cache (prompt caching only)
        self.tmpl = chat_template(ll, model, cmd.get("chat_template"))
        self.piece = ctypes.create_string_buffer(256)

    def info(self) -> dict[str, Any]:
        ll = self.ll
        desc = ctypes.create_string_buffer(256)
        ll.llama_model_desc(self.model, desc, 256)
        parsed, hello = self.load_log, self.hello
        status = offload_status(
            bool(hello["gpu_offload"]),
            [b["name"] for b in hello["backends"]],
            hello["gpu_libs"],
            hidden=_hide_gpus,
        )
        layers = parsed["gpu_layers"] or {
            # no such line: the build cannot offload here; llama.cpp counts the output layer
            "offloaded": 0,
            "total": int(ll.llama_model_n_layer(self.model)) + 1,
        }
        return {
            "desc": desc.value.decode(errors="replace"),
            "n_params": int(ll.llama_model_n_params(self.model)),
            "size_bytes": int(ll.llama_model_size(self.model)),
            "n_ctx": int(self.n_ctx),
            "n_ctx_train": int(ll.llama_model_n_ctx_train(self.model)),
            "n_vocab": int(self.n_vocab),
            "n_threads": int(self.n_threads),
            "chat_template": template_name(self.tmpl),
            "n_eog_tokens": len(self.eog),
            "n_threads_from": self.threads_from,
            "repack": self.repack,
            "threadpool": self.pool.describe(),
            "offload": status.to_json(),
            "gpu_layers": layers,
            "gpu_devices": with_free_after(parsed["devices"], self.free_after),
            "buffers_mib": parsed["buffers_mib"],
            "placement": self.placement.to_json(),
            "flash_attn": {**self.flash, "resolved": parsed["flash_attn"]},
        }

    def close(self) -> None:
        self.ll.llama_free(self.ctx)
        self.pool.free()
        self.ll.llama_model_free(self.model)

    # -- prompt -------------------------------------------------------------------------

    def render(self, cmd: dict[str, Any]) -> str:
        text = cmd["prompt"]
        if cmd.get("mode", "chat") != "chat":
            return text
        messages = []
        if cmd.get("system"):
            messages.append(("system", cmd["system"]))
        messages.append(("user", text))
        ll = self.ll
        if self.tmpl:
            arr = (ll.llama_chat_message * len(messages))()
            keep = []
            for i, (role, content) in enumerate(messages):
                r, c = role.encode(), content.encode()
                keep += [r, c]
                arr[i].role, arr[i].content = r, c
            size = 4 * sum(len(c) for _, c in messages) + 1024
            buf = ctypes.create_string_buffer(size)
            n = ll.llama_chat_apply_template(self.tmpl, arr, len(messages), True, buf, size)
            if n > size:
                buf = ctypes.create_string_buffer(n + 1)
                n = ll.llama_chat_apply_template(self.tmpl, arr, len(messages), True, buf, n + 1)
            if n >= 0:
                return buf.raw[:n].decode("utf-8", errors="replace")
            return self._render_jinja(messages)
        raise RuntimeError('the model has no chat template; set mode = "completion" in the plan')

    def _render_jinja(self, messages: list[tuple[str, str]]) -> str:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        fmt = Jinja2ChatFormatter(template=self.tmpl.decode(), eos_token="", bos_token="")
        result = fmt(messages=[{"role": r, "content": c} for r, c in messages])
        return result.prompt

    def tokenize(self, text: str) -> list[int]:
        ll = self.ll
        raw = text.encode()
        cap = len(raw) + 16
        toks = (ll.llama_token * cap)()
        # The rendered chat prompt already holds its special tokens; parse them.
        n = ll.llama_tokenize(self.vocab, raw, len(raw), toks, cap, self.add_bos, True)
        if n < 0:
            cap = -n
            toks = (ll.llama_token * cap)()
            n = ll.llama_tokenize(self.vocab, raw, len(raw), toks, cap, self.add_bos, True)
        return list(toks[:n])

    # -- generation ---------------------------------------------------------------------

    def before_decode(self) -> None:
        """The test-only fault switches (see the module's doc), before a request's decode."""
        if _fault_repack_crash and self.repack and not self.decoded:
            os.kill(os.getpid(), signal.SIGSEGV)
        if _fault_abort and not self.decoded:
            native_abort(self.ll, _fault_abort)
        self.decoded = True

    def generate(self, cmd: dict[str, Any], chan: Channel) -> dict[str, Any]:
        """Run one request; returns the ``done`` message."""
        global _cancelled
        ll = self.ll
        ctx, vocab = self.ctx, self.vocab
        rid = cmd["id"]
        _cancelled = False
        max_tokens = int(cmd["max_tokens"])
        ignore_eos = bool(cmd.get("ignore_eos"))
        stops = [s for s in cmd.get("stop", []) if s]
        batch_ns = int(cmd.get("batch_ms", 50)) * 1_000_000
        prompt_cache = bool(cmd.get("prompt_cache"))

        rss_reset = peak_rss_reset()
        t_send = perf_ns()
        tokens = self.tokenize(self.render(cmd))
        n_in = len(tokens)
        if n_in == 0:
            raise RuntimeError("the prompt tokenizes to nothing")
        if n_in + max_tokens > self.n_ctx:
            raise RuntimeError(
                f"prompt ({n_in} tokens) + max_tokens ({max_tokens}) exceeds n_ctx ({self.n_ctx})"
            )

        mem = ll.llama_get_memory(ctx)
        n_keep = 0
        if prompt_cache and self.cached:
            # Reuse the longest common prefix; at least one token must be evaluated.
            limit = min(len(self.cached), n_in - 1)
            while n_keep < limit and self.cached[n_keep] == tokens[n_keep]:
                n_keep += 1
            ll.llama_memory_seq_rm(mem, 0, n_keep, -1)
        else:
            ll.llama_memory_clear(mem, True)
        ll.llama_perf_context_reset(ctx)
        chain = sampler_chain(self.ll, cmd, self.eog, self.n_vocab)

        todo = tokens[n_keep:]
        arr = (ll.llama_token * len(todo))(*todo)
        self.before_decode()
        rc = ll.llama_decode(ctx, ll.llama_batch_get_one(arr, len(todo)))
        if rc != 0:
            ll.llama_sampler_free(chain)
            self.cached = []
            raise RuntimeError(f"llama_decode failed on the prompt (code {rc})")

        sample = ll.llama_sampler_sample
        decode = ll.llama_decode
        is_eog = ll.llama_vocab_is_eog
        to_piece = ll.llama_token_to_piece
        piece = self.piece
        one = (ll.llama_token * 1)()
        batch = ll.llama_batch_get_one(one, 1)
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

        times: list[int] = []
        out_tokens: list[int] = []
        text_parts: list[str] = []
        sent = [0, 0]  # timestamps and text parts already sent

        def flush(n_out: int) -> None:
            """Send what was generated since the last batch (off the per-token path)."""
            chan.send(
                {
                    "type": "tokens",
                    "id": rid,
                    "t": times[sent[0] :],
                    "text": "".join(text_parts[sent[1] :]),
                    "n_out": n_out,
                    "t_send": t_send,
                }
            )
            sent[0], sent[1] = len(times), len(text_parts)

        last_flush = perf_ns()
        finish = None
        error = None
        tail = ""
        n_out = 0
        sample_ns = 0  # the sample calls of tokens 2..n: inside the client's interval
        decode_ns = 0  # the decode calls before tokens 2..n: inside it too
        pending_ns = 0  # the last decode call's, counted once a token follows it
        while True:
            t0 = perf_ns()
            tok = sample(chain, ctx, -1)
            t = perf_ns()
            if not ignore_eos and is_eog(vocab, tok):
                finish = "stop"
                break
            if times:
                sample_ns += t - t0
                decode_ns += pending_ns
            times.append(t)
            out_tokens.append(tok)
            n_out += 1
            n = to_piece(vocab, tok, piece, 256, 0, False)
            if n > 0:
                s = utf8.decode(piece[:n])
                if s:
                    text_parts.append(s)
                    if stops:
                        tail = (tail + s)[-256:]
                        if any(st in tail for st in stops):
                            finish = "stop"
                            break
            if n_out >= max_tokens:
                finish = "length"
                break
            if _cancelled:
                finish = "cancelled"
                break
            if t - last_flush >= batch_ns:
                flush(n_out)
                last_flush = perf_ns()
            one[0] = tok
            t0 = perf_ns()
            rc = decode(ctx, batch)
            pending_ns = perf_ns() - t0
            if rc != 0:
                error = f"llama_decode failed at token {n_out} (code {rc})"
                finish = "error"
                break
        text_parts.append(utf8.decode(b"", final=True))
        if len(times) > sent[0] or len(text_parts) > sent[1]:
            flush(n_out)
        perf = ll.llama_perf_context(ctx)
        sperf = ll.llama_perf_sampler(chain)
        ll.llama_sampler_free(chain)
        self.cached = (tokens + out_tokens) if prompt_cache else []
        if prompt_cache and finish in ("length", "cancelled", "stop"):
            # the last sampled token was never decoded into the cache
            self.cached = self.cached[:-1] if out_tokens else self.cached
        if finish == "cancelled":
            _cancelled = False
        text = "".join(text_parts)
        if stops and finish == "stop":
            cut = min((text.find(s) for s in stops if s in text), default=-1)
            if cut >= 0:
                text = text[:cut]
        return {
            "type": "done",
            "id": rid,
            "t_send": t_send,
            "n_in": n_in,
            "n_out": n_out,
            "n_cached": n_keep,
            "finish_reason": finish,
            "error": error,
            "text": text,
            "engine": {
                "n_p_eval": int(perf.n_p_eval),
                "t_p_eval_ms": float(perf.t_p_eval_ms),
                "n_eval": int(perf.n_eval),
                "t_eval_ms": float(perf.t_eval_ms),
                "n_sample": int(sperf.n_sample),
                "t_sample_ms": float(sperf.t_sample_ms),
                "t_sample_call_ms": sample_ns / 1e6,
                "t_decode_call_ms": decode_ns / 1e6,
                "n_decode_call": max(0, len(times) - 1),
                "n_reused": int(perf.n_reused),
            },
            "peak_rss_kb": peak_rss_kb() if rss_reset else None,
        }


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, _on_cancel)
    die_with_parent()
    chan = Channel()
    try:
        import llama_cpp
        import llama_cpp.llama_cpp as ll
    except Exception as exc:  # pragma: no cover - depends on the install
        chan.send({"type": "fatal", "message": f"cannot import llama_cpp: {exc}"})
        return 3
    _log.send = lambda level, text: chan.send({"type": "log", "level": level, "text": text})
    _log.install(ll)
    ll.llama_backend_init()
    backends, _ = registry(ll)
    hello = {
        "type": "hello",
        "pid": os.getpid(),
        "llama_cpp_python": getattr(llama_cpp, "__version__", "?"),
        "gpu_offload": bool(ll.llama_supports_gpu_offload()),
        "system_info": ll.llama_print_system_info().decode(errors="replace").strip(),
        "backends": backends,
        "gpu_libs": gpu_libraries(ll),
        "cuda_runtime": cuda_runtime(ll, [b["name"] for b in backends]),
        "gpus_hidden": _hide_gpus,
    }
    chan.send(hello)
    model: Model | None = None
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op = cmd.get("op")
        try:
            if op == "load":
                model = Model(ll, cmd, hello)
                chan.send({"type": "loaded", "load_ms": model.load_ms, "info": model.info()})
            elif op == "generate":
                if model is None:
                    raise RuntimeError("no model loaded")
                chan.send(model.generate(cmd, chan))
            elif op == "score":  # the fluency scorer's log-probabilities (.llama_score)
                if model is None:
                    raise RuntimeError("no model loaded")
                chan.send(score_answer(model, cmd))
            elif op == "embed":  # the embedding retriever's vectors (.llama_embed)
                if model is None:
                    raise RuntimeError("no model loaded")
                chan.send(embed_texts(model, cmd))
            elif op == "exit":
                break
            else:
                raise RuntimeError(f"unknown op {op!r}")
        except Exception as exc:
            chan.send({"type": "error", "op": op, "id": cmd.get("id"), "message": str(exc)})
    if model is not None:
        model.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
