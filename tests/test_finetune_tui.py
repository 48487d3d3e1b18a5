"""The app runs a fine-tuned transformer beside a scikit-learn candidate: its steps (loss,
throughput, time left) and then its epoch's validation macro-F1 show live, and it is
ranked with the others."""

from __future__ import annotations

import math
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tui_bench.core.classify.events import EpochProgress, StepProgress
from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.core.classify.splits import make_folds
from tui_bench.tui.screens.classify_results import ClassifyResultsScreen
from tui_bench.tui.state.classify import ClassifySink

sys.path.insert(0, str(Path(__file__).resolve().parent / "tui"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "classify"))
from finetune_helpers import (
    EN_TOPICS,
    chatterbot_csv,
    expected_batch,
    fit_rows,
    read_rows,
)
from tui_helpers import make_app, start_preset_benchmark, text_of, wait_for

MINILM = "builtin:minilm-l6"


def _hold_at(monkeypatch: pytest.MonkeyPatch, *kinds: type) -> dict[type, threading.Event]:
    """The training thread waits after the first event of each kind until its gate opens."""
    gates = {kind: threading.Event() for kind in kinds}
    original = ClassifySink.handle

    def handle(self: ClassifySink, event: Any) -> None:
        original(self, event)
        gate = gates.get(type(event))
        if gate is not None and not gate.is_set():
            gate.wait(60)

    monkeypatch.setattr(ClassifySink, "handle", handle)
    return gates


async def test_the_app_shows_a_fine_tune_step_by_step_and_epoch_by_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = chatterbot_csv(tmp_path / "en.csv", {"en": EN_TOPICS})
    labels = [r["topic"] for r in read_rows(data)]
    [(train, _test)] = make_folds(labels, test_size=0.2, cv=None, seed=0)  # as the run splits
    # 173 rows fit: batch 16 (an epoch of 8 steps at least), 11 steps
    n_fit = fit_rows([labels[i] for i in train])
    n_steps = math.ceil(n_fit / expected_batch(32, n_fit))
    config = ClassifyConfig(
        data=data,
        label_column="topic",
        models=[MINILM, "char-svm"],
        epochs=1,
        max_length=32,
        output_dir=tmp_path / "out",
    )
    gates = _hold_at(monkeypatch, StepProgress, EpochProgress)
    app = make_app(classify_config=config)
    async with app.run_test(size=(120, 30)) as pilot:
        await start_preset_benchmark(pilot, app)

        def training() -> str:
            return text_of(app, "#clr-training")

        await wait_for(pilot, lambda: "step 1/" in training(), 120)
        shown = training()
        assert f"{MINILM} on topic" in shown
        line = next(x for x in shown.splitlines() if "step 1/" in x)
        assert line.strip().startswith(f"epoch 1/1 · step 1/{n_steps} · loss ")
        assert " examples/s · " in line and line.endswith(" left")
        gates[StepProgress].set()

        await wait_for(pilot, lambda: "val macro-F1" in training(), 120)
        line = next(x for x in training().splitlines() if "val macro-F1" in x)
        assert line.strip().startswith("epoch 1/1 · val macro-F1 0.")
        assert "↑ · loss " in line and " examples/s · " in line  # the epoch's own figures
        state = app.screen.state  # type: ignore[attr-defined]
        [t] = state.snapshot().in_flight
        assert t.epochs[0][1] is not None and f"{t.epochs[0][1]:.3f}" in line
        gates[EpochProgress].set()

        await wait_for(pilot, lambda: isinstance(app.screen, ClassifyResultsScreen), 120)
        ranking = app.screen
        assert isinstance(ranking, ClassifyResultsScreen)
        ranked = {r.model: r.rank for r in ranking.result.rows if not r.baseline}
        assert sorted(ranked) == sorted([MINILM, "char-svm"]) and sorted(ranked.values()) == [1, 2]
        tuned = ranking.result.result_for(MINILM, "topic", None)
        assert tuned is not None and len(tuned.val_f1_by_epoch) == 1
