"""``tui-bench serve``: the REST face, through a real HTTP client against the server run as
a subprocess on a free loopback port, over a history made by real (mock) runs."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bench_helpers import REPO, tui_bench_cmd
from servers.fixtures import start_listening, stop_server

from tui_bench.core.store import Store

TOKEN = "s3cret-Token-for-tests"
JOB_TIMEOUT_S = 180.0
API = "/api/benchmarks"

PLAN = """\
name = "{name}"
success_threshold = 0.5
repeats = 1
warmup = 0
[defaults]
max_tokens = 8
[[models]]
id = "mock-fast"
backend = "mock"
[models.mock]
ttft_ms = 5
tokens_per_s = 2000
load_ms = 1
fail_prompts = [{fail}]
[[prompts]]
id = "explain"
task = "analysis"
text = "Explain the concept of knowledge distillation in AI."
[[prompts]]
id = "story"
task = "generation"
text = "Write a two-line story about a robot learning to paint."
{prices}"""

PRICES = '[[prices]]\nmodel = "mock-fast"\ninput_per_mtok = 1.5\noutput_per_mtok = 6.0\n'


def write_plan(folder: Path, name: str, *, fail: str = "", prices: bool = False) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(PLAN.format(name=name, fail=fail, prices=PRICES if prices else ""))
    return path


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[str]
    stderr: list[str]


def start_serve(home: Path, token: str | None) -> Server:
    env = {k: v for k, v in os.environ.items() if k != "TUI_BENCH_API_TOKEN"}
    env |= {"TUI_BENCH_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    if token is not None:
        env["TUI_BENCH_API_TOKEN"] = token
    proc, url, stderr = start_listening(
        tui_bench_cmd("serve", "--port", "0"),
        env,
        cwd=REPO,
        prefix="listening on http://127.0.0.1:",
    )
    return Server(url, proc, stderr)


def run_in_process(home: Path, plan: Path) -> None:
    from tui_bench.core.engine import Engine
    from tui_bench.core.plan import load_plan

    store = Store(home / "history.sqlite3")
    try:
        engine = Engine(load_plan(plan), store=store, telemetry=False, output_dir=home / "out")
        asyncio.run(engine.run())
    finally:
        store.close()


def add_pipeline_run(home: Path) -> int:
    """A finished run as the pipeline runner stores one: kind pipeline, the scenario id as
    plan name."""
    store = Store(home / "history.sqlite3")
    try:
        rid = store.create_run(
            plan="support-rag",
            plan_path=None,
            plan_raw={"scenario": "support-rag"},
            started_at="2025-04-01T10:00:00+00:00",
            host={},
            threshold=0.8,
            n_planned=4,
            kind="pipeline",
        )
        store.finish_run(
            rid,
            status="completed",
            finished_at="2025-04-01T10:00:05+00:00",
            n_measured=4,
            n_ok=3,
            n_failed=1,
            success_rate=0.75,
            mean_e2e_ms=120.0,
            mean_ttft_ms=None,
            summary={},
            output_dir=None,
        )
        return rid
    finally:
        store.close()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs 1: rest-tiny; 2, 3: an LLM plan named support-rag (one prompt fails, priced);
    4: a pipeline run of scenario support-rag."""
    home = tmp_path_factory.mktemp("rest-home")
    plans = tmp_path_factory.mktemp("rest-plans")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUI_BENCH_HOME", str(home))
        run_in_process(home, write_plan(plans, "rest-tiny"))
        rag = write_plan(plans, "support-rag", fail='"story"', prices=True)
        run_in_process(home, rag)
        run_in_process(home, rag)
    assert add_pipeline_run(home) == 4
    return home


@pytest.fixture(scope="module")
def server(history: Path) -> Iterator[Server]:
    srv = start_serve(history, TOKEN)
    yield srv
    stop_server(srv.proc)


