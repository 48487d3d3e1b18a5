"""``tui-bench scenarios``: the scenario catalog, shipped and the user's own."""

from __future__ import annotations

import click

from tui_bench.cli.common import table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def scenarios(as_json: bool) -> int:
    """List the scenario catalog: id, stages, tasks, success thresholds, source.

    Shipped scenarios come with tui-bench; $TUI_BENCH_SCENARIOS may name your own index
    file (TOML or JSON, a list `scenarios`), whose entries add to the shipped ones and
    replace a shipped scenario of the same id.
    """
    import json

    from tui_bench.core.scenarios import SCENARIOS_ENV, load_catalog, user_index_path

    catalog = load_catalog()
    if as_json:
        user = user_index_path()
        payload = {
            "scenarios": [s.as_dict() for s in catalog],
            "user_index": str(user) if user else None,
        }
        click.echo(json.dumps(payload, indent=2))
        return 0
    rows = [
        [
            s.id,
            " > ".join(s.stages),
            s.tasks_total,
            ", ".join(f"{k}≥{v:g}" for k, v in s.thresholds.items()) or "–",
            s.source,
        ]
        for s in catalog
    ]
    click.echo(table(["id", "stages", "tasks", "thresholds", "source"], rows))
    user = user_index_path()
    click.echo()
    click.echo(f"{SCENARIOS_ENV}: {user if user else 'not set (shipped scenarios only)'}")
    return 0
