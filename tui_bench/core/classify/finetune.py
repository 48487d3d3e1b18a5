"""Quick fine-tuning of a transformer encoder as a classifier (``finetune`` candidates).

Imported only in a worker process (``parallel``): torch and transformers never load in the
caller. The recipe, one for every encoder:

- a sequence-classification head on the encoder (``AutoModelForSequenceClassification``,
  the head new and random), loaded from a folder with ``local_files_only`` (offline);
- the classes weighted in the loss by the balanced weights every candidate uses (n / (k ·
  n_c) over the training rows), since macro-F1 counts every class equally;
- a maximum length from the data: the ``LENGTH_PERCENTILE``th percentile of the training
  texts' token counts, capped by the run (``MAX_LENGTH`` by default, 256);
- AdamW (weight decay 0.01; learning rate ``LR_SMALL`` for encoders under
  ``SMALL_MODEL_PARAMS`` parameters, else ``LR_LARGE``) with a linear warm-up over the
  first ``WARMUP_FRACTION`` of the steps, then a linear decay; gradients clipped at 1;
- N epochs over the fit rows in a fresh seeded order each, with early stopping on the
  validation macro-F1 (the best epoch's weights kept, ``patience`` epochs without
  improvement end it); seeds fixed (Python, NumPy, torch);
- on an NVIDIA GPU: CUDA, bf16 autocast where the GPU has it (else fp16 with a gradient
  scaler), batches of ``GPU_BATCH`` halved while a probe pass runs out of memory
  (``fit_batch``), the memory peak from ``torch.cuda``, utilisation and the process's
  memory from NVML (``gpu_watch``); on the CPU: the threads the run may use
  (``cpus.default_threads``), batches of ``CPU_BATCH``, and a warning that it is slow;
  on either, a batch small enough for an epoch of ``MIN_STEPS`` steps on small data.

Progress goes out as events: ``StepProgress`` at most every ``STEP_EVENT_S`` seconds (and
at each epoch's last step), ``EpochProgress`` after each epoch with its loss, throughput,
validation macro-F1 and the time left. ``stop()`` is asked after every step: cancelling
ends the training there.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import f1_score

from tui_bench.core.classify import fit_batch
from tui_bench.core.classify.encoders import WEIGHT_FILES, has_weights
from tui_bench.core.classify.events import EpochProgress, StepProgress
from tui_bench.core.events import Event, Log

MAX_LENGTH = 256
MIN_LENGTH = 8
LENGTH_PERCENTILE = 95
CPU_BATCH = (32, 16)  # max length <= 64, longer
GPU_BATCH = (128, 64)  # max length <= 128, longer
MIN_STEPS = 8  # optimiser steps an epoch has at least, where the rows allow
MIN_BATCH = 8
WARMUP_FRACTION = 0.1
WEIGHT_DECAY = 0.01
SMALL_MODEL_PARAMS = 100_000_000
LR_SMALL = 1e-4
LR_LARGE = 3e-5
STEP_EVENT_S = 0.5


@dataclass(frozen=True)
class Where:
    """The training the events belong to."""

    candidate: str
    category: str
    language: str | None
    fold: int | None = None


def quiet() -> None:
    """No progress bars or load reports from transformers in the worker's output."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def use_threads(n: int | None) -> int:
    """torch's CPU threads: ``n``, or the default a llama.cpp model gets (``cpus``)."""
    from tui_bench.core.cpus import default_threads

    threads = n if n is not None and n > 0 else default_threads().n
    torch.set_num_threads(threads)
    return threads


def check_model_folder(folder: Path) -> None:
    """A one-line reason before transformers' own (often a traceback's worth) when the
    folder is no Hugging Face model: no ``config.json``, or no weights."""
    if not (folder / "config.json").is_file():
        raise ValueError(f"{folder}: not a Hugging Face model folder (no config.json)")
    if not has_weights(folder):
        raise ValueError(f"{folder}: no model weights ({', '.join(WEIGHT_FILES)})")


def load_encoder(folder: Path) -> tuple[Any, Any]:
    """(tokenizer, bare encoder) from a model folder, offline."""
    from transformers import AutoModel, AutoTokenizer

    check_model_folder(folder)
    quiet()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return tokenizer, AutoModel.from_pretrained(str(folder), local_files_only=True)


