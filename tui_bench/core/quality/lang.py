"""Which natural language a text is in: stopword profiles for a handful of languages,
and the language a translation prompt asks for.

Dependency-free and deliberately small: each language has a list of frequent function
words chosen to overlap little with the others; a text's language is the profile with
the most hits among its words. Too few hits, or a runner-up too close, and the answer is
"unknown" (``None``): code, numbers, a name alone. Blind spots: languages without a
profile (they come out ``None`` or, sharing a few words, as a neighbour), texts of one or
two words, and mixtures (the majority wins).
"""

from __future__ import annotations

import re

from tui_bench.core.quality.text import words

# ISO 639-1 code -> English name (what a prompt says: "Translate into French")
LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
}

# Frequent function words of each language. A word several languages share ("de", "la",
# "in", "que" ...) counts 1/k for each of the k profiles that hold it: shared words still
# help, but only words of one language decide.
_PROFILES_TEXT = {
    "en": """the and of to is are was were that this with for on it be by or not have has
             had which you they we their from at but can will would there what its been
             these those than into also when who how does should in an as no""",
    "fr": """le les et est une des du pas dans pour sur au aux ce cette sont avec il elle
             nous vous ils mais où aussi très fait plus être avoir ses leur je mon été
             comme aujourd allons de la en un que l se tu ne qui ou bien son""",
    "es": """el los las y es del por para con está están pero muy más hoy vamos este esta
             hay fue yo tú nosotros también cuando donde porque hace de la en un una que
             se no su lo tu como ser bien son""",
    "de": """der das und ist nicht ein eine mit den dem auf für sich auch wir ich sie wird
             sind heute gehen zu von im bei aber oder wenn noch nach nur schön wetter in
             die was will also an es des da er als""",
    "it": """gli è non che per di sono della delle degli nel nella alla anche ma più come
             questo questa oggi andiamo fa bel ci io noi loro la in un una e l il se no
             del con da su lo tu ne qui""",
    "pt": """o os é não um uma do dos das com em mais mas são hoje isso também você nós
             eles muito de que e se por para como da as vamos esta está ser ou""",
    "nl": """het een en niet van op voor dat dit zijn wordt ook maar wij ik jij hij zij
             vandaag laten gaan naar bij nog mooi weer de in is er als""",
}
PROFILES: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in _PROFILES_TEXT.items()}
_WEIGHT: dict[str, float] = {}
for _profile in PROFILES.values():
    for _w in _profile:
        _WEIGHT[_w] = 1.0 / sum(1 for p in PROFILES.values() if _w in p)
MIN_HITS = 2.0  # less weight of function words than this: too little to tell
MARGIN = 1.5  # the winner needs this many times the runner-up's weight

_NAMES = {name.lower(): code for code, name in LANGUAGES.items()}
_ASKED = re.compile(
    r"\b(?:into|to|in)\s+(" + "|".join(name for name in LANGUAGES.values()) + r")\b",
    re.IGNORECASE,
)


def language_hits(text: str) -> dict[str, float]:
    """Per language, the weight of ``text``'s words in its profile (see ``_PROFILES_TEXT``)."""
    toks = words(text)
    return {
        code: round(sum(_WEIGHT[t] for t in toks if t in profile), 6)
        for code, profile in PROFILES.items()
    }


def detect_language(text: str) -> str | None:
    """The ISO code of ``text``'s language, or ``None`` when it cannot be told (see the
    module's doc: at least ``MIN_HITS`` profile words, ``MARGIN`` x the runner-up)."""
    hits = sorted(language_hits(text).items(), key=lambda kv: kv[1], reverse=True)
    (best, n1), (_, n2) = hits[0], hits[1]
    if n1 < MIN_HITS or n1 < MARGIN * n2:
        return None
    return best


def asked_language(prompt: str) -> str | None:
    """The target language a translation prompt names ("Translate into French: ..."), as
    an ISO code; the first such phrase wins. ``None``: it names none of :data:`LANGUAGES`."""
    m = _ASKED.search(prompt)
    return _NAMES[m.group(1).lower()] if m else None
