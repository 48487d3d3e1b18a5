"""Helpers for the transformer tests: small real data from the ChatterBot corpus (shipped
offline by a package), picked by language and topic with a fixed seed."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from tui_bench.core.classify.corpora import chatterbot_rows

# four English topics the packaged MiniLM tells apart after one short epoch
EN_TOPICS = {"trivia": 60, "coding": 60, "AI": 60, "psychology": 60}


def chatterbot_csv(path: Path, picks: dict[str, dict[str, int]], *, seed: int = 0) -> Path:
    """``picks``: language -> topic -> how many conversations (at most). Columns text,
    topic, language; rows shuffled with ``seed``."""
    rows = chatterbot_rows(sorted(picks))
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    for lang, topics in picks.items():
        for topic, n in topics.items():
            mine = [r for r in rows if r["language"] == lang and r["topic"] == topic]
            assert mine, (lang, topic)
            rng.shuffle(mine)
            out += mine[:n]
    rng.shuffle(out)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "topic", "language"])
        writer.writeheader()
        writer.writerows(out)
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def expected_device() -> str:
    """Where a fine-tune trains on this machine, as its training info says it."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def expected_batch(max_length: int, n_rows: int) -> int:
    """The batch a fine-tune plans on this machine for ``n_rows`` fit rows
    (``finetune.batch_size_for``)."""
    import torch

    from tui_bench.core.classify.finetune import batch_size_for

    return batch_size_for(torch.device(expected_device()), max_length, n_rows)


def fit_rows(train_labels: list[str], seed: int = 0) -> int:
    """How many of a training part's rows a benchmark's fine-tune fits on (the rest is
    its validation carve, ``trainrows.carve_validation``)."""
    from tui_bench.core.classify.trainrows import carve_validation

    carve = carve_validation(train_labels, seed)
    return len(carve[0]) if carve is not None else len(train_labels)


_ANIMALS = ["cat", "dog", "horse", "rabbit", "goat", "duck", "mouse", "sheep", "fox", "owl"]
_VERBS = ["sleeps", "runs", "eats", "hides", "plays", "waits"]
_PLACES = ["garden", "field", "barn", "forest", "meadow", "yard", "river", "hill"]
_FUNCS = ["parse", "load", "save", "render", "connect", "sort", "merge", "index"]


def easy_rows(n: int, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` short texts of two classes no encoder confuses, alternating: ``animals``
    ("the fox hides in the barn") and ``code`` ("error 404 in function parse at line 7")."""
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[str] = []
    for i in range(n):
        if i % 2 == 0:
            a, v, p = rng.choice(_ANIMALS), rng.choice(_VERBS), rng.choice(_PLACES)
            texts.append(f"the {a} {v} in the {p}")
            labels.append("animals")
        else:
            code, line = rng.randint(100, 999), rng.randint(1, 500)
            texts.append(f"error {code} in function {rng.choice(_FUNCS)} at line {line}")
            labels.append("code")
    return texts, labels
