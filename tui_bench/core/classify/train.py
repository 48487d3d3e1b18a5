"""Quick training and evaluation of candidates (many at once: :mod:`.parallel`).

One ``TrainJob`` is one candidate on one category (and one language when training by
language). Its data is split once in the parent (``splits``), with the run's seed, so
every candidate of a cell sees the same train and test rows:

- hold-out (default): a stratified train / test split (``test_size``, at least one test
  row per class);
- cross-validation (``cv`` ≥ 2): stratified k-fold, ``repeats`` times over (each repeat
  shuffled with its own seed: seed, seed + 1 ...); metrics are the mean over the J = k ×
  repeats folds, ``f1_macro_sd`` their sample standard deviation, and ``fold_f1`` keeps
  each fold's macro-F1 for the corrected resampled t-test (``significance``).

Learners that train by epochs get a validation split carved from the training part
(stratified, ``trainrows.VALIDATION_FRACTION``, at least one row per class). Each epoch is one
``partial_fit`` over the fit rows in a fresh seeded order; after it, macro-F1 on the
validation rows decides: the best epoch's model is kept, and training stops after
``patience`` epochs without improvement (early stopping). Other learners fit once on the
whole training part. A fine-tuned transformer (kind ``finetune``) trains by epochs the
same way, by optimiser steps (``finetune``), on the same validation split.

Figures per job: macro-F1, accuracy, balanced accuracy, Matthews correlation, per-class F1,
minority-class F1 (the class with the fewest training rows; ties: label order), training
time (wall seconds: vectoriser fit and transform, every epoch and its validation included)
and prediction time per 1,000 texts (vectorising included), on the test rows. The
confusion matrix (rows: true class, columns: predicted, classes in label order) is summed
over folds, and per-class precision, recall, F1 and support are read from it: on a
hold-out split they are scikit-learn's ``precision_recall_fscore_support``
(``zero_division=0``). A hold-out job also keeps its test predictions, in memory only, for
the paired bootstrap (``significance``).

``jobs == 1`` trains in this process and every event is live. More jobs run in loky
worker processes (joblib); their events come back through a manager queue and are
published from the caller's thread as they arrive. A failing candidate is recorded with
its error; the run goes on, and so does a worker process that dies: its jobs are
recorded as failed. Transformer candidates (``isolated``) always train in a worker.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
)

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify.events import CandidateStarted, EpochProgress
from tui_bench.core.classify.trainrows import (
    balanced_class_weight,
    balanced_row_weights,
    carve_validation,
    minority_of,
)
from tui_bench.core.events import Event

DEFAULT_PATIENCE = 2
CANCELLED = "cancelled"

Publish = Callable[[Event], None]


@dataclass
class TrainJob:
    index: int
    total: int
    candidate: str
    category: str
    language: str | None
    texts: list[str]
    labels: list[str]
    folds: list[tuple[list[int], list[int]]]  # (train rows, test rows) per fold
    epochs: int
    seed: int
    patience: int = DEFAULT_PATIENCE
    spec: cand.CandidateSpec | None = None  # None: the catalog entry named ``candidate``
    max_length: int = 256  # transformers: the cap on the tokens per text
    threads: int | None = None  # transformers on the CPU: torch's threads (None: default)

    def candidate_spec(self) -> cand.CandidateSpec:
        return self.spec if self.spec is not None else cand.get(self.candidate)


@dataclass
class CandidateResult:
    candidate: str
    category: str
    language: str | None
    baseline: bool
    n_classes: int
    classes: list[str]
    n_train: int
    n_test: int
    folds: int
    f1_macro: float | None = None
    f1_macro_sd: float | None = None  # across folds, when cross-validating
    accuracy: float | None = None
    balanced_accuracy: float | None = None
    per_class_f1: dict[str, float] = field(default_factory=dict)
    minority_class: str | None = None
    minority_f1: float | None = None
    train_time_s: float | None = None
    predict_ms_per_1k: float | None = None
    by_epochs: bool = False
    n_epochs: int | None = None  # planned
    epochs_run: int | None = None
    best_epoch: int | None = None  # cross-validation: the most frequent best epoch
    val_f1_by_epoch: list[float] = field(default_factory=list)  # hold-out only
    error: str | None = None
    mcc: float | None = None  # Matthews correlation, mean over folds
    fold_f1: list[float] = field(default_factory=list)  # macro-F1 of each fold, in order
    # per class: precision, recall, f1, support, from ``confusion``
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)  # [true][predicted], summed
    # transformers: device, max length, batch, throughput, loss per epoch, GPU figures
    training: dict[str, Any] = field(default_factory=dict)
    # The hold-out test predictions (test rows in order), for the paired bootstrap. In
    # memory only: never serialised, never compared.
    test_pred: list[str] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None and self.f1_macro is not None

    @property
    def binary(self) -> bool:
        return self.n_classes == 2

    def to_dict(self, digits: int | None = None) -> dict[str, Any]:
        """The stored form. Full precision unless ``digits`` is given: reports are
        rebuilt from it, and a value rounded here and again when shown would differ."""
        out = asdict(self)
        out.pop("test_pred", None)
        if digits is None:
            return out
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, digits)
        out["per_class_f1"] = {k: round(v, digits) for k, v in self.per_class_f1.items()}
        out["val_f1_by_epoch"] = [round(v, digits) for v in self.val_f1_by_epoch]
        out["fold_f1"] = [round(v, digits) for v in self.fold_f1]
        out["per_class"] = {
            label: {k: round(v, digits) if isinstance(v, float) else v for k, v in m.items()}
            for label, m in self.per_class.items()
        }
        return out


# --------------------------------------------------------------------------- one fit


@dataclass
class _FoldOutcome:
    f1_macro: float
    accuracy: float
    balanced_accuracy: float
    per_class_f1: dict[str, float]
    minority_class: str
    minority_f1: float
    train_time_s: float
    predict_ms_per_1k: float
    epochs_run: int | None
    best_epoch: int | None
    val_f1_by_epoch: list[float]
    training: dict[str, Any]
    mcc: float
    confusion: np.ndarray
    pred: list[str]


class _Cancelled(Exception):
    pass


def fit_by_epochs(
    spec: cand.CandidateSpec,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    classes: Sequence[str],
    epochs: int,
    seed: int,
    patience: int = DEFAULT_PATIENCE,
    on_epoch: Callable[[int, float | None, float, bool], None] | None = None,
    early_stopping: bool = True,
) -> tuple[Any, Any, dict[str, Any]]:
    """Vectoriser and classifier trained by ``partial_fit`` epochs; (vec, clf, info).

    With ``early_stopping`` the best epoch on a validation split is kept; without it (the
    final model on all the data) every epoch runs on every row.
    """
    t0 = time.perf_counter()
    carve = carve_validation(labels, seed) if early_stopping else None
    if carve is None:
        fit_rows, val_rows = list(range(len(labels))), []
    else:
        fit_rows, val_rows = carve
    fit_texts = [texts[i] for i in fit_rows]
    y_fit = np.asarray([labels[i] for i in fit_rows])
    vec, clf = spec.build(seed, balanced_class_weight(list(y_fit)))
    w_fit = balanced_row_weights(list(y_fit)) if spec.weighs_rows else None
    batch = getattr(clf, "batch_size", None)
    if isinstance(batch, int) and batch > len(fit_rows):
        clf.set_params(batch_size=max(1, len(fit_rows)))  # small cells: no clipping warning
    x_fit = vec.fit_transform(fit_texts)
    x_val = vec.transform([texts[i] for i in val_rows]) if val_rows else None
    y_val = [labels[i] for i in val_rows]
    class_array = np.asarray(sorted(classes))
    rng = np.random.default_rng(seed)
    best_clf, best_f1, best_epoch, stale = None, -1.0, None, 0
    history: list[float] = []
    epochs_run = 0
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(fit_rows))
        if w_fit is None:
            clf.partial_fit(x_fit[order], y_fit[order], classes=class_array)
        else:
            clf.partial_fit(
                x_fit[order], y_fit[order], classes=class_array, sample_weight=w_fit[order]
            )
        epochs_run = epoch
        if x_val is None:
            best_clf, best_epoch = clf, epoch
            if on_epoch is not None:
                on_epoch(epoch, None, time.perf_counter() - t0, True)
            continue
        score = float(
            f1_score(
                y_val, clf.predict(x_val), average="macro", labels=class_array, zero_division=0
            )
        )
        history.append(score)
        improved = score > best_f1
        if improved:
            best_clf, best_f1, best_epoch, stale = copy.deepcopy(clf), score, epoch, 0
        else:
            stale += 1
        if on_epoch is not None:
            on_epoch(epoch, score, time.perf_counter() - t0, improved)
        if stale >= patience:
            break
    info = {"epochs_run": epochs_run, "best_epoch": best_epoch, "val_f1_by_epoch": history}
    return vec, best_clf, info


def fit_once(
    spec: cand.CandidateSpec, texts: Sequence[str], labels: Sequence[str], *, seed: int
) -> tuple[Any, Any]:
    vec, clf = spec.build(seed, balanced_class_weight(labels))
    x = vec.fit_transform(list(texts)) if vec is not None else list(texts)
    if spec.weighs_rows:
        clf.fit(x, np.asarray(labels), sample_weight=balanced_row_weights(labels))
    else:
        clf.fit(x, np.asarray(labels))
    return vec, clf


def predict(vec: Any, clf: Any, texts: Sequence[str]) -> np.ndarray:
    x = vec.transform(list(texts)) if vec is not None else list(texts)
    return clf.predict(x)


def _evaluate_fold(
    job: TrainJob,
    spec: cand.CandidateSpec,
    train_rows: list[int],
    test_rows: list[int],
    classes: list[str],
    *,
    fold: int | None,
    emit: Callable[[Event], None],
    is_cancelled: Callable[[], bool],
) -> _FoldOutcome:
    train_texts = [job.texts[i] for i in train_rows]
    train_y = [job.labels[i] for i in train_rows]
    test_texts = [job.texts[i] for i in test_rows]
    test_y = [job.labels[i] for i in test_rows]

    t0 = time.perf_counter()
    info: dict[str, Any] = {"epochs_run": None, "best_epoch": None, "val_f1_by_epoch": []}
    if spec.kind == cand.FINETUNE:
        from tui_bench.core.classify.finetune import Where, fit_transformer

        carve = carve_validation(train_y, job.seed)
        clf, info = fit_transformer(
            spec.model or job.candidate,
            train_texts,
            train_y,
            classes=classes,
            epochs=job.epochs,
            seed=job.seed,
            patience=job.patience,
            carve=carve,
            class_weight=balanced_class_weight(
                [train_y[i] for i in carve[0]] if carve else train_y
            ),
            max_length=job.max_length,
            threads=job.threads,
            where=Where(job.candidate, job.category, job.language, fold),
            emit=emit,
            stop=is_cancelled,
        )
        if info["cancelled"]:
            raise _Cancelled
        vec = None
    elif spec.by_epochs:

        def on_epoch(epoch: int, score: float | None, elapsed: float, improved: bool) -> None:
            emit(
                EpochProgress(
                    candidate=job.candidate,
                    category=job.category,
                    language=job.language,
                    epoch=epoch,
                    n_epochs=job.epochs,
                    val_f1_macro=round(score, 4) if score is not None else None,
                    elapsed_s=round(elapsed, 4),
                    fold=fold,
                    improved=improved,
                )
            )
            if is_cancelled():
                raise _Cancelled

        vec, clf, info = fit_by_epochs(
            spec,
            train_texts,
            train_y,
            classes=classes,
            epochs=job.epochs,
            seed=job.seed,
            patience=job.patience,
            on_epoch=on_epoch,
        )
    else:
        vec, clf = fit_once(spec, train_texts, train_y, seed=job.seed)
    train_time = time.perf_counter() - t0

    t1 = time.perf_counter()
    pred = predict(vec, clf, test_texts)
    predict_time = time.perf_counter() - t1

    per_class = f1_score(test_y, pred, average=None, labels=classes, zero_division=0)
    per_class_f1 = {label: float(v) for label, v in zip(classes, per_class, strict=True)}
    minority = minority_of(train_y)
    return _FoldOutcome(
        f1_macro=float(f1_score(test_y, pred, average="macro", labels=classes, zero_division=0)),
        accuracy=float(accuracy_score(test_y, pred)),
        balanced_accuracy=float(balanced_accuracy_score(test_y, pred)),
        mcc=float(matthews_corrcoef(test_y, pred)),
        confusion=confusion_matrix(test_y, pred, labels=classes),
        pred=[str(p) for p in pred],
        per_class_f1=per_class_f1,
        minority_class=minority,
        minority_f1=per_class_f1[minority],
        train_time_s=train_time,
        predict_ms_per_1k=predict_time * 1000.0 / max(1, len(test_texts)) * 1000.0,
        epochs_run=info["epochs_run"],
        best_epoch=info["best_epoch"],
        val_f1_by_epoch=list(info["val_f1_by_epoch"]),
        training=dict(info.get("training") or {}),
    )


def empty_result(job: TrainJob, error: str | None = None) -> CandidateResult:
    """The result of a job before (or instead of) training it."""
    spec = job.candidate_spec()
    first_train, first_test = job.folds[0]
    return CandidateResult(
        candidate=job.candidate,
        category=job.category,
        language=job.language,
        baseline=spec.baseline,
        n_classes=len(set(job.labels)),
        classes=sorted(set(job.labels)),
        n_train=len(first_train),
        n_test=len(first_test),
        folds=len(job.folds),
        by_epochs=spec.by_epochs,
        n_epochs=job.epochs if spec.by_epochs else None,
        error=error,
    )


def run_job(
    job: TrainJob,
    emit: Callable[[Event], None],
    is_cancelled: Callable[[], bool] = lambda: False,
) -> CandidateResult:
    """Train and evaluate one candidate on one cell; never raises for a learner's failure."""
    spec = job.candidate_spec()
    classes = sorted(set(job.labels))
    result = empty_result(job)
    if is_cancelled():
        result.error = CANCELLED
        return result
    emit(
        CandidateStarted(
            candidate=job.candidate,
            category=job.category,
            language=job.language,
            index=job.index,
            total=job.total,
        )
    )
    outcomes: list[_FoldOutcome] = []
    try:
        for i, (train_rows, test_rows) in enumerate(job.folds, start=1):
            fold = i if len(job.folds) > 1 else None
            outcomes.append(
                _evaluate_fold(
                    job,
                    spec,
                    train_rows,
                    test_rows,
                    classes,
                    fold=fold,
                    emit=emit,
                    is_cancelled=is_cancelled,
                )
            )
    except _Cancelled:
        result.error = CANCELLED
        return result
    except Exception as exc:  # a learner failing is a result, not a crash
        result.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return result
    _merge(result, outcomes)
    return result


