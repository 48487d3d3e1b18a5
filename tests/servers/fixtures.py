"""Starting and stopping the test servers (a test module's fixtures wrap these).

Every wait is bounded: a server that does not come up fails the test within its limit.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from servers.fault_server import FaultServer

START_TIMEOUT_S = 90.0


@contextlib.contextmanager
def running_fault_server() -> Iterator[FaultServer]:
    """A fault server for the block (a test module's fixture wraps it)."""
    server = FaultServer().start()
    try:
        yield server
    finally:
        server.stop()


def refused_url() -> str:
    """A loopback URL where nothing listens (the port was just free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@dataclass
class RealServer:
    url: str  # the base URL with /v1
    proc: subprocess.Popen[str]
    stderr: list[str]


def start_llama_server(
    model: Path,
    *,
    alias: str = "smol",
    api_key: str | None = None,
    timings: bool = False,
) -> RealServer:
    """llama-cpp-python's server with ``model`` on a free loopback port, repacking off (it
    crashes on the first decode on some hosts), ready once ``/v1/models`` answers. With
    ``api_key``, the server asks every client for it; with ``timings``, every answer's last
    chunk carries llama.cpp's own counters (the launcher's ``--timings on``)."""
    env = {"TEST_SERVER_KEY": api_key} if api_key else {}
    cmd = [
        sys.executable,
        "-m",
        "tui_bench.core.backends.serve",
        "--model",
        str(model),
        "--port",
        "0",
        "--alias",
        alias,
        "--n-ctx",
        "512",
        "--n-threads",
        "2",
        "--repack",
        "off",
        *(["--api-key-env", "TEST_SERVER_KEY"] if api_key else []),
        *(["--timings", "on"] if timings else []),
    ]
    proc, root, stderr = start_listening(cmd, {**os.environ, **env, "PYTHONUNBUFFERED": "1"})
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{root}/v1/models", headers=headers, timeout=5.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(f"the server never answered /v1/models: {''.join(stderr)[-2000:]}")
        time.sleep(0.2)
    return RealServer(f"{root}/v1", proc, stderr)


def start_listening(
    cmd: list[str], env: dict[str, str], *, cwd: Path | None = None, prefix: str = "listening on "
) -> tuple[subprocess.Popen[str], str, list[str]]:
    """A server process whose first stdout line is ``listening on URL``: (the process, the
    URL, its stderr lines as they come); stopped, and an error, when that line does not
    come within the start timeout."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd
    )
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()  # type: ignore[arg-type]
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(START_TIMEOUT_S)
    if not first or not first[0].startswith(prefix):
        stop_server(proc)
        raise RuntimeError(f"the server did not start: {first} {''.join(stderr)[-2000:]}")
    return proc, first[0].split("listening on ", 1)[1].strip(), stderr


def stop_server(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
