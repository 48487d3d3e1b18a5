"""The LLM judge: a rubric prompt per task type, and its reply read strictly.

The judge model (a plan's ``[quality] judge_model``) gets :func:`judge_prompt` and must
reply with one digit from 1 to 5 and nothing else (whitespace aside). Anything else (a
sentence, "4/5", "Grade: 4", two digits) is unparsable: recorded as such, never guessed.
A grade ``g`` is stored as the ``judge`` score ``(g - 1) / 4``. The judge runs after the
measured requests (its time never counts); the judge's source and :data:`RUBRIC_VERSION`
are stored with the run's plan.

Blind spots: a small judge grades noisily and kindly; it may prefer its own family's
style; it sees one answer at a time, without a reference.
"""

from __future__ import annotations

import re

RUBRIC_VERSION = 1
JUDGE_MAX_TOKENS = 4  # a digit, and room to see that more followed
UNPARSABLE_FLAG = "judge_unparsable"

_CRITERIA = {
    "translation": "faithful to the meaning of the source text, in the language asked for, "
    "and natural in that language",
    "code_generation": "correct code that does what was asked and would run as written",
    "code_correction": "code that fixes the problem asked about and would run as written",
    "summarization": "covers the main points of the text, is concise, and adds no facts "
    "that are not in the text",
    "qa": "answers the question correctly and directly",
    "extraction": "extracts exactly what was asked, correctly",
    "classification": "gives the correct class, clearly",
}
_DEFAULT_CRITERIA = "accurate, relevant to the request, clear and complete"
_GRADE = re.compile(r"\s*([1-5])\s*")


def criteria(task: str) -> str:
    return _CRITERIA.get(task, _DEFAULT_CRITERIA)


def judge_prompt(task: str, prompt: str, answer: str) -> str:
    """The rubric prompt (version :data:`RUBRIC_VERSION`) for one answer."""
    return (
        "Grade the answer to the request below.\n"
        f"A good answer is {criteria(task)}.\n"
        "5: excellent, 4: good with small flaws, 3: partly right, 2: mostly wrong, "
        "1: wrong, empty or off-topic.\n\n"
        f"Request:\n<<<\n{prompt}\n>>>\n\n"
        f"Answer:\n<<<\n{answer}\n>>>\n\n"
        "Reply with the grade only: a single digit from 1 to 5."
    )


def parse_grade(reply: str) -> int | None:
    """The grade in ``reply`` if it is exactly one digit 1..5 (whitespace aside)."""
    m = _GRADE.fullmatch(reply)
    return int(m.group(1)) if m else None


def grade_score(grade: int) -> float:
    return (grade - 1) / 4
