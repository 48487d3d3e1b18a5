"""``tui-bench ndcg``: temporal nDCG@k of a ranked list given as a JSON payload."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tui_bench.core.ranking import TemporalNdcg


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def ndcg(file: Path, as_json: bool) -> int:
    """Temporal nDCG@k of the ranking in FILE (JSON: ranked_items of {rel, ts}, and
    optional k, now, T_days, lam).

    Gain (2^rel − 1)·exp(−lam·age_days/T_days) at position i, divided by log2(i + 1),
    summed over the first k and divided by the same sum for the ideal order.
    Defaults: k 10, T_days 7, lam 0.3, now the current UTC time.
    """
    import json

    from tui_bench.core.ranking import load_payload

    result = load_payload(file).compute()
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(render(result))
    return 0


def render(r: TemporalNdcg) -> str:
    """The value on the first line, then what it was computed with."""
    source = "from the payload" if r.now_source == "given" else "current UTC time"
    lines = [
        f"ndcg_time@{r.k} = {r.value:.4f}",
        f"  k        {r.k}",
        f"  now      {r.now.isoformat()} ({source})",
        f"  T_days   {r.T_days:g}",
        f"  lam      {r.lam:g}",
        f"  items    {r.n_items}",
        f"  clamped  {r.n_future_clamped} future item(s) counted as age 0",
        f"  dcg      {r.dcg:.6g} / idcg {r.idcg:.6g}",
    ]
    if r.note:
        lines.append(f"  note     {r.note}")
    return "\n".join(lines)
