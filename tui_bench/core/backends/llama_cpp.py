"""In-process llama.cpp models, each in its own worker process.

The worker (:mod:`.llama_worker`) holds the model; this side drives it over pipes with
JSON lines. A native crash, an out-of-memory kill or a hung load becomes a failed
request with a clear reason, and the run goes on. Memory is measured per model and freed
when the worker exits.

llama.cpp's warnings and errors arrive as ``log`` messages between the others: each goes
to :attr:`Backend.log` (the run log) as it comes, and the errors since the current load
or request are kept, so that a worker killed by SIGABRT is reported with llama.cpp's
cause (``CUDA error: out of memory``). A model with ``n_gpu_layers = 0`` runs in a worker
that sees no GPU (``CUDA_VISIBLE_DEVICES=""``, no llama.cpp devices): on a GPU build,
llama.cpp would otherwise still run large prompt batches on the GPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections import deque
from pathlib import Path
from typing import Any

from tui_bench.core.backends.base import Backend, GenRequest, LoadInfo, OnTokens, TokenBatch
from tui_bench.core.backends.llama_log import last_native_error
from tui_bench.core.backends.spawn import WorkerProcess, start_process
from tui_bench.core.errors import BackendError
from tui_bench.core.metrics import FLAG_REPACK_OFF, EngineCounters, RawTiming
from tui_bench.core.plan import ModelSpec
from tui_bench.core.results import GenOutcome

STARTUP_TIMEOUT_S = 120.0
MAX_LOAD_WARNINGS = 20  # llama.cpp's warnings kept in a model's info
STREAM_LIMIT = 64 * 1024 * 1024
# A worker killed by one of these died in native code (not by the OOM killer's SIGKILL).
NATIVE_CRASH_SIGNALS = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}
)


def _signal_name(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = " (out of memory?)" if -returncode == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exited with code {returncode}"


def offload_warning(n_gpu_layers: int, info: dict[str, Any]) -> str | None:
    """Why a model asked for GPU layers runs (partly) on the CPU, with the fix; or None."""
    if n_gpu_layers == 0:
        return None
    status = info.get("offload") or {}
    asked = f"n_gpu_layers={n_gpu_layers} asked"
    kind, advice = status.get("kind"), status.get("advice")
    if kind == "cpu_build":
        build = "this llama-cpp-python is a CPU-only build"
        return f"{asked}, but {build}: everything runs on the CPU; {advice}"
    if kind == "no_gpu_visible":
        build = f"this {status.get('gpu_backend')} build sees no GPU"
        return f"{asked}, but {build}: everything runs on the CPU; {advice}"
    layers = info.get("gpu_layers") or {}
    done, total = layers.get("offloaded"), layers.get("total")
    wanted = total if n_gpu_layers < 0 or total is None else min(n_gpu_layers, total)
    if done is not None and wanted is not None and done < wanted:
        return f"{asked}, but llama.cpp offloaded {done}/{total} layers to the GPU"
    return None


# How often the worker sends its token stamps and text while it generates. Each batch
# wakes this process, whose handling then takes a CPU from the model's threads: with as
# many threads as cores, SmolLM2's loop outside llama.cpp's calls measured 274-385 us a
# token at 50 ms, 129-255 at 250 ms, 119-162 at 1 s (quickstart, 2-core VM). The stamps
# are the worker's own, so no figure depends on it; the live view repaints once a second
# while a request is measured, so 250 ms never shows.
FLUSH_MS = 250


class LlamaCppBackend(Backend):
    token_source = "engine"
    fallback_flag = FLAG_REPACK_OFF

    def __init__(self, spec: ModelSpec, path: Path | None = None) -> None:
        super().__init__(spec, path)
        self.proc: WorkerProcess | None = None
        self.hello: dict[str, Any] = {}
        self._stderr_tail: deque[str] = deque(maxlen=30)
        self._stderr_task: asyncio.Task[None] | None = None
        self._dead_reason: str | None = None
        self._seq = 0
        self._fallback: tuple[ModelSpec, str] | None = None
        self._errors: list[str] = []  # llama.cpp's errors since the current load or request
        self._warnings: list[str] = []  # llama.cpp's warnings and errors while loading
        self._loading = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and self._dead_reason is None

    # -- process plumbing -----------------------------------------------------------------

    async def _start(self) -> None:
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self.spec.n_gpu_layers == 0:
            # a CPU run: no GPU for this worker, even on a GPU build (see the module's doc)
            env["CUDA_VISIBLE_DEVICES"] = ""
            env["TUI_BENCH_HIDE_GPUS"] = "1"
        if env.get("TUI_BENCH_WORKER_VERBOSE") != "1":
            # a native abort's backtrace may attach a debugger for seconds: the cause is
            # llama.cpp's error message, which reaches us anyway
            env.setdefault("GGML_NO_BACKTRACE", "1")
        self.proc = await start_process(
            [sys.executable, "-m", "tui_bench.core.backends.llama_worker"],
            env=env,
            limit=STREAM_LIMIT,
        )
        self._stderr_task = asyncio.create_task(self._drain_stderr())

    async def _drain_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                return
            text = line.decode(errors="replace").rstrip()
            if text:
                self._stderr_tail.append(text)

    def _send(self, msg: dict[str, Any]) -> None:
        assert self.proc
        self.proc.write(json.dumps(msg).encode() + b"\n")

    async def _recv(self, timeout: float | None) -> dict[str, Any] | None:
        """Next message, or None when the worker's stream ended (it died); llama.cpp's log
        messages on the way are handled, within the same ``timeout``."""
        assert self.proc and self.proc.stdout
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            line = await asyncio.wait_for(self.proc.stdout.readline(), left)
            if not line:
                return None
            msg = json.loads(line)
            if msg.get("type") != "log":
                return msg
            self._worker_log(str(msg.get("level")), str(msg.get("text")))

    def _worker_log(self, level: str, text: str) -> None:
        if level == "error":
            self._errors.append(text)
        if self._loading and len(self._warnings) < MAX_LOAD_WARNINGS:
            self._warnings.append(text)
        if self.log is not None:
            self.log("error" if level == "error" else "warning", f"llama.cpp: {text.strip()}")

    async def _death_reason(self) -> str:
        assert self.proc
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 5)
        if self._stderr_task:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), 1)
        reason = f"worker {_signal_name(self.proc.returncode)}"
        last = last_native_error(self._errors) or self._last_stderr()
        return f"{reason}: {last}" if last else reason

    def _last_stderr(self) -> str:
        for line in reversed(self._stderr_tail):
            low = line.lower()
            if any(w in low for w in ("error", "failed", "abort", "exception", "assert")):
                return line.strip()
        return self._stderr_tail[-1].strip() if self._stderr_tail else ""

    async def _kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 10)

    def _load_options(self) -> dict[str, Any]:
        """What a subclass adds to the worker's load command (the embedder: embeddings)."""
        return {}

    # -- Backend ------------------------------------------------------------------------

    async def load(self) -> LoadInfo:
        spec = self.spec
        if self.path is None:
            raise BackendError(f"{spec.id}: no model file")
        self._errors, self._warnings, self._loading = [], [], True
        await self._start()
        try:
            hello = await self._recv(STARTUP_TIMEOUT_S)
            if hello is None:
                raise BackendError(f"{spec.id}: {await self._death_reason()}")
            if hello.get("type") == "fatal":
                raise BackendError(f"{spec.id}: {hello.get('message')}")
            self.hello = hello
            self._send(
                {
                    "op": "load",
                    "path": str(self.path),
                    "n_ctx": spec.n_ctx,
                    "n_threads": spec.n_threads,
                    "n_batch": spec.n_batch,
                    "n_gpu_layers": spec.n_gpu_layers,
                    "main_gpu": spec.main_gpu,
                    "split_mode": spec.split_mode,
                    "tensor_split": spec.tensor_split,
                    "devices": spec.devices,
                    "flash_attn": spec.flash_attn,
                    "chat_template": spec.chat_template,
                    "repack": spec.repack is not False,
                    "poll": spec.poll,
                    "prio": spec.prio,
                    **self._load_options(),
                }
            )
            msg = await self._recv(spec.load_timeout_s)
        except asyncio.TimeoutError:
            await self._kill()
            raise BackendError(
                f"{spec.id}: model load timed out after {spec.load_timeout_s:g} s"
            ) from None
        except BackendError:
            await self._kill()
            raise
        if msg is None:
            reason = await self._death_reason()
            raise BackendError(f"{spec.id}: crashed while loading {self.path.name}: {reason}")
        if msg.get("type") == "error":
            await self.close()
            raise BackendError(f"{spec.id}: {msg.get('message')}")
        info = dict(msg.get("info", {}))
        info.update(
            {
                "path": str(self.path),
                "llama_cpp_python": hello.get("llama_cpp_python"),
                "gpu_offload_supported": bool(hello.get("gpu_offload")),
                "n_gpu_layers": spec.n_gpu_layers,
                "system_info": hello.get("system_info"),
                "cuda_runtime": hello.get("cuda_runtime"),
                "llama_warnings": list(self._warnings),
            }
        )
        self._loading = False
        warning = offload_warning(spec.n_gpu_layers, info)
        if warning:
            info["warning"] = warning
        return LoadInfo(load_ms=float(msg["load_ms"]), pid=self.pid, info=info)

    async def generate(self, request: GenRequest, on_tokens: OnTokens) -> GenOutcome:
        if not self.alive:
            return GenOutcome(raw=RawTiming(0), error=self._dead_reason or "worker is not running")
        gen, prompt = request.gen, request.prompt
        self._seq += 1
        self._errors = []
        rid = self._seq
        self._send(
            {
                "op": "generate",
                "id": rid,
                "prompt": prompt.text,
                "system": prompt.system,
                "mode": gen.mode,
                "max_tokens": gen.max_tokens,
                "temperature": gen.temperature,
                "top_k": gen.top_k,
                "top_p": gen.top_p,
                "min_p": gen.min_p,
                "seed": gen.seed,
                "ignore_eos": gen.ignore_eos,
                "stop": gen.stop,
                "prompt_cache": gen.prompt_cache,
                "batch_ms": FLUSH_MS,
            }
        )
        times: list[int] = []
        t_send: int | None = None
        text: list[str] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + gen.timeout_s
        try:
            while True:
                msg = await self._recv(max(0.0, deadline - loop.time()))
                if msg is None:
                    self._dead_reason = await self._death_reason()
                    self._fallback = self._repack_fallback(rid)
                    return self._partial(t_send, times, text, f"crashed: {self._dead_reason}")
                kind = msg.get("type")
                if kind == "tokens":
                    t_send = msg["t_send"]
                    times.extend(msg["t"])
                    text.append(msg["text"])
                    on_tokens(
                        TokenBatch(msg["t"], [1] * len(msg["t"]), msg["text"], msg["n_out"], t_send)
                    )
                elif kind == "done":
                    return self._outcome(msg, times)
                elif kind == "error":
                    return self._partial(
                        msg.get("t_send", t_send), times, text, str(msg.get("message"))
                    )
        except asyncio.TimeoutError:
            await self._kill()
            self._dead_reason = f"request timed out after {gen.timeout_s:g} s"
            return self._partial(t_send, times, text, self._dead_reason, finish="truncated")

    def _repack_fallback(self, rid: int) -> tuple[ModelSpec, str] | None:
        """Repacking off, if this death is the known repacking crash: a native signal on
        the first decode after a load with ``repack = "auto"``. Nothing else triggers it."""
        code = self.proc.returncode if self.proc else None
        if self.spec.repack != "auto" or rid != 1 or code is None or code >= 0:
            return None
        if -code not in NATIVE_CRASH_SIGNALS:
            return None
        reason = (
            f"weight repacking turned off: the worker was {_signal_name(code)} on the first "
            'decode with repacking on (repack = "auto")'
        )
        return self.spec.model_copy(update={"repack": False}), reason

    def fallback(self) -> tuple[ModelSpec, str] | None:
        return self._fallback

    def _partial(
        self,
        t_send: int | None,
        times: list[int],
        text: list[str],
        error: str,
        finish: str = "error",
    ) -> GenOutcome:
        raw = RawTiming(
            t_send or (times[0] if times else 0),
            times[0] if times else None,
            list(times),
            [1] * len(times),
        )
        return GenOutcome(
            raw=raw,
            n_out=len(times),
            n_out_source=self.token_source,
            finish_reason=finish,
            text="".join(text),
            error=error,
        )

    def _outcome(self, msg: dict[str, Any], times: list[int]) -> GenOutcome:
        t_send = int(msg["t_send"])
        raw = RawTiming(t_send, times[0] if times else None, times, [1] * len(times))
        return GenOutcome(
            raw=raw,
            n_in=int(msg["n_in"]),
            n_in_source="engine",
            n_out=int(msg["n_out"]),
            n_out_source=self.token_source,
            n_out_other=(msg.get("engine") or {}).get("n_eval"),
            finish_reason=msg.get("finish_reason"),
            text=msg.get("text", ""),
            engine=EngineCounters.from_dict(msg.get("engine")),
            peak_rss_kb=msg.get("peak_rss_kb"),
            cached_tokens=msg.get("n_cached") or None,
            error=msg.get("error"),
        )

    def cancel(self) -> None:
        if self.proc and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGUSR1)

    async def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            try:
                self._send({"op": "exit"})
                self.proc.close_stdin()
                await asyncio.wait_for(self.proc.wait(), 10)
            except (asyncio.TimeoutError, BrokenPipeError, ConnectionResetError):
                await self._kill()
        self.proc.close()
        if self._stderr_task:
            self._stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stderr_task
