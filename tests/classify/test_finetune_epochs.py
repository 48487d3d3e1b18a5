"""Early stopping and the best epoch's weights kept, for a real fine-tune of the packaged
MiniLM over several epochs (in this process, one thread, on 80 short rows of two easy
classes: about 7 s on a 2-core CPU)."""

from __future__ import annotations

from typing import Any

import pytest
from finetune_helpers import easy_rows
from sklearn.metrics import f1_score

from tui_bench.core.classify import finetune
from tui_bench.core.classify.events import EpochProgress

MINILM = "builtin:minilm-l6"
EPOCHS, PATIENCE = 3, 1


def test_early_stopping_keeps_the_best_epochs_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    texts, labels = easy_rows(80)
    val = list(range(0, 80, 4)) + list(range(1, 80, 4))  # 10 rows of each class
    fit = sorted(set(range(80)) - set(val))
    classes = ["animals", "code"]

    # the model fit_transformer loads, kept to read its weights after every epoch
    loaded: list[Any] = []
    real_load = finetune.load_classifier

    def load(folder: Any, names: Any) -> tuple[Any, Any]:
        tokenizer, model = real_load(folder, names)
        loaded.append(model)
        return tokenizer, model

    monkeypatch.setattr(finetune, "load_classifier", load)
    weights_after: list[dict[str, Any]] = []

    def emit(event: Any) -> None:
        if isinstance(event, EpochProgress):
            state = loaded[0].state_dict()
            weights_after.append({k: v.detach().to("cpu", copy=True) for k, v in state.items()})

    model, info = finetune.fit_transformer(
        MINILM,
        texts,
        labels,
        classes=classes,
        epochs=EPOCHS,
        seed=0,
        patience=PATIENCE,
        carve=(fit, val),
        class_weight={c: 1.0 for c in classes},
        max_length=16,
        threads=1,  # a busy machine's other work slows several spinning threads down
        emit=emit,
    )
    assert model is not None
    f1s, run, best = info["val_f1_by_epoch"], info["epochs_run"], info["best_epoch"]
    assert len(f1s) == run == len(weights_after)
    assert best == f1s.index(max(f1s)) + 1  # the first epoch with the highest score
    # it stopped after PATIENCE epochs without a gain, or ran every epoch
    assert run - best == PATIENCE or run == EPOCHS
    # measured: val macro-F1 1.0, 1.0: the second epoch gains nothing and ends the
    # training (patience 1); the weights go back to the first's
    # 60 fit rows: batches of 8 on any device (an epoch of 8 steps at least)
    assert info["training"]["batch_size"] == 8 and best < run

    # the returned model holds the best epoch's weights, not the last one's
    final = {k: v.detach().to("cpu") for k, v in model.model.state_dict().items()}
    assert all(torch_equal(final[k], v) for k, v in weights_after[best - 1].items())
    assert not all(torch_equal(final[k], v) for k, v in weights_after[-1].items())
    pred = model.predict([texts[i] for i in val])
    truth = [labels[i] for i in val]
    score = f1_score(truth, pred, average="macro", labels=classes, zero_division=0)
    assert score == f1s[best - 1]


def torch_equal(a: Any, b: Any) -> bool:
    import torch

    return bool(torch.equal(a, b))
