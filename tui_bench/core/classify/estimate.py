"""How long a benchmark will take, said before it starts: an estimate from the data size
and a quick probe fit of each candidate.

For each cell and candidate: one fit on a sample of at most ``PROBE_ROWS`` of the cell's
training rows (one epoch, without a validation split, for learners that train by epochs)
and a prediction on the same rows, timed; then scaled by the characters of the cell's
training part over the sample's (vectorising and the linear learners grow about linearly
with the text), by the epochs planned for learners that train by epochs (early stopping
may end sooner) and by the number of folds. The sum over cells and candidates is divided
by the number of worker processes that train at once. The majority baseline and guessing
cost nothing worth counting.

A transformer candidate's probe runs in the worker process it will train in
(``parallel.run_isolated``), on at most ``TRANSFORMER_PROBE_ROWS`` rows: one fine-tuning
epoch without validation (or the frozen encoder's fit). Loading the model is counted
once per fold, not scaled; the worker's start and torch's import are not counted.

It is an estimate, and every text that shows it says so: learners that grow faster than
linearly with the rows, the load of the machine and early stopping all move the real
duration. The probe's own time is measured and reported beside it.
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify.parallel import effective_jobs, run_isolated
from tui_bench.core.classify.result import Cell
from tui_bench.core.classify.train import fit_by_epochs, fit_once, predict

PROBE_ROWS = 200
TRANSFORMER_PROBE_ROWS = 32

Folds = Sequence[tuple[Sequence[int], Sequence[int]]]


@dataclass
class DurationEstimate:
    seconds: float  # the estimated wall time of the trainings
    probe_s: float  # what the probe fits took
    probe_rows: int  # the largest probe sample
    train_rows: int  # the largest training part a probe was scaled to
    folds: int
    n_trainings: int  # candidate fits planned (baseline excluded), folds counted
    workers: int
    skipped: list[str]  # candidates whose probe failed (not counted)
    # each training's own share (candidate, category, language, seconds), folds counted,
    # before dividing by the workers: what the live view's time left is made of
    per_training: list[tuple[str, str, str | None, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        """One line: the estimate, said to be one, and what it rests on."""
        folds = f" × {self.folds} folds" if self.folds > 1 else ""
        workers = f"; {self.workers} jobs at once" if self.workers > 1 else ""
        skipped = f"; not counted: {', '.join(self.skipped)}" if self.skipped else ""
        return (
            f"about {human_seconds(self.seconds)} (an estimate: a probe fit of each candidate "
            f"on {self.probe_rows:,} rows, scaled to {self.train_rows:,} training rows"
            f"{folds}{workers}{skipped})"
        )


def human_seconds(seconds: float) -> str:
    """A rough duration: ``8 s``, ``3 min``, ``1.5 h``."""
    if seconds < 1:
        return "1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def probe_rows(train_rows: Sequence[int], labels: Sequence[str], seed: int) -> list[int]:
    """At most ``PROBE_ROWS`` training rows, seeded, with at least one row of each class
    (a learner refuses a sample with a single class)."""
    order = list(train_rows)
    random.Random(seed).shuffle(order)
    if len(order) <= PROBE_ROWS:
        return order
    first: dict[str, int] = {}
    for i in order:
        first.setdefault(labels[i], i)
    picked = list(first.values())[:PROBE_ROWS]
    chosen = set(picked)
    for i in order:
        if len(picked) >= PROBE_ROWS:
            break
        if i not in chosen:
            picked.append(i)
            chosen.add(i)
    return picked


def _probe(spec: cand.CandidateSpec, texts: list[str], labels: list[str], seed: int) -> float:
    t0 = time.perf_counter()
    if spec.by_epochs:
        vec, clf, _info = fit_by_epochs(
            spec,
            texts,
            labels,
            classes=sorted(set(labels)),
            epochs=1,
            seed=seed,
            early_stopping=False,
        )
    else:
        vec, clf = fit_once(spec, texts, labels, seed=seed)
    predict(vec, clf, texts)
    return time.perf_counter() - t0


def _probe_transformer(
    spec: cand.CandidateSpec, texts: list[str], labels: list[str], seed: int, max_length: int
) -> tuple[float, float]:
    """(seconds that do not grow with the rows: loading the model, seconds that do).
    Quiet: a few rows of many classes make learners warn about the sample, not the run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec.kind != cand.FINETUNE:
            return 0.0, _probe(spec, texts, labels, seed)
        return _probe_fine_tune(spec, texts, labels, seed, max_length)


