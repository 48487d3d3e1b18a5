"""Models behind an OpenAI-compatible HTTP server (llama-server, llama-cpp-python's server,
vLLM, Ollama, LM Studio ...), streamed over server-sent events.

Loading is a connection test: ``GET /v1/models``, the model's name checked against the
list when the server gives one, and a probe for a tokenize endpoint. Every request is one
streamed ``POST /v1/chat/completions`` (or ``/v1/completions``) with usage asked for.

Timing: the stream is read with httpx's ``aiter_raw`` and split into lines here, and the
clock is read once per network read, as soon as it returns and before any parsing, so
every line in that read carries the time its bytes arrived. (``aiter_lines`` yields lines
after decoding, one at a time: a line's time would include the parsing and the token
callbacks of the lines before it in the same read.) The body is asked for uncompressed,
so the raw bytes are the events.

Token counts, best first: the server's ``usage`` (source ``usage``); else its tokenize
endpoint applied to the answer (llama-server ``/tokenize``, llama-cpp-python
``/extras/tokenize``; source ``server_tokenize``); else the model's own vocabulary, read
from a GGUF on this machine (the plan's ``tokenizer``, else the model's ``source`` where it
is a local GGUF; :mod:`.gguf_tokenizer`; source ``client_tokenizer``); else one token per
content chunk (``chunk_count``). A chat prompt goes through a template the tokenize
endpoints never apply: it is counted by the local tokenizer after the GGUF's template, and
the engine counters' ``n_in_exact`` says whether that count is exact or an estimate
(:mod:`.openai_tokens`). The chunk count is kept as the second source when another one
wins, so the engine can flag the two disagreeing.

With ``launch = true`` the backend starts llama-cpp-python's server with the model's
``source`` on 127.0.0.1 itself when it loads, and stops it when it closes
(:mod:`.openai_launch`); the server's start is the model's load time.

One ``httpx.AsyncClient`` serves every request of the backend and each request keeps its
own state, so several ``generate`` calls can run at once. Timeouts come from the plan
(connect, first token, idle gap, total) and end the request as a failed one whose error
names the limit; nothing is retried. The API key is read from the environment when the
model loads and lives only in the client's headers: never in a record, a log line or an
error (errors are scrubbed of it besides).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tui_bench.core.backends.base import Backend, GenRequest, LoadInfo, OnTokens, TokenBatch
from tui_bench.core.backends.openai_launch import LaunchedServer
from tui_bench.core.backends.openai_stream import (
    StreamState,
    Watchdog,
    connect_error,
    counters,
    excerpt,
    http_error,
)
from tui_bench.core.backends.openai_tokens import (
    TOKENIZER_LLAMA_CPP_PYTHON,
    TOKENIZER_LLAMA_SERVER,
    TokenCounter,
    messages_of,
)
from tui_bench.core.errors import BackendError
from tui_bench.core.http_options import HttpTimeouts
from tui_bench.core.metrics import RawTiming
from tui_bench.core.plan import ModelSpec
from tui_bench.core.results import GenOutcome

if TYPE_CHECKING:
    import httpx

# on_tokens is called at most this often per request (the stamps are taken per read;
# this only paces the live view)
BATCH_NS = 50_000_000
ERROR_BODY_LIMIT = 4096

__all__ = [
    "TOKENIZER_LLAMA_CPP_PYTHON",
    "TOKENIZER_LLAMA_SERVER",
    "OpenAIBackend",
    "split_base_url",
]


def split_base_url(base_url: str) -> tuple[str, str]:
    """(server root, API base): ``http://h:8080/v1`` and ``http://h:8080`` both give
    (``http://h:8080``, ``http://h:8080/v1``). Tokenize endpoints live at the root."""
    url = base_url.strip().rstrip("/")
    root = url[: -len("/v1")] if url.endswith("/v1") else url
    return root, root + "/v1"


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listening_pid(port: int) -> int | None:
    """The process listening on ``port`` on this machine, when the system tells."""
    import psutil

    try:
        for conn in psutil.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return conn.pid
    except (psutil.Error, OSError):
        return None
    return None


class OpenAIBackend(Backend):
    token_source = "usage"
    max_concurrency = None  # the server queues or batches concurrent requests itself

    def __init__(self, spec: ModelSpec, path: Path | None = None) -> None:
        super().__init__(spec, path)
        # the plan requires a base_url unless the server is launched (then known at load)
        self.root, self.api = split_base_url(spec.base_url) if spec.base_url else ("", "")
        self._server: LaunchedServer | None = None
        self.model = spec.model or spec.id  # the name the server knows it by
        self.endpoint = spec.endpoint  # None: as the request's mode says
        self.timeouts = spec.timeouts or HttpTimeouts()
        self._client: httpx.AsyncClient | None = None
        self._key: str | None = None
        self._pid: int | None = None
        self.tokens = TokenCounter(spec, self.root, self.model, self.timeouts.idle_s)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: dict[asyncio.Future[None], StreamState] = {}

    @property
    def pid(self) -> int | None:
        return self._pid

    # -- errors never carry the key --------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    # -- load ----------------------------------------------------------------------------

    async def load(self) -> LoadInfo:
        import httpx

        spec = self.spec
        self._loop = asyncio.get_running_loop()
        name = spec.api_key_env
        if name:
            key = os.environ.get(name)
            if not key:
                raise BackendError(
                    f"{spec.id}: environment variable {name} (api_key_env) is not set"
                )
            self._key = key
        t_launch = time.perf_counter_ns()
        if spec.launch:  # the model loads in the server: its start is the load time
            self._server = LaunchedServer(spec, self.model)
            self.root, self.api = split_base_url(await self._server.start())
            self.tokens.root = self.root
        headers = {"Accept-Encoding": "identity"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        t = self.timeouts
        host = urlsplit(self.root).hostname
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(connect=t.connect_s, read=None, write=t.connect_s, pool=None),
            # the server is measured as it answers: no redirects followed, no retries, and
            # no proxy from the environment between this machine and its own loopback
            follow_redirects=False,
            trust_env=not _is_loopback(host),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )
        t0 = t_launch if spec.launch else time.perf_counter_ns()
        try:
            served = await self._models()
        except BaseException:
            await self.close()
            raise
        load_ms = (time.perf_counter_ns() - t0) / 1e6
        model = self.model
        if served and model not in served:
            await self.close()
            shown = ", ".join(served[:8]) + (" ..." if len(served) > 8 else "")
            raise BackendError(
                f"{spec.id}: {self.api}/models does not list model {model!r} (it serves: {shown})"
            )
        await self.tokens.probe(self._client)
        try:
            await self.tokens.load_local()
        except BaseException:
            await self.close()
            raise
        parts = urlsplit(self.root)
        if _is_loopback(parts.hostname):
            self._pid = await asyncio.to_thread(_listening_pid, parts.port or _default_port(parts))
        if self._server is not None and self._server.proc is not None:
            self._pid = self._server.proc.pid  # its memory is the model's
        return LoadInfo(
            load_ms=load_ms,
            pid=self._pid,
            info={
                "desc": f"{model} at {self.root} ({self.endpoint or 'endpoint by mode'})",
                "base_url": self.root,
                "server_model": model,
                "endpoint": self.endpoint,
                "served_models": served,
                "tokenizer": self.tokens.kind,
                "local_tokenizer": self.tokens.local_path,
                "server_pid": self._pid,
                "launched": self._server is not None,
                # the GGUF it serves, resolved (the engine hands a launched model its path)
                **({"path": spec.source} if self._server is not None else {}),
            },
        )

    async def _models(self) -> list[str]:
        """``GET /v1/models``: the names the server serves ([] when it lists none)."""
        import httpx

        assert self._client is not None
        url = f"{self.api}/models"
        try:
            resp = await asyncio.wait_for(self._client.get(url), self.timeouts.first_token_s)
        except asyncio.TimeoutError:
            raise BackendError(
                f"{self.spec.id}: {url} did not answer within {self.timeouts.first_token_s:g} s"
            ) from None
        except httpx.TransportError as exc:
            reason = connect_error(exc, self.timeouts.connect_s)
            raise BackendError(f"{self.spec.id}: cannot reach {url}: {reason}") from None
        if resp.status_code != 200:
            reason = http_error(resp.status_code, resp.headers, resp.content[:ERROR_BODY_LIMIT])
            raise BackendError(self._scrub(f"{self.spec.id}: {url} answered {reason}"))
        try:
            data = resp.json().get("data")
        except (ValueError, AttributeError):
            raise BackendError(
                f"{self.spec.id}: {url} did not answer with a model list: {excerpt(resp.content)}"
            ) from None
        if not isinstance(data, list):
            return []
        return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id") is not None]

    # -- one request ---------------------------------------------------------------------

    def _endpoint(self, request: GenRequest) -> str:
        """The plan's endpoint, else the one the request's mode calls for (chat by default)."""
        if self.endpoint:
            return self.endpoint
        return "completions" if request.gen.mode == "completion" else "chat"

    def _body(self, request: GenRequest) -> tuple[str, dict[str, Any]]:
        gen, prompt = request.gen, request.prompt
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": gen.max_tokens,
            "temperature": gen.temperature,
            "top_p": gen.top_p,
            "seed": gen.seed,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if gen.temperature > 0:  # not OpenAI's own fields; greedy decoding ignores them
            body["top_k"] = gen.top_k
            body["min_p"] = gen.min_p
        if gen.stop:
            body["stop"] = list(gen.stop)
        if gen.ignore_eos:
            body["ignore_eos"] = True
        if self.tokens.kind == TOKENIZER_LLAMA_SERVER and not gen.prompt_cache:
            # llama-server reuses a cached prompt prefix unless told not to
            body["cache_prompt"] = False
        if self._endpoint(request) == "completions":
            body["prompt"] = prompt.text
            return f"{self.api}/completions", body
        body["messages"] = messages_of(request.prompt)
        return f"{self.api}/chat/completions", body

    async def generate(self, request: GenRequest, on_tokens: OnTokens) -> GenOutcome:
        if self._client is None:
            return GenOutcome(raw=RawTiming(0), error="the model is not loaded")
        url, body = self._body(request)
        st = StreamState(t_send_ns=time.perf_counter_ns())
        total_s = self.timeouts.total_s or request.gen.timeout_s
        task = asyncio.ensure_future(self._exchange(st, url, body, on_tokens))
        self._inflight[task] = st
        watchdog = Watchdog(st, task, self.timeouts.first_token_s, self.timeouts.idle_s, total_s)
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise
        finally:
            watchdog.stop()
            self._inflight.pop(task, None)
        if task.cancelled():
            if st.stop_reason is None and not st.done:  # cancelled by nobody we know of
                st.stop_reason = "cancelled"
        elif task.exception() is not None:
            st.error = self._transport_error(task.exception())
        return await self._outcome(st, request)

    async def _exchange(
        self, st: StreamState, url: str, body: dict[str, Any], on_tokens: OnTokens
    ) -> None:
        assert self._client is not None
        net = st.net_ns

        async def trace(event: str, info: dict[str, Any]) -> None:
            net[event] = time.perf_counter_ns()

        req = self._client.build_request(
            "POST",
            url,
            json=body,
            headers={"Accept": "text/event-stream"},
            extensions={"trace": trace},
        )
        st.t_send_ns = time.perf_counter_ns()
        resp = await self._client.send(req, stream=True)
        try:
            if resp.status_code != 200:
                raw = b""
                async for part in resp.aiter_raw():
                    raw += part
                    if len(raw) >= ERROR_BODY_LIMIT:
                        break
                st.error = self._scrub(http_error(resp.status_code, resp.headers, raw))
                return
            kind = resp.headers.get("content-type", "")
            if not kind.startswith("text/event-stream"):
                st.error = f"protocol: expected text/event-stream, got {excerpt(kind or 'no content type', 60)}"
                return
            await self._read(st, resp, on_tokens)
        finally:
            await resp.aclose()

    async def _read(self, st: StreamState, resp: httpx.Response, on_tokens: OnTokens) -> None:
        pending = b""
        sent = 0  # tokens already handed to on_tokens
        t_flushed = 0
        t = st.t_send_ns
        async for raw in resp.aiter_raw():
            t = time.perf_counter_ns()  # when these bytes arrived: before any parsing
            pending += raw
            if b"\n" not in raw:
                continue
            *lines, pending = pending.split(b"\n")
            for line in lines:
                st.feed(line.rstrip(b"\r"), t)
                if st.error:
                    return
            if len(st.token_t_ns) > sent and t - t_flushed >= BATCH_NS:
                sent = self._flush(st, sent, on_tokens)
                t_flushed = t
        if pending.strip():  # a last line without its line ending
            st.feed(pending.rstrip(b"\r"), t)
        if len(st.token_t_ns) > sent:
            self._flush(st, sent, on_tokens)
        if not st.error:
            st.error = st.end_problem()

    def _flush(self, st: StreamState, sent: int, on_tokens: OnTokens) -> int:
        times = st.token_t_ns[sent:]
        text = "".join(st.content[st.flushed_parts :])
        st.flushed_parts = len(st.content)
        on_tokens(TokenBatch(times, [1] * len(times), text, len(st.token_t_ns), st.t_send_ns))
        return len(st.token_t_ns)

    def _transport_error(self, exc: BaseException | None) -> str:
        import httpx

        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return connect_error(exc, self.timeouts.connect_s)
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            return self._scrub(f"stream closed before finish ({_short(exc)})")
        if isinstance(exc, httpx.TimeoutException):
            return self._scrub(f"timeout: {_short(exc)}")
        if isinstance(exc, httpx.HTTPError):
            return self._scrub(f"protocol: {_short(exc)}")
        return self._scrub(f"client: {type(exc).__name__}: {_short(exc)}")

    # -- the outcome ---------------------------------------------------------------------

    async def _outcome(self, st: StreamState, request: GenRequest) -> GenOutcome:
        times = list(st.token_t_ns)
        raw = RawTiming(st.t_send_ns, st.t_first_response_ns, times, [1] * len(times))
        n_chunks = len(times)
        engine = counters(st)
        cached = engine.n_cached
        base = {
            "raw": raw,
            "text": st.text,
            "engine": engine,
            "cached_tokens": cached,
        }
        if st.stop_reason == "cancelled":
            return GenOutcome(
                **base, n_out=n_chunks, n_out_source="chunk_count", finish_reason="cancelled"
            )
        error = st.error or st.stop_reason
        if error is not None:
            finish = "truncated" if times or error.startswith("stream closed") else "error"
            return GenOutcome(
                **base,
                n_out=n_chunks,
                n_out_source="chunk_count",
                finish_reason=finish,
                error=self._scrub(error),
            )
        tokens, client = self.tokens, self._client
        n_in, n_in_source, engine.n_in_exact = await tokens.prompt(
            client, st, self._endpoint(request) == "chat", request.prompt
        )
        n_out, source, other = await tokens.output(client, st, n_chunks, engine)
        return GenOutcome(
            **base,
            n_in=n_in,
            n_in_source=n_in_source,
            n_out=n_out,
            n_out_source=source,
            n_out_other=other,
            finish_reason=st.finish_reason,
        )

    # -- control -------------------------------------------------------------------------

    def cancel(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def stop_all() -> None:
            for task, st in list(self._inflight.items()):
                if st.stop_reason is None:
                    st.stop_reason = "cancelled"
                task.cancel()

        loop.call_soon_threadsafe(stop_all)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        server, self._server = self._server, None
        if server is not None:
            await server.stop()


def _default_port(parts: Any) -> int:
    return 443 if parts.scheme == "https" else 80


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:120] + "..."
