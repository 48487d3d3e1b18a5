"""What a model's answers cost: the plan's price table (``[[prices]]``), and the cost per
request, per model, per task type and per run, for report.md, data.json, results.csv and
the results screen.

A price is an API's (``input_per_mtok`` / ``output_per_mtok``: per million prompt and
generated tokens) or a local box's (``gpu_hour``: what an hour of the machine costs).

- API: a request costs n_in x input_per_mtok / 1e6 + n_out x output_per_mtok / 1e6 (a
  price left out counts as 0; a request whose prompt tokens are unknown has no cost when
  prompt tokens are priced).
- GPU-hour: a request costs the box's time it held, gpu_hour x end-to-end / 3600 s. The
  cost per 1,000 output tokens is gpu_hour / (output tokens per hour at the measured
  throughput) x 1000, the throughput of a sequential run being the model's sum of output
  tokens over the sum of its requests' end-to-end times (prompt processing included).

Both give a model's cost per 1,000 output tokens as its total over its output tokens.
Costs are counted on successful requests; the totals (per model, task type, run) on
successful measured requests only, warm-ups apart. A failed request has no cost figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tui_bench.core.results import RequestRecord

Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
METHOD = (
    "API: n_in x input_per_mtok / 1e6 + n_out x output_per_mtok / 1e6 per request; GPU-hour: "
    "gpu_hour x end-to-end / 3600 s per request; per 1,000 output tokens: a model's total over "
    "its output tokens; totals over successful measured requests (warm-ups apart)"
)
THROUGHPUT = (
    "output tokens per hour at the measured throughput: the model's sum of output tokens "
    "over the sum of its successful measured requests' end-to-end times (a sequential run)"
)


class Price(BaseModel):
    """One ``[[prices]]`` entry of a plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Annotated[str, Field(min_length=1)]
    input_per_mtok: Money | None = None
    output_per_mtok: Money | None = None
    gpu_hour: Money | None = None
    currency: Annotated[str, Field(pattern=r"^[^\s\x00-\x1f\x7f]{1,8}$")] = "USD"

    @model_validator(mode="after")
    def _one_basis(self) -> Price:
        api = self.input_per_mtok is not None or self.output_per_mtok is not None
        if api and self.gpu_hour is not None:
            raise ValueError(
                "give input_per_mtok/output_per_mtok (an API) or gpu_hour (a local box), not both"
            )
        if not api and self.gpu_hour is None:
            raise ValueError(
                "give input_per_mtok and/or output_per_mtok (an API), or gpu_hour (a local box)"
            )
        return self

    @property
    def basis(self) -> str:
        return "gpu_hour" if self.gpu_hour is not None else "api"

    def describe(self) -> str:
        if self.gpu_hour is not None:
            return f"{self.gpu_hour:g} {self.currency} per GPU-hour"
        inp, out = self.input_per_mtok or 0.0, self.output_per_mtok or 0.0
        return f"{inp:g} / {out:g} {self.currency} per million input / output tokens"


def prices_problem(plan: Any) -> tuple[str, str] | None:
    """(field, message) for a price naming no model of the plan, or one model twice."""
    ids = [m.id for m in plan.models]
    seen: dict[str, int] = {}
    for i, price in enumerate(plan.prices or []):
        if price.model not in ids:
            known = ", ".join(ids)
            return f"prices[{i}].model", f"{price.model!r} is not a model of this plan ({known})"
        if price.model in seen:
            return (
                f"prices[{i}].model",
                f"{price.model!r} is priced twice (also prices[{seen[price.model]}])",
            )
        seen[price.model] = i
    return None


def money(value: float | None, currency: str = "") -> str:
    """Four significant digits, never in exponent form: ``0.0001030 USD``, ``12.50 USD``."""
    if value is None:
        return "–"
    digits = 2 if value == 0 else max(2, 3 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}" + (f" {currency}" if currency else "")


def request_cost(r: RequestRecord, price: Price) -> float | None:
    if not r.ok:
        return None
    if price.gpu_hour is not None:
        return None if r.e2e_ms is None else price.gpu_hour * r.e2e_ms / 1000 / 3600
    inp, out = price.input_per_mtok or 0.0, price.output_per_mtok or 0.0
    if inp and r.n_in is None:
        return None
    return ((r.n_in or 0) * inp + r.n_out * out) / 1e6


@dataclass
class ModelCost:
    model: str
    basis: str  # "api" or "gpu_hour"
    price: str  # the price as the report says it
    currency: str
    n: int  # successful measured requests with a cost
    output_tokens: int
    total: float | None
    per_request: float | None  # mean
    per_1k_output: float | None
    throughput_tps: float | None  # gpu_hour: the output tokens/s the cost rests on


@dataclass
class TaskCost:
    task: str
    model: str
    currency: str
    n: int
    total: float | None
    per_request: float | None


@dataclass
class RunCost:
    models: list[ModelCost]
    tasks: list[TaskCost]
    totals: dict[str, float]  # currency -> the run's total
    per_request: dict[int, tuple[float, str]]  # seq -> (cost, currency)

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "throughput": THROUGHPUT,
            "models": [_rounded(asdict(m)) for m in self.models],
            "per_task": [_rounded(asdict(t)) for t in self.tasks],
            "totals": {c: round(v, 10) for c, v in self.totals.items()},
        }


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 10) if isinstance(v, float) else v for k, v in d.items()}


