"""The chosen model, trained on all the data of a category and saved with its card.

``DIR/model-<category>[-<lang>].joblib`` holds a fitted scikit-learn ``Pipeline``
(vectoriser, classifier): ``joblib.load(path).predict(["some text"])`` works with
scikit-learn alone (a frozen-encoder pipeline needs tui-bench and its finetune extra: its
vectoriser loads the encoder). A fine-tuned transformer is the folder
``DIR/model-<category>[-<lang>]/``, written by ``save_pretrained`` (model with its labels,
tokenizer): ``transformers.pipeline("text-classification", model=folder)`` reads it, and
the card gives the maximum length it was trained with. It trains in the worker process,
for the epochs early stopping kept in the benchmark. ``DIR/model-<category>[-<lang>].json`` is its card: labels, the
benchmark's metrics for that cell, sample counts, the training data hash, library
versions, creation time, candidate name and parameters. Names other than plain
lower-case ones are slugged and get a hash suffix (``model_stem``): every category has
its own files, whatever its name holds.

Learners that train by epochs get ``FINAL_EPOCH_FACTOR`` times the quick benchmark's
epochs, with no validation split (all rows train; nothing is held out to stop early).

Training data hash: sha256 over the rows in file order, each row written as the UTF-8
JSON array ``[text, label]`` (``ensure_ascii=False``, default separators) followed by
``\\n``. ``data_sha256(texts, labels)`` computes it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy
import sklearn
from sklearn.pipeline import Pipeline

import tui_bench
from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify.train import fit_by_epochs, fit_once
from tui_bench.core.fmt import cell_name

FINAL_EPOCH_FACTOR = 2
CARD_VERSION = 1


def data_sha256(texts: Sequence[str], labels: Sequence[str]) -> str:
    h = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        h.update(json.dumps([text, label], ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


SLUG_MAX_BYTES = 64
# A name kept as it is: lower case (case-insensitive file systems), NFC (macOS stores
# NFD), no "-" (it separates the parts of a stem), nothing a file system may refuse.
_PLAIN_NAME = re.compile(r"[^\W_][\w.]*", flags=re.UNICODE)


def slug(name: str) -> str:
    """A file-name-safe form of a category or language name: no path separator, at most
    ``SLUG_MAX_BYTES`` bytes of UTF-8. Lossy: ``model_stem`` keeps stems apart."""
    cleaned = re.sub(r"[^\w.-]+", "_", name, flags=re.UNICODE).strip("._")
    cut = cleaned.encode("utf-8")[:SLUG_MAX_BYTES].decode("utf-8", errors="ignore")
    return cut.rstrip("._") or "category"


def _plain(name: str) -> bool:
    return (
        _PLAIN_NAME.fullmatch(name) is not None
        and name == name.lower()
        and name == unicodedata.normalize("NFC", name)
        and slug(name) == name
    )


def model_stem(category: str, language: str | None) -> str:
    """``model-<category>[-<language>]``, unique per (category, language) and safe as a
    file name whatever the names hold.

    Plain names (lower case letters, digits, ``_`` and ``.``) are used as they are. Any
    other name is slugged, and the stem ends with ``--`` and a hash of the exact names:
    two categories that slug alike (``x/y``, ``x y``, ``X_y``) get different files, and
    no hashed stem equals a plain one (a plain stem never holds ``--``).
    """
    parts = [category] if language is None else [category, language]
    stem = "model-" + "-".join(slug(p) for p in parts)
    if all(_plain(p) for p in parts):
        return stem
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"{stem}--{digest[:12]}"


def library_versions(*, transformers: bool = False) -> dict[str, str]:
    out = {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
        "tui-bench": tui_bench.__version__,
    }
    if transformers:  # only in the worker process that trained it: never loaded otherwise
        import torch
        import transformers as hf

        out.update(torch=torch.__version__, transformers=hf.__version__)
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


def _params(step: Any) -> dict[str, Any] | None:
    if step is None:
        return None
    return {
        "class": f"{type(step).__module__}.{type(step).__name__}",
        "params": {
            k: _jsonable(v)
            for k, v in step.get_params(deep=False).items()
            if k != "steps" and not hasattr(v, "get_params")
        },
        "steps": [_params(s) for _, s in step.steps] if isinstance(step, Pipeline) else None,
    }


@dataclass
class FinalModel:
    candidate: str
    category: str
    language: str | None
    model_path: str
    card_path: str
    n_samples: int
    labels: list[str]
    data_sha256: str
    train_time_s: float
    epochs: int | None
    reason: str
    #: what the user must know about this model (its batch halved to fit GPU memory)
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # full precision: reports are rebuilt from it


def final_epochs(
    spec: cand.CandidateSpec, quick_epochs: int, metrics: dict[str, Any] | None
) -> int | None:
    """The epochs of a final training: ``FINAL_EPOCH_FACTOR`` × the quick ones for
    scikit-learn learners that train by epochs; for a fine-tuned transformer, the epoch
    early stopping kept in the benchmark (no validation split here to stop on)."""
    if spec.kind == cand.FINETUNE:
        best = (metrics or {}).get("best_epoch")
        return int(best) if isinstance(best, int) and best > 0 else quick_epochs
    return quick_epochs * FINAL_EPOCH_FACTOR if spec.by_epochs else None


def train_final(
    candidate: str,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    category: str,
    language: str | None,
    output_dir: str | Path,
    quick_epochs: int,
    seed: int,
    metrics: dict[str, Any] | None = None,
    reason: str = "",
    dropped_classes: dict[str, int] | None = None,
    max_length: int = 256,
    isolated: bool = True,
) -> FinalModel:
    """Train ``candidate`` on every row and write the model and its JSON card: a joblib
    pipeline, or for a fine-tuned transformer a ``save_pretrained`` folder (model and
    tokenizer). A transformer trains in the worker process (``isolated``)."""
    spec = cand.get(candidate)
    if spec.isolated and isolated:
        from tui_bench.core.classify.parallel import run_isolated

        return run_isolated(  # type: ignore[no-any-return]
            train_final,
            candidate,
            list(texts),
            list(labels),
            category=category,
            language=language,
            output_dir=output_dir,
            quick_epochs=quick_epochs,
            seed=seed,
            metrics=metrics,
            reason=reason,
            dropped_classes=dropped_classes,
            max_length=max_length,
            isolated=False,
        )
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    classes = sorted(set(labels))
    epochs = final_epochs(spec, quick_epochs, metrics)
    stem = model_stem(category, language)
    card_path = out / f"{stem}.json"
    t0 = time.perf_counter()
    extra: dict[str, Any]
    if spec.kind == cand.FINETUNE:
        model_path, extra = _fine_tune_final(
            spec, texts, labels, classes, out / stem, epochs or 1, seed, max_length
        )
        train_time = time.perf_counter() - t0
    else:
        if spec.by_epochs:
            vec, clf, _ = fit_by_epochs(
                spec,
                texts,
                labels,
                classes=classes,
                epochs=epochs or 1,
                seed=seed,
                early_stopping=False,
            )
        else:
            vec, clf = fit_once(spec, texts, labels, seed=seed)
        train_time = time.perf_counter() - t0
        steps = (
            [("vectorizer", vec), ("classifier", clf)] if vec is not None else [("classifier", clf)]
        )
        model_path = out / f"{stem}.joblib"
        joblib.dump(Pipeline(steps), model_path)
        extra = {
            "params": {"vectorizer": _params(vec), "classifier": _params(clf)},
            "versions": library_versions(transformers=spec.isolated),
            "usage": f"joblib.load({model_path.name!r}).predict(['some text'])",
        }
        if spec.isolated:
            extra["needs"] = f"tui-bench with its finetune extra (the encoder: {spec.model})"
    digest = data_sha256(texts, labels)
    card = {
        "card_version": CARD_VERSION,
        "candidate": candidate,
        "kind": spec.kind,
        "description": spec.description,
        "category": category,
        "language": language,
        "labels": classes,
        "class_counts": dict(sorted(Counter(labels).items())),
        "n_samples": len(labels),
        "dropped_classes": dropped_classes or {},  # too rare to train: not in the data hashed
        "data_sha256": digest,
        "data_hash_rule": "sha256 of each row as UTF-8 JSON [text, label] + newline, file order",
        "epochs": epochs,
        "seed": seed,
        "train_time_s": round(train_time, 4),
        "benchmark_metrics": metrics or {},
        "chosen_because": reason,
        "params": extra.pop("params"),
        "versions": extra.pop("versions"),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_file": model_path.name,
        **extra,
    }
    card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return FinalModel(
        candidate=candidate,
        category=category,
        language=language,
        model_path=str(model_path),
        card_path=str(card_path),
        n_samples=len(labels),
        labels=classes,
        data_sha256=digest,
        train_time_s=train_time,
        epochs=epochs,
        reason=reason,
        warning=_halved(f"final model {candidate} for {cell_name(category, language)}", card),
    )


def _halved(head: str, card: dict[str, Any]) -> str | None:
    """The warning of a fine-tune whose batch was halved to fit GPU memory (the card's
    training facts), as a benchmark's candidate says it; None otherwise."""
    training = card.get("training") or {}
    batch, planned = training.get("batch_size"), training.get("batch_size_planned")
    if not isinstance(batch, int) or not isinstance(planned, int) or batch >= planned:
        return None
    from tui_bench.core.classify import fit_batch  # a fine-tune ran here: torch is loaded

    failed = training.get("batch_sizes_out_of_memory") or [planned]
    return fit_batch.halved_note(head, planned, batch, failed, trained=True)


