"""The llama.cpp worker process: loads one GGUF model and generates on request.

Started by :mod:`tui_bench.core.backends.llama_cpp` as ``python -m
tui_bench.core.backends.llama_worker``. It speaks JSON lines: commands on stdin,
messages on a private copy of the original stdout (fd 1 itself is pointed at stderr, so
nothing that native code prints can corrupt the protocol).

The token loop runs on llama-cpp-python's low-level API with llama.cpp's C-side sampler
chain: one ``llama_decode`` and one ``llama_sampler_sample`` per token, the timestamp
taken right after the token is sampled, in this process. Timestamps and text are sent
in batches (every ``batch_ms``), so the parent's event loop never paces generation.

Cancellation: SIGUSR1 sets a flag the loop checks between tokens. The worker ignores
SIGINT (a terminal's Ctrl-C goes to the parent, which decides) and dies with its parent.

Threads: like llama-bench, the worker creates its own ggml CPU threadpool (thread count,
polling level, priority) and attaches it to the context, instead of llama.cpp's default
one made anew for every graph computation.

Test-only fault switch: with ``TUI_BENCH_FAULT_REPACK_CRASH=1`` in its environment, a
worker whose model was loaded with weight repacking on kills itself with SIGSEGV on its
first decode, as llama.cpp's AMX repacking does on some hosts. It exists so that the
fallback to repacking off can be tested on any machine; never set it otherwise.
"""

from __future__ import annotations

import codecs
import ctypes
import json
import os
import signal
import sys
import time
from collections import deque
from typing import Any

from tui_bench.core.backends.templates import chat_template, template_name
from tui_bench.core.backends.threadpool import ThreadPool

perf_ns = time.perf_counter_ns

_cancelled = False
_log_tail: deque[str] = deque(maxlen=40)
_verbose = os.environ.get("TUI_BENCH_WORKER_VERBOSE") == "1"
_fault_repack_crash = os.environ.get("TUI_BENCH_FAULT_REPACK_CRASH") == "1"


def _on_cancel(signum: int, frame: Any) -> None:
    global _cancelled
    _cancelled = True


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Channel:
    """The protocol stream: a private dup of the original stdout."""

    def __init__(self) -> None:
        fd = os.dup(1)
        os.dup2(2, 1)  # anything printed to stdout from now on goes to stderr
        sys.stdout = sys.stderr
        self.out = os.fdopen(fd, "wb", buffering=0)

    def send(self, msg: dict[str, Any]) -> None:
        self.out.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")


def _peak_rss_reset() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_kb() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except Exception:
        return None


def _last_error() -> str:
    for line in reversed(_log_tail):
        low = line.lower()
        if "error" in low or "failed" in low or "invalid" in low:
            return line
    return _log_tail[-1] if _log_tail else ""


