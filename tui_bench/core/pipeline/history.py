"""A pipeline run in the history database (kind ``pipeline``, plan = the scenario id):
the whole result as its summary, and its generate requests as the run's request rows
(with the model's load), so a pipeline's answers are measured like any LLM request."""

from __future__ import annotations

import statistics
from pathlib import Path

from tui_bench.core import hostinfo
from tui_bench.core.pipeline.result import PipelineResult
from tui_bench.core.store import Store, append_history_line


def record_pipeline_run(result: PipelineResult, store: Store | None = None) -> tuple[int, Path]:
    """Store one finished (or cancelled) run; returns (run id, database path)."""
    own = store is None
    st = store or Store()
    data = result.to_dict()
    scenario = data["scenario"]
    n = len(result.questions)
    n_ok = sum(q.success for q in result.questions)
    ttft = [q.record.ttft_ms for q in result.questions if q.record and q.record.ttft_ms is not None]
    try:
        run_id = st.create_run(
            kind="pipeline",
            plan=scenario["id"],
            plan_path=scenario.get("source"),
            plan_raw={"scenario": scenario["id"], **data["config"]},
            started_at=result.started_at,
            host={**hostinfo.host(hostinfo.gpu_description()), "versions": hostinfo.versions()},
            threshold=scenario.get("thresholds", {}).get("success_rate"),
            n_planned=n,
        )
        gen = result.setup.get("generate")
        if gen is not None:
            model = gen["detail"].get("model", "model")
            st.add_model(run_id, model, gen.get("setup_ms"), None, result.model_info)
        for q in result.questions:
            if q.record is not None:
                q.record.run_id = run_id
                st.add_request(q.record)
        st.finish_run(
            run_id,
            status=result.status,
            finished_at=result.finished_at or hostinfo.now_iso(),
            n_measured=n,
            n_ok=n_ok,
            n_failed=n - n_ok,
            success_rate=result.success_rate(),
            mean_e2e_ms=statistics.fmean(q.e2e_ms for q in result.questions) if n else None,
            mean_ttft_ms=statistics.fmean(ttft) if ttft else None,
            summary=data,
            output_dir=result.output_dir,
        )
        append_history_line(
            {
                "run_id": run_id,
                "kind": "pipeline",
                "plan": scenario["id"],
                "status": result.status,
                "started_at": result.started_at,
                "passed": data["passed"],
                "bottleneck": data["bottleneck"]["stage"],
            }
        )
        return run_id, st.path
    finally:
        if own:
            st.close()
