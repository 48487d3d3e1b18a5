"""The openai backend against a real server: llama-cpp-python's, serving SmolLM2 on
127.0.0.1 through tui-bench's launcher (repacking off), with an API key.

A headless run writes per-request timings, token counts with their source and finish
reasons; they are checked against what the same server says when asked without
streaming, and the key is looked for in every file and line the run wrote.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench_helpers import cli_env, smollm2_file, tui_bench_cmd
from servers.fixtures import RealServer, start_llama_server, stop_server

from tui_bench.core.metrics import COUNT_TOLERANCE

pytestmark = pytest.mark.real

KEY = f"tb-sentinel-{secrets.token_hex(12)}"
WRONG_KEY = f"tb-wrong-{secrets.token_hex(12)}"
MAX_TOKENS = 16
PROMPT = "Name three colours of the rainbow."


@pytest.fixture(scope="module")
def smol_server() -> Iterator[RealServer]:
    server = start_llama_server(smollm2_file(), alias="smol", api_key=KEY)
    try:
        yield server
    finally:
        stop_server(server.proc)


def _plan(url: str) -> str:
    return f"""
name = "openai-real"
repeats = 2
warmup = 1
success_threshold = 0.5
[defaults]
max_tokens = {MAX_TOKENS}
temperature = 0.0

[[models]]
id = "smol-chat"
backend = "openai"
base_url = "{url}"
model = "smol"
api_key_env = "TB_TEST_KEY"

[[models]]
id = "smol-text"
backend = "openai"
base_url = "{url}"
model = "smol"
endpoint = "completions"
api_key_env = "TB_TEST_KEY"

[[models]]
id = "smol-badkey"
backend = "openai"
base_url = "{url}"
model = "smol"
api_key_env = "TB_WRONG_KEY"

[[prompts]]
id = "colours"
task = "qa"
text = "{PROMPT}"
"""


def _ask(server: RealServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The same request without streaming: the server's own counts in its usage."""
    resp = httpx.post(
        f"{server.url}/{path}",
        json=body,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=60.0,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def _files_holding(root: Path, secret: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_headless_run_against_llama_cpp_server(
    smol_server: RealServer, tmp_path: Path, bench_home: Path
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(_plan(smol_server.url))
    out = tmp_path / "out"
    env = cli_env(bench_home) | {"TB_TEST_KEY": KEY, "TB_WRONG_KEY": WRONG_KEY}
    proc = subprocess.run(
        tui_bench_cmd("run", str(plan), "--headless", "--output", str(out)),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    data = json.loads((out / "data.json").read_text())
    measured = [r for r in data["requests"] if not r["warmup"]]
    by_model: dict[str, list[dict[str, Any]]] = {}
    for r in measured:
        by_model.setdefault(r["model"], []).append(r)

    # a key the server refuses: the model fails to load, its requests say why
    bad = by_model["smol-badkey"]
    assert len(bad) == 2 and not any(r["ok"] for r in bad)
    assert bad[0]["error"].startswith(
        f"load failed: smol-badkey: {smol_server.url}/models answered http 401"
    )

    for model_id in ("smol-chat", "smol-text"):
        recs = by_model[model_id]
        assert len(recs) == 2
        for r in recs:
            assert r["ok"] and r["error"] is None and r["flags"] == [], r
            assert r["finish_reason"] in ("stop", "length")  # never cut, never missing
            assert 0 < r["ttfr_ms"] <= r["ttft_ms"] <= r["e2e_ms"]
            raw = r["raw"]
            assert len(raw["token_us"]) >= 2 and raw["token_us"] == sorted(raw["token_us"])
            # the raw offsets are whole microseconds (floored), e2e_ms is the nanosecond
            # span rounded to 3 decimals: they differ by up to 0.0015 ms
            assert r["e2e_ms"] == pytest.approx(raw["token_us"][-1] / 1000, abs=0.0016)
            assert r["n_out_source"] == "server_tokenize"  # this server streams no usage
            assert abs(r["n_out"] - len(raw["token_us"])) <= COUNT_TOLERANCE
            assert r["engine"]["origin"] == "client" and "reused" in r["engine"]["net"]
            assert r["peak_rss_kb"] and r["peak_rss_kb"] > 0  # the server's process, sampled
    pids = {m["id"]: m["info"].get("server_pid") for m in data["models"]}
    assert pids["smol-chat"] == pids["smol-text"] == smol_server.proc.pid

    # the server's own counts for the same requests, asked without streaming
    chat = by_model["smol-chat"][0]
    answer = _ask(
        smol_server,
        "chat/completions",
        {
            "model": "smol",
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": MAX_TOKENS,
            "temperature": 0.0,
            "seed": 42,
        },
    )
    assert answer["choices"][0]["message"]["content"] == chat["text"]  # greedy: the same
    used = answer["usage"]["completion_tokens"]
    assert abs(used - chat["n_out"]) <= COUNT_TOLERANCE
    assert abs(used - len(chat["raw"]["token_us"])) <= COUNT_TOLERANCE
    assert chat["n_in"] is None  # a chat prompt's template is the server's: not guessed
    text = by_model["smol-text"][0]
    answer = _ask(
        smol_server,
        "completions",
        {"model": "smol", "prompt": PROMPT, "max_tokens": MAX_TOKENS, "temperature": 0.0},
    )
    assert answer["choices"][0]["text"] == text["text"]
    assert (text["n_in"], text["n_in_source"]) == (
        answer["usage"]["prompt_tokens"],
        "server_tokenize",
    )
    assert abs(answer["usage"]["completion_tokens"] - text["n_out"]) <= COUNT_TOLERANCE

    # neither key was written anywhere: history, reports, logs
    for secret in (KEY, WRONG_KEY):
        assert secret not in log
        assert _files_holding(bench_home, secret.encode()) == []
        assert _files_holding(out, secret.encode()) == []
