"""Energy in a run: the engine measures the idle baseline before the first model loads
when the plan's ``[settings]`` ask for it (and the setting itself); reports rebuilt from
history carry the figures; the energy flags explain themselves in the legends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from energy_helpers import Clock, CounterGpu, NoGpu

from tui_bench.core import engine as engine_mod
from tui_bench.core.errors import UserError
from tui_bench.core.events import Log, ModelLoaded, ModelLoading, RequestFinished
from tui_bench.core.gpu.nvml import THROTTLE_BITS
from tui_bench.core.metrics import FLAG_TEXT
from tui_bench.core.plan import LoadedPlan, load_plan, parse_plan, plan_to_toml
from tui_bench.core.report import run_data_from_store, write_reports
from tui_bench.core.results import RequestRecord
from tui_bench.core.store import Store
from tui_bench.core.telemetry import Telemetry

GPU = {
    "available": True,
    "driver": "560.35",
    "devices": [{"index": 0, "name": "NVIDIA H100", "total_mb": 81559}],
    "energy": {"supported": True, "reason": "every device the model uses has a counter"},
}
ON_GPU = {"n_gpu_layers": -1, "gpu_offload_supported": True}


@pytest.mark.parametrize("gpu", ["counter", "none"])
def test_the_engine_measures_the_idle_baseline_before_the_first_model_loads(
    gpu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def telemetry(publish: object, *, interval_s: float) -> Telemetry:
        clock = Clock(step_ms=50)  # the 2 s baseline in a dozen readings
        probe = CounterGpu(clock, 80.0) if gpu == "counter" else NoGpu()
        return Telemetry(publish, interval_s=interval_s, gpu=probe, clock=clock)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_mod, "Telemetry", telemetry)
    raw = {
        "name": "idle",
        "repeats": 1,
        "warmup": 0,
        "settings": {"energy_idle_baseline": True},
        "models": [{"id": "m", "backend": "mock", "mock": {"load_ms": 1, "ttft_ms": 1}}],
        "prompts": [{"id": "a", "text": "hello"}],
    }
    events: list[object] = []

    class Sink:
        def handle(self, event: object) -> None:
            events.append(event)

    loaded = LoadedPlan(plan=parse_plan(raw), path=None, raw=raw)
    engine = engine_mod.Engine(loaded, sinks=[Sink()], write_history=False)
    asyncio.run(engine.run())
    lines = [e.message for e in events if isinstance(e, Log) and "idle baseline" in e.message]
    if gpu == "counter":
        # 80 W on the test clock, over the default 2 s
        assert lines == [
            "idle baseline: 80.0 W on the GPUs over 2 s "
            "(energy figures are also given net of the idle watts of the model's GPUs)"
        ]
    else:
        assert lines == ["idle baseline not measured: no NVIDIA GPU (NVML: Driver Not Loaded)"]
    first_load = next(i for i, e in enumerate(events) if isinstance(e, ModelLoading))
    assert next(i for i, e in enumerate(events) if isinstance(e, Log)) < first_load
    (rec,) = [e.record for e in events if isinstance(e, RequestFinished)]
    # a simulated model uses no GPU: the GPUs' energy is not its own
    assert rec.ok and rec.energy_j is None and rec.energy_idle_w is None and rec.flags == []


def test_the_idle_baseline_is_a_plan_setting_written_back_only_when_set(tmp_path: Path) -> None:
    base = (
        'name = "e"\n[[models]]\nid = "m"\nbackend = "mock"\n[[prompts]]\nid = "p"\ntext = "hi"\n'
    )
    folder = tmp_path
    with_it = folder / "with.toml"
    with_it.write_text(base + "[settings]\nenergy_idle_baseline = true\n")
    plan = load_plan(with_it, check_models=False).plan
    assert plan.settings is not None and plan.settings.energy_idle_baseline is True
    assert "\n[settings]\nenergy_idle_baseline = true\n" in plan_to_toml(plan)
    without = folder / "without.toml"
    without.write_text(base)
    plain = load_plan(without, check_models=False).plan
    assert plain.settings is None and "[settings]" not in plan_to_toml(plain)
    wrong = folder / "wrong.toml"
    wrong.write_text(base + "[settings]\nenergy_idle = true\n")
    with pytest.raises(UserError) as err:
        load_plan(wrong, check_models=False)
    assert str(err.value) == f"{wrong}: settings.energy_idle: unknown field"


def _rec(run_id: int, **energy: Any) -> RequestRecord:
    # 200 ms end to end, 10 output tokens, 40 prompt tokens
    return RequestRecord(
        run_id=run_id, seq=0, model="g", prompt="p", task="analysis", repeat=0, warmup=False,
        ok=True, error=None, finish_reason="length", started_at="2026-01-01T00:00:00+00:00",
        ttft_ms=40.0, e2e_ms=200.0, decode_tps=56.25, n_in=40, n_out=10,
        flags=["throttled_power"], **energy,
    )  # fmt: skip


def test_reports_rebuilt_from_history_carry_the_energy_figures(tmp_path: Path) -> None:
    store = Store(tmp_path / "history.db")
    try:
        rid = store.create_run(
            plan="energy", plan_path=None,
            plan_raw={"name": "energy", "models": [{"id": "g", "backend": "llama_cpp"}]},
            started_at="2026-01-01T00:00:00", host={"gpu": GPU}, threshold=0.5, n_planned=1,
        )  # fmt: skip
        store.handle(ModelLoaded("g", 900.0, 4242, dict(ON_GPU)))
        rec = _rec(
            rid, energy_j=30.0, energy_prefill_j=4.0, energy_decode_j=27.0, energy_idle_w=50.0
        )
        store.handle(RequestFinished(rec))
        out = tmp_path / "report"
        write_reports(run_data_from_store(store, rid), out)
    finally:
        store.close()
    data = json.loads((out / "data.json").read_text())
    (req,) = data["requests"]
    # 30 J over 200 ms for 10 tokens; 50 W idle over 0.2 s = 10 J
    assert (req["energy_j"], req["energy_w"], req["energy_net_j"]) == (30.0, 150.0, 20.0)
    assert req["energy_decode_j_per_token"] == 3.0  # 27 J / 9 tokens after the first
    assert data["summary"][0]["energy_j_per_token"]["median"] == 3.0
    assert data["energy_absent"] == {}
    md = (out / "report.md").read_text()
    assert "| g | 1 | 3.0000 | 150.0 | 3.0000 | 0.10000 | 2.0000 | 100.0 |" in md
    assert f"flag `throttled_power`: {FLAG_TEXT['throttled_power']}" in md
    head, row = (out / "results.csv").read_text().splitlines()[:2]
    cols = dict(zip(head.split(","), row.split(","), strict=True))
    assert (cols["energy_j"], cols["energy_j_per_token"], cols["energy_idle_w"]) == (
        "30.0",
        "3.0",
        "50.0",
    )


def test_energy_flags_are_explained_in_the_legends() -> None:
    assert FLAG_TEXT["energy_short"] == (
        "shorter than two updates of the GPU energy counter: no energy figure"
    )
    assert "power limit" in FLAG_TEXT["throttled_power"]
    assert "ran hot" in FLAG_TEXT["throttled_thermal"]
    # every slowdown reason the GPU probe names has its text
    assert all("throttled_" + name in FLAG_TEXT for _, name in THROTTLE_BITS)
