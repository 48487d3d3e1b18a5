"""A small OpenAI-compatible server that misbehaves on purpose, for the openai backend's tests.

Plain asyncio and HTTP/1.1 written by hand (keep-alive, chunked event streams), bound to
127.0.0.1 on a free port, run on its own event loop in a thread. The first path segment
picks the behaviour, so one server serves every case: ``base_url =
http://127.0.0.1:PORT/<mode>/v1``.

Modes:

- ``ok``: a llama-server-like answer: a role chunk, one content chunk per token
  (``max_tokens`` of them, ``TOKEN_DELAY_S`` apart), a finish chunk, a usage chunk
  (with ``prompt_tokens_details.cached_tokens``) carrying llama-server's ``timings``, [DONE]
- ``cached``: as ``ok``, but the server says 5 prompt tokens came from its cache
- ``think``: as ``ok``, the first two tokens as ``reasoning_content``
- ``nousage``: as ``ok`` without the usage chunk and timings (the client counts itself)
- ``5xx``: HTTP 503 with an OpenAI-style error body
- ``429``: HTTP 429 with ``Retry-After: 2``
- ``malformed``: two tokens, then a data line that is not JSON
- ``stall``: two tokens, then silence (until the client leaves, at most ``STALL_MAX_S``)
- ``stall_first``: headers and a role chunk, then silence before any token
- ``close``: two tokens, then the connection is closed mid-body
- ``nodone``: a whole answer with its finish reason, then the body ends without [DONE]

Every request is counted per mode and path, so a test can tell that nothing was retried;
the ``Authorization`` headers seen are kept, to tell that a key was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import Counter
from typing import Any

# far above the loop's jitter, so the client's and the server's decode rates agree
TOKEN_DELAY_S = 0.03
STALL_MAX_S = 30.0
PROMPT_N = 7
MODEL = "fault-model"
MODES = (
    "ok",
    "cached",
    "think",
    "nousage",
    "5xx",
    "429",
    "malformed",
    "stall",
    "stall_first",
    "close",
    "nodone",
)


class FaultServer:
    def __init__(self) -> None:
        self.port = 0
        self.requests: Counter[tuple[str, str]] = Counter()
        self.auth: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.timings: list[dict[str, Any]] = []  # as sent, one per answer with usage
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/v1"

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self._run, name="fault-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault server did not start within 10 s")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for w in list(self._writers):
                w.close()
            handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in handlers:
                t.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread is not None:
            self._thread.join(10)

    # -- HTTP/1.1 ------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                raw = await reader.readexactly(length) if length else b""
                keep = await self._route(method, target, headers, raw, reader, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _json(
        self, writer: asyncio.StreamWriter, status: str, obj: Any, extra: str = ""
    ) -> None:
        body = json.dumps(obj).encode()
        writer.write(
            (
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{extra}\r\n"
            ).encode()
            + body
        )
        await writer.drain()

    async def _route(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        raw: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        parts = target.split("?")[0].strip("/").split("/")
        mode, rest = parts[0], "/".join(parts[1:])
        self.requests[(mode, rest)] += 1
        if "authorization" in headers:
            self.auth.append(headers["authorization"])
        if mode not in MODES:
            await self._json(writer, "404 Not Found", {"error": {"message": "no such mode"}})
            return True
        if method == "GET" and rest == "v1/models":
            await self._json(writer, "200 OK", {"object": "list", "data": [{"id": MODEL}]})
            return True
        body = json.loads(raw or b"{}")
        if rest == "tokenize":  # llama-server's: one token per word
            n = len(str(body.get("content", "")).split())
            await self._json(writer, "200 OK", {"tokens": list(range(n))})
            return True
        if rest not in ("v1/chat/completions", "v1/completions"):
            await self._json(writer, "404 Not Found", {"error": {"message": "not found"}})
            return True
        self.bodies.append(body)
        if mode == "5xx":
            await self._json(
                writer,
                "503 Service Unavailable",
                {"error": {"message": "server overloaded", "code": 503}},
            )
            return True
        if mode == "429":
            await self._json(
                writer,
                "429 Too Many Requests",
                {"error": {"message": "rate limited", "code": 429}},
                "Retry-After: 2\r\n",
            )
            return True
        return await self._stream(mode, rest, body, reader, writer)

    async def _stream(
        self,
        mode: str,
        rest: str,
        body: dict[str, Any],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        chat = rest == "v1/chat/completions"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n"
        )

        async def send(payload: str) -> None:
            data = f"data: {payload}\n\n".encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()

        def chunk(i: int | None, finish: str | None = None, **extra: Any) -> str:
            if chat:
                delta: dict[str, Any] = {}
                if i is not None:
                    field = "reasoning_content" if mode == "think" and i < 2 else "content"
                    delta[field] = f" tok{i}"
                choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
            else:
                choice = {
                    "index": 0,
                    "text": "" if i is None else f" tok{i}",
                    "finish_reason": finish,
                }
            return json.dumps({"object": "chunk", "model": MODEL, "choices": [choice], **extra})

        if chat:
            await send(json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}))
        n = int(body.get("max_tokens", 8))
        if mode == "stall_first":
            await _wait_for_disconnect(reader, STALL_MAX_S)
            return False
        cut = 2 if mode in ("malformed", "stall", "close") else n
        sent_at: list[float] = []
        for i in range(cut):
            await asyncio.sleep(TOKEN_DELAY_S)
            await send(chunk(i))
            sent_at.append(time.perf_counter())
        if mode == "malformed":
            await send('{"choices": [{"index": 0, "delta": {"content": "x"')
            await _wait_for_disconnect(reader, STALL_MAX_S)
            return False
        if mode == "stall":
            await _wait_for_disconnect(reader, STALL_MAX_S)
            return False
        if mode == "close":
            writer.close()  # mid-body: no terminating chunk
            return False
        await send(chunk(None, "length"))
        if mode not in ("nousage",):
            cached = 5 if mode == "cached" else 0
            usage = {
                "prompt_tokens": PROMPT_N,
                "completion_tokens": n,
                "total_tokens": PROMPT_N + n,
                "prompt_tokens_details": {"cached_tokens": cached},
            }
            timings = {
                "cache_n": cached,
                "prompt_n": PROMPT_N - cached,
                "prompt_ms": 3.5,
                "predicted_n": n,
                # as llama-server: from the first token to the last
                "predicted_ms": round((sent_at[-1] - sent_at[0]) * 1000, 3),
            }
            self.timings.append(timings)
            await send(json.dumps({"choices": [], "usage": usage, "timings": timings}))
        if mode != "nodone":
            await send("[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


async def _wait_for_disconnect(reader: asyncio.StreamReader, limit_s: float) -> None:
    """Hold the stream open without sending anything, until the client goes (bounded)."""
    with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
        await asyncio.wait_for(reader.read(), limit_s)
