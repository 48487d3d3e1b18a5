"""Rankings of the candidates, never mixing binary and multi-class scores in one key.

- Per cell (category, and language when training by language): candidates by macro-F1,
  ties by accuracy, then by shorter training time, then by name. F1 and accuracy are
  compared at 6 decimals, so that float noise never passes for a difference. The
  baselines (``majority``, always answering the commonest class, and ``stratified``,
  guessing by the class priors, its expected scores computed in ``chance``) are listed
  with every cell, never ranked, never awarded a medal; the better of the two on
  macro-F1 is the cell's baseline, and each candidate shows how far its macro-F1 is above
  it. Whether that difference is real comes from ``significance`` (a :class:`CellTest`
  per cell): a 95% interval of (candidate − baseline) macro-F1. Places come from the
  same tests, counted as the LLM medals count them: a candidate whose interval of the
  difference to the best candidate of the place above holds zero shares that place
  ("tied with" it); two candidates tied first are both first, the next is third. Medals
  (🥇 🥈 🥉) go to places 1-3 whose interval to the baseline lies above zero; every other
  candidate says "not better than chance". Without a test (a result built by hand), no
  place and no medal: a medal needs an interval. A failed candidate is listed last,
  unranked. ``rank`` stays the ordinal position (what the choice averages).
- One rule orders the across-category tables and makes the top choice: the lowest mean
  place over the cells, then the lowest mean rank, then more first places, then shorter
  total training time, then name (:func:`choice_key`). Places and ranks are ordinal
  within each cell, so averaging them never adds a binary F1 to a 10-class F1. Tables:
  binary (2-class) cells, multi-class cells, and, when a run has both, every cell (the
  table the top choice is read from). A model missing a cell of a table (failed) is
  listed unranked. Models with the same mean place share a place there (one cell: the
  cell's own places); a medal needs the model to be better than chance in every cell of
  the table.
- Overall (what ``choose="top"`` takes): that rule over every cell (of each language,
  training by language). Its reason says in how many cells the model beat chance.
- Language balance (optional, by-language runs; ``language_balance``): for each
  category and model, with the macro-F1 of each language, score = mean − λ · sd
  (population sd over the languages), binary and multi-class languages of a category
  scored apart. Models are ranked per category on that score; the output states λ. With
  it, ``choose="top"`` takes one model for every language: the lowest mean
  language-balanced rank. The score has no interval,
  so this table gives ranks and no medals.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tui_bench.core.classify.train import CandidateResult

Group = Literal["binary", "multiclass"]
AggregateGroup = Literal["binary", "multiclass", "all"]
MEDALS = ("🥇", "🥈", "🥉")
TIE_DIGITS = 6
BETTER = "better than chance"
NOT_BETTER = "not better than chance"
CellKey = tuple[str, str | None]


@dataclass
class CellTest:
    """What the significance tests found in one cell (computed in ``significance``).

    ``vs_baseline``: per candidate, the 95% interval of its macro-F1 minus the baseline's;
    ``vs_top``: per candidate other than the top one, the interval of its macro-F1 minus
    the top one's; ``place``: each candidate's place (1-based, shared when tied);
    ``vs_place``: per candidate after the first, the best candidate of the place above
    it (or of the place it shares) and the interval of the difference to it.
    ``method``: "bootstrap" (paired, over the test rows) or "corrected t" (Nadeau &
    Bengio, over the folds)."""

    method: str
    baseline: str | None
    top: str | None
    vs_baseline: dict[str, tuple[float, float]] = field(default_factory=dict)
    vs_top: dict[str, tuple[float, float]] = field(default_factory=dict)
    place: dict[str, int] = field(default_factory=dict)
    vs_place: dict[str, tuple[str, tuple[float, float]]] = field(default_factory=dict)


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
    mcc: float | None = None
    # the 95% interval of (macro-F1 − the best baseline's); None: untested
    ci_low: float | None = None
    ci_high: float | None = None
    beats_chance: bool | None = None  # None: a baseline, a failure, or untested
    verdict: str = ""  # BETTER | NOT_BETTER | "" (baseline, failed, untested)
    tied_with: str | None = None  # the first of the place it shares (the top for place 1)
    # the 95% interval of (macro-F1 − the top candidate's); None for the top itself
    top_low: float | None = None
    top_high: float | None = None
    best_baseline: bool = False  # the baseline the candidates of this cell are held to
    place: int | None = None  # shared when tied (sport counting); None: untested
    place_of: str | None = None  # the candidate its place was decided against
    # the 95% interval of (macro-F1 − place_of's)
    place_low: float | None = None
    place_high: float | None = None

    @property
    def cell(self) -> tuple[str, str | None]:
        return (self.category, self.language)

    @property
    def shown_place(self) -> int | None:
        """The place tables print: shared when tied; the rank where the cell was untested."""
        return self.place if self.place is not None else self.rank

    def to_dict(self, digits: int | None = None) -> dict[str, Any]:
        """Full precision unless ``digits`` is given (reports are rebuilt from it)."""
        return _rounded(asdict(self), digits)


def _rounded(out: dict[str, Any], digits: int | None) -> dict[str, Any]:
    if digits is not None:
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, digits)
    return out


def rank_key(r: CandidateResult) -> tuple[float, float, float, str]:
    return (-_r(r.f1_macro), -_r(r.accuracy), r.train_time_s or 0.0, r.candidate)


def best_baseline(members: Iterable[CandidateResult]) -> CandidateResult | None:
    """The baseline with the highest macro-F1 (ties: the first listed)."""
    bases = [r for r in members if r.baseline and r.ok and r.f1_macro is not None]
    return max(bases, key=lambda r: _r(r.f1_macro)) if bases else None


def rank_cells(
    results: Iterable[CandidateResult], tests: Mapping[CellKey, CellTest] | None = None
) -> list[RankedRow]:
    """Rows per cell in order: ranked candidates, then the baselines, then failures.
    ``tests``: the cells' significance tests; a cell without one awards no medal."""
    cells: dict[CellKey, list[CandidateResult]] = defaultdict(list)
    for res in results:
        cells[(res.category, res.language)].append(res)
    rows: list[RankedRow] = []
    for cell in sorted(cells, key=lambda c: (c[0], c[1] or "")):
        members = cells[cell]
        test = (tests or {}).get(cell)
        base = best_baseline(members)
        if test is not None and test.baseline is not None:
            base = next((r for r in members if r.candidate == test.baseline), base)
        base_f1 = base.f1_macro if base is not None else None
        real = sorted((r for r in members if not r.baseline and r.ok), key=rank_key)
        for i, res in enumerate(real, start=1):
            rows.append(_row(res, i, base_f1, test))
        for r in members:
            if r.baseline:
                rows.append(_row(r, None, base_f1, None))
                rows[-1].best_baseline = r is base
        rows.extend(_row(r, None, base_f1, test) for r in members if not r.baseline and not r.ok)
    return rows


