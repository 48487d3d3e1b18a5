"""Checks any answer can be put to without a reference: its language, whether its code
parses, whether it was cut off, whether it refuses, and how much it repeats itself.

Each returns ``(score in [0, 1], note)``; the note says why a score is below 1. They are
dependency-light (standard library) and deterministic; their blind spots are in each
docstring.
"""

from __future__ import annotations

import ast
import re
import textwrap

from tui_bench.core.quality.code import extract_code
from tui_bench.core.quality.lang import LANGUAGES, asked_language, detect_language
from tui_bench.core.quality.text import words

CODE_TASKS = frozenset({"code_generation", "code_correction"})
CUT_OFF_FINISHES = frozenset({"length", "truncated", "cancelled"})
# what a finished answer ends with: sentence punctuation, a closing quote or bracket, a
# closed code fence (checked apart), an ellipsis, CJK full stops
_COMPLETE_END = tuple(".!?…。！？\"'”’»)]}*`>")
REPEAT_N = 4  # repetition is counted on word 4-grams
# distinct/all 4-grams at or above FULL is no repetition (1.0), at or below NONE a loop (0)
REPEAT_FULL, REPEAT_NONE = 0.9, 0.5
REFUSAL_WINDOW = 300  # a refusal is looked for at the start of the answer only

# Refusals in English, as instruction-tuned models phrase them. Matched (case-insensitive,
# curly apostrophes straightened) within the answer's first REFUSAL_WINDOW characters.
_CANT = r"(?:can ?not|can't|won't|will not|am unable to|'m unable to|am not able to|'m not able to)"
_TASK_VERBS = (
    r"(?:help|assist|provide|comply|do (?:that|this)|fulfil+|answer|write|create|generate"
    r"|translate|complete|support|engage)"
)
REFUSAL = re.compile(
    "|".join(
        [
            rf"\bi {_CANT} {_TASK_VERBS}\b",
            rf"\bi(?: am|'m) (?:sorry|afraid)\b[^.!?\n]{{0,60}}\b(?:{_CANT}|unable|not able)\b",
            r"\bas an ai(?: language model| assistant)?,? i\b",
            r"\bi must (?:decline|refuse)\b",
            r"\bi(?: am|'m) not (?:comfortable|allowed|permitted)\b",
        ]
    ),
    re.IGNORECASE,
)


def expected_language(prompt: str, task: str, declared: str | None = None) -> str | None:
    """The language a good answer is in: ``declared`` (the plan's ``expect.lang``) if set;
    for a translation, the target the prompt names ("into French"); otherwise the prompt's
    own language. ``None``: it cannot be told, and the language check does not apply."""
    if declared:
        return declared
    if task == "translation":
        return asked_language(prompt)
    return detect_language(prompt)


def language_check(text: str, expected: str) -> tuple[float, str]:
    """1 if the answer is in ``expected`` (or its language cannot be told: code, a name,
    a number), 0 if it is detectably in another. Blind spot: a wrong-language answer
    too short to tell passes."""
    found = detect_language(text)
    if found is None or found == expected:
        return 1.0, ""
    name = LANGUAGES.get(expected, expected)
    return 0.0, f"answer in {LANGUAGES.get(found, found)}, {name} expected"


def code_parses(text: str) -> tuple[float, str]:
    """1 if the answer's code parses as Python (``ast.parse``), else 0 with the error.

    The code is the first fenced block (```python preferred, see ``extract_code``), else
    the lines indented by four spaces or a tab, else the whole answer. Blind spots: code
    that parses can still be wrong (``code_pass`` runs tests when the plan has some);
    another language's block fails.
    """
    code, fenced = extract_code(text)
    if not fenced:
        indented = [ln for ln in text.splitlines() if ln.startswith(("    ", "\t"))]
        if indented:
            code = "\n".join(indented)
    code = textwrap.dedent(code)
    if not code.strip():
        return 0.0, "no code found"
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return 0.0, f"SyntaxError: {exc.msg} (line {exc.lineno})"
    except ValueError as exc:  # null bytes
        return 0.0, str(exc)
    return 1.0, ""


def not_truncated(text: str, finish_reason: str | None) -> tuple[float, str]:
    """0 when generation stopped at the token limit (``finish_reason`` ``length``, or a
    stream cut short) before the answer ended: its text does not end like a finished
    sentence (or is inside an open code fence). Blind spots: a cut that falls on a full stop passes;
    without a finish reason nothing is known to be cut."""
    if finish_reason not in CUT_OFF_FINISHES:
        return 1.0, ""
    end = text.rstrip()
    if end.count("```") % 2:
        return 0.0, f"cut off inside a code block (finish reason {finish_reason})"
    if end.endswith(_COMPLETE_END):
        return 1.0, ""
    return 0.0, f"cut off mid-sentence (finish reason {finish_reason})"


def no_refusal(text: str) -> tuple[float, str]:
    """0 if the answer opens with a refusal (:data:`REFUSAL`, English phrasings). Blind
    spots: refusals in other languages or in unusual words; an answer that quotes a
    refusal in its first lines fails."""
    head = text[:REFUSAL_WINDOW].replace("\u2019", "'")
    m = REFUSAL.search(head)
    return (0.0, f"refusal: {m.group(0)!r}") if m else (1.0, "")


def repetition(text: str) -> tuple[float, str]:
    """How little the answer repeats itself: with ``r`` = distinct / all word 4-grams,
    ``clamp((r - 0.5) / 0.4, 0, 1)``: 1 at r >= 0.9, 0 at r <= 0.5 (a sentence said twice
    in a row has r ~ 0.5). An answer of fewer than 4 words has nothing to repeat: 1.
    Blind spots: loops of punctuation alone, and repeated code lines in a code answer."""
    toks = words(text)
    grams = [tuple(toks[i : i + REPEAT_N]) for i in range(len(toks) - REPEAT_N + 1)]
    if not grams:
        return 1.0, ""
    ratio = len(set(grams)) / len(grams)
    value = min(1.0, max(0.0, (ratio - REPEAT_NONE) / (REPEAT_FULL - REPEAT_NONE)))
    return value, "" if value >= 1.0 else f"{ratio:.2f} of its word 4-grams distinct"