def get(srv: Server, path: str, **kw: object) -> httpx.Response:
    return httpx.get(srv.url + path, timeout=30.0, **kw)  # type: ignore[arg-type]


def post(srv: Server, path: str, **kw: object) -> httpx.Response:
    return httpx.post(srv.url + path, timeout=30.0, **kw)  # type: ignore[arg-type]


def hand_cost(store: Store, run_id: int) -> float:
    """Mean over successful measured requests of n_in x 1.5 / 1e6 + n_out x 6 / 1e6."""
    costs = [
        r.n_in * 1.5 / 1e6 + r.n_out * 6.0 / 1e6
        for r in store.get_requests(run_id)
        if r.ok and not r.warmup
    ]
    return sum(costs) / len(costs)


def test_results_of_a_scenario_with_averages(server: Server, history: Path) -> None:
    body = get(server, f"{API}/results", params={"scenario_id": "support-rag", "limit": 10}).json()
    runs = body["results"]
    assert [r["id"] for r in runs] == [4, 3, 2]
    assert [r["kind"] for r in runs] == ["pipeline", "llm", "llm"]
    assert [r["scenario_id"] for r in runs] == ["support-rag", None, None]
    assert all(r["plan"] == "support-rag" and r["status"] == "completed" for r in runs)
    # one of the two prompts fails in the LLM runs: 1/2, which meets their 0.5 threshold
    assert [r["success_rate"] for r in runs] == [0.75, 0.5, 0.5]
    assert [r["passed"] for r in runs] == [False, True, True]  # 0.75 < 0.8; 0.5 >= 0.5
    assert [(r["n_ok"], r["n_measured"]) for r in runs] == [(3, 4), (1, 2), (1, 2)]
    store = Store(history / "history.sqlite3")
    try:
        e2e = {rid: store.get_run(rid).mean_e2e_ms for rid in (2, 3, 4)}
        cost = {rid: hand_cost(store, rid) for rid in (2, 3)}
        for r in runs[1:]:
            row = store.get_run(r["id"])
            assert r["started_at"] == row.started_at and r["finished_at"] == row.finished_at
            assert r["duration_s"] is not None and r["duration_s"] > 0
    finally:
        store.close()
    assert [r["avg_latency_ms"] for r in runs] == [e2e[4], e2e[3], e2e[2]]
    assert runs[0]["avg_cost"] is None  # no price table
    assert runs[1]["avg_cost"] == pytest.approx(cost[3], rel=1e-12)
    assert runs[1]["cost_currency"] == "USD"
    avg = body["averages"]
    assert avg["n_runs"] == 3
    assert avg["success_rate"] == pytest.approx((0.75 + 0.5 + 0.5) / 3)
    assert avg["pooled_success_rate"] == pytest.approx(5 / 8)
    assert avg["avg_latency_ms"] == pytest.approx((e2e[2] + e2e[3] + e2e[4]) / 3)
    assert avg["avg_cost"] == pytest.approx((cost[2] + cost[3]) / 2, rel=1e-12)
    assert (avg["cost_currency"], avg["cost_runs"]) == ("USD", 2)

    # the limit keeps the newest, and the averages follow it
    two = get(server, f"{API}/results", params={"scenario_id": "support-rag", "limit": 2}).json()
    assert [r["id"] for r in two["results"]] == [4, 3]
    assert two["averages"]["success_rate"] == pytest.approx((0.75 + 0.5) / 2)
    assert two["averages"]["avg_latency_ms"] == pytest.approx((e2e[3] + e2e[4]) / 2)


def test_results_default_limit_and_bad_limits(server: Server) -> None:
    body = get(server, f"{API}/results").json()
    assert [r["id"] for r in body["results"]] == [4, 3, 2, 1]  # default limit 5
    assert body["results"][3]["plan"] == "rest-tiny"
    assert get(server, f"{API}/results", params={"scenario_id": "nothing"}).json()["results"] == []
    for value, problem in (("0", "greater than or equal to 1"), ("1001", "less than or equal")):
        r = get(server, f"{API}/results", params={"limit": value})
        assert r.status_code == 422
        assert r.json()["detail"].startswith("limit: ") and problem in r.json()["detail"]
    r = get(server, f"{API}/results", params={"limit": "many"})
    assert r.status_code == 422 and r.json()["detail"].startswith("limit: ")


