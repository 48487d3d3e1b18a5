"""Token counts of a request to an OpenAI-compatible server, where its stream carries no
``usage``: the server's tokenize endpoint, else a local GGUF's vocabulary, else chunks.

The order, best first (the source is recorded with each count, see ``metrics.md``):

1. the server's ``usage`` (``usage``);
2. its tokenize endpoint (llama-server ``POST /tokenize``, llama-cpp-python
   ``POST /extras/tokenize``; ``server_tokenize``), for the answer and a completion prompt;
3. the model's vocabulary from a GGUF on this machine (the plan's ``tokenizer``, else the
   model's ``source`` where it is a local GGUF; ``client_tokenizer``), for what the server
   cannot count, and always for a chat prompt: no tokenize endpoint applies the chat
   template, so a chat prompt is counted after the GGUF's template here, and the count
   says whether it is exact (``EngineCounters.n_in_exact``; see :mod:`.gguf_tokenizer`);
4. one token per content chunk (``chunk_count``), for the answer only.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from tui_bench.core.backends.gguf_tokenizer import SOURCE as CLIENT_TOKENIZER
from tui_bench.core.backends.gguf_tokenizer import GgufTokenizer
from tui_bench.core.errors import BackendError
from tui_bench.core.metrics import EngineCounters

if TYPE_CHECKING:
    import httpx

    from tui_bench.core.backends.openai_stream import StreamState
    from tui_bench.core.plan import ModelSpec

TOKENIZER_LLAMA_SERVER = "llama_server"  # POST /tokenize {"content": ...}
TOKENIZER_LLAMA_CPP_PYTHON = "llama_cpp_python"  # POST /extras/tokenize {"input": ...}


def messages_of(prompt: Any) -> list[dict[str, str]]:
    """A prompt as the chat messages sent for it."""
    messages = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    messages.append({"role": "user", "content": prompt.text})
    return messages


class TokenCounter:
    """The ways one server's requests can be counted, found when the model loads."""

    def __init__(self, spec: ModelSpec, root: str, model: str, timeout_s: float) -> None:
        self.spec, self.root, self.model, self.timeout_s = spec, root, model, timeout_s
        self.kind: str | None = None  # the tokenize endpoint the server has
        self.bos = 0  # what tokenizing an empty text gives (a BOS the server adds)
        self.gguf: GgufTokenizer | None = None

    @property
    def local_path(self) -> str | None:
        return str(self.gguf.path) if self.gguf else None

    async def probe(self, client: httpx.AsyncClient | None) -> None:
        """Which tokenize endpoint the server has, if any (llama-server's or
        llama-cpp-python's); the other servers count with usage or locally."""
        for kind in (TOKENIZER_LLAMA_SERVER, TOKENIZER_LLAMA_CPP_PYTHON):
            tokens = await self.tokenize(client, "", kind=kind)
            if tokens is not None:
                self.kind, self.bos = kind, tokens
                return

    async def load_local(self) -> None:
        """The plan's ``tokenizer`` GGUF (an error when it cannot be read), else the model's
        ``source`` where it names a GGUF on this machine (quietly none otherwise)."""
        from tui_bench.core.models import resolve_source

        spec = self.spec
        given = spec.tokenizer or spec.source
        if not given:
            return
        try:
            path = await asyncio.to_thread(resolve_source, given, assemble=True)
            if not path.is_file():
                raise FileNotFoundError(f"{path} does not exist")
            self.gguf = await asyncio.to_thread(GgufTokenizer, path)
        except Exception as exc:
            if spec.tokenizer is None:
                return  # a source that is no local GGUF: a name, not a file here
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise BackendError(
                f"{spec.id}: tokenizer {spec.tokenizer}: cannot read it as a GGUF: {reason}"
            ) from None

    async def tokenize(
        self,
        client: httpx.AsyncClient | None,
        text: str,
        *,
        kind: str | None = None,
        special: bool = False,
    ) -> int | None:
        """How many tokens the server makes of ``text``; None when it cannot tell."""
        import httpx

        kind = kind or self.kind
        if kind is None or client is None:
            return None
        if kind == TOKENIZER_LLAMA_SERVER:
            url, body = f"{self.root}/tokenize", {"content": text, "add_special": special}
        else:
            url, body = f"{self.root}/extras/tokenize", {"input": text, "model": self.model}
        try:
            resp = await asyncio.wait_for(client.post(url, json=body), self.timeout_s)
            tokens = resp.json().get("tokens") if resp.status_code == 200 else None
        except (asyncio.TimeoutError, httpx.HTTPError, ValueError, AttributeError):
            return None
        return len(tokens) if isinstance(tokens, list) else None

    async def prompt(
        self, client: httpx.AsyncClient | None, st: StreamState, chat: bool, prompt: Any
    ) -> tuple[int | None, str | None, bool | None]:
        """(count, source, exact: said only for the local tokenizer's count)."""
        usage = st.usage or {}
        if isinstance(usage.get("prompt_tokens"), int):
            return usage["prompt_tokens"], "usage", None
        gguf = self.gguf
        if not chat:
            # the server tokenizes a completion prompt as this does (with its BOS)
            n = await self.tokenize(client, prompt.text, special=True)
            if n is not None:
                return n, "server_tokenize", None
            if gguf is not None:
                return gguf.count(prompt.text, add_bos=True), CLIENT_TOKENIZER, True
            return None, None, None
        if gguf is None:  # a chat prompt goes through a template no endpoint applies
            return None, None, None
        # a few hundred tokens: well under a millisecond of C, after the stream has ended
        count = gguf.chat(messages_of(prompt), jinja=self.kind == TOKENIZER_LLAMA_CPP_PYTHON)
        return count.n, CLIENT_TOKENIZER, count.exact

    async def output(
        self,
        client: httpx.AsyncClient | None,
        st: StreamState,
        n_chunks: int,
        engine: EngineCounters,
    ) -> tuple[int, str, int | None]:
        """(count, source, the other source's count for the disagreement check)."""
        usage = st.usage or {}
        if isinstance(usage.get("completion_tokens"), int):
            return usage["completion_tokens"], "usage", n_chunks
        answer = "".join(st.reasoning) + st.text
        n = await self.tokenize(client, answer)
        if n is not None:
            return max(0, n - self.bos), "server_tokenize", n_chunks
        if self.gguf is not None:
            return self.gguf.count(answer), CLIENT_TOKENIZER, n_chunks
        return n_chunks, "chunk_count", engine.n_eval