def _row(
    res: CandidateResult, rank: int | None, base_f1: float | None, test: CellTest | None
) -> RankedRow:
    delta = None
    if res.ok and base_f1 is not None and res.f1_macro is not None:
        delta = res.f1_macro - base_f1
    ci = test.vs_baseline.get(res.candidate) if test is not None and res.ok else None
    beats = None if ci is None else ci[0] > 0
    verdict = "" if beats is None or res.baseline else (BETTER if beats else NOT_BETTER)
    vs_top = test.vs_top.get(res.candidate) if test is not None and res.ok else None
    place = None
    if test is not None and res.ok and not res.baseline:  # a test built by hand: its rank
        place = test.place.get(res.candidate) if test.place else rank
    against = test.vs_place.get(res.candidate) if test is not None and res.ok else None
    tied = None
    if test is not None and test.vs_place:
        tied = against[0] if against and test.place.get(against[0]) == place else None
    elif test is not None and vs_top is not None and vs_top[0] <= 0 <= vs_top[1]:
        tied = test.top  # a test built by hand, without places
    return RankedRow(
        rank=rank,
        medal=medal_for(place, bool(beats)) if not res.baseline else "",
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
        mcc=res.mcc,
        ci_low=ci[0] if ci is not None else None,
        ci_high=ci[1] if ci is not None else None,
        beats_chance=None if res.baseline else beats,
        verdict=verdict,
        tied_with=tied,
        top_low=vs_top[0] if vs_top is not None else None,
        top_high=vs_top[1] if vs_top is not None else None,
        place=place,
        place_of=against[0] if against is not None else None,
        place_low=against[1][0] if against is not None else None,
        place_high=against[1][1] if against is not None else None,
    )


def winners(rows: Iterable[RankedRow]) -> dict[tuple[str, str | None], str]:
    """Per cell, the candidates of the first place that are better than chance, best
    observed first, ``" = "`` between those tied (the data cannot tell them apart)."""
    return winners_of(row.to_dict() for row in rows)


def winners_of(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str | None], str]:
    """:func:`winners` from rows in their stored form (data.json ``results``, in order)."""
    out: dict[tuple[str, str | None], list[str]] = {}
    for r in rows:
        place = r.get("place") if r.get("place") is not None else r.get("rank")
        if not r.get("baseline") and place == 1 and r.get("beats_chance"):
            out.setdefault((r["category"], r.get("language")), []).append(r["model"])
    return {cell: " = ".join(models) for cell, models in out.items()}


# --------------------------------------------------------------------------- aggregates


