"""A server tui-bench starts itself for a model with ``launch = true`` (backend ``openai``):
llama-cpp-python's server through tui-bench's launcher (:mod:`.serve`), on 127.0.0.1 and a
free port it binds itself, for the model's run only.

So a plan can hold the same GGUF in process (backend ``llama_cpp``) and over HTTP in one
command. The server gets the model's ``source``, ``n_ctx`` and ``n_threads``, the name the
requests use (``model``, default the id), every request an empty KV cache (as in process),
and weight repacking off unless the model sets ``repack = true``: in process a crash on
the first decode with repacking on is caught and the model reloaded without it, while a
server that crashes there would only be gone.

It is tui-bench's own server, so it runs with ``--timings on``: every answer carries
llama.cpp's counters for the request and the server's own wall time, and a report can
split a launched model's time into engine, server and client parts
(:mod:`tui_bench.core.report_http`), which llama-server's timings alone cannot.

Every wait is bounded by the model's ``load_timeout_s``; the server's last lines of stderr
name what went wrong when it does not come up. :meth:`LaunchedServer.stop` ends it
(terminate, then kill) and is safe to call twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections import deque
from typing import TYPE_CHECKING

from tui_bench.core.errors import BackendError

if TYPE_CHECKING:
    from tui_bench.core.plan import ModelSpec

STDERR_LINES = 20
STOP_S = 10.0


class LaunchedServer:
    def __init__(self, spec: ModelSpec, alias: str) -> None:
        self.spec, self.alias = spec, alias
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._drain: asyncio.Future[None] | None = None

    def command(self) -> list[str]:
        spec = self.spec
        assert spec.source is not None  # the plan requires it with launch = true
        threads = spec.n_threads or max(1, (os.cpu_count() or 2) // 2)
        return [
            sys.executable,
            "-m",
            "tui_bench.core.backends.serve",
            "--model",
            spec.source,
            "--port",
            "0",
            "--alias",
            self.alias,
            "--n-ctx",
            str(spec.n_ctx),
            "--n-threads",
            str(threads),
            "--repack",
            "on" if spec.repack is True else "off",
            "--timings",
            "on",
            # the server asks its clients for the key this backend sends (from the same
            # variable: never on a command line)
            *(["--api-key-env", spec.api_key_env] if spec.api_key_env else []),
        ]

    def _why(self) -> str:
        lines = [line for line in self.stderr if line.strip()]
        return " ".join(lines[-1].split()) if lines else "no message"

    async def start(self) -> str:
        """Start the server; its root URL (``http://127.0.0.1:PORT``) once it serves."""
        import httpx

        spec = self.spec
        deadline = time.monotonic() + spec.load_timeout_s
        self.proc = proc = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._drain = asyncio.ensure_future(self._read_stderr())
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), spec.load_timeout_s)
        except asyncio.TimeoutError:
            line = b""
        text = line.decode(errors="replace").strip()
        if not text.startswith("listening on "):
            await self.stop()
            raise BackendError(f"{spec.id}: the launched server did not start: {self._why()}")
        root = text.split("listening on ", 1)[1]
        async with httpx.AsyncClient(trust_env=False, timeout=5.0) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{root}/v1/models")).status_code == 200:
                        return root
                if proc.returncode is not None or time.monotonic() > deadline:
                    await self.stop()
                    what = (
                        f"exited ({proc.returncode})"
                        if proc.returncode is not None
                        else f"did not load within {spec.load_timeout_s:g} s (load_timeout_s)"
                    )
                    raise BackendError(f"{spec.id}: the launched server {what}: {self._why()}")
                await asyncio.sleep(0.2)

    async def _read_stderr(self) -> None:
        # read all along: a full pipe would block the server
        assert self.proc is not None and self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.stderr.append(raw.decode(errors="replace"))

    async def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_S)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
        if self._drain is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._drain, 1.0)
            self._drain = None
