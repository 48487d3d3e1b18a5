"""A closed-loop sweep (1, 2, 4 users) against a real server: llama-cpp-python's, serving
SmolLM2 on 127.0.0.1 through tui-bench's launcher, run headless.

That server answers one request at a time: its one ``Llama`` sits behind a lock, and the
launcher keeps it from cutting a running stream for a newer one. So the users' requests
are all in flight at the client (achieved concurrency above 1 at 4 users) while the
server queues them, which shows as a longer time to first token even measured from the
send; it has no ``/metrics`` endpoint, which the run says once.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench_helpers import cli_env, smollm2_file, tui_bench_cmd
from servers.fixtures import RealServer, start_llama_server, stop_server

pytestmark = pytest.mark.real

REQUESTS = 4
MAX_TOKENS = 16


@pytest.fixture(scope="module")
def smol_server() -> Iterator[RealServer]:
    server = start_llama_server(smollm2_file(), alias="smol")
    try:
        yield server
    finally:
        stop_server(server.proc)


def test_closed_loop_sweep_against_llama_cpp_server(
    smol_server: RealServer, tmp_path: Path, bench_home: Path
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        f"""
name = "load-real"
warmup = 1
[defaults]
max_tokens = {MAX_TOKENS}
temperature = 0.0

[[models]]
id = "smol"
backend = "openai"
base_url = "{smol_server.url}"
model = "smol"

[[prompts]]
id = "colours"
task = "qa"
text = "Name three colours of the rainbow."

[load]
concurrency = [1, 2, 4]
requests = {REQUESTS}
"""
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        tui_bench_cmd("run", str(plan), "--headless", "--output", str(out)),
        env=cli_env(bench_home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    load = json.loads((out / "data.json").read_text())["load"]
    levels = {lv["level"]: lv for lv in load["levels"]}
    assert list(levels) == ["c=1", "c=2", "c=4"]
    for label, users in (("c=1", 1), ("c=2", 2), ("c=4", 4)):
        lv = levels[label]
        assert (lv["sent"], lv["completed"], lv["failed"]) == (REQUESTS, REQUESTS, 0), lv
        assert lv["output_tokens"] > 0 and lv["output_throughput_tps"] > 0
        # Little's law from the client's side never exceeds the users
        assert 0 < lv["achieved_concurrency"] <= users + 1e-9
        assert lv["backend_max_concurrency"] is None  # tui-bench sends them all at once
        assert lv["server"] == {"absent": f"{smol_server.url[:-3]}/metrics answered HTTP 404"}
    # four requests in flight at the client, queued one after another in the server: the
    # four users sent at once, so the last one served waited for the first one's whole
    # answer before its own first token (true however fast or busy the host is)
    assert levels["c=4"]["achieved_concurrency"] > 1
    data = json.loads((out / "data.json").read_text())
    measured = [r for r in data["requests"] if r.get("level") and not r["warmup"]]
    four = [r for r in measured if r["level"] == "c=4"]
    assert max(r["ttft_ms"] for r in four) > min(r["e2e_ms"] for r in four)
    assert len(measured) == 3 * REQUESTS
    assert all(r["finish_reason"] in ("stop", "length") and not r["flags"] for r in measured)
    # per level in the log, the capacity at the end; the missing endpoint said once
    assert sum(line.startswith("[smol] 4 users: 4/4 ok") for line in log.splitlines()) == 1
    assert "[smol] capacity: smol: " in log
    report = (out / "report.md").read_text()
    assert report.count("No server metrics") == 1
    capacity = load["models"]["smol"]["capacity"]
    assert capacity.startswith("smol: ") and capacity in report