def _merge(result: CandidateResult, outcomes: list[_FoldOutcome]) -> None:
    def mean(xs: Sequence[float]) -> float:
        return float(statistics.fmean(xs))

    f1s = [o.f1_macro for o in outcomes]
    result.f1_macro = mean(f1s)
    result.f1_macro_sd = float(statistics.stdev(f1s)) if len(f1s) >= 2 else None
    result.accuracy = mean([o.accuracy for o in outcomes])
    result.balanced_accuracy = mean([o.balanced_accuracy for o in outcomes])
    result.per_class_f1 = {
        label: mean([o.per_class_f1[label] for o in outcomes]) for label in result.classes
    }
    # The minority class is a property of the training labels: the same in every fold of
    # a stratified split except for ties, where the first fold decides.
    result.minority_class = outcomes[0].minority_class
    result.minority_f1 = result.per_class_f1[result.minority_class]
    result.train_time_s = mean([o.train_time_s for o in outcomes])
    result.predict_ms_per_1k = mean([o.predict_ms_per_1k for o in outcomes])
    result.mcc = mean([o.mcc for o in outcomes])
    result.fold_f1 = f1s
    confusion = np.sum([o.confusion for o in outcomes], axis=0)
    result.confusion = confusion.astype(int).tolist()
    result.per_class = per_class_from_confusion(result.classes, result.confusion)
    if len(outcomes) == 1:
        result.test_pred = outcomes[0].pred
    result.training = outcomes[0].training  # the first fold's
    if result.by_epochs:
        result.epochs_run = max(o.epochs_run or 0 for o in outcomes)
        best = Counter(o.best_epoch for o in outcomes if o.best_epoch is not None)
        result.best_epoch = min(best, key=lambda e: (-best[e], e)) if best else None
        if len(outcomes) == 1:
            result.val_f1_by_epoch = outcomes[0].val_f1_by_epoch


def per_class_from_confusion(
    classes: Sequence[str], confusion: Sequence[Sequence[int]]
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each class from a confusion matrix
    ([true][predicted]); an undefined ratio (nothing predicted, or no row of the class)
    is 0, as scikit-learn's ``zero_division=0``."""
    m = np.asarray(confusion, dtype=np.int64).reshape(len(classes), len(classes))
    out: dict[str, dict[str, float]] = {}
    for i, label in enumerate(classes):
        tp = int(m[i, i])
        support = int(m[i, :].sum())
        predicted = int(m[:, i].sum())
        out[label] = {
            "precision": tp / predicted if predicted else 0.0,
            "recall": tp / support if support else 0.0,
            "f1": 2 * tp / (support + predicted) if support + predicted else 0.0,
            "support": support,
        }
    return out
