"""The ``fluency`` scorer's calibration: from an answer's token log-probabilities under a
scoring model to a score in [0, 1].

The log-probabilities come from a llama.cpp model (the builtin SmolLM2-135M by default)
reading the prompt, rendered with its chat template, then the answer
(:mod:`tui_bench.core.backends.llama_score`); running it is
:mod:`tui_bench.core.quality.model_scoring`'s job. Here, only arithmetic::

    m       = mean of the answer tokens' natural-log probabilities
    fluency = 1 / (1 + exp(-(m - CENTER) / SCALE))      CENTER = -3.55, SCALE = 0.30

Why these constants: under SmolLM2-135M, the fixture answers in
``tests/quality_fixtures/answers.toml`` have means of -0.2 (a short factual answer) to
-3.25 (a correct English translation of a French sentence) when good, and -3.9 (seven
French words shuffled) to -8.7 when word salad; the mock backend's output lies between
-5.6 and -8.5. CENTER is the midpoint of the closest good and salad answers, and SCALE
puts both at least 0.23 away from 0.5: m >= -2.88 gives >= 0.9, m <= -4.22 gives <= 0.1.

What it measures: whether the answer reads like text the scoring model expects after
the prompt. Blind spots: repetition loops, refusals and answers in another language
read fluently (the task checks catch those); rare vocabulary, languages the small model
knows little (a correct French sentence is about -2.6) and long technical answers score
lower than they deserve; a scoring model rates its own answers (or its family's) too
kindly; only the first 512 answer tokens are read.
"""

from __future__ import annotations

import math

from tui_bench.core.quality.text import words

CENTER = -3.55
SCALE = 0.30
DEFAULT_FLUENCY_MODEL = "builtin:smollm2-135m"


def fluency_from_logprobs(logprobs: list[float], text: str | None = None) -> float:
    """The calibrated score of an answer with these token log-probabilities; 0 for an
    answer without tokens, or (given its ``text``) without a word character: nothing
    was said, however predictable its punctuation."""
    if not logprobs or (text is not None and not words(text)):
        return 0.0
    mean = sum(logprobs) / len(logprobs)
    z = (mean - CENTER) / SCALE
    if z < -700:  # exp overflow; the score is 0 to any precision we print
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))
