"""Rankings of the candidates, never mixing binary and multi-class scores in one key.

- Per cell (category, and language when training by language): candidates by macro-F1,
  ties by accuracy, then by shorter training time, then by name. F1 and accuracy are
  compared at 6 decimals, so that float noise never passes for a difference. The
  majority baseline is listed with every cell, never ranked, never awarded a medal; each
  candidate shows how far its macro-F1 is above the baseline's. Medals (🥇 🥈 🥉) go to
  ranks 1-3 that beat the baseline; a failed candidate is listed last, unranked.
- Across categories: a model's mean macro-F1 is taken over binary (2-class) cells and
  over multi-class cells separately, giving two aggregate rankings. A model missing a
  cell of a group (failed) is listed in that group unranked.
- Overall (what ``choose="top"`` takes): the lowest mean rank over all cells. Ranks are
  ordinal within each cell, so averaging them never adds a binary F1 to a 10-class F1.
  Ties: more first places, then shorter total training time, then name.
- Language balance (optional, by-language runs): for each category and model, with the
  macro-F1 of each language, score = mean − λ · sd (population sd over the languages),
  binary and multi-class languages of a category scored apart. Models are ranked per
  category on that score; the output states λ. With it, ``choose="top"`` takes one model
  for every language: the lowest mean language-balanced rank.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tui_bench.core.classify.train import CandidateResult

Group = Literal["binary", "multiclass"]
MEDALS = ("🥇", "🥈", "🥉")
TIE_DIGITS = 6


def group_of(n_classes: int) -> Group:
    return "binary" if n_classes == 2 else "multiclass"


def medal_for(rank: int | None, beats_baseline: bool) -> str:
    if rank is None or rank > len(MEDALS) or not beats_baseline:
        return ""
    return MEDALS[rank - 1]


def _r(x: float | None) -> float:
    return round(x, TIE_DIGITS) if x is not None else float("-inf")


@dataclass
class RankedRow:
    rank: int | None
    medal: str
    model: str
    category: str
    language: str | None
    group: Group
    n_classes: int
    baseline: bool
    f1_macro: float | None
    accuracy: float | None
    balanced_accuracy: float | None
    minority_class: str | None
    minority_f1: float | None
    train_time_s: float | None
    predict_ms_per_1k: float | None
    f1_vs_baseline: float | None
    f1_macro_sd: float | None = None
    error: str | None = None

    @property
    def cell(self) -> tuple[str, str | None]:
        return (self.category, self.language)

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, digits)
        return out


def rank_key(r: CandidateResult) -> tuple[float, float, float, str]:
    return (-_r(r.f1_macro), -_r(r.accuracy), r.train_time_s or 0.0, r.candidate)


def rank_cells(results: Iterable[CandidateResult]) -> list[RankedRow]:
    """Rows per cell in order: ranked candidates, then the baseline, then failures."""
    cells: dict[tuple[str, str | None], list[CandidateResult]] = defaultdict(list)
    for res in results:
        cells[(res.category, res.language)].append(res)
    rows: list[RankedRow] = []
    for cell in sorted(cells, key=lambda c: (c[0], c[1] or "")):
        members = cells[cell]
        base = next((r for r in members if r.baseline and r.ok), None)
        base_f1 = base.f1_macro if base is not None else None
        real = sorted((r for r in members if not r.baseline and r.ok), key=rank_key)
        for i, res in enumerate(real, start=1):
            rows.append(_row(res, i, base_f1))
        rows.extend(_row(r, None, base_f1) for r in members if r.baseline)
        rows.extend(_row(r, None, base_f1) for r in members if not r.baseline and not r.ok)
    return rows


def _row(res: CandidateResult, rank: int | None, base_f1: float | None) -> RankedRow:
    delta = None
    if res.ok and base_f1 is not None and res.f1_macro is not None:
        delta = res.f1_macro - base_f1
    beats = delta is None or _r(delta) > 0
    return RankedRow(
        rank=rank,
        medal=medal_for(rank, beats) if not res.baseline else "",
        model=res.candidate,
        category=res.category,
        language=res.language,
        group=group_of(res.n_classes),
        n_classes=res.n_classes,
        baseline=res.baseline,
        f1_macro=res.f1_macro,
        accuracy=res.accuracy,
        balanced_accuracy=res.balanced_accuracy,
        minority_class=res.minority_class,
        minority_f1=res.minority_f1,
        train_time_s=res.train_time_s,
        predict_ms_per_1k=res.predict_ms_per_1k,
        f1_vs_baseline=delta if not res.baseline else None,
        f1_macro_sd=res.f1_macro_sd,
        error=res.error,
    )


def winners(rows: Iterable[RankedRow]) -> dict[tuple[str, str | None], str]:
    return {row.cell: row.model for row in rows if row.rank == 1}


# --------------------------------------------------------------------------- aggregates


@dataclass
class AggregateRow:
    group: Group
    rank: int | None
    medal: str
    model: str
    n_cells: int
    n_missing: int
    mean_f1_macro: float | None
    mean_accuracy: float | None
    mean_f1_vs_baseline: float | None
    mean_rank: float | None
    wins: int
    total_train_time_s: float

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, digits)
        return out


def aggregate(rows: Sequence[RankedRow]) -> list[AggregateRow]:
    """Per group (binary first, then multi-class): models by mean macro-F1 over the cells."""
    out: list[AggregateRow] = []
    for group in ("binary", "multiclass"):
        cells = sorted({r.cell for r in rows if r.group == group and not r.baseline}, key=str)
        if not cells:
            continue
        models = sorted({r.model for r in rows if r.group == group and not r.baseline})
        entries = []
        for model in models:
            mine = [r for r in rows if r.group == group and r.model == model and r.rank]
            missing = len(cells) - len(mine)
            f1s = [r.f1_macro for r in mine if r.f1_macro is not None]
            accs = [r.accuracy for r in mine if r.accuracy is not None]
            deltas = [r.f1_vs_baseline for r in mine if r.f1_vs_baseline is not None]
            entries.append(
                AggregateRow(
                    group=group,  # type: ignore[arg-type]
                    rank=None,
                    medal="",
                    model=model,
                    n_cells=len(mine),
                    n_missing=missing,
                    mean_f1_macro=statistics.fmean(f1s) if f1s else None,
                    mean_accuracy=statistics.fmean(accs) if accs else None,
                    mean_f1_vs_baseline=statistics.fmean(deltas) if deltas else None,
                    mean_rank=statistics.fmean(r.rank for r in mine if r.rank) if mine else None,
                    wins=sum(1 for r in mine if r.rank == 1),
                    total_train_time_s=sum(r.train_time_s or 0.0 for r in mine),
                )
            )
        complete = sorted(
            (e for e in entries if e.n_missing == 0),
            key=lambda e: (
                -_r(e.mean_f1_macro),
                -_r(e.mean_accuracy),
                e.total_train_time_s,
                e.model,
            ),
        )
        for i, e in enumerate(complete, start=1):
            e.rank = i
            beats = e.mean_f1_vs_baseline is None or _r(e.mean_f1_vs_baseline) > 0
            e.medal = medal_for(i, beats)
        out.extend(complete)
        out.extend(e for e in entries if e.n_missing)
    return out


def best_overall(
    rows: Sequence[RankedRow], *, language: str | None = None, by_language: bool = False
) -> tuple[str | None, str]:
    """(model, why): the lowest mean rank over every cell (of one language when asked)."""
    pool = [r for r in rows if not r.baseline and (not by_language or r.language == language)]
    cells = {r.cell for r in pool}
    if not cells:
        return None, "no cell was benchmarked"
    stats: dict[str, list[RankedRow]] = defaultdict(list)
    for r in pool:
        if r.rank is not None:
            stats[r.model].append(r)
    complete = {m: rs for m, rs in stats.items() if len(rs) == len(cells)}
    if not complete:
        return None, "no candidate finished every benchmarked category"

    def key(model: str) -> tuple[float, int, float, str]:
        rs = complete[model]
        return (
            statistics.fmean(r.rank or 0 for r in rs),
            -sum(1 for r in rs if r.rank == 1),
            sum(r.train_time_s or 0.0 for r in rs),
            model,
        )

    model = min(complete, key=key)
    mean_rank = key(model)[0]
    where = f" in {language}" if by_language and language else ""
    return model, f"best mean rank{where} ({mean_rank:.2f} over {len(cells)} cells)"


# --------------------------------------------------------------------------- languages


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

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, digits)
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
            e.rank = i
            e.medal = medal_for(i, True)
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
