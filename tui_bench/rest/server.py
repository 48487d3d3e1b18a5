"""Serving the REST application: bind, say where, run uvicorn until Ctrl+C.

The socket is bound here, before uvicorn starts, so ``--port 0`` gets a free port with no
race, and the first line on stdout is ``listening on http://HOST:PORT`` (as the model
server launcher prints it, core/backends/serve.py): a caller reads it to find the server.
Anything but a loopback address gets a one-line warning on stderr.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from typing import Any

from tui_bench.core.errors import UserError
from tui_bench.rest.launch import CommandOptions

DEFAULT_HOST = "127.0.0.1"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port); one line if it cannot."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise UserError(f"--host {host}: cannot use this address ({exc.strerror or exc})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UserError(
            f"--host {host} --port {port}: cannot listen ({exc.strerror or exc})"
        ) from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def is_loopback(sock: socket.socket) -> bool:
    try:
        return ipaddress.ip_address(sock.getsockname()[0]).is_loopback
    except ValueError:
        return False


def serve(
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    token_env: str,
    command_options: CommandOptions,
) -> int:
    """Serve until interrupted; 0 once stopped."""
    try:
        import uvicorn

        from tui_bench.rest.app import create_app
    except ImportError as exc:
        raise UserError(
            f"the REST server needs {exc.name}, which is not installed: "
            "pip install 'tui-bench[rest]'"
        ) from None
    token = os.environ.get(token_env, "").strip() or None
    app: Any = create_app(token=token, command_options=command_options, token_env=token_env)
    sock = bind(host, port)
    print(f"listening on {url_of(sock)}", flush=True)
    if not is_loopback(sock):
        print(
            f"warning: serving on {sock.getsockname()[0]}, not loopback: anyone who can reach "
            "this machine can read the history",
            file=sys.stderr,
            flush=True,
        )
    if token is None:
        print(
            f"POST /api/benchmarks/run is off: set {token_env} to start runs over HTTP",
            file=sys.stderr,
            flush=True,
        )
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
    return 0
