"""Counting tokens on the client with a GGUF's own vocabulary, for a server that reports
no usage and has no tokenize endpoint (and for chat prompts, whose template a tokenize
endpoint never applies).

The GGUF is loaded vocab-only (``vocab_only = True``): llama.cpp reads the metadata and
the vocabulary and no weights, builds no compute graph and runs nothing. It is loaded in
this process, not in a worker: what a worker guards against (a native crash in a decode,
repacked weights on hosts where they crash, an out-of-memory kill) cannot happen without
weights or compute, and counting then costs a function call instead of a round trip. It
is loaded in a thread so the event loop keeps serving streams meanwhile.

A chat prompt is counted after the chat template, as the server renders it:

- exact, where the server is llama-cpp-python's (it renders the GGUF's Jinja template with
  its own formatter, then tokenizes with ``special = True`` and a BOS unless the template
  wrote one): the same formatter and the same vocabulary here give the same tokens;
- an estimate otherwise, with llama.cpp's ``llama_chat_apply_template`` on the GGUF's
  template (llama.cpp's built-in renderings, which leave out what a Jinja template adds on
  its own, e.g. a default system prompt). Other servers render with their own engines.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE = "client_tokenizer"


@dataclass(frozen=True)
class PromptCount:
    n: int
    exact: bool


class GgufTokenizer:
    """A vocab-only llama.cpp model: token counts of texts and of chat prompts."""

    def __init__(self, path: Path) -> None:
        from llama_cpp import Llama

        self.path = path
        self._llama = Llama(str(path), vocab_only=True, verbose=False)
        self._template: str | None = self._llama.metadata.get("tokenizer.chat_template")

    def count(self, text: str, *, add_bos: bool = False) -> int:
        """Tokens of ``text`` as the model's vocabulary splits it (special tokens parsed)."""
        return len(self._llama.tokenize(text.encode(), add_bos=add_bos, special=True))

    def chat(self, messages: list[dict[str, str]], *, jinja: bool) -> PromptCount:
        """The prompt tokens of ``messages`` after the chat template, with the generation
        prompt. ``jinja``: the server renders the GGUF's template with llama-cpp-python's
        formatter (llama-cpp-python's server does), so the count is exact."""
        if jinja and self._template:
            exact = self._jinja(messages)
            if exact is not None:
                return PromptCount(exact, True)
        return PromptCount(self._apply_template(messages), False)

    def _jinja(self, messages: list[dict[str, str]]) -> int | None:
        from llama_cpp import llama_chat_format as fmt

        llama = self._llama
        if fmt.guess_chat_format_from_gguf_metadata(llama.metadata) is not None:
            return None  # the server would use one of its named formats instead
        eos, bos = llama.token_eos(), llama.token_bos()
        formatter = fmt.Jinja2ChatFormatter(
            template=self._template or "",
            eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )
        try:
            result = formatter(messages=messages)
        except Exception:  # a template this formatter cannot render: estimate instead
            return None
        tokens = llama.tokenize(
            result.prompt.encode(), add_bos=not result.added_special, special=True
        )
        return len(tokens)

    def _apply_template(self, messages: list[dict[str, str]]) -> int:
        import llama_cpp.llama_cpp as ll

        keep: list[Any] = []  # the encoded strings must outlive the C call
        arr = (ll.llama_chat_message * len(messages))()
        for i, m in enumerate(messages):
            role, content = m["role"].encode(), m["content"].encode()
            keep += [role, content]
            arr[i].role, arr[i].content = role, content
        tmpl = (self._template or "chatml").encode()
        size = 4096 + 2 * sum(len(m["content"]) for m in messages)
        buf = ctypes.create_string_buffer(size)
        n = ll.llama_chat_apply_template(tmpl, arr, len(messages), True, buf, size)
        if n > size:
            buf = ctypes.create_string_buffer(n + 1)
            n = ll.llama_chat_apply_template(tmpl, arr, len(messages), True, buf, n + 1)
        if n < 0:  # a template llama.cpp does not know: the messages alone, as a floor
            text = "\n".join(m["content"] for m in messages)
            return self.count(text, add_bos=True)
        return self.count(buf.raw[:n].decode("utf-8", errors="replace"), add_bos=True)
