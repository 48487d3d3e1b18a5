"""What a prompt's ``expect`` makes applicable, the scores of one answer, and the
default composite that sums them up: every text scorer applies through
:func:`score_detail`, :func:`combine` makes the ``composite`` once the model-based
scores are in, and :func:`validate_expect` finds a plan's unusable ``expect`` before any
run.

The default composite (``composite``), per task type::

    every task      fluency x repetition x no_refusal x cut
                    x lang                  (when the expected language can be told)
                    x exact x contains x regex x code_pass   (those the plan's expect sets)
    code_generation, code_correction
                    the same without lang, x code_parses
    cut             1, or 0.25 when not_truncated is 0 (stopped at the token limit
                    mid-sentence: a fluent answer cut off scores at most 0.25)

What it measures: whether an answer is a fluent, complete, non-repeating reply in the
right language (parsable code for code tasks) that does not refuse, and passes the
checks the plan states. Range 0..1; a good answer scores about its fluency (0.7..1.0),
word salad, an empty answer, a loop, a refusal or the wrong language about 0, a cut-off
answer at most 0.25. It needs ``fluency``: a run without the scoring model has no
composite. Blind spots: it does not know whether an answer is *correct* (a fluent wrong
fact scores like a right one) unless the plan's expect says what is right; the
fluency's and each check's own blind spots (see :mod:`.fluency`, :mod:`.task_checks`).
``rouge_l``, ``chrf``, ``heuristic`` and ``judge`` are reported beside it, never in it:
a correct paraphrase scores low against a single reference, the heuristic cannot tell
word salad from an answer (``tests/test_quality_fixtures.py`` shows it), and a small
judge is noisy.
"""

from __future__ import annotations

import asyncio
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
from tui_bench.core.quality.task_checks import (
    CODE_TASKS,
    code_parses,
    expected_language,
    language_check,
    no_refusal,
    not_truncated,
    repetition,
)


class Expect(Protocol):
    """What a good answer looks like (the plan's ``Expect``): scoring only reads these
    attributes, so this module needs neither the plan module nor pydantic."""

    reference: str | None
    contains: list[str]
    regex: str | None
    exact: str | None
    tests: str | None
    language: str
    lang: str | None  # the answer's natural language (ISO 639-1), when the plan says it


SCORERS: dict[str, str] = {
    "composite": (
        "the default composite: fluency x repetition x no_refusal x lang (code: code_parses)"
        " x the plan's checks, x 0.25 if cut off; 0..1 (core/quality/composite.py); not the"
        " heuristic, which cannot tell word salad from an answer"
    ),
    "fluency": (
        "mean token log-probability of the answer after the prompt under the scoring model,"
        " logistic around -3.55 (scale 0.30): 0..1"
    ),
    "repetition": "1 - repeated word 4-grams: 1 at >= 90% distinct, 0 at <= 50%",
    "no_refusal": "0 if the answer opens with a refusal (English phrasings), else 1",
    "not_truncated": "0 if generation hit the token limit mid-sentence, else 1",
    "lang": "1 if the answer is in the expected language (or too short to tell), else 0",
    "code_parses": "1 if the answer's code block parses as Python (ast.parse), else 0",
    "judge": "LLM judge's grade 1..5 as (grade - 1) / 4, from the plan's [quality] judge_model",
    # this text is in reports pinned by golden files: the composite's says it is left out
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
    finish_reason: str | None = None,
    code_timeout_s: float = CODE_TIMEOUT_S,
) -> dict[str, float]:
    """The applicable scores of ``text``, each in [0, 1]; see :func:`score_detail`."""
    return score_detail(
        expect,
        text,
        prompt=prompt,
        task=task,
        max_tokens=max_tokens,
        finish_reason=finish_reason,
        code_timeout_s=code_timeout_s,
    ).scores


async def score_async(
    expect: Expect | None,
    text: str,
    *,
    prompt: str,
    task: str,
    max_tokens: int | None = None,
    finish_reason: str | None = None,
) -> dict[str, float]:
    """:func:`score` for an event loop: in a thread when it runs the answer's code
    (``expect.tests``), inline otherwise (the checks take microseconds)."""

    def run() -> dict[str, float]:
        return score(
            expect,
            text,
            prompt=prompt,
            task=task,
            max_tokens=max_tokens,
            finish_reason=finish_reason,
        )

    if expect is not None and expect.tests:
        return await asyncio.to_thread(run)
    return run()


def score_detail(
    expect: Expect | None,
    text: str,
    *,
    prompt: str,
    task: str,
    max_tokens: int | None = None,
    finish_reason: str | None = None,
    code_timeout_s: float = CODE_TIMEOUT_S,
) -> QualityResult:
    """Score ``text`` (a model's answer to ``prompt``) with every scorer that applies.

    The task checks always: ``repetition``, ``no_refusal``, ``not_truncated`` (from
    ``finish_reason``, the request's), and ``lang`` when the expected language can be
    told (not for code tasks), ``code_parses`` for code tasks; ``heuristic`` always;
    ``exact`` / ``contains`` / ``regex`` / ``rouge_l`` + ``chrf`` /
    ``code_pass`` when ``expect`` sets ``exact`` / a non-empty ``contains`` / ``regex`` /
    ``reference`` / ``tests``. ``code_pass`` runs a Python subprocess for up to
    ``code_timeout_s`` seconds: call this off the event loop (``asyncio.to_thread``) and
    not while a measured request is running.
    """
    scores: dict[str, float] = {}
    notes: dict[str, str] = {}

    checks = [
        ("repetition", repetition(text)),
        ("no_refusal", no_refusal(text)),
        ("not_truncated", not_truncated(text, finish_reason)),
    ]
    if task in CODE_TASKS:
        checks.append(("code_parses", code_parses(text)))
    else:
        wanted = expected_language(prompt, task, getattr(expect, "lang", None))
        if wanted is not None:
            checks.append(("lang", language_check(text, wanted)))
    for name, (value, note) in checks:
        scores[name] = value
        if note:
            notes[name] = note

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


# what multiplies the composite beside fluency, and a cut-off answer's factor
GATES = (
    "repetition",
    "no_refusal",
    "lang",
    "code_parses",
    "exact",
    "contains",
    "regex",
    "code_pass",
)
CUT_OFF_FACTOR = 0.25


def combine(scores: dict[str, float]) -> float | None:
    """The default composite of one answer's ``scores`` (the module's doc), or ``None``
    without ``fluency``. The task type shows in which checks :func:`score_detail` made."""
    if "fluency" not in scores:
        return None
    value = scores["fluency"]
    for name in GATES:
        value *= scores.get(name, 1.0)
    if scores.get("not_truncated", 1.0) < 1.0:
        value *= CUT_OFF_FACTOR
    return value


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
