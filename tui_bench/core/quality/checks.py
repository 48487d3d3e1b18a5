"""The answer checks a plan states outright: ``exact``, ``contains`` and ``regex``."""

from __future__ import annotations

import re

from tui_bench.core.quality.text import normalise

REGEX_FLAGS = re.IGNORECASE | re.DOTALL


def exact_match(text: str, expected: str) -> float:
    return 1.0 if normalise(text) == normalise(expected) else 0.0


def contains_fraction(text: str, needles: list[str]) -> tuple[float, list[str]]:
    """Share of ``needles`` found as case-folded substrings, and the ones missing."""
    if not needles:
        return 1.0, []
    hay = text.casefold()
    missing = [n for n in needles if n.casefold() not in hay]
    return (len(needles) - len(missing)) / len(needles), missing


def regex_match(text: str, pattern: str) -> tuple[float, str]:
    """1.0 if ``re.search(pattern, text, re.IGNORECASE | re.DOTALL)`` finds a match.

    Inline flags in the pattern still work (``(?m)``, ``(?-i:...)``). An invalid pattern
    scores 0 with a note; plan validation (``validate_expect``) reports it earlier.
    """
    try:
        found = re.search(pattern, text, REGEX_FLAGS)
    except re.error as exc:
        return 0.0, f"invalid regular expression: {exc}"
    return (1.0 if found else 0.0), ""