def load_classifier(folder: Path, classes: Sequence[str]) -> tuple[Any, Any]:
    """(tokenizer, encoder with a new classification head of ``len(classes)`` outputs)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    check_model_folder(folder)
    quiet()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(folder),
        local_files_only=True,
        num_labels=len(classes),
        id2label=dict(enumerate(classes)),
        label2id={c: i for i, c in enumerate(classes)},
        ignore_mismatched_sizes=True,  # a folder saved with another head gets a new one
    )
    return tokenizer, model


def max_length_for(tokenizer: Any, texts: Sequence[str], cap: int = MAX_LENGTH) -> int:
    """The ``LENGTH_PERCENTILE``th percentile of the texts' token counts (special tokens
    included), at least ``MIN_LENGTH``, at most ``cap`` and the model's own limit."""
    counts = [len(ids) for ids in tokenizer(list(texts), truncation=False)["input_ids"]]
    p = math.ceil(float(np.percentile(counts, LENGTH_PERCENTILE))) if counts else MIN_LENGTH
    limit = getattr(tokenizer, "model_max_length", cap) or cap
    return max(MIN_LENGTH, min(cap, int(limit), p))


def batch_size_for(device: torch.device, max_length: int, n_rows: int | None = None) -> int:
    """The planned batch: by device and max length, and for ``n_rows`` fit rows at most
    the power of two that gives an epoch ``MIN_STEPS`` steps (never under ``MIN_BATCH``):
    a few hundred rows at a GPU's 128 would train for two steps an epoch, the first of
    them at a learning rate still warming up from zero."""
    if device.type == "cuda":
        batch = GPU_BATCH[0] if max_length <= 128 else GPU_BATCH[1]
    else:
        batch = CPU_BATCH[0] if max_length <= 64 else CPU_BATCH[1]
    if n_rows is not None and n_rows > 0:
        steps_cap = 2 ** max(0, math.floor(math.log2(max(1.0, n_rows / MIN_STEPS))))
        batch = min(batch, max(MIN_BATCH, steps_cap))
    return batch


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


