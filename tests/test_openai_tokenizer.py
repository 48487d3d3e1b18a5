"""Token counts from a local GGUF where the server gives none (source ``client_tokenizer``).

Against the fault server without usage and without a tokenize endpoint: the answer and a
completion prompt are counted with SmolLM2's vocabulary, a chat prompt after llama.cpp's
rendering of its template (an estimate: the server renders its own). Against
llama-cpp-python's real server (timings on, so it reports llama.cpp's own prompt count):
a chat prompt counted with that server's own formatter is exact, and equal to the count
the server evaluated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from bench_helpers import load_error, smollm2_file
from servers.fault_server import MODEL, FaultServer
from servers.fixtures import RealServer, start_llama_server, stop_server

from tui_bench.core.backends.base import GenRequest
from tui_bench.core.backends.openai import OpenAIBackend
from tui_bench.core.engine import Engine
from tui_bench.core.plan import LoadedPlan, parse_plan

MAX_TOKENS = 8
PROMPT = "count to eight"
SYSTEM = "Answer in one line."


class NoTokenizeServer(FaultServer):
    """The fault server with no tokenize endpoint (as vLLM or Ollama without usage)."""

    async def _route(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        raw: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if target.split("?")[0].rstrip("/").endswith("tokenize"):
            await self._json(writer, "404 Not Found", {"error": {"message": "not found"}})
            return True
        return await super()._route(method, target, headers, raw, reader, writer)


@pytest.fixture(scope="module")
def server() -> Iterator[NoTokenizeServer]:
    srv = NoTokenizeServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def vocab() -> Any:
    from llama_cpp import Llama

    return Llama(str(smollm2_file()), vocab_only=True, verbose=False)


def plan(models: list[dict[str, Any]]) -> LoadedPlan:
    raw: dict[str, Any] = {
        "name": "tokenizer",
        "repeats": 1,
        "warmup": 0,
        "defaults": {"max_tokens": MAX_TOKENS},
        "models": models,
        "prompts": [{"id": "p", "text": PROMPT, "system": SYSTEM}],
        "quality": {"fluency": False, "judge": False},
    }
    return LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)


def openai_model(url: str, **over: Any) -> dict[str, Any]:
    return {"backend": "openai", "base_url": url, "model": MODEL, **over}


def test_without_usage_or_tokenize_endpoint_the_gguf_counts(server: NoTokenizeServer) -> None:
    url = server.url("nousage")
    gguf = str(smollm2_file())
    loaded = plan(
        [
            openai_model(url, id="chat", tokenizer=gguf),
            openai_model(url, id="text", tokenizer=gguf, endpoint="completions"),
            openai_model(url, id="bare"),
        ]
    )
    outcome = asyncio.run(Engine(loaded, write_history=False, telemetry=False).run())
    recs = {r.model: r for r in outcome.records}
    chat, text, bare = recs["chat"], recs["text"], recs["bare"]
    assert chat.ok and text.ok and bare.ok
    v = vocab()
    answer = "".join(f" tok{i}" for i in range(MAX_TOKENS))  # what the fault server sends
    n_answer = len(v.tokenize(answer.encode(), add_bos=False, special=True))
    assert n_answer > MAX_TOKENS  # " tok0" is more than one token: not the chunk count
    assert (chat.n_out, chat.n_out_source) == (n_answer, "client_tokenizer")
    assert (text.n_out, text.n_out_source) == (n_answer, "client_tokenizer")
    # a completion prompt as the server tokenizes it: the text with its BOS, exact
    n_text = len(v.tokenize(PROMPT.encode(), add_bos=True, special=True))
    assert (text.n_in, text.n_in_source, text.engine.n_in_exact) == (
        n_text,
        "client_tokenizer",
        True,
    )
    # a chat prompt after llama.cpp's rendering of SmolLM2's template (chatml), an estimate
    chatml = (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"
        f"<|im_start|>user\n{PROMPT}<|im_end|>\n<|im_start|>assistant\n"
    )
    n_chat = len(v.tokenize(chatml.encode(), add_bos=True, special=True))
    assert (chat.n_in, chat.n_in_source, chat.engine.n_in_exact) == (
        n_chat,
        "client_tokenizer",
        False,
    )
    # without a tokenizer: the chunks, and no prompt count
    assert (bare.n_out, bare.n_out_source, bare.n_in) == (MAX_TOKENS, "chunk_count", None)
    assert bare.engine.n_in_exact is None
    assert outcome.model_info["chat"]["local_tokenizer"] == gguf


def test_an_unreadable_tokenizer_is_a_one_line_load_error(
    server: NoTokenizeServer, tmp_path: Any
) -> None:
    bad = tmp_path / "not-a-model.gguf"
    bad.write_text("not a GGUF\n")
    loaded = plan([openai_model(server.url("ok"), id="m", tokenizer=str(bad))])
    backend = OpenAIBackend(loaded.plan.models[0])

    msg = load_error(backend)
    assert msg.startswith(f"m: tokenizer {bad}: cannot read it as a GGUF: ")
    assert "\n" not in msg


def test_a_tokenizer_on_another_backend_is_a_plan_error() -> None:
    from tui_bench.core.errors import PlanError

    with pytest.raises(PlanError) as err:
        plan([{"id": "m", "backend": "mock", "tokenizer": "builtin:smollm2-135m"}])
    assert "tokenizer" in str(err.value) and "only applies to backend 'openai'" in str(err.value)


@pytest.fixture(scope="module")
def smol_server() -> Iterator[RealServer]:
    srv = start_llama_server(smollm2_file(), alias="smol", timings=True)
    try:
        yield srv
    finally:
        stop_server(srv.proc)


@pytest.mark.real
def test_chat_prompt_count_equals_llama_cpp_python_servers_own(smol_server: RealServer) -> None:
    loaded = plan(
        [
            {
                "id": "smol",
                "backend": "openai",
                "base_url": smol_server.url,
                "model": "smol",
                "tokenizer": str(smollm2_file()),
            }
        ]
    )
    backend = OpenAIBackend(loaded.plan.models[0])

    async def go() -> Any:
        await backend.load()
        try:
            req = GenRequest(loaded.plan.prompts[0], loaded.plan.defaults)
            return await backend.generate(req, lambda batch: None)
        finally:
            await backend.close()

    out = asyncio.run(go())
    assert out.error is None and out.engine.origin == "server"
    # the server's own llama.cpp counter of the prompt it evaluated (its KV cache emptied
    # before every request by the launcher)
    assert out.engine.n_p_eval > 20
    assert (out.n_in, out.n_in_source, out.engine.n_in_exact) == (
        out.engine.n_p_eval,
        "client_tokenizer",
        True,
    )
    assert out.n_out_source == "server_tokenize"  # the server's endpoint still wins
