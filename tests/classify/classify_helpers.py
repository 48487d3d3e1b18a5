"""Helpers for the classifier tests: generated texts with known labels, CSV / JSONL writers."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FILLER = [f"w{i}" for i in range(60)]


def signal_text(label: str, rng: random.Random, *, strength: int = 3) -> str:
    """A text that carries its label as repeated cue words among filler words."""
    cues = [f"{label}cue{j}" for j in range(4)]
    words = rng.choices(cues, k=strength) + rng.choices(FILLER, k=8)
    rng.shuffle(words)
    return " ".join(words)


def labels_from_counts(counts: dict[str, int], rng: random.Random) -> list[str]:
    labels = [label for label, n in counts.items() for _ in range(n)]
    rng.shuffle(labels)
    return labels


def write_csv(
    path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None
) -> Path:
    cols = list(columns or rows[0].keys())
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in cols})
    return path


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return path


def annotated_rows(
    categories: dict[str, dict[str, int]], *, n_rows: int, seed: int = 0
) -> list[dict[str, Any]]:
    """Rows whose ``annotation`` JSON holds one label per category, with the given counts.

    Each category's counts must add up to at most ``n_rows``; rows past that have no key
    for the category. The text carries cues for every label it holds.
    """
    rng = random.Random(seed)
    per_cat = {}
    for name, counts in categories.items():
        labels = labels_from_counts(counts, rng)
        assert len(labels) <= n_rows
        per_cat[name] = labels + [None] * (n_rows - len(labels))
    rows = []
    for i in range(n_rows):
        ann = {name: labels[i] for name, labels in per_cat.items() if labels[i] is not None}
        text = " ".join(signal_text(f"{name}{label}", rng) for name, label in ann.items())
        rows.append({"id": i, "text": text or "empty filler", "annotation": json.dumps(ann)})
    return rows
