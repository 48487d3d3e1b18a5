"""Which chat template a model's prompts are rendered with, in the worker process."""

from __future__ import annotations

import ctypes
from typing import Any


def chat_template(ll: Any, model: Any, wanted: str | None) -> bytes | None:
    """The plan's template (a llama.cpp built-in name or a Jinja text), else the GGUF's own,
    else a built-in chosen by architecture for GGUFs published without one."""
    if wanted:
        return wanted.encode()
    own = ll.llama_model_chat_template(model, None)
    if own:
        return own
    buf = ctypes.create_string_buffer(64)
    n = ll.llama_model_meta_val_str(model, b"general.architecture", buf, 64)
    arch = buf.value.decode() if n > 0 else ""
    return _ARCH_TEMPLATES.get(arch.rstrip("0123456789") or arch)


_ARCH_TEMPLATES = {"gemma": b"gemma"}


def template_name(tmpl: bytes | None) -> str | None:
    if not tmpl:
        return None
    return tmpl.decode(errors="replace") if len(tmpl) < 32 else "from GGUF"
