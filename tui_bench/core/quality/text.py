"""The word tokens and the normalised form every text scorer compares: one definition,
so that the heuristic, the exact match and ROUGE-L see the same words."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lowercased ``\\w+`` tokens (Unicode-aware, no stemming, no language rules)."""
    return _WORD.findall(text.lower())


def normalise(text: str) -> str:
    """Stripped, case-folded, every whitespace run collapsed to one space."""
    return " ".join(text.split()).casefold()
