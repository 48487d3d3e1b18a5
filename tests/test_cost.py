"""Cost from the plan's price table: arithmetic checked by hand, the plan's one-line
errors, and the figures in report.md, data.json and results.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from test_compare_gate import Cli

from tui_bench.core.cost import Price, money, request_cost, run_cost
from tui_bench.core.results import RequestRecord


def _rec(seq: int, model: str, **kw: object) -> RequestRecord:
    base: dict[str, object] = dict(
        run_id=1, seq=seq, model=model, prompt="p", task="qa", repeat=0, warmup=False,
        ok=True, error=None, finish_reason="length", started_at="",
    )  # fmt: skip
    base.update(kw)
    return RequestRecord(**base)  # type: ignore[arg-type]


def test_api_prices_by_hand() -> None:
    price = Price(model="api", input_per_mtok=0.15, output_per_mtok=0.60)
    # 1,000 prompt tokens at 0.15 per million + 500 generated at 0.60 per million
    assert request_cost(_rec(0, "api", n_in=1000, n_out=500), price) == pytest.approx(0.00045)
    assert request_cost(_rec(0, "api", n_in=None, n_out=500), price) is None  # prompt unknown
    out_only = Price(model="api", output_per_mtok=0.60)
    assert request_cost(_rec(0, "api", n_in=None, n_out=500), out_only) == pytest.approx(0.0003)
    assert request_cost(_rec(0, "api", ok=False, n_in=10, n_out=5), price) is None


def test_gpu_hour_prices_by_hand() -> None:
    plan = {
        "prices": [
            {"model": "box", "gpu_hour": 2.5},
            {"model": "api", "output_per_mtok": 1.0, "currency": "EUR"},
        ]
    }
    records = [
        _rec(0, "box", warmup=True, n_out=100, e2e_ms=5000.0),  # warm-up: apart
        _rec(1, "box", n_out=100, e2e_ms=1200.0),
        _rec(2, "box", n_out=100, e2e_ms=800.0, task="generation"),
        _rec(3, "box", ok=False, n_out=0, e2e_ms=None),  # failed: no cost
        _rec(4, "api", n_in=10, n_out=1000),
    ]
    rc = run_cost(records, plan)
    assert rc is not None
    box, api = rc.models
    # a request costs the box's time it held: 2.5 per hour x 1.2 s
    assert rc.per_request[1] == (pytest.approx(2.5 * 1.2 / 3600), "USD")
    assert rc.per_request[0][0] == pytest.approx(2.5 * 5 / 3600)  # a warm-up has its cost
    assert 3 not in rc.per_request
    # 200 output tokens in 2.0 s of requests: 100 tok/s, 360,000 tokens an hour;
    # 2.5 / 360,000 x 1,000 per thousand output tokens
    assert (box.n, box.output_tokens, box.throughput_tps) == (2, 200, pytest.approx(100.0))
    assert box.per_1k_output == pytest.approx(2.5 / 360)
    assert box.total == pytest.approx(2.5 * 2.0 / 3600)
    assert box.per_request == pytest.approx(2.5 * 1.0 / 3600)
    assert (api.currency, api.total, api.per_1k_output) == ("EUR", pytest.approx(0.001), pytest.approx(0.001))  # fmt: skip
    assert rc.totals == {"USD": pytest.approx(2.5 * 2 / 3600), "EUR": pytest.approx(0.001)}
    tasks = {(t.task, t.model): (t.n, t.total) for t in rc.tasks}
    assert tasks[("qa", "box")] == (1, pytest.approx(2.5 * 1.2 / 3600))
    assert tasks[("generation", "box")] == (1, pytest.approx(2.5 * 0.8 / 3600))
    assert run_cost(records, {}) is None  # no price table, no cost figures


def test_money_keeps_four_significant_digits_without_exponents() -> None:
    assert money(0.000103, "USD") == "0.0001030 USD"
    assert money(12.5) == "12.50"
    assert money(0.0) == "0.00"
    assert money(None) == "–"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


PLAN = (
    'name = "priced"\nrepeats = 2\nwarmup = 1\n[defaults]\nmax_tokens = 5\n'
    '[[models]]\nid = "api"\nbackend = "mock"\n'
    "[models.mock]\nttft_ms = 20\ntokens_per_s = 100\njitter = 0\nload_ms = 1\n"
    '[[models]]\nid = "box"\nbackend = "mock"\n'
    "[models.mock]\nttft_ms = 20\ntokens_per_s = 100\njitter = 0\nload_ms = 1\n"
    '[[prompts]]\nid = "long"\ntask = "qa"\n'
    'text = "one two three four five six seven eight nine ten"\n'
    '[[prompts]]\nid = "short"\ntask = "generation"\ntext = "alpha beta"\n'
)
PRICES = (
    '[[prices]]\nmodel = "api"\ninput_per_mtok = 0.15\noutput_per_mtok = 0.60\n'
    '[[prices]]\nmodel = "box"\ngpu_hour = 3.6\n'
)


def test_reports_carry_the_costs(cli: Cli, tmp_path: Path) -> None:
    plan = tmp_path / "priced.toml"
    plan.write_text(PLAN + PRICES)
    out = tmp_path / "out"
    assert cli("run", str(plan), "--headless", "-o", str(out))[0] == 0
    # by hand (the mock: round(words x 1.3) prompt tokens, 5 tokens out):
    # api, long: 13 x 0.15 + 5 x 0.60 per million = 4.95e-6; short: 3 x 0.15 + 3.0 = 3.45e-6
    # box: 3.6 per hour = 0.001 per second; end-to-end 66.5 ms (long) and 61.5 ms (short)
    want = {
        ("api", "long"): 4.95e-6,
        ("api", "short"): 3.45e-6,
        ("box", "long"): 66.5e-6,
        ("box", "short"): 61.5e-6,
    }
    data = json.loads((out / "data.json").read_text())
    for r in data["requests"]:
        assert r["cost"] == pytest.approx(want[(r["model"], r["prompt"])]), r
        assert r["cost_currency"] == "USD"
    models = {m["model"]: m for m in data["cost"]["models"]}
    assert models["api"]["total"] == pytest.approx(2 * (4.95e-6 + 3.45e-6))  # 2 repeats
    assert models["box"]["total"] == pytest.approx(2 * (66.5e-6 + 61.5e-6))
    # box: 20 output tokens in 0.256 s of requests, 78.125 tok/s
    assert models["box"]["throughput_tps"] == pytest.approx(20 / 0.256)
    assert models["box"]["per_1k_output"] == pytest.approx(3.6 / (20 / 0.256 * 3600) * 1000)
    assert data["cost"]["totals"]["USD"] == pytest.approx(2 * (4.95e-6 + 3.45e-6 + 128e-6))
    rows = [r for r in csv.DictReader((out / "results.csv").open()) if r["warmup"] == "False"]
    assert [(r["model"], r["prompt"], float(r["cost"]), r["cost_currency"]) for r in rows[:2]] == [
        ("api", "long", pytest.approx(4.95e-6), "USD"),
        ("api", "short", pytest.approx(3.45e-6), "USD"),
    ]
    md = (out / "report.md").read_text()
    assert "| box | 3.6 USD per GPU-hour | 78.1 output tok/s | 4 | 0.00006400 USD | 0.01280 USD | 0.0002560 USD |" in md  # fmt: skip
    assert "| api | 0.15 / 0.6 USD per million input / output tokens | – | 4 |" in md
    assert "| qa | api | 2 | 0.000004950 USD | 0.000009900 USD |" in md
    # history keeps the prices with the plan: a rebuilt report has the same costs
    rebuilt = tmp_path / "rebuilt"
    assert cli("report", "latest", "-o", str(rebuilt))[0] == 0
    assert json.loads((rebuilt / "data.json").read_text())["cost"] == data["cost"]


def test_a_plan_without_prices_reports_no_cost(cli: Cli, tmp_path: Path) -> None:
    plan = tmp_path / "plain.toml"
    plan.write_text(PLAN)
    assert cli("run", str(plan), "--headless", "-o", str(tmp_path / "o"), "--repeats", "1")[0] == 0
    data = json.loads((tmp_path / "o" / "data.json").read_text())
    assert "cost" not in data and "cost" not in data["requests"][0]
    assert "cost" not in (tmp_path / "o" / "results.csv").read_text().splitlines()[0].split(",")
    assert "## Cost" not in (tmp_path / "o" / "report.md").read_text()


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        (
            '[[prices]]\nmodel = "gpt"\ngpu_hour = 1.0\n',
            "prices[0].model: 'gpt' is not a model of this plan (api, box)",
        ),
        (
            '[[prices]]\nmodel = "box"\ngpu_hour = 1.0\n[[prices]]\nmodel = "box"\ngpu_hour = 2.0\n',
            "prices[1].model: 'box' is priced twice (also prices[0])",
        ),
        (
            '[[prices]]\nmodel = "box"\ngpu_hour = 1.0\noutput_per_mtok = 0.5\n',
            "prices[0]: give input_per_mtok/output_per_mtok (an API) or gpu_hour (a local box), not both",
        ),
        (
            '[[prices]]\nmodel = "box"\ncurrency = "EUR"\n',
            "prices[0]: give input_per_mtok and/or output_per_mtok (an API), or gpu_hour (a local box)",
        ),
        (
            '[[prices]]\nmodel = "box"\ngpu_hour = -1\n',
            "prices[0].gpu_hour: Input should be greater than or equal to 0 (got -1)",
        ),
        ('[[prices]]\nmodel = "box"\ngpu_hours = 1\n', "prices[0].gpu_hours: unknown field"),
    ],
    ids=["unknown-model", "twice", "both", "neither", "negative", "typo"],
)
def test_price_table_errors_name_the_file_and_field(
    cli: Cli, tmp_path: Path, prices: str, message: str
) -> None:
    plan = tmp_path / "bad.toml"
    plan.write_text(PLAN + prices)
    code, _, err = cli("run", str(plan), "--headless", "-o", str(tmp_path / "o"))
    assert (code, err) == (2, f"error: {plan}: {message}\n")


def test_a_suite_compares_costs_per_model_and_task(cli: Cli, tmp_path: Path) -> None:
    plan = tmp_path / "priced.toml"
    plan.write_text(PLAN + PRICES)
    out = tmp_path / "suite"
    assert cli("suite", str(plan), "-o", str(out))[0] == 0
    data = json.loads((out / "comparison_data.json").read_text())
    cost = {m["model"]: m["plans"][0]["cost"] for m in data["models"]}
    # the figures of test_reports_carry_the_costs, read back from the plan's data.json
    assert cost["box"] == {
        "currency": "USD",
        "per_request": pytest.approx(64e-6),
        "per_1k_output": pytest.approx(256e-6 / 20 * 1000),
        "total": pytest.approx(256e-6),
    }
    assert cost["api"]["per_request"] == pytest.approx((4.95e-6 + 3.45e-6) / 2)
    qa = {r["model"]: r["cost"] for t in data["tasks"] if t["task"] == "qa" for r in t["rows"]}
    assert qa["api"]["per_request"] == pytest.approx(4.95e-6)
    assert qa["box"]["total"] == pytest.approx(2 * 66.5e-6)
    md = (out / "comparison_report.md").read_text()
    assert "| 0.00006400 USD | 0.01280 USD |" in md