def plan_prices(plan: dict[str, Any]) -> dict[str, Price]:
    """The price of each model of a stored plan (a plan that validated once)."""
    out: dict[str, Price] = {}
    for entry in plan.get("prices") or []:
        try:
            price = Price.model_validate(entry)
        except ValidationError:  # written by another version: left out, not guessed
            continue
        out[price.model] = price
    return out


def _group(
    records: Sequence[RequestRecord], price: Price
) -> tuple[int, int, float | None, float | None, float | None]:
    """(n, output tokens, total, mean per request, per 1k output tokens)."""
    costs = [(r, request_cost(r, price)) for r in records if r.ok and not r.warmup]
    priced = [(r, c) for r, c in costs if c is not None]
    if not priced:
        return 0, 0, None, None, None
    total = sum(c for _, c in priced)
    tokens = sum(r.n_out for r, _ in priced)
    per_1k = total / tokens * 1000 if tokens else None
    return len(priced), tokens, total, total / len(priced), per_1k


def run_cost(records: Sequence[RequestRecord], plan: dict[str, Any]) -> RunCost | None:
    """The run's costs, or None when its plan has no prices."""
    prices = plan_prices(plan)
    if not prices:
        return None
    models, tasks, totals = [], [], {}
    for model, price in prices.items():
        mine = [r for r in records if r.model == model]
        n, tokens, total, mean, per_1k = _group(mine, price)
        tput = None
        if price.gpu_hour is not None:
            ms = sum(r.e2e_ms or 0.0 for r in mine if r.ok and not r.warmup and r.e2e_ms)
            tput = tokens / (ms / 1000) if ms else None
        models.append(
            ModelCost(
                model,
                price.basis,
                price.describe(),
                price.currency,
                n,
                tokens,
                total,
                mean,
                per_1k,
                tput,
            )
        )
        if total is not None:
            totals[price.currency] = totals.get(price.currency, 0.0) + total
        for task in dict.fromkeys(r.task for r in mine):
            tn, _, ttotal, tmean, _ = _group([r for r in mine if r.task == task], price)
            tasks.append(TaskCost(task, model, price.currency, tn, ttotal, tmean))
    per_request = {}
    for r in records:
        price = prices.get(r.model)
        cost = request_cost(r, price) if price else None
        if price and cost is not None:
            per_request[r.seq] = (cost, price.currency)
    return RunCost(models, tasks, totals, per_request)


# -- the reports' parts ---------------------------------------------------------------


def annotate_json(
    out: dict[str, Any], records: Sequence[RequestRecord], plan: dict[str, Any]
) -> None:
    """data.json: a ``cost`` section, and ``cost``/``cost_currency`` on each request
    (only when the plan has prices)."""
    rc = run_cost(records, plan)
    if rc is None:
        return
    out["cost"] = rc.as_dict()
    for req in out.get("requests", []):
        cost, currency = rc.per_request.get(req.get("seq"), (None, None))
        req["cost"] = None if cost is None else round(cost, 10)
        req["cost_currency"] = currency


def csv_costs(
    records: Sequence[RequestRecord], plan: dict[str, Any]
) -> dict[int, tuple[float, str]] | None:
    """results.csv's ``cost`` and ``cost_currency`` per request seq; None: no prices."""
    rc = run_cost(records, plan)
    return (
        None if rc is None else {s: (round(c, 10), cur) for s, (c, cur) in rc.per_request.items()}
    )


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(records: Sequence[RequestRecord], plan: dict[str, Any]) -> list[str]:
    """report.md's "Cost" section (nothing when the plan has no prices)."""
    rc = run_cost(records, plan)
    if rc is None:
        return []
    lines = ["## Cost", ""]
    rows = [
        [
            m.model,
            m.price,
            "–" if m.throughput_tps is None else f"{m.throughput_tps:,.1f} output tok/s",
            str(m.n),
            money(m.per_request, m.currency),
            money(m.per_1k_output, m.currency),
            money(m.total, m.currency),
        ]
        for m in rc.models
    ]
    lines += _table(
        [
            "model",
            "price",
            "throughput used",
            "requests",
            "per request (mean)",
            "per 1,000 output tokens",
            "run total",
        ],
        rows,
    )
    total = ", ".join(money(v, c) for c, v in rc.totals.items()) or "–"
    lines += ["", f"**Run total**: {total} (successful measured requests; warm-ups apart).", ""]
    rows = [
        [t.task, t.model, str(t.n), money(t.per_request, t.currency), money(t.total, t.currency)]
        for t in rc.tasks
    ]
    lines += _table(["task", "model", "requests", "per request (mean)", "total"], rows)
    lines += [
        "",
        "API prices: n_in × input + n_out × output price per million tokens. GPU-hour prices: "
        f"a request costs the GPU-hour price × its end-to-end time; per 1,000 output tokens from {THROUGHPUT}.",
        "",
    ]
    return lines


def screen_lines(records: Sequence[RequestRecord], plan: dict[str, Any]) -> list[tuple[str, str]]:
    """The results screen's cost lines: (model, "per request · per 1k output tokens · run")."""
    rc = run_cost(records, plan)
    if rc is None:
        return []
    return [
        (
            m.model,
            f"{money(m.per_request, m.currency)}/request · "
            f"{money(m.per_1k_output)}/1k tok · run {money(m.total)}",
        )
        for m in rc.models
    ]
