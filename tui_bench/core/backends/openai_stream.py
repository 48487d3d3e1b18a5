"""One streamed answer from an OpenAI-compatible server: its SSE lines, read into the raw
series the metrics are computed from, and every way it can fail, named by class.

Each request owns one :class:`StreamState`; nothing here is shared between requests, so
several streams can be read at once on one event loop.

Lines are fed with the time their bytes arrived (taken once per network read, before any
parsing: see :mod:`.openai`). Every ``data:`` line is one event: OpenAI-compatible servers
send one JSON object per event, and dispatching each line as it comes keeps its own
arrival time (a multi-line ``data`` event, legal SSE, is not something these servers send).

Error classes, as the error text begins: ``connect:``, ``http NNN``, ``protocol:``,
``timeout:``, ``server error:``, ``stream closed before ...``.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.metrics import ORIGIN_CLIENT, ORIGIN_SERVER, EngineCounters
from tui_bench.core.printable import CONTROL

DONE = b"[DONE]"
# how long a server may take to end the body after [DONE] before it is closed regardless
AFTER_DONE_S = 2.0
# SSE field names (anything else on a line of its own is not SSE)
_SSE_FIELDS = (b"event", b"id", b"retry")
EXCERPT = 80


@dataclass
class StreamState:
    """What one request has received so far; read by the deadline watchdog as it grows."""

    t_send_ns: int
    t_first_response_ns: int | None = None
    last_event_ns: int | None = None
    token_t_ns: list[int] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    done: bool = False
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None
    error: str | None = None
    n_lines: int = 0
    # why the read was stopped from outside (a timeout, cancel()); None: it was not
    stop_reason: str | None = None
    net_ns: dict[str, int] = field(default_factory=dict)
    flushed_parts: int = 0  # content parts already handed to the token callback

    @property
    def text(self) -> str:
        return "".join(self.content)

    def feed(self, line: bytes, t_ns: int) -> None:
        """One line of the stream (without its line ending), received at ``t_ns``."""
        self.n_lines += 1
        if not line or line.startswith(b":"):  # event boundary, or a comment (keep-alive)
            return
        name, sep, value = line.partition(b":")
        if name != b"data":
            if not sep or name not in _SSE_FIELDS:
                self.error = f"protocol: malformed SSE line {self.n_lines}: {excerpt(line)}"
            return
        if value.startswith(b" "):
            value = value[1:]
        self.last_event_ns = t_ns
        if self.t_first_response_ns is None:
            self.t_first_response_ns = t_ns
        if value.strip() == DONE:
            self.done = True
            return
        try:
            obj = json.loads(value)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            self.error = f"protocol: malformed SSE line {self.n_lines}: {excerpt(line)}"
            return
        self._event(obj, t_ns)

    def _event(self, obj: dict[str, Any], t_ns: int) -> None:
        if obj.get("error") is not None:
            self.error = f"server error: {_error_message(obj['error'])}"
            return
        if isinstance(obj.get("usage"), dict):
            self.usage = obj["usage"]
        if isinstance(obj.get("timings"), dict):
            self.timings = obj["timings"]
        choices = obj.get("choices")
        if not isinstance(choices, list):
            if "usage" not in obj and "timings" not in obj:
                self.error = (
                    f"protocol: SSE line {self.n_lines} has no choices: {excerpt(json.dumps(obj))}"
                )
            return
        for choice in choices:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice, t_ns)

    def _choice(self, choice: dict[str, Any], t_ns: int) -> None:
        delta = choice.get("delta")
        if isinstance(delta, dict):  # chat
            content = delta.get("content")
            # reasoning models stream their thinking apart (llama-server, DeepSeek:
            # reasoning_content; vLLM: reasoning): it is generated tokens all the same
            thought = delta.get("reasoning_content") or delta.get("reasoning")
        else:  # completions
            content, thought = choice.get("text"), None
        if isinstance(content, str) and content:
            self.content.append(content)
        if isinstance(thought, str) and thought:
            self.reasoning.append(thought)
        if (isinstance(content, str) and content) or (isinstance(thought, str) and thought):
            self.token_t_ns.append(t_ns)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.finish_reason = reason

    def end_problem(self) -> str | None:
        """After the body ended: why the stream counts as cut short, if it does."""
        if self.done:
            return None
        if self.finish_reason is None:
            return "stream closed before finish"
        return f"stream closed before [DONE] (after finish_reason {self.finish_reason!r})"


def excerpt(raw: bytes | str, limit: int = EXCERPT) -> str:
    """A short, printable, one-line quote of what the server sent."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = CONTROL.sub("?", text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _error_message(err: Any) -> str:
    if isinstance(err, dict):
        msg = err.get("message") or err.get("type") or json.dumps(err)
        code = err.get("code")
        return f"{msg} (code {code})" if code is not None else str(msg)
    return str(err)


def http_error(status: int, headers: Any, body: bytes) -> str:
    """``http 503: overloaded``; a 429 names its Retry-After."""
    out = f"http {status}"
    if status == 429:
        after = (headers.get("retry-after") or "").strip()
        if after.isdigit():
            out += f" (retry-after {int(after)} s)"
        elif after:
            out += f" (retry-after {excerpt(after, 40)})"
    detail = _body_detail(body)
    return f"{out}: {detail}" if detail else out


