"""Real fine-tuning of the packaged MiniLM on a few hundred ChatterBot conversations (one
epoch, 32 tokens): its progress events, its figures, per-language candidate lists,
cancelling mid-epoch and a folder that holds no model."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import pytest
from finetune_helpers import (
    EN_TOPICS,
    chatterbot_csv,
    expected_batch,
    expected_device,
    fit_rows,
    read_rows,
)

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify.events import CandidateFinished, EpochProgress, StepProgress
from tui_bench.core.classify.final import train_final
from tui_bench.core.classify.history import record_classify_run
from tui_bench.core.classify.parallel import train_all
from tui_bench.core.classify.runner import ClassifyConfig, run_classify
from tui_bench.core.classify.splits import make_folds
from tui_bench.core.classify.train import TrainJob
from tui_bench.core.cpus import default_threads
from tui_bench.core.events import Log
from tui_bench.core.store import Store

MINILM = "builtin:minilm-l6"


@pytest.fixture(scope="module")
def topics_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chatterbot_csv(tmp_path_factory.mktemp("chatterbot") / "en.csv", {"en": EN_TOPICS})


def test_max_length_is_the_95th_percentile_of_the_token_counts_capped() -> None:
    from transformers import AutoTokenizer

    from tui_bench.core.classify.encoders import model_folder
    from tui_bench.core.classify.finetune import max_length_for

    tok = AutoTokenizer.from_pretrained(str(model_folder(MINILM)), local_files_only=True)
    # "w" is one token: a text of n words is n + 2 tokens with [CLS] and [SEP]
    texts = [" ".join(["w"] * n) for n in range(1, 101)]  # 3 .. 102 tokens
    counts = sorted(len(ids) for ids in tok(texts)["input_ids"])
    assert counts == list(range(3, 103))
    assert max_length_for(tok, texts, cap=256) == math.ceil(3 + 0.95 * 99)  # numpy's linear: 97.05
    assert max_length_for(tok, texts, cap=64) == 64
    assert max_length_for(tok, ["w"] * 5, cap=256) == 8  # never below MIN_LENGTH


def test_a_real_fine_tune_of_the_packaged_minilm(topics_csv: Path) -> None:
    rows = read_rows(topics_csv)
    texts, labels = [r["text"] for r in rows], [r["topic"] for r in rows]
    folds = make_folds(labels, test_size=0.2, cv=None, seed=0)
    job = TrainJob(0, 1, MINILM, "topic", None, texts, labels, folds, epochs=1, seed=0)
    job.max_length = 32
    events: list[Any] = []
    [result] = train_all([job], publish=events.append)  # in a worker process, as in a run

    assert result.ok, result.error
    steps = [e for e in events if isinstance(e, StepProgress)]
    [epoch] = [e for e in events if isinstance(e, EpochProgress)]
    [note] = [e for e in events if isinstance(e, Log)]
    t = result.training
    n_fit = fit_rows([labels[i] for i in folds[0][0]])  # 173: 19 of 192 rows validate
    device, batch = expected_device(), expected_batch(32, n_fit)  # 16: 173 rows, 8+ steps
    assert (t["device"], t["max_length"]) == (device, 32)
    assert t["batch_size"] == t["batch_size_planned"] == batch  # fits: never halved here
    assert t["parameters"] == 22_713_216 + 384 * 4 + 4  # the encoder, then a new 4-way head
    if device == "cpu":
        assert t["threads"] == default_threads().n and t["precision"] == "fp32"
        assert note.level == "warning" and "training on CPU (" in note.message
        assert "is slow" in note.message
    else:
        assert t["threads"] is None and t["precision"] in ("bf16", "fp16")
        assert note.level == "info" and "training on CUDA (" in note.message
        assert t["gpu_memory_peak_mib"] > 0
    assert f"batch {batch}, max length 32" in note.message
    n_steps = math.ceil(n_fit / batch)
    assert steps[0].step == 1 and steps[-1].step == steps[-1].n_steps == n_steps
    assert all(s.epoch == 1 and s.n_epochs == 1 and s.loss > 0 for s in steps)
    assert steps[-1].eta_s <= steps[0].eta_s  # the time left goes down
    assert (epoch.epoch, epoch.n_epochs) == (1, 1) and epoch.val_f1_macro is not None
    assert epoch.examples_per_s == pytest.approx(t["examples_per_s"], rel=1e-3)
    assert epoch.train_loss == pytest.approx(t["train_loss_by_epoch"][0], abs=1e-4)
    assert result.val_f1_by_epoch == [pytest.approx(epoch.val_f1_macro, abs=1e-4)]
    assert result.f1_macro is not None
    assert n_steps >= 8  # the small-data batch, on any device
    # 4 topics: a classifier that learnt nothing scores about 0.25; measured 0.6+
    assert result.f1_macro > 0.45
    assert result.epochs_run == result.best_epoch == 1 and result.n_epochs == 1
    assert sum(sum(row) for row in result.confusion) == len(folds[0][1]) == 48


def test_per_language_candidate_lists(tmp_path: Path) -> None:
    data = chatterbot_csv(
        tmp_path / "en_it.csv",
        {
            "en": {"trivia": 40, "coding": 40, "AI": 40},
            "it": {"AI": 40, "psicologia": 40, "umorismo": 40},
        },
    )
    result = run_classify(
        ClassifyConfig(
            data=data,
            label_column="topic",
            by_language=True,
            models=["char-svm", "tfidf-logreg"],
            models_by_language={"en": [MINILM, "char-svm"]},
            epochs=1,
            max_length=32,
        )
    )
    assert result.models == {"en": [MINILM, "char-svm"], "it": ["char-svm", "tfidf-logreg"]}
    trained = {(r.language, r.candidate) for r in result.results if r.ok and not r.baseline}
    assert trained == {
        ("en", MINILM),
        ("en", "char-svm"),
        ("it", "char-svm"),
        ("it", "tfidf-logreg"),
    }
    minilm = result.result_for(MINILM, "topic", "en")
    assert minilm is not None and len(minilm.val_f1_by_epoch) == 1
    assert minilm.training["max_length"] == 32
    ranked = {(r.language, r.model): r.rank for r in result.rows if not r.baseline}
    assert sorted(ranked.values()) == [1, 1, 2, 2]  # each language ranked on its own
    assert {lang for lang, _m in ranked} == {"en", "it"}


def test_cancel_mid_epoch_keeps_the_finished_candidates(
    topics_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_bench.core.classify.fit_batch import FAULT_HOLD_AFTER_STEP

    # the worker waits after step 1 until the cancel reaches it: the cancel lands in the
    # epoch (of 6 steps on the CPU, 2 on a GPU) however fast the steps run
    monkeypatch.setenv(FAULT_HOLD_AFTER_STEP, "1")
    cancel = threading.Event()
    events: list[Any] = []

    def publish(event: Any) -> None:
        events.append(event)
        if isinstance(event, StepProgress) and event.candidate == MINILM:
            cancel.set()  # the first epoch's step 1, the worker held there

    result = run_classify(
        ClassifyConfig(
            data=topics_csv,
            label_column="topic",
            models=["char-svm", MINILM],
            epochs=1,
            max_length=32,
        ),
        publish,
        cancel=cancel,
    )
    assert result.status == "cancelled"
    svm = result.result_for("char-svm", "topic", None)
    minilm = result.result_for(MINILM, "topic", None)
    assert svm is not None and svm.ok and svm.f1_macro > 0.8  # type: ignore[operator]
    assert minilm is not None and minilm.error == "cancelled"
    steps = [e for e in events if isinstance(e, StepProgress)]
    assert [s.step for s in steps] == [1] and steps[0].n_steps >= 2  # stopped within the epoch
    assert not [e for e in events if isinstance(e, EpochProgress)]
    finished = [e.result.candidate for e in events if isinstance(e, CandidateFinished)]
    assert finished == ["char-svm"]
    assert [r.model for r in result.rows if not r.baseline] == ["char-svm"]


def test_a_folder_that_is_not_a_model_is_a_failed_candidate(
    topics_csv: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "README.md").write_text("not a model")
    out = tmp_path / "out"
    result = run_classify(
        ClassifyConfig(
            data=topics_csv,
            label_column="topic",
            models=[str(folder), "char-svm"],
            epochs=1,
            output_dir=out,
        )
    )
    assert result.status == "completed"
    failed = result.result_for(str(folder), "topic", None)
    assert failed is not None and not failed.ok
    why = f"ValueError: {folder}: not a Hugging Face model folder (no config.json)"
    assert failed.error == why
    assert result.estimate is not None and result.estimate["skipped"] == [str(folder)]
    assert [r.model for r in result.rows if r.rank] == ["char-svm"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert f"- {folder} failed: {why}" in md
    assert cand.info(str(folder))["kind"] == "finetune"
    data_json = json.loads((out / "data.json").read_text(encoding="utf-8"))
    [row] = [r for r in data_json["results"] if r["model"] == str(folder)]
    assert (row["error"], row["rank"]) == (why, None)

    # the history entry: counted as failed, its reason in the stored result
    store = Store()
    try:
        run_id, _ = record_classify_run(result, store)
        run = store.get_run(run_id)
        assert (run.n_planned, run.n_ok, run.n_failed) == (2, 1, 1)
        stored = run.documents.summary["results"]
    finally:
        store.close()
    assert [r["error"] for r in stored if r["model"] == str(folder)] == [why]


def test_the_frozen_encoder_final_model_is_a_pipeline_that_loads_and_predicts(
    topics_csv: Path, tmp_path: Path
) -> None:
    import joblib

    rows = read_rows(topics_csv)[:80]  # the encoder's cost grows with the rows
    texts, labels = [r["text"] for r in rows], [r["topic"] for r in rows]
    fm = train_final(
        "minilm-frozen",
        texts,
        labels,
        category="topic",
        language=None,
        output_dir=tmp_path,
        quick_epochs=1,
        seed=0,
    )
    card = json.loads(Path(fm.card_path).read_text(encoding="utf-8"))
    assert card["kind"] == "frozen" and card["needs"].endswith("(the encoder: builtin:minilm-l6)")
    assert card["params"]["vectorizer"]["params"] == {"max_length": 128, "model": MINILM}
    pipeline = joblib.load(fm.model_path)  # the encoder itself is not in the file
    assert Path(fm.model_path).stat().st_size < 200_000
    predicted = pipeline.predict(texts[:20])
    right = sum(p == y for p, y in zip(predicted, labels[:20], strict=True)) / 20
    assert right > 0.8, right  # its own training rows; guessing gets about 0.25
