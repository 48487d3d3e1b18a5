"""Quality of generated text: pluggable scorers, reported beside speed, never folded into it.

Each scorer maps an answer to a number in [0, 1] and has a name the reports print
(:data:`SCORERS`); every answer's quality dict is keyed by those names. :func:`score`
runs the text scorers that apply, as the answer arrives; the scorers that need a model
(``fluency``, ``judge``) run after the measured requests (:mod:`.model_scoring`), and
then ``composite``, the default summary per task type (:mod:`.composite`'s doc).

- ``composite``  fluency x the task checks x the plan's checks (see composite.py)
- ``fluency``    mean token log-probability under a scoring model, calibrated (fluency.py)
- ``judge``      an LLM judge's 1..5 grade under a rubric per task type (judge.py)
- ``repetition`` ``no_refusal`` ``not_truncated`` ``lang`` ``code_parses``: task checks
- ``heuristic``  length adequacy x non-repetition x (1/2 + 1/2 relevance to the prompt);
                 not in the composite: it cannot tell word salad from an answer
- ``exact``      normalised answer == ``expect.exact``
- ``contains``   share of ``expect.contains`` strings found (case-insensitive)
- ``regex``      ``re.search(expect.regex, answer, re.IGNORECASE | re.DOTALL)``
- ``rouge_l``    ROUGE-L F1 (word LCS) against ``expect.reference``
- ``chrf``       chrF, sacrebleu's default sentence-level variant, against ``expect.reference``
- ``code_pass``  the answer's code passes ``expect.tests`` in a separate Python process

Only the standard library is imported: the generated code under test never runs in this
process, and the package stays cheap to import from any front end.

The package holds one module per scorer family (``heuristic``, ``checks``, ``reference``,
``code``, ``task_checks`` with ``lang``, ``fluency``, ``judge``), the tokens they share
(``text``), the composite that applies them (``composite``), the plan's ``[quality]``
table (``settings``, pydantic: imported by the plan, not from here) and the run of the
model-based scorers (``model_scoring``, not imported from here); the scorers' names are
importable from here.
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
    combine,
    score,
    score_async,
    score_detail,
    validate_expect,
)
from tui_bench.core.quality.fluency import fluency_from_logprobs
from tui_bench.core.quality.heuristic import HeuristicParts, heuristic, heuristic_parts
from tui_bench.core.quality.judge import judge_prompt, parse_grade
from tui_bench.core.quality.lang import detect_language
from tui_bench.core.quality.reference import chrf, lcs_length, rouge_l
from tui_bench.core.quality.task_checks import (
    code_parses,
    language_check,
    no_refusal,
    not_truncated,
    repetition,
)
from tui_bench.core.quality.text import normalise, words

__all__ = [
    "CODE_TIMEOUT_S",
    "REGEX_FLAGS",
    "SCORERS",
    "Expect",
    "HeuristicParts",
    "QualityResult",
    "chrf",
    "code_parses",
    "combine",
    "contains_fraction",
    "detect_language",
    "exact_match",
    "extract_code",
    "fluency_from_logprobs",
    "heuristic",
    "heuristic_parts",
    "judge_prompt",
    "language_check",
    "lcs_length",
    "no_refusal",
    "normalise",
    "not_truncated",
    "parse_grade",
    "regex_match",
    "repetition",
    "rouge_l",
    "run_code_tests",
    "score",
    "score_async",
    "score_detail",
    "validate_expect",
    "words",
]
