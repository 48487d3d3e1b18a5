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
