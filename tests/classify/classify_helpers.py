"""Helpers for the classifier tests: generated texts with known labels, CSV / JSONL writers."""

from __future__ import annotations

import contextlib
import csv
import json
import random
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

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


def can_write_in(folder: Path) -> bool:
    try:
        (folder / ".probe").write_text("x")
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """``folder``, created and made read-only for the block: mode 555, and immutable
    (``chattr +i``) where permissions do not stop the user (root). Skips the test where
    neither works."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    immutable = False
    try:
        if can_write_in(folder) and shutil.which("chattr"):
            immutable = subprocess.run(["chattr", "+i", str(folder)], check=False).returncode == 0
        if can_write_in(folder):
            pytest.skip("no way to make a read-only folder here")
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        folder.chmod(0o755)


def labelled_rows(
    counts: dict[str, int], *, seed: int = 0, column: str = "label"
) -> list[dict[str, Any]]:
    """Rows of ``text`` and one label column, the text carrying its label's cue words."""
    rng = random.Random(seed)
    return [
        {"text": signal_text(label, rng), column: label}
        for label in labels_from_counts(counts, rng)
    ]
