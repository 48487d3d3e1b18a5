"""Servers as models, for the wizard: an OpenAI-compatible endpoint as a plan's model spec,
its connection test, and the servers found listening on this machine's usual ports.

The connection test is the openai backend's own load (``GET /v1/models``, the model's
name checked against the list, the key read from its environment variable), so the
wizard says what a run would meet. Discovery connects to 127.0.0.1 only, with short
timeouts: it never leaves this machine and never waits long on a port. Both block, so
the wizard calls them in a worker thread. The API key itself is never asked for, stored
or shown: only the name of the variable that holds it.

No Textual import here: plain Python, tested as such.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tui_bench.core.errors import TuiBenchError
from tui_bench.core.http_options import ENV_NAME, url_problem

# (port, what usually listens there); 8000 is vLLM's and llama-cpp-python's both
KNOWN_PORTS: tuple[tuple[int, str], ...] = (
    (8080, "llama-server"),
    (11434, "Ollama"),
    (1234, "LM Studio"),
    (8000, "vLLM / llama-cpp-python"),
)
PROBE_HOST = "127.0.0.1"
CONNECT_TIMEOUT_S = 0.3
MODELS_TIMEOUT_S = 1.0
TEST_TIMEOUT_S = 5.0  # the connection test's connect and first-answer limits
_ID_BAD = re.compile(r"[^A-Za-z0-9_.:@+-]+")


@dataclass(frozen=True)
class ServerForm:
    """What the wizard's server form holds: never the key, only its variable's name."""

    url: str
    model: str
    api_key_env: str = ""

    def problem(self) -> str | None:
        """The first field at fault, in one line; None when the form is complete."""
        bad = url_problem(self.url)  # the plan's own rule: no credentials in a URL
        if bad:  # the URL is not echoed: it may hold a secret
            return f"URL {bad} (give http://host:port, with or without /v1)"
        if not self.model.strip():
            return "model: give the server's name for the model (GET /v1/models lists them)"
        env = self.api_key_env.strip()
        if env and not ENV_NAME.fullmatch(env):  # not echoed: it may be the key itself
            return "API key variable: the name of an environment variable (letters, digits, _), not the key"
        return None

    def spec(self) -> dict[str, Any]:
        """The plan's model table for this server (backend "openai")."""
        model = self.model.strip()
        out: dict[str, Any] = {
            "id": _ID_BAD.sub("-", model).strip("-") or "server",
            "backend": "openai",
            "base_url": self.url.strip().rstrip("/"),
            "model": model,
        }
        if self.api_key_env.strip():
            out["api_key_env"] = self.api_key_env.strip()
        return out


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    text: str  # one line: what the server serves, or why it could not be reached
    served: list[str] = field(default_factory=list)


def check_connection(spec: dict[str, Any]) -> ConnectionResult:
    """Load the model through the openai backend (``GET /v1/models`` and the name check),
    then close it. Blocks: call it in a thread."""
    from tui_bench.core.backends.openai import OpenAIBackend
    from tui_bench.core.plan import ModelSpec

    try:
        model = ModelSpec(
            **spec,
            timeouts={"connect_s": TEST_TIMEOUT_S, "first_token_s": TEST_TIMEOUT_S},
        )
    except ValueError as exc:  # pydantic's: the field at fault, first line only
        return ConnectionResult(False, str(exc).splitlines()[-1].strip())
    backend = OpenAIBackend(model)

    async def load() -> Any:
        try:
            return await backend.load()
        finally:
            await backend.close()

    try:
        info = asyncio.run(load())
    except TuiBenchError as exc:
        return ConnectionResult(False, str(exc))
    served = [str(s) for s in info.info.get("served_models") or []]
    listed = f"; it serves {', '.join(served[:4])}" if served else ""
    return ConnectionResult(
        True, f"connected in {info.load_ms:.0f} ms to {info.info.get('base_url')}{listed}", served
    )


@dataclass(frozen=True)
class FoundServer:
    port: int
    label: str  # what usually listens on that port
    url: str  # the base URL, with /v1
    models: list[str]  # from GET /v1/models; [] when it lists none or is not OpenAI-like


def _listening(host: str, port: int, timeout_s: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _served(url: str, timeout_s: float) -> list[str]:
    import httpx

    try:
        resp = httpx.get(f"{url}/models", timeout=timeout_s, trust_env=False)
        data = resp.json().get("data") if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return []
    if not isinstance(data, list):
        return []
    return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id") is not None]


def discover(
    ports: Sequence[tuple[int, str]] = KNOWN_PORTS,
    *,
    host: str = PROBE_HOST,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    models_timeout_s: float = MODELS_TIMEOUT_S,
) -> list[FoundServer]:
    """The servers listening on ``ports`` of this machine, each with the models it lists.
    Blocks for at most a connect timeout per closed port: call it in a thread."""
    found = []
    for port, label in ports:
        if not _listening(host, port, connect_timeout_s):
            continue
        url = f"http://{host}:{port}/v1"
        found.append(FoundServer(port, label, url, _served(url, models_timeout_s)))
    return found
