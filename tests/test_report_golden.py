"""Report formats pinned by golden files, from hand-made records (no timing noise).

Regenerate after an intended format change: UPDATE_GOLDEN=1 pytest tests/test_report_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tui_bench.core.metrics import EngineCounters, RawTiming
from tui_bench.core.report import RunData, write_reports
from tui_bench.core.results import GenOutcome, build_record, failed_record

GOLDEN = Path(__file__).parent / "golden"
MS = 1_000_000


def _rec(
    seq: int,
    model: str,
    prompt: str,
    task: str,
    repeat: int,
    ttft: int,
    step: int,
    n: int,
    warmup: bool = False,
):  # type: ignore[no-untyped-def]
    t0 = 10_000 * MS
    times = [t0 + ttft * MS + i * step * MS for i in range(n)]
    engine = EngineCounters(
        n_p_eval=20,
        t_p_eval_ms=ttft * 0.8,
        n_eval=n - 1,
        t_eval_ms=(n - 1) * step * 0.98,
        n_sample=n,
        t_sample_ms=n * 0.05,
    )
    out = GenOutcome(
        raw=RawTiming(t0, times[0], times, [1] * n),
        n_in=20,
        n_in_source="engine",
        n_out=n,
        n_out_source="engine",
        finish_reason="length",
        text=f"answer {seq}",
        engine=engine,
        peak_rss_kb=180_000 + seq,
    )
    rec = build_record(
        run_id=7, seq=seq, model=model, prompt=prompt, task=task, repeat=repeat, warmup=warmup,
        started_at="2026-01-02T03:04:05+00:00", outcome=out, prompt_cache=False, load_ms=150.0,
    )  # fmt: skip
    rec.quality = {"heuristic": 0.5 + 0.01 * seq}
    return rec


def run_data() -> RunData:
    recs = [
        _rec(0, "small", "explain", "analysis", 0, 90, 8, 16, warmup=True),
        _rec(1, "small", "explain", "analysis", 0, 80, 8, 16),
        _rec(2, "small", "translate", "translation", 0, 85, 9, 16),
        _rec(3, "small", "explain", "analysis", 1, 82, 8, 16),
        _rec(4, "small", "translate", "translation", 1, 84, 10, 16),
        _rec(5, "main", "explain", "analysis", 0, 60, 15, 16, warmup=True),
        _rec(6, "main", "explain", "analysis", 0, 61, 15, 16),
        _rec(7, "main", "translate", "translation", 0, 66, 16, 16),
        _rec(8, "main", "explain", "analysis", 1, 63, 15, 16),
        failed_record(
            run_id=7,
            seq=9,
            model="main",
            prompt="translate",
            task="translation",
            repeat=1,
            warmup=False,
            started_at="2026-01-02T03:04:09+00:00",
            error="crashed: worker killed by SIGKILL (out of memory?)",
            load_ms=150.0,
        ),
    ]
    recs[2].flags = ["rate_mismatch"]
    run = {
        "id": 7,
        "plan": "golden",
        "plan_path": "plans/golden.toml",
        "description": "A fixed run for golden files",
        "status": "completed",
        "started_at": "2026-01-02T03:04:00+00:00",
        "finished_at": "2026-01-02T03:04:10+00:00",
        "duration_s": 10.0,
        "threshold": 0.8,
        "success_rate": 6 / 7,
        "passed": True,
        "versions": {"tui_bench": "0.0.0", "python": "3.11.0", "llama_cpp_python": "0.3.36"},
        "host": {
            "hostname": "box",
            "cpu": "CPU",
            "cores_logical": 2,
            "ram_gb": 24.0,
            "os": "Linux",
            "gpu": {"available": False, "reason": "no NVIDIA GPU (NVML: not found)"},
        },
    }
    models = [
        {"id": "small", "backend": "llama_cpp", "source": "builtin:smollm2-135m", "role": "small", "load_ms": 150.0, "error": None,
         "info": {"desc": "llama 135M Q4_1", "gpu_offload_supported": False, "n_gpu_layers": 0, "n_threads": 2}},
        {"id": "main", "backend": "llama_cpp", "source": "builtin:gemma3-270m", "role": "main", "load_ms": 150.0, "error": None,
         "info": {"desc": "gemma3 270M Q4_K", "gpu_offload_supported": False, "n_gpu_layers": 0, "n_threads": 2}},
    ]  # fmt: skip
    return RunData(run=run, plan={"name": "golden"}, models=models, records=recs)


@pytest.mark.parametrize("name", ["report.md", "results.csv", "data.json"])
def test_report_matches_golden(name: str, tmp_path: Path) -> None:
    write_reports(run_data(), tmp_path)
    produced = (tmp_path / name).read_text()
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(produced)
    assert produced == golden.read_text()


def test_golden_numbers_are_the_hand_computed_ones() -> None:
    data = json.loads((GOLDEN / "data.json").read_text())
    small = next(s for s in data["summary"] if s["model"] == "small")
    # small: 4 measured requests, 16 tokens, token step 8, 9, 8, 10 ms -> decode 125, 111.11, 125, 100 tok/s
    assert small["n"] == 4 and small["success_rate"] == 1.0
    assert small["decode_tps"]["median"] == pytest.approx((111.1111 + 125) / 2, abs=1e-3)
    assert small["ttft_ms"]["mean"] == pytest.approx((80 + 85 + 82 + 84) / 4)
    main = next(s for s in data["summary"] if s["model"] == "main")
    # main: 3 ok out of 4 attempted (one crash)
    assert main["n"] == 4 and main["n_ok"] == 3 and main["success_rate"] == 0.75
    assert main["errors"] == {"crashed: worker killed by SIGKILL (out of memory?)": 1}
