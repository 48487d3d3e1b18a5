"""Default columns for the classifier screen, guessed from a data file's header and rows.

Guesses only preselect the choices the user sees (and changes); the core validates them.

- text: a column named like a text (``text``, ``sentence``, ``content`` ...), else the
  column whose values are longest on average;
- labels: an annotation column when a column holds JSON objects (``{"category": label}``),
  else a label column named like one (``label``, ``topic``, ``category`` ...), else the
  column with the fewest distinct values among the rest;
- language: ``language`` or ``lang`` (what the core finds by name), else none.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tui_bench.core.classify.data import LANGUAGE_COLUMN_GUESSES

TEXT_NAMES = ("text", "sentence", "content", "message", "body", "document", "review", "comment")
LABEL_NAMES = ("label", "labels", "topic", "category", "class", "intent", "sentiment", "target")
ANNOTATION_NAMES = ("annotation", "annotations")
SAMPLE_ROWS = 200

LabelKind = Literal["label", "annotation"]


@dataclass(frozen=True)
class ColumnGuess:
    text: str | None
    kind: LabelKind  # the kind preselected: annotation when a column holds JSON objects
    labels: str | None  # the column of that kind
    language: str | None
    label_column: str | None = None  # the best guess of each kind, for when the user
    annotation_column: str | None = None  # switches between them


def _named(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _values(rows: Sequence[dict[str, Any]], column: str) -> list[Any]:
    return [r.get(column) for r in rows[:SAMPLE_ROWS] if r.get(column) not in (None, "")]


def _holds_objects(values: Sequence[Any]) -> bool:
    if not values:
        return False
    hits = 0
    for v in values:
        if isinstance(v, dict):
            hits += 1
        elif isinstance(v, str) and v.strip().startswith("{"):
            with contextlib.suppress(ValueError):
                hits += isinstance(json.loads(v), dict)
    return hits >= 0.8 * len(values)


def _mean_length(values: Sequence[Any]) -> float:
    return sum(len(str(v)) for v in values) / len(values) if values else 0.0


def guess_columns(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> ColumnGuess:
    cols = list(columns)
    language = _named(cols, LANGUAGE_COLUMN_GUESSES)
    annotation = _named(cols, ANNOTATION_NAMES)
    if annotation is None or not _holds_objects(_values(rows, annotation)):
        annotation = next((c for c in cols if _holds_objects(_values(rows, c))), None)
    text = _named(cols, TEXT_NAMES)
    if text is None:
        others = [c for c in cols if c not in (annotation, language)]
        text = max(others, key=lambda c: _mean_length(_values(rows, c)), default=None)
    rest = [c for c in cols if c not in (text, language, annotation)]
    label = _named(rest, LABEL_NAMES)
    if label is None and rest:

        def distinct(c: str) -> tuple[bool, int, str]:
            n = len({str(v) for v in _values(rows, c)})
            return (n < 2, n, c)  # a column with one value cannot be a label

        label = min(rest, key=distinct)
    if annotation is not None:
        return ColumnGuess(text, "annotation", annotation, language, label, annotation)
    return ColumnGuess(text, "label", label, language, label, None)
