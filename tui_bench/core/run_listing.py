"""Runs from the history, newest first, and their averages (``GET /api/benchmarks/results``,
``tui-bench history --scenario ID``).

A run is listed as ``tui-bench history`` lists it (the store's run list: status as shown,
counts of a run still going), with its duration, its verdict and, when its plan has a
price table, its mean cost per successful measured request (core/cost.py).

``scenario_id`` keeps the runs whose plan name is that id: pipeline runs of the scenario
(stored with kind ``pipeline`` and the scenario id as plan name) and LLM runs of a plan so
named.

The averages are over the listed runs, each run counting once; a run without the figure
(no measured request, no price table) is left out of that average, and the count beside
each average says how many runs it rests on:

- ``success_rate``: mean of the runs' success rates; ``pooled_success_rate``: their ok
  requests over their measured requests;
- ``avg_latency_ms``: mean of the runs' mean end-to-end latency (``mean_e2e_ms``);
- ``avg_cost``: mean of the runs' mean cost per request, when they share one currency
  (``None`` and the currencies listed otherwise).
"""

from __future__ import annotations

from typing import Any

from tui_bench.core.history_query import RunRow

LIMIT_DEFAULT = 5  # the design note's default
LIMIT_MAX = 1000


def run_mean_cost(store: Any, row: RunRow) -> tuple[float, str] | None:
    """(mean cost per successful measured request, currency) of a run whose plan has
    prices and whose priced requests share one currency; None otherwise."""
    plan = row.plan_raw
    if not isinstance(plan, dict) or not plan.get("prices"):
        return None
    from tui_bench.core.cost import run_cost

    rc = run_cost(store.get_requests(row.id), plan)
    if rc is None or len(rc.totals) != 1:
        return None
    ((currency, total),) = rc.totals.items()
    n = sum(m.n for m in rc.models if m.currency == currency and m.total is not None)
    return (total / n, currency) if n else None


def _passed(row: RunRow) -> bool | None:
    """The engine's verdict: completed with a success rate at or above the threshold
    (None while the run has no verdict: still running, or no threshold)."""
    if row.status == "running":
        return None
    if row.success_rate is None or row.threshold is None:
        return False if row.status in ("cancelled", "failed", "interrupted") else None
    return row.status == "completed" and row.success_rate >= row.threshold


def run_entry(store: Any, row: RunRow) -> dict[str, Any]:
    """One listed run as JSON values."""
    from tui_bench.core.store_finish import get_duration

    cost = run_mean_cost(store, row)
    return {
        "id": row.id,
        "kind": row.kind,
        "plan": row.plan,
        "scenario_id": row.plan if row.kind == "pipeline" else None,
        "status": row.status,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "duration_s": get_duration(store, row.id),
        "success_rate": row.success_rate,
        "threshold": row.threshold,
        "passed": _passed(row),
        "n_measured": row.n_measured,
        "n_ok": row.n_ok,
        "n_failed": row.n_failed,
        "avg_latency_ms": row.mean_e2e_ms,
        "avg_ttft_ms": row.mean_ttft_ms,
        "avg_cost": None if cost is None else cost[0],
        "cost_currency": None if cost is None else cost[1],
        "label": row.label,
    }


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def averages(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The averages over listed runs (see the module docstring)."""
    rates = [e["success_rate"] for e in entries if e["success_rate"] is not None]
    measured = sum(e["n_measured"] or 0 for e in entries)
    ok = sum(e["n_ok"] or 0 for e in entries)
    latencies = [e["avg_latency_ms"] for e in entries if e["avg_latency_ms"] is not None]
    costs = [(e["avg_cost"], e["cost_currency"]) for e in entries if e["avg_cost"] is not None]
    currencies = sorted({c for _, c in costs})
    one_currency = len(currencies) == 1
    return {
        "n_runs": len(entries),
        "success_rate": _mean(rates),
        "success_rate_runs": len(rates),
        "pooled_success_rate": ok / measured if measured else None,
        "n_measured": measured,
        "n_ok": ok,
        "avg_latency_ms": _mean(latencies),
        "latency_runs": len(latencies),
        "avg_cost": _mean([c for c, _ in costs]) if one_currency else None,
        "cost_currency": currencies[0] if one_currency else None,
        "cost_currencies": currencies,
        "cost_runs": len(costs),
    }


def list_results(
    store: Any, *, scenario_id: str | None = None, limit: int = LIMIT_DEFAULT
) -> dict[str, Any]:
    """The newest ``limit`` runs (of ``scenario_id``'s plan name when given), and their
    averages."""
    if not 1 <= limit <= LIMIT_MAX:
        raise ValueError(f"limit: {limit} is not between 1 and {LIMIT_MAX}")
    rows = store.iter_runs(plan=scenario_id or None, limit=limit)
    entries = [run_entry(store, row) for row in rows]
    return {
        "scenario_id": scenario_id or None,
        "limit": limit,
        "results": entries,
        "averages": averages(entries),
    }
