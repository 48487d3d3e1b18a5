"""The batch a fine-tune trains with when GPU memory is short, on any machine: the test-only
switches of ``fit_batch`` make the probe and a training step raise CUDA's out-of-memory
error, and the real packaged MiniLM trains (in this process) on 60 short rows."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from finetune_helpers import easy_rows, expected_batch, expected_device, fit_rows

from tui_bench.core.classify.events import StepProgress
from tui_bench.core.classify.final import train_final
from tui_bench.core.classify.report import _final_section
from tui_bench.core.classify.report_detail import training_section
from tui_bench.core.classify.splits import make_folds
from tui_bench.core.classify.train import TrainJob, run_job
from tui_bench.core.events import Log

MINILM = "builtin:minilm-l6"
OOM_ABOVE = "TUI_BENCH_FAULT_OOM_ABOVE_BATCH"
OOM_AT_STEP = "TUI_BENCH_FAULT_OOM_AT_STEP"


def _job() -> TrainJob:
    texts, labels = easy_rows(60)
    folds = make_folds(labels, test_size=0.2, cv=None, seed=0)
    job = TrainJob(0, 1, MINILM, "topic", None, texts, labels, folds, epochs=1, seed=0)
    job.max_length = 16
    job.threads = 1  # a busy machine's other work slows several spinning threads down
    return job


def _halvings(planned: int, limit: int) -> list[int]:
    """The batches that ran out of memory: ``planned`` halved while above ``limit``."""
    out = []
    while planned > limit:
        out.append(planned)
        planned //= 2
    return out


def test_a_batch_too_big_for_the_gpu_is_halved_until_it_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(OOM_ABOVE, "5")  # every batch above 5 runs out of memory
    job = _job()
    events: list[Any] = []
    result = run_job(job, events.append)

    assert result.ok, result.error
    n_fit = fit_rows([job.labels[i] for i in job.folds[0][0]])  # 43 of 48 training rows
    planned = expected_batch(16, n_fit)  # 8 on both: 43 rows make 8 steps at most 5 rows
    assert planned == 8
    t = result.training
    assert (t["batch_size_planned"], t["batch_size"]) == (planned, 4)
    too_big = _halvings(planned, 5)  # [8]
    [warning] = [e for e in events if isinstance(e, Log) and "out of GPU memory" in e.message]
    assert warning.message == (
        f"{MINILM} on topic: out of GPU memory at batch {', '.join(map(str, too_big))}; "
        f"training at batch 4 (planned {planned})"
    )
    note = next(e for e in events if isinstance(e, Log) and "training on" in e.message)
    assert "batch 4, max length" in note.message  # the device note says the batch used
    steps = [e for e in events if isinstance(e, StepProgress)]
    assert steps[-1].step == steps[-1].n_steps == math.ceil(n_fit / 4)
    table = training_section(SimpleNamespace(results=[result]))  # report.md's section
    [line] = [x for x in table if x.startswith(f"| topic | {MINILM} |")]
    assert f"| 4 (planned {planned}) |" in line


@pytest.mark.parametrize(
    ("switch", "value", "reason"),
    [
        (OOM_ABOVE, "0", "OutOfMemoryError: out of GPU memory even at batch 1"),
        (OOM_AT_STEP, "2", "OutOfMemoryError: CUDA out of memory at batch {batch}"),
    ],
)
def test_out_of_gpu_memory_fails_the_candidate_in_one_line(
    monkeypatch: pytest.MonkeyPatch, switch: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(switch, value)
    events: list[Any] = []
    job = _job()
    result = run_job(job, events.append)
    n_fit = fit_rows([job.labels[i] for i in job.folds[0][0]])
    assert result.error == reason.format(batch=expected_batch(16, n_fit))
    assert result.f1_macro is None
    if switch == OOM_AT_STEP:  # the probe passed (on a GPU), then step 2 ran out
        assert [e.step for e in events if isinstance(e, StepProgress)] == [1]


def test_the_final_model_gets_the_same_batch_that_fits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(OOM_ABOVE, "5")
    texts, labels = easy_rows(60)
    fm = train_final(
        MINILM,
        texts,
        labels,
        category="topic",
        language=None,
        output_dir=tmp_path,
        quick_epochs=1,
        seed=0,
        max_length=16,
        isolated=False,  # in this process, where the switch is set
    )
    card = json.loads(Path(fm.card_path).read_text(encoding="utf-8"))
    planned = expected_batch(16, 60)  # every row fits: 8 (60 rows, 8 steps at most 7)
    assert card["params"]["batch_size"] == card["training"]["batch_size"] == 4
    assert card["training"]["batch_size_planned"] == planned
    assert card["training"]["device"] == expected_device()
    assert card["training"]["batch_sizes_out_of_memory"] == _halvings(planned, 5) == [8]
    # said as a benchmark's candidate says it: in the log (choice.py), report and results
    assert fm.warning == (
        f"final model {MINILM} for topic: out of GPU memory at batch 8; trained at batch 4 "
        f"(planned {planned})"
    )
    result = SimpleNamespace(choice={"mode": "top", "model": MINILM, "reason": "best"}, final=[fm])
    [line] = [x for x in _final_section(result) if x.startswith("- topic:")]
    assert line.endswith(f"⚠ {fm.warning}")
    # a training that kept its planned batch says nothing
    monkeypatch.delenv(OOM_ABOVE)
    kept = train_final(
        MINILM, texts, labels, category="topic", language="en", output_dir=tmp_path / "b",
        quick_epochs=1, seed=0, max_length=16, isolated=False,
    )  # fmt: skip
    assert kept.warning is None


def test_the_planned_batch_gives_small_data_enough_steps_by_hand() -> None:
    import torch

    from tui_bench.core.classify.finetune import batch_size_for

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert batch_size_for(cuda, 64, 1620) == 128  # 1620 / 8 = 202 rows a step: 128 fits
    assert batch_size_for(cuda, 200, 1620) == 64  # longer texts: the smaller GPU batch
    assert batch_size_for(cuda, 64, 173) == 16  # 173 / 8 = 21.6: 16, so 11 steps an epoch
    assert batch_size_for(cpu, 32, 173) == 16
    assert batch_size_for(cpu, 32, 10_000) == 32  # plenty of rows: the device's batch
    assert batch_size_for(cpu, 100, 10_000) == 16
    assert batch_size_for(cpu, 16, 43) == 8  # 43 / 8 = 5.4: never under 8
    assert batch_size_for(cuda, 64, 5) == 8
    assert batch_size_for(cuda, 64) == 128  # no row count: the device's batch