def test_scenarios_match_the_catalog(server: Server) -> None:
    from tui_bench.core.scenarios import load_catalog

    body = get(server, f"{API}/scenarios").json()
    catalog = load_catalog()
    assert [s["id"] for s in body["scenarios"]] == [s.id for s in catalog]
    rag = next(s for s in body["scenarios"] if s["id"] == "support-rag")
    assert rag["tasks_total"] == 24 and rag["success_threshold"] == 0.8
    assert rag["stages"] == ["retrieve", "classify", "generate"]


def test_run_refused_without_or_with_a_wrong_token(server: Server) -> None:
    body = {"plan": "mock"}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        r = post(server, f"{API}/run", json=body, headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in r.json()["detail"] and TOKEN not in r.text


def test_run_refused_when_no_token_is_configured(history: Path) -> None:
    srv = start_serve(history, None)
    try:
        r = post(srv, f"{API}/run", json={"plan": "mock"}, headers={"Authorization": "Bearer x"})
        assert r.status_code == 403
        assert "set TUI_BENCH_API_TOKEN" in r.json()["detail"]
    finally:
        stop_server(srv.proc)
    assert "POST /api/benchmarks/run is off" in "".join(srv.stderr)


def test_bad_run_bodies(server: Server, tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    cases = [
        ({"plan": str(tmp_path / "absent.toml")}, 422, "plan: "),
        ({}, 422, "give either plan"),
        ({"plan": "mock", "scenario_id": "support-rag"}, 422, "not both"),
        ({"plan": "mock", "repeats": 0}, 422, "repeats: "),
        ({"plan": "mock", "colour": "red"}, 422, "colour: "),
        ({"plan": "mock", "label": "12"}, 422, "label: "),
        ([1, 2], 422, "body: expected a JSON object"),
    ]
    for body, status, text in cases:
        r = post(server, f"{API}/run", json=body, headers=auth)
        assert (r.status_code, text in r.json()["detail"]) == (status, True), r.text
    r = post(server, f"{API}/run", content=b"{plan", headers=auth)
    assert r.status_code == 400 and r.json()["detail"].startswith("body: not valid JSON")
    assert get(server, f"{API}/jobs/nosuchjob").status_code == 404


def test_run_a_plan_in_the_background(tmp_path: Path) -> None:
    home = tmp_path / "home"
    plan = write_plan(tmp_path, "rest-tiny")
    server = start_serve(home, TOKEN)
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        meta = {"asked_by": "test"}
        r = post(server, f"{API}/run", json={"plan": str(plan), "metadata": meta}, headers=auth)
        assert r.status_code == 202, r.text
        job = r.json()
        assert r.headers["location"] == job["follow"] == f"{API}/jobs/{job['job']}"
        assert job["command"][:2] == ["tui-bench", "run"] and "--headless" in job["command"]
        assert job["metadata"]["metadata"] == meta
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while True:
            view = get(server, job["follow"], params={"lines": 200}).json()
            if view["status"] == "finished":
                break
            assert time.monotonic() < deadline, view
            time.sleep(0.2)
        assert view["exit_code"] == 0, view["last_lines"]
        assert view["run_id"] == 1
        assert any(line.startswith("[run 1] completed") for line in view["last_lines"])
        assert TOKEN not in str(view)
        listed = get(server, f"{API}/results", params={"limit": 1}).json()["results"]
        assert [(x["id"], x["plan"], x["status"]) for x in listed] == [
            (1, "rest-tiny", "completed")
        ]
        assert listed[0]["success_rate"] == 1.0 and listed[0]["passed"] is True
    finally:
        stop_server(server.proc)
    store = Store(home / "history.sqlite3")
    try:
        row = store.get_run(1)
        assert (row.kind, row.plan, row.status, row.n_ok, row.n_measured) == (
            "llm", "rest-tiny", "completed", 2, 2,
        )  # fmt: skip
        # the app's history screen lists runs through the same page query
        assert [r.id for r in store.runs.page(limit=20)] == [1]
    finally:
        store.close()


def test_ndcg_temporal_by_hand(server: Server) -> None:
    payload = {
        "ranked_items": [
            {"rel": 1, "ts": "2025-10-19T12:00:00Z"},  # 7 days old: exp(-0.3 x 1)
            {"rel": 2, "ts": "2025-10-26T12:00:00Z"},  # fresh
        ],
        "now": "2025-10-26T12:00:00Z",
    }
    r = post(server, f"{API}/metrics/ndcg-temporal", json=payload)
    assert r.status_code == 200
    old, fresh = (2**1 - 1) * math.exp(-0.3), 2**2 - 1
    dcg = old / 1 + fresh / math.log2(3)
    idcg = fresh / 1 + old / math.log2(3)
    body = r.json()
    assert body["ndcg_time@k"] == pytest.approx(dcg / idcg, rel=1e-12)
    assert body["ndcg_time@k"] == pytest.approx(0.759_5, abs=5e-4)
    assert (body["k"], body["num_items"]) == (10, 2)
    assert body["parameters"] == {"T_days": 7.0, "lambda": 0.3}


def test_ndcg_temporal_bad_payloads(server: Server) -> None:
    item = {"rel": 1, "ts": "2025-10-19T12:00:00Z"}
    cases = [
        (
            {"ranked_items": [item, {"rel": -1, "ts": "2025-10-19T12:00:00Z"}]},
            "ranked_items[1].rel",
        ),
        ({"ranked_items": [{"rel": 1, "ts": "2025-10-19 12:00"}]}, "ranked_items[0].ts"),
        ({"ranked_items": [item], "k": 0}, "k: "),
        ({"ranked_items": [item], "lam": -0.1}, "lam: "),
        ({"items": []}, "items: unknown field"),
    ]
    for payload, field in cases:
        r = post(server, f"{API}/metrics/ndcg-temporal", json=payload)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert field in detail and "\n" not in detail and "Traceback" not in r.text
    r = post(server, f"{API}/metrics/ndcg-temporal", content=b'{"ranked_items": [{"rel": NaN}]}')
    assert r.status_code == 400 and "NaN" in r.json()["detail"]


def test_unknown_path(server: Server) -> None:
    assert get(server, "/api/benchmarks/nothing").status_code == 404
    assert get(server, "/").status_code == 404


def test_launch_of_a_scenario() -> None:
    from tui_bench.rest.launch import LaunchError, launch_for

    body = {"scenario_id": "support-rag", "repeats": 2}
    with pytest.raises(LaunchError) as missing:
        launch_for(body, lambda name: None)  # an installation without `tui-bench pipeline`
    assert missing.value.status == 501 and "pipeline" in missing.value.message

    launch = launch_for(body, lambda name: frozenset({"--headless", "--repeats"}))
    assert launch.args == ["pipeline", "support-rag", "--headless", "--repeats", "2"]
    assert (launch.kind, launch.target) == ("scenario", "support-rag")

    with pytest.raises(LaunchError) as option:
        launch_for(body | {"max_tokens": 9}, lambda name: frozenset({"--repeats"}))
    assert (option.value.status, option.value.message) == (
        422, "max_tokens: tui-bench pipeline has no --max-tokens option",
    )  # fmt: skip
    with pytest.raises(LaunchError) as unknown:
        launch_for({"scenario_id": "no-such"}, lambda name: frozenset())
    assert unknown.value.status == 422 and unknown.value.message.startswith("scenario_id: ")