class Model:
    """One loaded model and its context."""

    def __init__(self, ll: Any, cmd: dict[str, Any]) -> None:
        self.ll = ll
        path = cmd["path"]
        mparams = ll.llama_model_default_params()
        mparams.n_gpu_layers = int(cmd.get("n_gpu_layers", 0))
        if mparams.n_gpu_layers < 0:
            mparams.n_gpu_layers = 1_000_000
        self.repack = bool(cmd.get("repack", True))
        if hasattr(mparams, "use_extra_bufts"):
            mparams.use_extra_bufts = self.repack
        elif not self.repack:
            raise RuntimeError(
                "this llama-cpp-python cannot turn weight repacking off (no use_extra_bufts): "
                "upgrade it, or set repack = true"
            )
        t0 = perf_ns()
        model = ll.llama_model_load_from_file(path.encode(), mparams)
        if not model:
            reason = _last_error() or "llama.cpp returned no model"
            raise RuntimeError(f"llama.cpp could not load {path}: {reason}")
        self.model = model
        cparams = ll.llama_context_default_params()
        n_threads = cmd.get("n_threads") or os.cpu_count() or 1
        cparams.n_ctx = int(cmd.get("n_ctx", 2048))
        cparams.n_batch = int(cmd.get("n_batch", 512))
        cparams.n_ubatch = (
            min(cparams.n_ubatch, cparams.n_batch) if cparams.n_ubatch else cparams.n_batch
        )
        cparams.n_threads = n_threads
        cparams.n_threads_batch = n_threads
        cparams.no_perf = False
        # llama_flash_attn_type: -1 auto, 0 disabled, 1 enabled
        fa = cmd.get("flash_attn")
        cparams.flash_attn_type = -1 if fa is None else int(bool(fa))
        ctx = ll.llama_init_from_model(model, cparams)
        if not ctx:
            ll.llama_model_free(model)
            reason = _last_error() or "context creation failed"
            raise RuntimeError(f"llama.cpp could not create a context for {path}: {reason}")
        self.ctx = ctx
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
            "repack": self.repack,
            "threadpool": self.pool.describe(),
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

    def _sampler(self, cmd: dict[str, Any]) -> Any:
        ll = self.ll
        sparams = ll.llama_sampler_chain_default_params()
        sparams.no_perf = False
        chain = ll.llama_sampler_chain_init(sparams)
        if cmd.get("ignore_eos") and self.eog:
            bias = (ll.llama_logit_bias * len(self.eog))()
            for i, tok in enumerate(self.eog):
                bias[i].token = tok
                bias[i].bias = float("-inf")
            ll.llama_sampler_chain_add(
                chain, ll.llama_sampler_init_logit_bias(self.n_vocab, len(self.eog), bias)
            )
        temperature = float(cmd.get("temperature", 0.0))
        if temperature <= 0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
        else:
            top_k = int(cmd.get("top_k", 40))
            if top_k > 0:
                ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_k(top_k))
            ll.llama_sampler_chain_add(
                chain, ll.llama_sampler_init_top_p(float(cmd.get("top_p", 0.95)), 1)
            )
            ll.llama_sampler_chain_add(
                chain, ll.llama_sampler_init_min_p(float(cmd.get("min_p", 0.05)), 1)
            )
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_temp(temperature))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_dist(int(cmd.get("seed", 42))))
        return chain

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

        rss_reset = _peak_rss_reset()
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
        chain = self._sampler(cmd)

        todo = tokens[n_keep:]
        arr = (ll.llama_token * len(todo))(*todo)
        if _fault_repack_crash and self.repack and not self.decoded:
            os.kill(os.getpid(), signal.SIGSEGV)
        self.decoded = True
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
        while True:
            tok = sample(chain, ctx, -1)
            t = perf_ns()
            if not ignore_eos and is_eog(vocab, tok):
                finish = "stop"
                break
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
            rc = decode(ctx, batch)
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
                "n_reused": int(perf.n_reused),
            },
            "peak_rss_kb": _peak_rss_kb() if rss_reset else None,
        }


def _install_log_capture(ll: Any) -> Any:
    @ll.llama_log_callback
    def _cb(level: int, text: bytes, user_data: Any) -> None:
        line = text.decode("utf-8", errors="replace").rstrip()
        if line:
            _log_tail.append(line)
        if _verbose:
            sys.stderr.write(text.decode("utf-8", errors="replace"))

    ll.llama_log_set(_cb, ctypes.c_void_p(0))
    return _cb  # keep a reference: ctypes callbacks must outlive their use


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, _on_cancel)
    _die_with_parent()
    chan = Channel()
    try:
        import llama_cpp
        import llama_cpp.llama_cpp as ll
    except Exception as exc:  # pragma: no cover - depends on the install
        chan.send({"type": "fatal", "message": f"cannot import llama_cpp: {exc}"})
        return 3
    keep = _install_log_capture(ll)
    ll.llama_backend_init()
    chan.send(
        {
            "type": "hello",
            "pid": os.getpid(),
            "llama_cpp_python": getattr(llama_cpp, "__version__", "?"),
            "gpu_offload": bool(ll.llama_supports_gpu_offload()),
            "system_info": ll.llama_print_system_info().decode(errors="replace").strip(),
        }
    )
    model: Model | None = None
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op = cmd.get("op")
        try:
            if op == "load":
                model = Model(ll, cmd)
                chan.send({"type": "loaded", "load_ms": model.load_ms, "info": model.info()})
            elif op == "generate":
                if model is None:
                    raise RuntimeError("no model loaded")
                chan.send(model.generate(cmd, chan))
            elif op == "exit":
                break
            else:
                raise RuntimeError(f"unknown op {op!r}")
        except Exception as exc:
            chan.send({"type": "error", "op": op, "id": cmd.get("id"), "message": str(exc)})
    if model is not None:
        model.close()
    del keep
    return 0


if __name__ == "__main__":
    sys.exit(main())