def _probe_fine_tune(
    spec: cand.CandidateSpec, texts: list[str], labels: list[str], seed: int, max_length: int
) -> tuple[float, float]:
    from tui_bench.core.classify.finetune import fit_transformer
    from tui_bench.core.classify.trainrows import balanced_class_weight

    t0 = time.perf_counter()
    clf, info = fit_transformer(
        spec.model or spec.name,
        texts,
        labels,
        classes=sorted(set(labels)),
        epochs=1,
        seed=seed,
        patience=1,
        carve=None,
        class_weight=balanced_class_weight(labels),
        max_length=max_length,
    )
    assert clf is not None
    clf.predict(texts)
    load_s = float(info["training"]["load_s"])
    return load_s, time.perf_counter() - t0 - load_s


def estimate_duration(
    cells: Sequence[Cell],
    folds: Mapping[str, Folds],
    *,
    epochs: int,
    seed: int,
    jobs: int,
    max_length: int = 256,
) -> DurationEstimate:
    """The estimate for ``cells`` (``folds``: each cell's, by ``Cell.key``)."""
    t_start = time.perf_counter()
    total = 0.0
    largest_probe = largest_train = n_trainings = n_folds = 0
    skipped: list[str] = []
    per_training: list[tuple[str, str, str | None, float]] = []
    for cell in cells:
        cell_folds = folds[cell.key]
        n_folds = max(n_folds, len(cell_folds))
        train_rows = cell_folds[0][0]
        rows = probe_rows(train_rows, cell.labels, seed)
        texts = [cell.texts[i] for i in rows]
        labels = [cell.labels[i] for i in rows]
        sample_chars = max(1, sum(len(t) for t in texts))
        train_chars = sum(len(cell.texts[i]) for i in train_rows)
        scale = max(1.0, train_chars / sample_chars)
        largest_probe = max(largest_probe, len(rows))
        largest_train = max(largest_train, len(train_rows))
        for name in cell.models:
            try:
                spec = cand.get(name)
                if spec.isolated:
                    fixed_s, probe_s, factor = _probe_isolated(
                        spec, rows, train_rows, cell, seed, max_length
                    )
                else:
                    fixed_s, probe_s, factor = 0.0, _probe(spec, texts, labels, seed), scale
            except Exception:  # a probe that fails leaves the estimate, not the run
                if name not in skipped:
                    skipped.append(name)
                continue
            rounds = epochs if spec.by_epochs else 1
            seconds = (fixed_s + probe_s * factor * rounds) * len(cell_folds)
            per_training.append((name, cell.category, cell.language, seconds))
            total += seconds
            n_trainings += len(cell_folds)
    workers = effective_jobs(jobs, max(1, n_trainings))
    return DurationEstimate(
        seconds=total / workers,
        probe_s=time.perf_counter() - t_start,
        probe_rows=largest_probe,
        train_rows=largest_train,
        folds=n_folds,
        n_trainings=n_trainings,
        workers=workers,
        skipped=skipped,
        per_training=per_training,
    )


def _probe_isolated(
    spec: cand.CandidateSpec,
    rows: list[int],
    train_rows: Sequence[int],
    cell: Cell,
    seed: int,
    max_length: int,
) -> tuple[float, float, float]:
    """(load seconds, probe seconds, scale to the training part) of a transformer, probed
    in the worker on the first ``TRANSFORMER_PROBE_ROWS`` of the probe rows (a row of each
    class first)."""
    picked = rows[:TRANSFORMER_PROBE_ROWS]
    texts = [cell.texts[i] for i in picked]
    labels = [cell.labels[i] for i in picked]
    train_chars = sum(len(cell.texts[i]) for i in train_rows)
    load_s, seconds = run_isolated(_probe_transformer, spec, texts, labels, seed, max_length)
    return load_s, seconds, max(1.0, train_chars / max(1, sum(len(t) for t in texts)))
