"""The batch a fine-tune trains with: the planned one (``finetune.batch_size_for``), or on a
GPU that lacks the memory for it the largest of its halves that fits.

Before training on CUDA, one forward and backward pass (no optimizer step; the gradients
dropped after it) runs on a batch of the longest fit texts padded to the maximum length,
the largest batch the training can meet. On ``torch.cuda.OutOfMemoryError`` the memory
is freed (the pass's tensors released, ``torch.cuda.empty_cache()``) and the batch
halved, down to 1; at 1 the candidate fails with "out of GPU memory even at batch 1". An
out-of-memory error later in the training ends the candidate with "CUDA out of memory at
batch N" (``out_of_memory_at``), one line, as every failed candidate's reason is.

Test-only switches, read when a training starts (``parallel`` hands the caller's on to
its worker processes); never set them otherwise:

- ``TUI_BENCH_FAULT_OOM_ABOVE_BATCH=N``: the probe runs on any device, and every batch
  above N raises ``torch.cuda.OutOfMemoryError`` in it, as a GPU short of memory would;
- ``TUI_BENCH_FAULT_OOM_AT_STEP=N``: the training's step N (first epoch) raises it, as
  a longer batch than the probe's or another process taking memory would;
- ``TUI_BENCH_FAULT_HOLD_AFTER_STEP=N``: a benchmark's training waits after the progress
  event of its step N (first epoch) until it is cancelled (at most ``HOLD_MAX_S``), as a
  slow step would: a cancel then lands mid-epoch whatever the speed of the machine.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable

import torch

FAULT_OOM_ABOVE_BATCH = "TUI_BENCH_FAULT_OOM_ABOVE_BATCH"
FAULT_OOM_AT_STEP = "TUI_BENCH_FAULT_OOM_AT_STEP"
FAULT_HOLD_AFTER_STEP = "TUI_BENCH_FAULT_HOLD_AFTER_STEP"
HOLD_MAX_S = 120.0


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


def hold_step() -> int | None:
    """The step after which a training waits for its cancel (test-only), or None."""
    return _env_int(FAULT_HOLD_AFTER_STEP)


def oom_step() -> int | None:
    """The step that runs out of memory (test-only), or None."""
    return _env_int(FAULT_OOM_AT_STEP)


def hold_until(stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HOLD_MAX_S
    while not stop() and time.monotonic() < deadline:
        time.sleep(0.02)


def needs_probe(device: torch.device) -> bool:
    return device.type == "cuda" or _env_int(FAULT_OOM_ABOVE_BATCH) is not None


def free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def fitting_batch(
    planned: int, try_batch: Callable[[int], None], device: torch.device
) -> tuple[int, list[int]]:
    """(the batch to train with, the batches that ran out of memory, largest first).
    ``try_batch(n)`` runs the forward and backward pass on ``n`` rows."""
    above = _env_int(FAULT_OOM_ABOVE_BATCH)
    batch, failed = planned, []
    while not _fits(batch, try_batch, above):
        free_memory(device)  # the pass's tensors went with the exception
        failed.append(batch)
        if batch <= 1:
            raise torch.cuda.OutOfMemoryError("out of GPU memory even at batch 1")
        batch //= 2
    return batch, failed


def _fits(batch: int, try_batch: Callable[[int], None], above: int | None) -> bool:
    try:
        if above is not None and batch > above:
            raise torch.cuda.OutOfMemoryError(f"{FAULT_OOM_ABOVE_BATCH}={above}")
        try_batch(batch)
    except torch.cuda.OutOfMemoryError:
        return False
    return True


def out_of_memory_at(batch: int) -> torch.cuda.OutOfMemoryError:
    """The one-line error of a training that ran out of GPU memory after the probe."""
    return torch.cuda.OutOfMemoryError(f"CUDA out of memory at batch {batch}")


def halved_note(
    head: str, planned: int, batch: int, failed: list[int], *, trained: bool = False
) -> str:
    """The warning of a batch halved to fit: "training at" as it starts, "trained at" said
    of a model already trained (the final one)."""
    tried = ", ".join(str(b) for b in failed)
    return (
        f"{head}: out of GPU memory at batch {tried}; {'trained' if trained else 'training'} "
        f"at batch {batch} (planned {planned})"
    )