def _body_detail(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        if obj.get("error") is not None:
            text = _error_message(obj["error"])
        elif obj.get("detail") is not None:
            text = str(obj["detail"])
    text = " ".join(CONTROL.sub(" ", text).split())
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "..."


def connect_error(exc: BaseException, connect_s: float) -> str:
    """``connect: connection refused`` and the like, from what httpx raised."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect: timed out after {connect_s:g} s"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connect: connection refused"
        if isinstance(cause, OSError) and cause.strerror:
            return f"connect: {cause.strerror.lower()}"
        cause = cause.__cause__ or cause.__context__
    text = str(exc) or type(exc).__name__
    if "refused" in text.lower():
        return "connect: connection refused"
    return f"connect: {' '.join(CONTROL.sub(' ', text).split())}"


def net_times(state: StreamState) -> dict[str, Any]:
    """Network times of the request from httpx's trace events (ms after their start).

    httpcore resolves the name and connects in one step, so ``connect_ms`` holds the DNS
    lookup too. A request sent on a kept-alive connection has no connect: ``reused``.
    """
    ev = state.net_ns

    def span(name: str) -> float | None:
        start, end = ev.get(f"{name}.started"), ev.get(f"{name}.complete")
        return None if start is None or end is None else round((end - start) / 1e6, 4)

    out: dict[str, Any] = {"reused": "connection.connect_tcp.started" not in ev}
    connect = span("connection.connect_tcp")
    tls = span("connection.start_tls")
    if connect is not None:
        out["connect_ms"] = connect
    if tls is not None:
        out["tls_ms"] = tls
    headers = ev.get("http11.receive_response_headers.complete") or ev.get(
        "http2.receive_response_headers.complete"
    )
    if headers is not None:
        out["headers_ms"] = round((headers - state.t_send_ns) / 1e6, 4)
    return out


class Watchdog:
    """Ends a request at its first deadline: the first token, the idle gap between events
    once tokens flow, the total. One timer, re-armed only when it fires early."""

    def __init__(
        self,
        st: StreamState,
        task: asyncio.Future[None],
        first_token_s: float,
        idle_s: float,
        total_s: float,
    ) -> None:
        self.st, self.task = st, task
        self.first_ns, self.idle_ns = int(first_token_s * 1e9), int(idle_s * 1e9)
        self.total_ns = int(total_s * 1e9)
        self.first_s, self.idle_s, self.total_s = first_token_s, idle_s, total_s
        self.loop = asyncio.get_running_loop()
        self.handle: asyncio.TimerHandle | None = None
        self._arm(time.perf_counter_ns())

    def _deadline(self) -> tuple[int, str | None]:
        st = self.st
        total = (st.t_send_ns + self.total_ns, f"timeout: request over {self.total_s:g} s in total")
        if st.done:  # the answer is whole: a body that does not end is closed, not failed
            last = st.last_event_ns or st.t_send_ns
            return min(total[0], last + int(AFTER_DONE_S * 1e9)), None
        if not st.token_t_ns:
            phase = (
                st.t_send_ns + self.first_ns,
                f"timeout: no first token after {self.first_s:g} s",
            )
        else:
            last = st.last_event_ns or st.token_t_ns[-1]
            phase = (last + self.idle_ns, f"timeout: no chunk for {self.idle_s:g} s")
        return min(total, phase)

    def _arm(self, now: int) -> None:
        deadline, _ = self._deadline()
        self.handle = self.loop.call_later(max(0, deadline - now) / 1e9, self._fire)

    def _fire(self) -> None:
        if self.task.done():
            return
        now = time.perf_counter_ns()
        deadline, reason = self._deadline()
        if now < deadline:  # events arrived since it was armed: the deadline moved
            self._arm(now)
            return
        if self.st.stop_reason is None:
            self.st.stop_reason = reason
        self.task.cancel()

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


def counters(st: StreamState) -> EngineCounters:
    """The server's own timings where it gives them (llama-server's ``timings``), cached
    prompt tokens (usage or timings), the server's wall time for the request where it says
    it (tui-bench's launcher: ``wall_ms``; llama-server has none), and the client's
    network times."""
    tm = st.timings or {}
    usage = st.usage or {}
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if cached is None and isinstance(tm.get("cache_n"), int):
        cached = tm["cache_n"]
    has = all(
        isinstance(tm.get(k), int | float)
        for k in ("prompt_n", "prompt_ms", "predicted_n", "predicted_ms")
    )
    return EngineCounters(
        n_p_eval=int(tm["prompt_n"]) if has else None,
        t_p_eval_ms=float(tm["prompt_ms"]) if has else None,
        n_eval=int(tm["predicted_n"]) if has else None,
        t_eval_ms=float(tm["predicted_ms"]) if has else None,
        origin=ORIGIN_SERVER if has else ORIGIN_CLIENT,
        n_cached=cached if isinstance(cached, int) else None,
        net=net_times(st),
        t_sample_call_ms=float(ts)
        if has and isinstance(ts := tm.get("sample_ms"), int | float)
        else None,
        server_wall_ms=float(wall) if isinstance(wall := tm.get("wall_ms"), int | float) else None,
    )
