"""What a prompt's ``expect`` makes applicable, and the scores of one answer: every
scorer applies through :func:`score_detail`, and :func:`validate_expect` finds a plan's
unusable ``expect`` before any run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from tui_bench.core.quality.checks import (
    REGEX_FLAGS,
    contains_fraction,
    exact_match,
    regex_match,
)
from tui_bench.core.quality.code import CODE_TIMEOUT_S, run_code_tests
from tui_bench.core.quality.heuristic import heuristic_parts
from tui_bench.core.quality.reference import chrf, rouge_l


class Expect(Protocol):
    """What a good answer looks like (the plan's ``Expect``): scoring only reads these
    attributes, so this module needs neither the plan module nor pydantic."""

    reference: str | None
    contains: list[str]
    regex: str | None
    exact: str | None
    tests: str | None
    language: str


SCORERS: dict[str, str] = {
    "heuristic": (
        "heuristic, not a measure of correctness: length adequacy x non-repetition"
        " x (1/2 + 1/2 share of prompt content words in the answer)"
    ),
    "exact": "1 if the answer equals expect.exact (case-folded, whitespace collapsed)",
    "contains": "share of expect.contains strings found in the answer (case-insensitive)",
    "regex": "1 if expect.regex matches anywhere in the answer (IGNORECASE | DOTALL)",
    "rouge_l": "ROUGE-L F1: longest common subsequence of lowercased words vs expect.reference",
    "chrf": "chrF (Popovic 2015, sacrebleu defaults: char 1..6-grams, beta 2, no spaces), 0..1",
    "code_pass": "1 if the answer's code passes expect.tests on the first try (subprocess, time limit)",
}


@dataclass(frozen=True)
class QualityResult:
    """Scores in [0, 1] by scorer name, and one-line notes explaining some of them."""

    scores: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def score(
    expect: Expect | None,
    text: str,
    *,
    prompt: str,
    task: str,
    max_tokens: int | None = None,
    code_timeout_s: float = CODE_TIMEOUT_S,
) -> dict[str, float]:
    """The applicable scores of ``text``, each in [0, 1]; see :func:`score_detail`."""
    return score_detail(
        expect, text, prompt=prompt, task=task, max_tokens=max_tokens, code_timeout_s=code_timeout_s
    ).scores


def score_detail(
    expect: Expect | None,
    text: str,
    *,
    prompt: str,
    task: str,
    max_tokens: int | None = None,
    code_timeout_s: float = CODE_TIMEOUT_S,
) -> QualityResult:
    """Score ``text`` (a model's answer to ``prompt``) with every scorer that applies.

    ``heuristic`` always; ``exact`` / ``contains`` / ``regex`` / ``rouge_l`` + ``chrf`` /
    ``code_pass`` when ``expect`` sets ``exact`` / a non-empty ``contains`` / ``regex`` /
    ``reference`` / ``tests``. ``code_pass`` runs a Python subprocess for up to
    ``code_timeout_s`` seconds: call this off the event loop (``asyncio.to_thread``) and
    not while a measured request is running.
    """
    scores: dict[str, float] = {}
    notes: dict[str, str] = {}

    parts = heuristic_parts(text, prompt=prompt, task=task, max_tokens=max_tokens)
    scores["heuristic"] = parts.value
    notes["heuristic"] = parts.describe()

    if expect is not None:
        if expect.exact is not None:
            scores["exact"] = exact_match(text, expect.exact)
        if expect.contains:
            value, missing = contains_fraction(text, expect.contains)
            scores["contains"] = value
            if missing:
                notes["contains"] = "missing: " + ", ".join(repr(s) for s in missing)
        if expect.regex is not None:
            value, note = regex_match(text, expect.regex)
            scores["regex"] = value
            if note:
                notes["regex"] = note
        if expect.reference is not None:
            scores["rouge_l"] = rouge_l(text, expect.reference)
            scores["chrf"] = chrf(text, expect.reference)
        if expect.tests is not None and expect.tests.strip():
            value, note = run_code_tests(text, expect.tests, timeout_s=code_timeout_s)
            scores["code_pass"] = value
            if note:
                notes["code_pass"] = note
    return QualityResult(scores=scores, notes=notes)


def validate_expect(expect: Expect | None) -> str | None:
    """The first problem in ``expect`` as ``"field: message"``, or ``None`` if usable.

    Checks that ``regex`` compiles, that ``tests`` is valid Python syntax (compiled, never
    run) and that no ``contains`` entry is empty. Plan validation prefixes the field with
    the prompt's location (``prompts[2].expect.regex: ...``).
    """
    if expect is None:
        return None
    if expect.regex is not None:
        try:
            re.compile(expect.regex, REGEX_FLAGS)
        except re.error as exc:
            where = f" at position {exc.pos}" if exc.pos is not None else ""
            return f"regex: invalid regular expression: {exc.msg}{where}"
    for i, needle in enumerate(expect.contains):
        if not needle.strip():
            return f"contains[{i}]: empty string (it would match every answer)"
    if expect.tests is not None:
        try:
            compile(expect.tests, "<expect.tests>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"tests: Python syntax error: {exc.msg} (line {exc.lineno})"
        except ValueError as exc:  # e.g. null bytes
            return f"tests: {exc}"
    return None
