"""The fault server with a Prometheus ``/metrics`` endpoint, for the load runner's scraping.

``GET /<mode>/metrics`` answers the counters a real server keeps, advanced by every
answer the ``ok`` and ``cached`` modes stream: with ``flavour="llamacpp"`` llama-server's
names (prompt tokens, tokens predicted, decode calls: one per token), with
``flavour="vllm"`` vLLM's (prompt and generation tokens, prefix cache queries and hits:
the ``cached`` mode's 5 cached prompt tokens are hits; the time requests waited in its
queue as a histogram, ``QUEUE_S`` per request). Labels and comments are written as servers
write them, so the parser meets the real shape.
"""

from __future__ import annotations

import asyncio
from typing import Any

from servers.fault_server import PROMPT_N, FaultServer

CACHED_N = 5  # as the fault server's "cached" mode reports
QUEUE_S = 0.125  # each answered request waited this long in the fake vLLM's queue


class MetricsServer(FaultServer):
    def __init__(self, flavour: str = "llamacpp") -> None:
        super().__init__()
        self.flavour = flavour
        self.prompt_tokens = 0
        self.predicted = 0
        self.cache_hits = 0
        self.cache_queries = 0
        self.answered = 0
        self.scrapes = 0

    def exposition(self) -> str:
        if self.flavour == "llamacpp":
            return (
                "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.\n"
                "# TYPE llamacpp:prompt_tokens_total counter\n"
                f"llamacpp:prompt_tokens_total {self.prompt_tokens}\n"
                "# TYPE llamacpp:tokens_predicted_total counter\n"
                f"llamacpp:tokens_predicted_total {self.predicted}\n"
                "# TYPE llamacpp:n_decode_total counter\n"
                f"llamacpp:n_decode_total {self.predicted}\n"
                "# TYPE llamacpp:requests_processing gauge\n"
                "llamacpp:requests_processing 0\n"
            )
        name = 'model_name="fault-model"'
        return (
            "# TYPE vllm:prompt_tokens_total counter\n"
            f"vllm:prompt_tokens_total{{{name}}} {float(self.prompt_tokens)}\n"
            f"vllm:generation_tokens_total{{{name}}} {float(self.predicted)}\n"
            f"vllm:prefix_cache_queries_total{{{name}}} {float(self.cache_queries)}\n"
            f"vllm:prefix_cache_hits_total{{{name}}} {float(self.cache_hits)}\n"
            f'vllm:request_success_total{{finished_reason="length",{name}}} 1.0\n'
            f'vllm:request_success_total{{finished_reason="stop",{name}}} 2.0\n'
            f"vllm:num_requests_running{{{name}}} 0.0\n"
            "# TYPE vllm:request_queue_time_seconds histogram\n"
            f'vllm:request_queue_time_seconds_bucket{{le="0.1",{name}}} 0.0\n'
            f'vllm:request_queue_time_seconds_bucket{{le="+Inf",{name}}} {float(self.answered)}\n'
            f"vllm:request_queue_time_seconds_sum{{{name}}} {QUEUE_S * self.answered}\n"
            f"vllm:request_queue_time_seconds_count{{{name}}} {float(self.answered)}\n"
        )

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
        if method == "GET" and parts[1:] == ["metrics"]:
            self.scrapes += 1
            body = self.exposition().encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            return True
        return await super()._route(method, target, headers, raw, reader, writer)

    async def _stream(
        self,
        mode: str,
        rest: str,
        body: dict[str, Any],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        # counted when the request is taken, so a read after the client has its answer
        # never races the server's own bookkeeping
        if mode in ("ok", "cached"):
            self.predicted += int(body.get("max_tokens", 8))
            self.prompt_tokens += PROMPT_N
            self.cache_queries += PROMPT_N
            self.cache_hits += CACHED_N if mode == "cached" else 0
            self.answered += 1
        return await super()._stream(mode, rest, body, reader, writer)
