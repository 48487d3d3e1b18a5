"""Language balance (by-language runs): for each category and model, with the macro-F1 of
each language, score = mean − λ · sd (population sd over the languages), binary and
multi-class languages of a category scored apart; models ranked per category on that
score, and the one model for every language that ``choose="top"`` takes with it. The
score has no interval, so its table gives ranks and no medals (see ``rank``).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tui_bench.core.classify.rank import Group, RankedRow, _r, _rounded


@dataclass
class LanguageBalanceRow:
    category: str
    group: Group
    rank: int | None
    medal: str
    model: str
    languages: list[str]
    f1_by_language: dict[str, float]
    mean_f1_macro: float
    sd_f1_macro: float
    penalty: float
    score: float

    def to_dict(self, digits: int | None = None) -> dict[str, Any]:
        out = _rounded(asdict(self), digits)
        if digits is not None:
            out["f1_by_language"] = {k: round(v, digits) for k, v in self.f1_by_language.items()}
        return out


def language_balance(rows: Sequence[RankedRow], penalty: float) -> list[LanguageBalanceRow]:
    """Per category and group: score = mean macro-F1 over languages − penalty × sd (ddof 0).

    A category can be binary in one language and multi-class in another (a class too rare
    there); its languages are then scored in two groups, never averaged together. Only
    models with a result in every language of the group are scored.
    """
    out: list[LanguageBalanceRow] = []
    by_cat: dict[tuple[str, Group], list[RankedRow]] = defaultdict(list)
    for r in rows:
        if not r.baseline and r.language is not None:
            by_cat[(r.category, r.group)].append(r)
    for category, group in sorted(by_cat):
        cat_rows = by_cat[(category, group)]
        langs = sorted({r.language for r in cat_rows if r.language is not None})
        entries = []
        for model in sorted({r.model for r in cat_rows}):
            f1 = {
                r.language: r.f1_macro
                for r in cat_rows
                if r.model == model and r.rank is not None and r.f1_macro is not None
            }
            if len(f1) != len(langs):
                continue
            values = [f1[lang] for lang in langs]
            mean = statistics.fmean(values)
            sd = statistics.pstdev(values) if len(values) > 1 else 0.0
            entries.append(
                LanguageBalanceRow(
                    category=category,
                    group=group,
                    rank=None,
                    medal="",
                    model=model,
                    languages=langs,
                    f1_by_language={lang: f1[lang] for lang in langs},  # type: ignore[misc]
                    mean_f1_macro=mean,
                    sd_f1_macro=sd,
                    penalty=penalty,
                    score=mean - penalty * sd,
                )
            )
        entries.sort(key=lambda e: (-_r(e.score), -_r(e.mean_f1_macro), e.model))
        for i, e in enumerate(entries, start=1):
            e.rank = i  # no medal: the score has no interval to tell a tie
        out.extend(entries)
    return out


def best_balanced(balance: Sequence[LanguageBalanceRow]) -> tuple[str | None, str]:
    """One model for every language: the lowest mean language-balanced rank.

    The mean runs over every (category, group) table, so ordinal ranks are averaged, never
    scores of different kinds. Ties: the name.
    """
    tables = {(e.category, e.group) for e in balance}
    if not tables:
        return None, "no category has every language scored"
    ranks: dict[str, list[int]] = defaultdict(list)
    for e in balance:
        if e.rank is not None:
            ranks[e.model].append(e.rank)
    complete = {m: rs for m, rs in ranks.items() if len(rs) == len(tables)}
    if not complete:
        return None, "no candidate was scored in every category"
    model = min(complete, key=lambda m: (statistics.fmean(complete[m]), m))
    penalty = balance[0].penalty
    return model, (
        f"best mean language-balanced rank ({statistics.fmean(complete[model]):.2f}; "
        f"score = mean F1 - {penalty:g} x sd over languages)"
    )
