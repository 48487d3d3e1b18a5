"""Quality of generated text: pluggable scorers, reported beside speed, never folded into it.

Each scorer maps an answer to a number in [0, 1] and has a name the reports print
(:data:`SCORERS`). :func:`score` returns only the scorers a prompt's ``expect`` makes
applicable; the length/relevance ``heuristic`` is always there and is only a heuristic.

- ``heuristic``  length adequacy x non-repetition x (1/2 + 1/2 relevance to the prompt)
- ``exact``      normalised answer == ``expect.exact``
- ``contains``   share of ``expect.contains`` strings found (case-insensitive)
- ``regex``      ``re.search(expect.regex, answer, re.IGNORECASE | re.DOTALL)``
- ``rouge_l``    ROUGE-L F1 (word LCS) against ``expect.reference``
- ``chrf``       chrF, sacrebleu's default sentence-level variant, against ``expect.reference``
- ``code_pass``  the answer's code passes ``expect.tests`` in a separate Python process

Only the standard library is imported: the generated code under test never runs in this
process, and the package stays cheap to import from any front end.

The package holds one module per scorer family (``heuristic``, ``checks``, ``reference``,
``code``), the tokens they share (``text``) and the composite that applies them
(``composite``); every name is importable from here.
"""

from __future__ import annotations

from tui_bench.core.quality.checks import (
    REGEX_FLAGS,
    contains_fraction,
    exact_match,
    regex_match,
)
from tui_bench.core.quality.code import CODE_TIMEOUT_S, extract_code, run_code_tests
from tui_bench.core.quality.composite import (
    SCORERS,
    Expect,
    QualityResult,
    score,
    score_detail,
    validate_expect,
)
from tui_bench.core.quality.heuristic import HeuristicParts, heuristic, heuristic_parts
from tui_bench.core.quality.reference import chrf, lcs_length, rouge_l
from tui_bench.core.quality.text import normalise, words

__all__ = [
    "CODE_TIMEOUT_S",
    "REGEX_FLAGS",
    "SCORERS",
    "Expect",
    "HeuristicParts",
    "QualityResult",
    "chrf",
    "contains_fraction",
    "exact_match",
    "extract_code",
    "heuristic",
    "heuristic_parts",
    "lcs_length",
    "normalise",
    "regex_match",
    "rouge_l",
    "run_code_tests",
    "score",
    "score_detail",
    "validate_expect",
    "words",
]
