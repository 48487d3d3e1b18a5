"""Temporal nDCG@k: how good a ranking is when relevance fades with age.

For items in ranked order (position ``i`` from 1):

    DCG^time@k  = Σ_{i≤k} (2^rel_i − 1) · exp(−λ·Δt_i) / log2(i + 1)
    Δt_i        = (now − ts_i) in days / T_days
    nDCG^time@k = DCG^time@k / IDCG^time@k

where IDCG^time@k is DCG^time@k of the same items sorted by their discounted gain
``(2^rel − 1)·exp(−λ·Δt)``, highest first (so the value is at most 1). Defaults: k = 10,
T_days = 7, λ = 0.3, ``now`` = the current UTC time when not given.

Decisions this module makes, and the result records:

- an item dated after ``now`` counts as fresh (Δt = 0), never as a boost; the result
  says how many were clamped;
- when IDCG is 0 (no item, every relevance 0, or every gain decayed below what a float
  holds) the ratio is 0/0: the value is reported as 0.0 with a note saying why, as
  scikit-learn's ``ndcg_score`` does for a query with no relevant document;
- an item's decay is exp(−λ·age/T_days): it halves every T_days·ln 2/λ days (16.2 days
  at the defaults).

Pure Python and ``math``: the command line imports it without numpy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tui_bench.core.errors import UserError

DEFAULT_K = 10
DEFAULT_T_DAYS = 7.0
DEFAULT_LAM = 0.3
# 2^1000 still fits in a float with room for a sum over millions of items; 2^1024 does not
MAX_REL = 1000.0
SECONDS_PER_DAY = 86_400.0

NOTE_EMPTY = "no item: nDCG is 0/0, reported as 0.0"
NOTE_NO_GAIN = (
    "no item has a gain above 0 (every relevance 0, or all decayed): 0/0, reported as 0.0"
)

PAYLOAD_FIELDS = ("ranked_items", "k", "now", "T_days", "lam")


@dataclass(frozen=True)
class RankedItem:
    """One ranked item: its graded relevance (≥ 0) and when it was made (zone-aware)."""

    rel: float
    ts: datetime


@dataclass(frozen=True)
class TemporalNdcg:
    """nDCG^time@k and everything it was computed with."""

    value: float
    k: int
    now: datetime
    T_days: float
    lam: float
    n_items: int
    n_future_clamped: int
    dcg: float
    idcg: float
    now_source: str = "given"  # "given" (argument or payload) or "clock" (current UTC time)
    note: str | None = None  # why the value is 0.0 when nDCG is undefined

    def to_dict(self) -> dict[str, Any]:
        """The note's response shape (``ndcg_time@k``, ``k``, ``num_items``,
        ``parameters``) with the rest of the result beside it."""
        return {
            "ndcg_time@k": self.value,
            "k": self.k,
            "num_items": self.n_items,
            "parameters": {"T_days": self.T_days, "lambda": self.lam},
            "now": self.now.isoformat(),
            "now_source": self.now_source,
            "n_future_clamped": self.n_future_clamped,
            "dcg": self.dcg,
            "idcg": self.idcg,
            "note": self.note,
        }


@dataclass(frozen=True)
class NdcgPayload:
    """A validated payload: the items and the parameters it gave (``None``: the default)."""

    items: list[RankedItem]
    k: int = DEFAULT_K
    now: datetime | None = None
    T_days: float = DEFAULT_T_DAYS
    lam: float = DEFAULT_LAM

    def compute(self, *, clock: datetime | None = None) -> TemporalNdcg:
        """The metric; ``clock`` stands for the current time when the payload gave no ``now``."""
        return temporal_ndcg(
            self.items,
            k=self.k,
            now=self.now,
            T_days=self.T_days,
            lam=self.lam,
            clock=clock,
        )


def temporal_ndcg(
    items: Iterable[RankedItem | tuple[float, datetime]],
    *,
    k: int = DEFAULT_K,
    now: datetime | None = None,
    T_days: float = DEFAULT_T_DAYS,
    lam: float = DEFAULT_LAM,
    clock: datetime | None = None,
) -> TemporalNdcg:
    """nDCG^time@k of ``items`` in their ranked order (see the module docstring).

    ``now`` defaults to ``clock`` (for tests), else the current UTC time; the result's
    ``now_source`` says which. Bad values raise :class:`UserError` naming the field.
    """
    check_params(k, T_days, lam)
    ranked = [i if isinstance(i, RankedItem) else RankedItem(*i) for i in items]
    for n, item in enumerate(ranked):
        _check_rel(item.rel, f"ranked_items[{n}].rel")
        if not isinstance(item.ts, datetime) or item.ts.utcoffset() is None:
            raise UserError(f"ranked_items[{n}].ts: {_NO_ZONE}")
    if now is None:
        source, now = "clock", clock if clock is not None else datetime.now(timezone.utc)
    else:
        source = "given"
    if now.utcoffset() is None:
        raise UserError(f"now: {_NO_ZONE}")

    gains: list[float] = []
    clamped = 0
    for item in ranked:
        age_days = (now - item.ts).total_seconds() / SECONDS_PER_DAY
        if age_days < 0:
            clamped += 1
            age_days = 0.0
        # λ = 0 is no decay at all, even where age/T_days overflows (0·inf would be nan)
        decay = math.exp(-lam * age_days / T_days) if lam else 1.0
        gains.append((2.0**item.rel - 1.0) * decay)
    dcg = _dcg(gains[:k])
    idcg = _dcg(sorted(gains, reverse=True)[:k])
    note = None
    if idcg > 0:
        value = dcg / idcg
    else:
        value = 0.0
        note = NOTE_EMPTY if not ranked else NOTE_NO_GAIN
    return TemporalNdcg(
        value=value,
        k=k,
        now=now,
        T_days=float(T_days),
        lam=float(lam),
        n_items=len(ranked),
        n_future_clamped=clamped,
        dcg=dcg,
        idcg=idcg,
        now_source=source,
        note=note,
    )


def _dcg(gains: Sequence[float]) -> float:
    # fsum: correctly rounded, so an ideal ranking gives exactly its IDCG
    return math.fsum(g / math.log2(i + 2) for i, g in enumerate(gains))


def check_params(k: object, T_days: object, lam: object) -> None:
    """k an integer ≥ 1, T_days a finite number > 0, lam a finite number ≥ 0."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UserError(f"k: must be an integer ≥ 1, got {k!r}")
    if not _is_number(T_days) or not T_days > 0:  # type: ignore[operator]
        raise UserError(f"T_days: must be a finite number > 0 (days), got {T_days!r}")
    if not _is_number(lam) or not lam >= 0:  # type: ignore[operator]
        raise UserError(f"lam: must be a finite number ≥ 0, got {lam!r}")


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_rel(rel: object, field: str) -> None:
    if not _is_number(rel) or not 0 <= rel <= MAX_REL:  # type: ignore[operator]
        raise UserError(f"{field}: must be a number from 0 to {MAX_REL:g}, got {rel!r}")


