"""A classifier benchmark in the history database, beside the LLM runs (kind ``classify``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_bench.core import hostinfo
from tui_bench.core.classify.rank import winners_of
from tui_bench.core.store import Store, append_history_line


def record_classify_run(result: Any, store: Store | None = None) -> tuple[int, Path]:
    """Store one finished (or cancelled) benchmark; returns (run id, database path)."""
    own = store is None
    st = store or Store()
    data = result.to_dict()
    trainings = [r for r in data["results"] if not r.get("baseline")]
    n_ok = sum(1 for r in trainings if not r.get("error"))
    try:
        name = f"classify:{Path(str(data['config']['data'])).name}"
        run_id = st.create_run(
            kind="classify",
            plan=name,
            plan_path=str(data["config"]["data"]),
            plan_raw=data["config"],
            started_at=data["started_at"],
            host={**hostinfo.host(hostinfo.gpu_description()), "versions": hostinfo.versions()},
            threshold=None,
            n_planned=len(trainings),
        )
        st.finish_run(
            run_id,
            status=data["status"],
            finished_at=hostinfo.now_iso(),
            n_measured=len(trainings),
            n_ok=n_ok,
            n_failed=len(trainings) - n_ok,
            success_rate=n_ok / len(trainings) if trainings else None,
            mean_e2e_ms=None,
            mean_ttft_ms=None,
            summary=data,
            output_dir=data.get("output_dir"),
        )
        append_history_line(
            {
                "run_id": run_id,
                "kind": "classify",
                "plan": name,
                "status": data["status"],
                "started_at": data["started_at"],
                "winners": {  # the first place, where better than chance; "a = b" tied
                    f"{category}{'/' + language if language else ''}": models
                    for (category, language), models in winners_of(data["results"]).items()
                },
            }
        )
        return run_id, st.path
    finally:
        if own:
            st.close()


def update_classify_run(run_id: int, result: Any, db_path: str | Path | None = None) -> None:
    """The stored result of run ``run_id`` after a final model was trained from it later
    (the choice and the saved models join the benchmark's figures)."""
    st = Store(db_path)
    try:
        st.set_summary(run_id, result.to_dict())
    finally:
        st.close()
