"""Scorers against a reference answer (``expect.reference``): ROUGE-L and chrF."""

from __future__ import annotations

from collections import Counter

from tui_bench.core.quality.text import words


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence, bit-parallel (Hyyrö 2004).

    One big-integer bit per position of ``a``: O(len(b)) integer operations instead of an
    O(len(a) x len(b)) table, so long answers stay cheap.
    """
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l(text: str, reference: str) -> float:
    """ROUGE-L F-measure with beta = 1 over :func:`words` (lowercased ``\\w+``, no stemming).

    ``P = LCS / len(answer)``, ``R = LCS / len(reference)``, ``F = 2PR / (P + R)``; 0 when
    either side has no words. Unlike rouge-score's default tokenizer, non-ASCII letters
    count as word characters.
    """
    cand, ref = words(text), words(reference)
    lcs = lcs_length(ref, cand)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(cand), lcs / len(ref)
    return 2 * p * r / (p + r)


def _char_ngrams(s: str, n: int) -> Counter[str]:
    return Counter(s[i : i + n] for i in range(len(s) - n + 1))


def chrf(text: str, reference: str, *, char_order: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović 2015) exactly as sacrebleu's default ``CHRF().sentence_score``, / 100.

    All whitespace removed, case kept. For n = 1..char_order, with character n-gram
    multisets H (answer) and R (reference) and M = H & R (clipped counts)::

        P_n = |M| / |H|,  R_n = |M| / |R|        # only orders where |H| > 0 and |R| > 0
        P, R = mean of P_n, R_n over those orders (0 if there are none)
        chrF = (1 + beta^2) P R / (beta^2 P + R)  (0 if P + R == 0)

    This is sacrebleu 2.x with ``word_order=0, eps_smoothing=False`` (its default), i.e.
    precision and recall are averaged before the F-score, not F-scores averaged.
    """
    hyp = "".join(text.split())
    ref = "".join(reference.split())
    sum_p = sum_r = 0.0
    orders = 0
    for n in range(1, char_order + 1):
        h, r = _char_ngrams(hyp, n), _char_ngrams(ref, n)
        n_h, n_r = sum(h.values()), sum(r.values())
        if n_h == 0 or n_r == 0:
            continue
        n_m = sum((h & r).values())
        sum_p += n_m / n_h
        sum_r += n_m / n_r
        orders += 1
    if orders == 0:
        return 0.0
    p, r = sum_p / orders, sum_r / orders
    if p + r == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * p * r / (b2 * p + r)
