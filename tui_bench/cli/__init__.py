"""The ``tui-bench`` command line. Bare: the TUI; subcommands for everything headless.

Only click is imported at start-up; every command imports what it needs, so
``tui-bench --help`` stays fast.

One module per command group; each defines plain click commands that this module
registers on the group.
"""

from __future__ import annotations

import sys

import click

from tui_bench.cli import (
    catalog,
    classify,
    doctor,
    history,
    ndcg,
    pipeline,
    scenarios,
    serve,
    suite,
)
from tui_bench.cli import run as run_cmd

_DEBUG = False


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="tui-bench", prog_name="tui-bench")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> int | None:
    """A terminal benchmark lab for local AI models.

    Run without a command to open the full-screen app. Everything it does is also
    available headless: see the commands below.
    """
    global _DEBUG
    _DEBUG = debug
    if ctx.invoked_subcommand is None:
        return run_cmd.open_tui(None)
    return None


cli.add_command(run_cmd.run)
cli.add_command(catalog.plans)
cli.add_command(catalog.models)
cli.add_command(history.history)
cli.add_command(history.report)
cli.add_command(history.compare)
cli.add_command(suite.suite)
cli.add_command(classify.classify)
cli.add_command(classify.corpus)
cli.add_command(doctor.doctor)
cli.add_command(ndcg.ndcg)
cli.add_command(scenarios.scenarios)
cli.add_command(pipeline.pipeline)
cli.add_command(serve.serve)


def main(argv: list[str] | None = None) -> None:
    from tui_bench.core.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, TuiBenchError

    try:
        rv = cli.main(args=argv, prog_name="tui-bench", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_BAD_INPUT)
    except (click.exceptions.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    except TuiBenchError as exc:
        if _DEBUG:
            raise
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(exc.exit_code)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