class FineTuned:
    """A fine-tuned classifier: ``predict(texts)`` gives labels, ``save(folder)`` writes
    it with ``save_pretrained`` (model and tokenizer), loadable by transformers alone."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        classes: Sequence[str],
        max_length: int,
        device: Any,
        train_batch: int | None = None,
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.classes = list(classes)
        self.max_length = max_length
        self.device = device
        trained = train_batch or batch_size_for(device, max_length)
        self.batch_size = trained * 2  # no gradients kept

    def predict_ids(self, texts: Sequence[str]) -> list[int]:
        self.model.eval()
        out: list[int] = []
        texts = list(texts)
        with torch.inference_mode(), _autocast(self.device):
            for start in range(0, len(texts), self.batch_size):
                enc = _encode(self.tokenizer, texts[start : start + self.batch_size], self)
                out += self.model(**enc.to(self.device)).logits.argmax(-1).tolist()
        return out

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray([self.classes[i] for i in self.predict_ids(texts)], dtype=object)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(folder))
        self.tokenizer.save_pretrained(str(folder))


def _encode(tokenizer: Any, texts: list[str], ft: Any) -> Any:
    return tokenizer(
        texts, truncation=True, max_length=ft.max_length, padding=True, return_tensors="pt"
    )


def _bf16(device: torch.device) -> bool:
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def _autocast(device: torch.device) -> Any:
    if device.type != "cuda":
        return torch.autocast("cpu", enabled=False)
    return torch.autocast("cuda", dtype=torch.bfloat16 if _bf16(device) else torch.float16)


def _try_batch(
    model: Any, tokenizer: Any, texts: Sequence[str], n: int, length: int, device: Any, loss_fn: Any
) -> None:
    """One forward and backward pass on the first ``n`` of ``texts`` (the longest, sorted
    once by the caller) padded to ``length`` (the most a training batch can hold); the
    gradients dropped after it."""
    longest = list(texts[:n])
    enc = tokenizer(
        longest, truncation=True, max_length=length, padding="max_length", return_tensors="pt"
    ).to(device)
    model.train()
    try:
        with _autocast(device):
            logits = model(**enc).logits
        target = torch.zeros(len(longest), dtype=torch.long, device=device)
        loss_fn(logits.float(), target).backward()
    finally:
        model.zero_grad(set_to_none=True)


def _head(where: Where) -> str:
    return f"{where.candidate} on {where.category}" + (
        f"/{where.language}" if where.language else ""
    )


def _device_note(where: Where, device: torch.device, threads: int, batch: int, length: int) -> Log:
    head = _head(where)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        precision = "bf16" if _bf16(device) else "fp16"
        return Log(
            "info",
            f"{head}: training on CUDA ({name}, {precision} mixed precision), "
            f"batch {batch}, max length {length}",
        )
    return Log(
        "warning",
        f"{head}: training on CPU ({threads} thread{'s' if threads != 1 else ''}) is slow; "
        f"an NVIDIA GPU trains it many times faster (batch {batch}, max length {length})",
    )


def fit_transformer(
    model_name: str,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    classes: Sequence[str],
    epochs: int,
    seed: int,
    patience: int,
    carve: tuple[list[int], list[int]] | None,
    class_weight: dict[str, float],
    max_length: int = MAX_LENGTH,
    threads: int | None = None,
    where: Where | None = None,
    emit: Callable[[Event], None] = lambda e: None,
    stop: Callable[[], bool] = lambda: False,
) -> tuple[FineTuned | None, dict[str, Any]]:
    """Fine-tune ``model_name`` on ``texts``; (model, info). ``carve``: (fit rows,
    validation rows) for early stopping, or None to train every row every epoch (the
    final model). ``info["cancelled"]`` is True (and the model None) when ``stop()``
    ended it."""
    from transformers import get_linear_schedule_with_warmup

    from tui_bench.core.classify.encoders import model_folder
    from tui_bench.core.classify.gpu_watch import GpuWatch

    t0 = time.perf_counter()
    n_threads = use_threads(threads)
    seed_all(seed)
    device = pick_device()
    classes = list(classes)
    tokenizer, model = load_classifier(model_folder(model_name), classes)
    load_s = time.perf_counter() - t0
    fit_rows, val_rows = carve if carve is not None else (list(range(len(labels))), [])
    fit_texts = [texts[i] for i in fit_rows]
    index = {c: i for i, c in enumerate(classes)}
    y_fit = torch.tensor([index[labels[i]] for i in fit_rows])
    length = max_length_for(tokenizer, fit_texts, max_length)
    planned = batch_size_for(device, length, len(fit_rows))
    hold = fit_batch.hold_step() if where is not None else None  # test-only
    oom_step = fit_batch.oom_step()  # test-only
    where = where or Where(model_name, "", None)
    weights = torch.tensor([class_weight.get(c, 1.0) for c in classes], dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights.to(device))
    model.to(device)
    batch, too_big = planned, list[int]()
    if fit_batch.needs_probe(device):
        longest = sorted(fit_texts, key=len, reverse=True)[:planned]
        batch, too_big = fit_batch.fitting_batch(
            planned,
            lambda n: _try_batch(model, tokenizer, longest, n, length, device, loss_fn),
            device,
        )
        seed_all(seed)  # the training as it would be without the probe's dropout draws
    ft = FineTuned(model, tokenizer, classes, length, device, batch)
    if too_big:
        emit(Log("warning", fit_batch.halved_note(_head(where), planned, batch, too_big)))
    if where.fold in (None, 1):
        emit(_device_note(where, device, n_threads, batch, length))

    params = sum(p.numel() for p in model.parameters())
    lr = LR_SMALL if params < SMALL_MODEL_PARAMS else LR_LARGE
    steps_per_epoch = max(1, math.ceil(len(fit_rows) / batch))
    total_steps = steps_per_epoch * epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=WEIGHT_DECAY)
    schedule = get_linear_schedule_with_warmup(
        optimizer, max(1, round(WARMUP_FRACTION * total_steps)), total_steps
    )
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and not _bf16(device))
    rng = np.random.default_rng(seed)

    best_state: dict[str, torch.Tensor] | None = None
    best_f1, best_epoch, stale = -1.0, None, 0
    history: list[float] = []
    losses: list[float] = []
    rates: list[float] = []
    step_times: list[float] = []
    eval_s = 0.0
    epochs_run = 0
    cancelled = False
    watch = GpuWatch(device)
    watch.start()
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            order = rng.permutation(len(fit_rows))
            t_epoch = time.perf_counter()
            loss_sum, seen, last_event = 0.0, 0, 0.0
            for step in range(1, steps_per_epoch + 1):
                t_step = time.perf_counter()
                rows = order[(step - 1) * batch : step * batch]
                enc = _encode(tokenizer, [fit_texts[i] for i in rows], ft).to(device)
                target = y_fit[rows].to(device)
                if epoch == 1 and step == oom_step:
                    raise torch.cuda.OutOfMemoryError(fit_batch.FAULT_OOM_AT_STEP)
                with _autocast(device):
                    logits = model(**enc).logits
                loss = loss_fn(logits.float(), target)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
                schedule.step()
                loss_sum += float(loss.detach()) * len(rows)
                seen += len(rows)
                now = time.perf_counter()
                step_times.append(now - t_step)
                if stop():
                    cancelled = True
                    break
                if now - last_event >= STEP_EVENT_S or step in (steps_per_epoch, hold):
                    last_event = now
                    left = _time_left(step_times, total_steps, eval_s, epoch, epochs)
                    emit(
                        StepProgress(
                            candidate=where.candidate,
                            category=where.category,
                            language=where.language,
                            epoch=epoch,
                            n_epochs=epochs,
                            step=step,
                            n_steps=steps_per_epoch,
                            loss=round(loss_sum / seen, 4),
                            examples_per_s=round(seen / (now - t_epoch), 2),
                            eta_s=round(left, 1),
                            fold=where.fold,
                        )
                    )
                if epoch == 1 and step == hold:
                    fit_batch.hold_until(stop)
            if cancelled:
                break
            train_s = time.perf_counter() - t_epoch
            epochs_run = epoch
            losses.append(loss_sum / max(1, seen))
            rates.append(seen / train_s if train_s > 0 else 0.0)
            score: float | None = None
            improved = True
            if val_rows:
                t_eval = time.perf_counter()
                pred = ft.predict_ids([texts[i] for i in val_rows])
                truth = [index[labels[i]] for i in val_rows]
                score = float(
                    f1_score(
                        truth, pred, average="macro", labels=range(len(classes)), zero_division=0
                    )
                )
                eval_s = time.perf_counter() - t_eval
                history.append(score)
                improved = score > best_f1
                if improved:
                    best_f1, best_epoch, stale = score, epoch, 0
                    best_state = {
                        k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
                    }
                else:
                    stale += 1
            else:
                best_epoch = epoch
            emit(
                EpochProgress(
                    candidate=where.candidate,
                    category=where.category,
                    language=where.language,
                    epoch=epoch,
                    n_epochs=epochs,
                    val_f1_macro=round(score, 4) if score is not None else None,
                    elapsed_s=round(time.perf_counter() - t0, 4),
                    fold=where.fold,
                    improved=improved,
                    train_loss=round(losses[-1], 4),
                    examples_per_s=round(rates[-1], 2),
                    eta_s=round(_time_left(step_times, total_steps, eval_s, epoch, epochs), 1),
                )
            )
            if val_rows and stale >= patience:
                break
    except torch.cuda.OutOfMemoryError:
        raise fit_batch.out_of_memory_at(batch) from None  # one line, not torch's page
    finally:
        gpu = watch.stop()
    if cancelled:
        return None, {"cancelled": True}
    if best_state is not None and best_epoch != epochs_run:
        model.load_state_dict(best_state)
    training: dict[str, Any] = {
        "device": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "precision": ("bf16" if _bf16(device) else "fp16") if device.type == "cuda" else "fp32",
        "threads": n_threads if device.type == "cpu" else None,
        "max_length": length,
        "batch_size": batch,
        "batch_size_planned": planned,
        "batch_sizes_out_of_memory": too_big,  # the probe's, before the batch that fit
        "learning_rate": lr,
        "parameters": params,
        "load_s": load_s,
        "examples_per_s": float(np.mean(rates)) if rates else None,
        "epoch_s": float(np.mean([len(fit_rows) / r for r in rates if r > 0])) if rates else None,
        "train_loss_by_epoch": losses,
        **gpu,
    }
    info = {
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "val_f1_by_epoch": history,
        "training": training,
        "cancelled": False,
    }
    return ft, info


def _time_left(
    step_times: list[float], total_steps: int, eval_s: float, epoch: int, epochs: int
) -> float:
    """The planned steps not yet run at the mean step time so far, plus one validation
    pass per epoch left (the last one measured)."""
    if not step_times:
        return 0.0
    mean = sum(step_times) / len(step_times)
    return max(0, total_steps - len(step_times)) * mean + eval_s * (epochs - epoch)
