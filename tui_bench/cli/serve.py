"""``tui-bench serve``: the REST face (extra ``rest``) over the history, scenarios and runs."""

from __future__ import annotations

import click

TOKEN_ENV = "TUI_BENCH_API_TOKEN"


def command_options(name: str) -> frozenset[str] | None:
    """The long options of ``tui-bench NAME``; None when this installation has no such
    command (a run request for it is answered 501)."""
    from tui_bench.cli import cli

    command = cli.commands.get(name)
    if command is None:
        return None
    return frozenset(
        opt for p in command.params for opt in (*p.opts, *p.secondary_opts) if opt.startswith("--")
    )


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback lets other machines read the history.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on; 0 picks a free one (printed on the first line).",
)
@click.option(
    "--token-env",
    default=TOKEN_ENV,
    show_default=True,
    metavar="NAME",
    help="Environment variable holding the token POST /api/benchmarks/run requires "
    "(unset: starting runs over HTTP is refused).",
)
def serve(host: str, port: int, token_env: str) -> int:
    """Serve results, scenarios, runs and temporal nDCG over HTTP (extra: rest).

    GET /api/benchmarks/results?scenario_id=&limit=, GET /api/benchmarks/scenarios,
    POST /api/benchmarks/run (Authorization: Bearer $TUI_BENCH_API_TOKEN; 202 and a job
    to follow at GET /api/benchmarks/jobs/JOB), POST /api/benchmarks/metrics/ndcg-temporal.
    The first line printed is 'listening on http://HOST:PORT'. Runs started over HTTP go
    to the same history as every other run.
    """
    from tui_bench.rest.server import serve as run_server

    return run_server(host=host, port=port, token_env=token_env, command_options=command_options)
