"""A plan's options for models behind an OpenAI-compatible server (backend ``openai``):
the request timeouts, and the checks of the fields only that backend reads.

Kept apart from :mod:`.plan` (which uses them), so the plan module stays about plans.
Messages never repeat the value at fault: a mistyped ``api_key_env`` or a ``base_url``
with credentials in it may hold a secret.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Fields that only the openai backend reads (all None by default): set on another backend,
# they would do nothing.
OPENAI_FIELDS = ("base_url", "model", "api_key_env", "endpoint", "timeouts", "tokenizer", "launch")


class HttpTimeouts(BaseModel):
    """Limits of one request to a server. Each one ends the request as failed, its error
    naming the limit: a request never hangs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_s: Annotated[float, Field(gt=0)] = 10.0
    # from sending the request to its first content (or reasoning) token
    first_token_s: Annotated[float, Field(gt=0)] = 120.0
    # the longest silence between two stream events once tokens flow
    idle_s: Annotated[float, Field(gt=0)] = 60.0
    # the whole request; None: the generation settings' timeout_s
    total_s: Annotated[float, Field(gt=0)] | None = None


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a server's base URL, or None."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if "@" in parts.netloc:
        return "holds credentials: name an environment variable in api_key_env instead"
    try:
        port = parts.port
    except ValueError:
        return "has an invalid port"
    if not parts.hostname:
        return "has no host"
    if parts.query or parts.fragment:
        return "must not have a query or fragment"
    return None if port is None or port > 0 else "has an invalid port"


def openai_problem(spec: Any) -> tuple[str, str] | None:
    """The first mistake in a model's openai fields, as (field, message); None if none."""
    if spec.backend != "openai":
        for name in OPENAI_FIELDS:
            if getattr(spec, name) is not None:
                return name, "only applies to backend 'openai'"
        return None
    if spec.launch:
        # tui-bench starts llama-cpp-python's server on a free loopback port itself
        if spec.base_url:
            return "launch", "starts its own server on 127.0.0.1: leave base_url out"
        if not spec.source:
            return "source", "required with launch = true: the GGUF the server is to serve"
    elif not spec.base_url:
        return "base_url", "required for backend 'openai'"
    problem = url_problem(spec.base_url) if spec.base_url else None
    if problem:
        return "base_url", problem
    if spec.api_key_env is not None and not ENV_NAME.fullmatch(spec.api_key_env):
        return (
            "api_key_env",
            "must be the name of an environment variable (letters, digits, _), not the key itself",
        )
    return None