@dataclass
class AggregateRow:
    group: AggregateGroup
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
    n_better: int = 0  # cells where the model is better than chance
    mean_place: float | None = None
    place: int | None = None  # shared by the same mean place (sport counting)

    def to_dict(self, digits: int | None = None) -> dict[str, Any]:
        return _rounded(asdict(self), digits)

    @property
    def shown_place(self) -> int | None:
        return self.place if self.place is not None else self.rank

    @property
    def verdict(self) -> str:
        """In how many of its cells the model beat chance, in words."""
        return chance_count(self.n_better, self.n_cells)


def chance_count(n_better: int, n_cells: int) -> str:
    if n_cells and n_better == n_cells:
        return BETTER if n_cells == 1 else f"{BETTER} in all {n_cells} cells"
    if n_better == 0:
        return NOT_BETTER if n_cells <= 1 else f"{NOT_BETTER} in any cell"
    return f"{BETTER} in {n_better} of {n_cells} cells"


def mean_place(rows: Sequence[RankedRow]) -> float:
    """The mean of the rows' places (their ranks where a cell had no test)."""
    return round(statistics.fmean(r.shown_place or 0 for r in rows), TIE_DIGITS)


def choice_key(rows: Sequence[RankedRow], model: str) -> tuple[float, float, int, float, str]:
    """The one rule: lowest mean place, then lowest mean rank, then more first places,
    then shorter total training time, then name. ``rows``: the model's ranked rows over
    the cells compared."""
    return (
        mean_place(rows),
        statistics.fmean(r.rank or 0 for r in rows),
        -sum(1 for r in rows if r.rank == 1),
        sum(r.train_time_s or 0.0 for r in rows),
        model,
    )


def aggregate(rows: Sequence[RankedRow]) -> list[AggregateRow]:
    """Per group (binary, multi-class, then every cell when a run has both): models by
    :func:`choice_key` over the group's cells."""
    out: list[AggregateRow] = []
    groups: list[tuple[AggregateGroup, list[RankedRow]]] = [
        (g, [r for r in rows if r.group == g and not r.baseline]) for g in ("binary", "multiclass")
    ]
    groups = [(g, rs) for g, rs in groups if rs]
    if len(groups) == 2:
        groups.append(("all", [r for r in rows if not r.baseline]))
    for group, pool in groups:
        cells = sorted({r.cell for r in pool}, key=str)
        models = sorted({r.model for r in pool})
        entries = []
        ranked: dict[str, list[RankedRow]] = {}
        for model in models:
            mine = [r for r in pool if r.model == model and r.rank]
            ranked[model] = mine
            f1s = [r.f1_macro for r in mine if r.f1_macro is not None]
            accs = [r.accuracy for r in mine if r.accuracy is not None]
            deltas = [r.f1_vs_baseline for r in mine if r.f1_vs_baseline is not None]
            entries.append(
                AggregateRow(
                    group=group,
                    rank=None,
                    medal="",
                    model=model,
                    n_cells=len(mine),
                    n_missing=len(cells) - len(mine),
                    mean_f1_macro=statistics.fmean(f1s) if f1s else None,
                    mean_accuracy=statistics.fmean(accs) if accs else None,
                    mean_f1_vs_baseline=statistics.fmean(deltas) if deltas else None,
                    mean_rank=statistics.fmean(r.rank for r in mine if r.rank) if mine else None,
                    wins=sum(1 for r in mine if r.rank == 1),
                    total_train_time_s=sum(r.train_time_s or 0.0 for r in mine),
                    n_better=sum(1 for r in mine if r.beats_chance),
                    mean_place=mean_place(mine) if mine else None,
                )
            )
        complete = sorted(
            (e for e in entries if e.n_missing == 0),
            key=lambda e: choice_key(ranked[e.model], e.model),
        )
        for i, e in enumerate(complete, start=1):
            e.rank = i
            same = i > 1 and complete[i - 2].mean_place == e.mean_place
            e.place = complete[i - 2].place if same else i
            e.medal = medal_for(e.place, e.n_cells > 0 and e.n_better == e.n_cells)
        out.extend(complete)
        out.extend(e for e in entries if e.n_missing)
    return out


def best_overall(
    rows: Sequence[RankedRow], *, language: str | None = None, by_language: bool = False
) -> tuple[str | None, str]:
    """(model, why): :func:`choice_key` over every cell (of one language when asked)."""
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
    model = min(complete, key=lambda m: choice_key(complete[m], m))
    mine = complete[model]
    key = choice_key(mine, model)
    where = f" in {language}" if by_language and language else ""
    n_better = sum(1 for r in mine if r.beats_chance)
    tied = sorted(m for m, rs in complete.items() if m != model and mean_place(rs) == key[0])
    tie = (
        f"; tied on places with {', '.join(tied)}, ahead by observed macro-F1 only" if tied else ""
    )
    return model, (
        f"best mean place{where} ({key[0]:.2f} over {len(cells)} cells, mean rank "
        f"{key[1]:.2f}){tie}; {chance_count(n_better, len(cells))}"
    )
