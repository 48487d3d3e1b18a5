"""The openai backend's plan fields and its stream reading, without any server: what a
plan may say (and that no message repeats a secret), which time each token gets, and
that the command line never imports the HTTP client."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tui_bench.core.backends import create_backend, openai
from tui_bench.core.backends.base import GenRequest
from tui_bench.core.backends.openai import OpenAIBackend, split_base_url
from tui_bench.core.backends.openai_stream import StreamState, http_error
from tui_bench.core.errors import PlanError
from tui_bench.core.metrics import ORIGIN_SERVER, EngineCounters
from tui_bench.core.plan import Generation, PromptSpec, parse_plan

SECRET = "sk-live-0123456789abcdef"


def plan(**model: Any) -> Any:
    raw = {
        "name": "p",
        "models": [{"id": "m", "backend": "openai", **model}],
        "prompts": [{"id": "q", "text": "hi"}],
    }
    return parse_plan(raw, "plan.toml")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({}, "plan.toml: models[0].base_url: required for backend 'openai'"),
        (
            {"base_url": "ftp://h/v1"},
            "plan.toml: models[0].base_url: must be an http:// or https:// URL",
        ),
        (
            {"base_url": f"http://me:{SECRET}@h:8080/v1"},
            "plan.toml: models[0].base_url: holds credentials: name an environment variable "
            "in api_key_env instead",
        ),
        (
            {"base_url": "http://h:8080", "api_key_env": SECRET},
            "plan.toml: models[0].api_key_env: must be the name of an environment variable "
            "(letters, digits, _), not the key itself",
        ),
        (
            {"base_url": "http://h", "timeouts": {"idle_s": 0}},
            "plan.toml: models[0].timeouts.idle_s: Input should be greater than 0 (got 0)",
        ),
        (
            {"backend": "mock", "base_url": "http://h"},
            "plan.toml: models[0].base_url: only applies to backend 'openai'",
        ),
    ],
)
def test_plan_mistakes_are_one_line_and_never_quote_a_secret(
    model: dict[str, Any], message: str
) -> None:
    with pytest.raises(PlanError) as err:
        plan(**model)
    assert str(err.value) == message
    assert SECRET not in str(err.value)


def test_plan_fields_reach_the_backend() -> None:
    p = plan(base_url="http://127.0.0.1:8080/v1/", api_key_env="MY_KEY", endpoint="completions")
    backend = create_backend(p.models[0], None)
    assert isinstance(backend, OpenAIBackend)
    assert (backend.root, backend.api) == ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1")
    assert (backend.model, backend.endpoint) == ("m", "completions")  # the id by default
    by_mode = OpenAIBackend(plan(base_url="http://h").models[0])
    chat, text = (Generation(mode="chat"), Generation(mode="completion"))
    prompt = PromptSpec(id="q", text="hi")
    assert by_mode._endpoint(GenRequest(prompt, chat)) == "chat"
    assert by_mode._endpoint(GenRequest(prompt, text)) == "completions"
    assert backend._endpoint(GenRequest(prompt, chat)) == "completions"  # the plan's wins
    assert (backend.timeouts.connect_s, backend.timeouts.total_s) == (10.0, None)
    assert split_base_url("https://api.example.com") == (
        "https://api.example.com",
        "https://api.example.com/v1",
    )


def test_a_missing_key_variable_fails_the_load_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TB_ABSENT_KEY", raising=False)
    backend = OpenAIBackend(
        plan(base_url="http://127.0.0.1:9", api_key_env="TB_ABSENT_KEY").models[0]
    )
    with pytest.raises(Exception) as err:
        asyncio.run(backend.load())
    assert str(err.value) == "m: environment variable TB_ABSENT_KEY (api_key_env) is not set"


class _Response:
    """Reads as httpx's response does: ``aiter_raw`` yields what each network read got."""

    def __init__(self, reads: list[bytes]) -> None:
        self.reads = reads

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        for chunk in self.reads:
            yield chunk


def _data(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return b"data: " + json.dumps({"choices": [choice]}).encode() + b"\n\n"


def test_each_line_gets_the_time_its_read_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    # the clock reads 1000, 2000, ... at each network read, and nowhere else in between
    clock = iter(range(1000, 100_000, 1000))
    monkeypatch.setattr(openai.time, "perf_counter_ns", lambda: next(clock))
    reads = [
        _data("a") + _data("b"),  # two events in one read: both arrived together
        _data("c")[:12],  # half a line: not an event yet
        _data("c")[12:] + b": keep-alive comment\n\n",
        _data(None, "stop") + b"data: [DONE]\n\n",
    ]
    backend = OpenAIBackend(plan(base_url="http://127.0.0.1:9").models[0])
    st = StreamState(t_send_ns=500)
    batches: list[Any] = []
    asyncio.run(backend._read(st, _Response(reads), batches.append))  # type: ignore[arg-type]
    assert st.token_t_ns == [1000, 1000, 3000]
    assert (st.t_first_response_ns, st.last_event_ns) == (1000, 4000)
    assert (st.text, st.finish_reason, st.done, st.error) == ("abc", "stop", True, None)
    # the live view gets them in batches (here one: the fake clock moved 4 µs in all)
    assert [(b.t_ns, b.text, b.n_out) for b in batches] == [([1000, 1000, 3000], "abc", 3)]


def test_server_counters_follow_llama_server_timings() -> None:
    # predicted_n counts the first token; predicted_ms starts once it is sampled
    e = EngineCounters(7, 3.5, 11, 100.0, origin=ORIGIN_SERVER, n_cached=2, net={"reused": True})
    assert e.eval_tps == pytest.approx(100.0)  # (11 - 1) tokens in 100 ms
    assert EngineCounters.from_dict(e.as_dict()) == e
    old = EngineCounters(20, 40.0, 63, 420.0)
    assert "origin" not in old.as_dict() and "net" not in old.as_dict()  # shape as before


def test_http_errors_name_status_and_retry_after() -> None:
    assert http_error(429, {"retry-after": "7"}, b"") == "http 429 (retry-after 7 s)"
    assert (
        http_error(502, {}, b"<html>\n bad   gateway</html>")
        == "http 502: <html> bad gateway</html>"
    )
    assert http_error(401, {}, b'{"detail": "Invalid API key"}') == "http 401: Invalid API key"


def test_command_line_never_imports_the_http_client() -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['tui-bench', '--help']\n"
        "try:\n"
        "    runpy.run_module('tui_bench', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('httpx' in sys.modules, 'tui_bench.core.backends.openai' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False False"
