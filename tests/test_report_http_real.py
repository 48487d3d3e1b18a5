"""In process vs over HTTP with real engines: SmolLM2 in tui-bench's process and the same
GGUF through a server tui-bench launches, in one plan; the report splits the difference."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tui_bench.core.engine import Engine
from tui_bench.core.plan import LoadedPlan, parse_plan
from tui_bench.core.report import ReportSink

SMOL = {"source": "builtin:smollm2-135m", "n_threads": 2, "n_ctx": 512}


@pytest.mark.real
def test_a_plan_with_both_sides_reports_the_split(tmp_path: Path) -> None:
    raw: dict[str, Any] = {
        "name": "http-vs-inprocess",
        "repeats": 2,
        "warmup": 1,
        "defaults": {"max_tokens": 8, "temperature": 0.0},
        "models": [
            {"id": "local", "backend": "llama_cpp", **SMOL},
            {"id": "served", "backend": "openai", "launch": True, **SMOL},
        ],
        "prompts": [{"id": "p", "text": "Name three colours."}],
        "quality": {"fluency": False, "judge": False},
    }
    loaded = LoadedPlan(plan=parse_plan(raw, "plan.toml"), path=None, raw=raw)
    sink = ReportSink(tmp_path, raw)
    outcome = asyncio.run(Engine(loaded, sinks=[sink], write_history=False, telemetry=False).run())
    measured = [r for r in outcome.records if not r.warmup]
    assert len(measured) == 4 and all(r.ok for r in measured), [r.error for r in measured]

    md = (tmp_path / "report.md").read_text()
    assert "## In process vs over HTTP" in md
    [row] = json.loads((tmp_path / "data.json").read_text())["http_vs_inprocess"]
    assert (row["inprocess"], row["http"], row["prompt"]) == ("local", "served", "p")
    a, b = row["inprocess_side"], row["http_side"]
    assert (a["n"], b["n"]) == (2, 2)
    assert a["engine_ms"] > 0 and b["engine_ms"] > 0
    # the launched server reports its own wall time: server and transport are told apart
    assert b["server_wall_known"] is True and row["split"] is True
    assert b["client_ms"] >= 0
    parts = row["parts"]
    assert set(parts) == {
        "engine_ms",
        "server_overhead_ms",
        "client_ms",
        "minus_inprocess_harness_ms",
    }
    # the parts and the residual shown add up to the measured difference of the medians
    assert sum(parts.values()) + row["residual_ms"] == pytest.approx(row["e2e_diff_ms"], abs=1e-6)
    assert row["e2e_diff_ms"] == pytest.approx(b["e2e_ms"] - a["e2e_ms"], abs=1e-6)
    # each side's medians come from its own records
    by_model = {m: sorted(r.e2e_ms for r in measured if r.model == m) for m in ("local", "served")}
    assert a["e2e_ms"] == pytest.approx(sum(by_model["local"]) / 2, abs=1e-3)
    assert b["e2e_ms"] == pytest.approx(sum(by_model["served"]) / 2, abs=1e-3)
