"""In process vs over HTTP, decomposed (core/report_http.py): hand-made records whose
medians are worked out by hand, the server's wall time read from its timings, and the
llama-server case, which has no wall time: no split of server and transport."""

from __future__ import annotations

from typing import Any

import pytest
from report_helpers import failed, rec

from tui_bench.core import report_http
from tui_bench.core.backends.openai_stream import StreamState, counters
from tui_bench.core.metrics import ORIGIN_SERVER, EngineCounters
from tui_bench.core.report import RunData, render_markdown, to_json
from tui_bench.core.results import RequestRecord

GGUF = "/models/smol.gguf"


def models(http_path: str | None = GGUF, *, launched: bool = True) -> list[dict[str, Any]]:
    info = {"launched": launched, **({"path": http_path} if http_path else {})}
    return [
        {"id": "local", "backend": "llama_cpp", "source": "smol.gguf", "info": {"path": GGUF}},
        {"id": "srv", "backend": "openai", "source": "smol.gguf", "info": info},
    ]


def records(*, wall: bool = True) -> list[RequestRecord]:
    """In process: E2E 150 ms each (TTFT 50, 10 tokens at 100 tok/s), engine 125/135/145.
    Over HTTP: E2E 260 ms each (TTFT 60, 10 tokens at 50 tok/s), engine 205/215/195, the
    server's wall 250/230/240. A warm-up and a failed request on each side stay out."""
    out: list[RequestRecord] = []
    for t_eval in (80.0, 90.0, 100.0):
        r = rec(len(out), "local", rate=100.0, ttft=50.0)
        r.engine = EngineCounters(20, 40.0, 10, t_eval, 11, 6.0, t_sample_call_ms=5.0)
        out.append(r)
    for t_eval, w in ((150.0, 250.0), (160.0, 230.0), (140.0, 240.0)):
        r = rec(len(out), "srv", rate=50.0, ttft=60.0)
        r.engine = EngineCounters(
            20, 45.0, 11, t_eval, origin=ORIGIN_SERVER, t_sample_call_ms=10.0,
            server_wall_ms=w if wall else None,
        )  # fmt: skip
        out.append(r)
    for model in ("local", "srv"):
        warm = rec(len(out), model, rate=1.0, ttft=9000.0, warmup=True)
        warm.engine = EngineCounters(20, 1.0, 10, 1.0, server_wall_ms=1.0)
        out += [warm, failed(len(out) + 1, model)]
    return out


def test_the_difference_is_split_into_engine_server_client_and_harness() -> None:
    [row] = report_http.decompose(models(), records())
    assert (row["inprocess"], row["http"], row["prompt"]) == ("local", "srv", "p")
    a, b = row["inprocess_side"], row["http_side"]
    assert (a["n"], b["n"]) == (3, 3)
    assert a["e2e_ms"] == pytest.approx(150.0) and b["e2e_ms"] == pytest.approx(260.0)
    assert a["engine_ms"] == 135.0  # 40 + {80, 90, 100} + 5
    assert a["harness_ms"] == pytest.approx(15.0)  # 150 - 135
    assert b["engine_ms"] == 205.0  # 45 + {150, 160, 140} + 10 = {205, 215, 195}
    assert b["server_wall_ms"] == 240.0
    assert b["server_overhead_ms"] == 45.0  # {250-205, 230-215, 240-195} = {45, 15, 45}
    assert b["client_ms"] == pytest.approx(20.0)  # {260-250, 260-230, 260-240}
    assert row["e2e_diff_ms"] == pytest.approx(110.0)
    assert row["parts"] == pytest.approx(
        {
            "engine_ms": 70.0,
            "server_overhead_ms": 45.0,
            "client_ms": 20.0,
            "minus_inprocess_harness_ms": -15.0,
        }
    )
    # medians do not add up: 70 + 45 + 20 - 15 = 120 against a difference of 110
    assert row["residual_ms"] == pytest.approx(-10.0)
    assert row["split"] is True and row["notes"] == []


def test_a_server_without_wall_time_is_not_split_into_server_and_transport() -> None:
    [row] = report_http.decompose(models(), records(wall=False))
    assert row["http_side"]["server_wall_known"] is False
    assert "server_overhead_ms" not in row["parts"] and "client_ms" not in row["parts"]
    # E2E - engine over HTTP: {260-205, 260-215, 260-195} = {55, 45, 65}
    assert row["parts"] == pytest.approx(
        {"engine_ms": 70.0, "server_and_transport_ms": 55.0, "minus_inprocess_harness_ms": -15.0}
    )
    assert row["residual_ms"] == pytest.approx(0.0)  # 110 - (70 + 55 - 15)
    assert row["notes"] == [report_http.NO_WALL]
    md = "\n".join(report_http.markdown(models(), records(wall=False)))
    assert "55.0 (with transport) | not separable |" in md
    assert "cannot be told from the transport's" in md


