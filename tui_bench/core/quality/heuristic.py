"""The ``heuristic`` scorer: length adequacy x non-repetition x relevance to the prompt.

Always applicable, cheap, deterministic and blind to correctness; its formula is in
:func:`heuristic_parts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui_bench.core.quality.text import words

# the formula that uses these is in heuristic_parts' docstring
SHORT_ANSWER_TASKS = frozenset({"classification", "extraction", "qa"})
MIN_ANSWER_CHARS = 20
MIN_CONTENT_WORD_LEN = 3
RELEVANCE_CAP = 10
# Tasks whose answer is not expected to reuse the prompt's words.
NO_RELEVANCE_TASKS = frozenset({"translation"})
_STOP_WORDS_TEXT = """
    about above after again against all also and any are aren because been before being
    below between both but can cannot could did does doing down during each few for from
    further had has have having her here hers herself him himself his how into its itself
    just let more most must myself nor not now off once only other our ours ourselves out
    over own same she should some such than that the their theirs them themselves then there
    these they this those through too under until upon very was were what when where which
    while who whom why will with would you your yours yourself yourselves
    answer answers briefly describe explain following give given list please question short
    sentence sentences show tell text using use word words write
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@dataclass(frozen=True)
class HeuristicParts:
    length: float
    repetition: float
    relevance: float | None  # None: not used for this task
    value: float

    def describe(self) -> str:
        rel = "n/a" if self.relevance is None else f"{self.relevance:.2f}"
        return f"length {self.length:.2f}, repetition {self.repetition:.2f}, relevance {rel}"


def heuristic_parts(
    text: str, *, prompt: str, task: str, max_tokens: int | None = None
) -> HeuristicParts:
    """A length/relevance HEURISTIC: cheap, deterministic, blind to correctness.

    With ``W`` = :func:`words` of the answer and ``C`` = the prompt's content words
    (``words(prompt)`` of at least 3 characters, not in :data:`STOP_WORDS`, as a set)::

        chars      = sum(len(w) for w in W)        # word characters only: "!!!" counts 0
        need       = 1 if task in {classification, extraction, qa} else 20
        need       = min(need, max_tokens)         # when max_tokens is given
        length     = min(1, chars / need)
        T          = word trigrams of W            # W[i:i+3]
        repetition = min(1, 2 * distinct(T) / len(T))      # 1 when len(T) == 0
        relevance  = |C & set(W)| / min(|C|, 10)  # 1 when C is empty; unused for translation
        heuristic  = length * repetition * (1/2 + 1/2 * relevance)    # length * repetition
                                                                      # for translation

    Up to half the trigrams may repeat without penalty; a degenerate loop of one sentence
    repeated k times scores about 2/k. Relevance counts at most 10 prompt words so a long
    prompt (a text to summarise) does not require the answer to echo all of it, and only
    halves the score at worst: a correct terse answer ("Paris") shares no prompt word.
    """
    toks = words(text)
    chars = sum(len(w) for w in toks)
    need = 1 if task in SHORT_ANSWER_TASKS else MIN_ANSWER_CHARS
    if max_tokens is not None:
        need = max(1, min(need, max_tokens))
    length = min(1.0, chars / need)

    trigrams = [tuple(toks[i : i + 3]) for i in range(len(toks) - 2)]
    repetition = min(1.0, 2 * len(set(trigrams)) / len(trigrams)) if trigrams else 1.0

    relevance: float | None = None
    if task not in NO_RELEVANCE_TASKS:
        content = {
            w for w in words(prompt) if len(w) >= MIN_CONTENT_WORD_LEN and w not in STOP_WORDS
        }
        if content:
            hits = len(content & set(toks))
            relevance = min(1.0, hits / min(len(content), RELEVANCE_CAP))
        else:
            relevance = 1.0
    rel_factor = 1.0 if relevance is None else 0.5 + 0.5 * relevance
    return HeuristicParts(
        length=length,
        repetition=repetition,
        relevance=relevance,
        value=length * repetition * rel_factor,
    )


def heuristic(text: str, *, prompt: str, task: str, max_tokens: int | None = None) -> float:
    """The heuristic's value alone (see :func:`heuristic_parts`)."""
    return heuristic_parts(text, prompt=prompt, task=task, max_tokens=max_tokens).value