_NO_ZONE = "not an ISO 8601 timestamp with a zone"


def parse_timestamp(text: object) -> datetime:
    """An ISO 8601 timestamp with a zone (``Z`` or ``±HH:MM``); ValueError says what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"{_NO_ZONE}: expected a string, got {text!r}")
    s = text.strip()
    if s[-1:] in ("Z", "z"):
        s = s[:-1] + "+00:00"  # Python 3.10's fromisoformat does not read "Z"
    try:
        ts = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"{_NO_ZONE}: {text!r}") from None
    if ts.utcoffset() is None:
        raise ValueError(f"{_NO_ZONE}: {text!r} has no zone (add Z or +HH:MM)")
    return ts


def parse_payload(data: object, source: str = "payload") -> NdcgPayload:
    """Validate the note's JSON payload; errors are one line ``source: field: problem``."""

    def bad(field: str, problem: str) -> UserError:
        return UserError(f"{source}: {field}: {problem}")

    if not isinstance(data, Mapping):
        raise UserError(f"{source}: expected a JSON object with ranked_items")
    unknown = [key for key in data if key not in PAYLOAD_FIELDS]
    if unknown:
        raise bad(str(unknown[0]), "unknown field (expected " + ", ".join(PAYLOAD_FIELDS) + ")")
    if "ranked_items" not in data:
        raise bad("ranked_items", "missing")
    raw_items = data["ranked_items"]
    if not isinstance(raw_items, list):
        raise bad("ranked_items", "must be a list of objects with rel and ts")
    items: list[RankedItem] = []
    for n, raw in enumerate(raw_items):
        where = f"ranked_items[{n}]"
        if not isinstance(raw, Mapping):
            raise bad(where, "must be an object with rel and ts")
        for key in ("rel", "ts"):
            if key not in raw:
                raise bad(f"{where}.{key}", "missing")
        try:
            _check_rel(raw["rel"], f"{where}.rel")
        except UserError as exc:
            raise UserError(f"{source}: {exc}") from None
        try:
            ts = parse_timestamp(raw["ts"])
        except ValueError as exc:
            raise bad(f"{where}.ts", str(exc)) from None
        items.append(RankedItem(rel=raw["rel"], ts=ts))
    now = None
    if data.get("now") is not None:
        try:
            now = parse_timestamp(data["now"])
        except ValueError as exc:
            raise bad("now", str(exc)) from None
    k = data.get("k", DEFAULT_K)
    T_days = data.get("T_days", DEFAULT_T_DAYS)
    lam = data.get("lam", DEFAULT_LAM)
    try:
        check_params(k, T_days, lam)
    except UserError as exc:
        raise UserError(f"{source}: {exc}") from None
    return NdcgPayload(items=items, k=k, now=now, T_days=T_days, lam=lam)


def load_payload(path: Path | str) -> NdcgPayload:
    """Read and validate a payload file; a missing file or bad JSON is one line naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UserError(f"{path}: cannot read ({reason})") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except ValueError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    return parse_payload(data, str(path))


def _reject_constant(name: str) -> float:
    # Python's json reads NaN and Infinity, which JSON does not have
    raise ValueError(f"{name} is not a JSON number")