def _fine_tune_final(
    spec: cand.CandidateSpec,
    texts: Sequence[str],
    labels: Sequence[str],
    classes: list[str],
    folder: Path,
    epochs: int,
    seed: int,
    max_length: int,
) -> tuple[Path, dict[str, Any]]:
    """Fine-tune on every row and ``save_pretrained`` into ``folder``: (folder, the card's
    own fields for it)."""
    from tui_bench.core.classify.finetune import fit_transformer
    from tui_bench.core.classify.trainrows import balanced_class_weight

    ft, info = fit_transformer(
        spec.model or spec.name,
        texts,
        labels,
        classes=classes,
        epochs=epochs,
        seed=seed,
        patience=epochs,
        carve=None,
        class_weight=balanced_class_weight(labels),
        max_length=max_length,
    )
    assert ft is not None  # nothing cancels a final training
    ft.save(folder)
    training = info["training"]
    return folder, {
        "params": {
            "model": spec.model,
            "max_length": ft.max_length,
            "batch_size": training["batch_size"],
            "learning_rate": training["learning_rate"],
            "loss": "cross-entropy weighted by the balanced class weights",
            "optimizer": "AdamW, weight decay 0.01, linear warm-up then decay",
        },
        "versions": library_versions(transformers=True),
        "max_length": ft.max_length,
        "training": training,
        "usage": (
            f"transformers.pipeline('text-classification', model={folder.name!r})"
            f"(['some text'], truncation=True, max_length={ft.max_length})"
        ),
    }
