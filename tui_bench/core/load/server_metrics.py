"""A server's own counters around a load level, from its Prometheus ``/metrics``.

llama-server (with ``--metrics``) and vLLM expose cumulative counters; read before and
after a level, their differences are what the server says it did for that level, shown
beside the client's figures. The names differ between servers and between builds, so
the ones present are detected on every read; only counters (never gauges) are
differenced. A server without the endpoint is not an error: the runner says so once.

Counters read (the first name present in each row wins):

- prompt tokens: ``llamacpp:prompt_tokens_total``, ``vllm:prompt_tokens_total``,
  ``sglang:prompt_tokens_total``
- output tokens: ``llamacpp:tokens_predicted_total``, ``vllm:generation_tokens_total``,
  ``sglang:generation_tokens_total``
- decode calls: ``llamacpp:n_decode_total`` (output tokens per decode call: how many
  requests the server batched together, on average)
- prefix cache hits and queries: ``vllm:prefix_cache_hits_total`` /
  ``vllm:prefix_cache_queries_total`` (older builds: ``vllm:gpu_prefix_cache_*``); the
  hit rate is hits / queries over the level
- requests: ``vllm:request_success_total`` (summed over its labels)
- time waiting in the server's queue, a histogram's sum and count:
  ``vllm:request_queue_time_seconds``, ``sglang:queue_time_seconds``; the mean queue time
  over the level is Δsum / Δcount (llama-server keeps no such counter, only a gauge of
  deferred requests)
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

COUNTERS: dict[str, tuple[str, ...]] = {
    "prompt_tokens": (
        "llamacpp:prompt_tokens_total",
        "vllm:prompt_tokens_total",
        "sglang:prompt_tokens_total",
    ),
    "output_tokens": (
        "llamacpp:tokens_predicted_total",
        "vllm:generation_tokens_total",
        "sglang:generation_tokens_total",
    ),
    "decode_calls": ("llamacpp:n_decode_total",),
    "cache_hits": ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
    "cache_queries": ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
    "requests": ("vllm:request_success_total",),
    "queue_s_sum": ("vllm:request_queue_time_seconds_sum", "sglang:queue_time_seconds_sum"),
    "queue_count": ("vllm:request_queue_time_seconds_count", "sglang:queue_time_seconds_count"),
}
SCRAPE_TIMEOUT_S = 3.0
_LINE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse(text: str) -> dict[str, float]:
    """Every sample of a Prometheus text exposition, summed over its label sets."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue  # comments (# HELP, # TYPE) and anything unreadable
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        if math.isfinite(value):
            out[m.group(1)] = out.get(m.group(1), 0.0) + value
    return out


def counters(samples: dict[str, float]) -> dict[str, tuple[str, float]]:
    """The known counters present: figure -> (the server's name for it, value)."""
    found: dict[str, tuple[str, float]] = {}
    for figure, names in COUNTERS.items():
        for name in names:
            if name in samples:
                found[figure] = (name, samples[name])
                break
    return found


@dataclass
class ServerDelta:
    """What the server counted over one level."""

    names: list[str]  # the server's counter names that were read
    values: dict[str, float]  # figure -> after - before

    @property
    def cache_hit_rate(self) -> float | None:
        queries = self.values.get("cache_queries")
        hits = self.values.get("cache_hits")
        return None if not queries or hits is None else hits / queries

    @property
    def tokens_per_decode(self) -> float | None:
        calls = self.values.get("decode_calls")
        out = self.values.get("output_tokens")
        return None if not calls or out is None else out / calls

    @property
    def queue_ms_mean(self) -> float | None:
        """The mean time the level's requests waited in the server's queue."""
        n = self.values.get("queue_count")
        total = self.values.get("queue_s_sum")
        return None if not n or total is None else 1000.0 * total / n

    def as_dict(self) -> dict[str, Any]:
        return {
            "counters": self.names,
            **{k: round(v, 3) for k, v in self.values.items()},
            "cache_hit_rate": _r(self.cache_hit_rate),
            "tokens_per_decode": _r(self.tokens_per_decode),
            "queue_ms_mean": _r(self.queue_ms_mean),
        }


def delta(before: dict[str, float], after: dict[str, float]) -> ServerDelta:
    """Counter differences over a level, for the counters present in both reads. A
    counter that went down (the server restarted) is left out rather than shown wrong."""
    a, b = counters(before), counters(after)
    names: list[str] = []
    values: dict[str, float] = {}
    for figure, (name, v_after) in b.items():
        if figure in a and a[figure][0] == name and v_after >= a[figure][1]:
            names.append(name)
            values[figure] = v_after - a[figure][1]
    return ServerDelta(names, values)


def metrics_url(base_url: str) -> str:
    """``/metrics`` at the server's root (base URLs may end in ``/v1``)."""
    url = base_url.strip().rstrip("/")
    root = url[: -len("/v1")] if url.endswith("/v1") else url
    return root + "/metrics"


class Scraper:
    """Reads one server's ``/metrics``; after the first failure it stops trying and keeps
    the reason (said once by the runner)."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.url = metrics_url(base_url)
        self.headers = headers or {}
        self.absent: str | None = None

    async def read(self) -> dict[str, float] | None:
        if self.absent is not None:
            return None
        import httpx

        try:
            # as the openai backend: no proxy from the environment to this machine's loopback
            local = _loopback(urlsplit(self.url).hostname)
            async with httpx.AsyncClient(timeout=SCRAPE_TIMEOUT_S, trust_env=not local) as client:
                resp = await client.get(self.url, headers=self.headers)
        except httpx.HTTPError as exc:
            self.absent = f"{self.url}: {type(exc).__name__}"
            return None
        if resp.status_code != 200:
            self.absent = f"{self.url} answered HTTP {resp.status_code}"
            return None
        samples = parse(resp.text)
        if not counters(samples):
            self.absent = f"{self.url} has none of the counters tui-bench reads"
            return None
        return samples


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