def test_without_engine_counters_nothing_is_split() -> None:
    recs = records()
    for r in recs:
        if r.model == "srv":
            r.engine = EngineCounters(None, None, None, None, origin="client")
    [row] = report_http.decompose(models(), recs)
    assert row["split"] is False and row["residual_ms"] is None
    assert row["e2e_diff_ms"] == pytest.approx(110.0)
    assert report_http.NO_ENGINE in row["notes"]


@pytest.mark.parametrize(
    ("mods", "paired"),
    [
        (models(), True),
        (models("/models/other.gguf"), False),  # another file: no pair
        (models(None), True),  # no path recorded: the same source string
        (models(launched=False), False),  # a server tui-bench did not start
    ],
)
def test_pairs_are_the_same_file_in_process_and_launched(
    mods: list[dict[str, Any]], paired: bool
) -> None:
    assert report_http.pairs(mods) == ([("local", "srv")] if paired else [])


def test_the_section_and_the_json_key_appear_only_with_a_pair() -> None:
    run = {"id": 1, "plan": "hand", "status": "completed", "started_at": "a", "finished_at": "b"}
    data = RunData(run=run, plan={"name": "hand"}, models=models(), records=records())
    md = render_markdown(data)
    assert "## In process vs over HTTP" in md
    assert "| `local` / `srv` | `p` | 3 / 3 | 150.0 | 260.0 | 110.0 | 70.0 | 45.0 | 20.0 " in md
    assert "| -15.0 | -10.0 |" in md
    js = to_json(data)
    assert js[report_http.KEY][0]["residual_ms"] == pytest.approx(-10.0)
    other = RunData(run=run, plan={"name": "hand"}, models=models("/x.gguf"), records=records())
    assert "In process vs over HTTP" not in render_markdown(other)
    assert report_http.KEY not in to_json(other)


def test_the_pooled_row_covers_every_prompt_both_sides_ran() -> None:
    recs = records()
    extra = rec(100, "local", rate=100.0, ttft=70.0, prompt="q")  # E2E 170
    extra.engine = EngineCounters(20, 40.0, 10, 90.0, t_sample_call_ms=5.0)
    extra_http = rec(101, "srv", rate=50.0, ttft=80.0, prompt="q")  # E2E 280
    extra_http.engine = EngineCounters(20, 45.0, 11, 150.0, origin=ORIGIN_SERVER)
    rows = report_http.decompose(models(), [*recs, extra, extra_http])
    assert [r["prompt"] for r in rows] == ["p", "q", None]
    pooled = rows[-1]
    assert pooled["inprocess_side"]["n"] == 4 and pooled["http_side"]["n"] == 4
    assert pooled["inprocess_side"]["e2e_ms"] == pytest.approx(150.0)  # {150 x3, 170}
    assert pooled["http_side"]["sampling_known"] is False  # one request without it
    assert rows[1]["http_side"]["server_wall_known"] is False


def test_the_servers_wall_and_sample_times_are_read_from_its_timings() -> None:
    st = StreamState(t_send_ns=0)
    st.timings = {
        "prompt_n": 20, "prompt_ms": 45.5, "predicted_n": 11, "predicted_ms": 150.25,
        "sample_ms": 9.75, "first_ms": 60.0, "wall_ms": 251.5,
    }  # fmt: skip
    e = counters(st)
    assert (e.t_p_eval_ms, e.t_eval_ms, e.t_sample_call_ms) == (45.5, 150.25, 9.75)
    assert e.server_wall_ms == 251.5
    assert e.as_dict()["server_wall_ms"] == 251.5
    assert EngineCounters.from_dict(e.as_dict(rounded=False)) == e
    # llama-server's timings: no wall time, no sample time, and none in the stored shape
    st.timings = {"prompt_n": 20, "prompt_ms": 45.5, "predicted_n": 11, "predicted_ms": 150.25}
    e = counters(st)
    assert e.server_wall_ms is None and e.t_sample_call_ms is None
    assert "server_wall_ms" not in e.as_dict()
