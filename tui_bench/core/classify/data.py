"""Labelled text in: CSV / TSV, JSONL (or a JSON array), Parquet (when pyarrow is present).

Two ways to give labels:

- ``label_column``: one category, named after the column, one label per row.
- ``annotation_column``: per row a JSON object ``{"category": label, ...}``; every key seen
  becomes a category. A cell may also be a Python-literal dict (single quotes, as
  ``str(dict)`` writes it); a cell that is neither is an error naming the row.

Label values, per category and row:

- skipped (counted in ``skipped_null``): missing key, ``None``, float NaN, an empty or
  blank string, the strings ``"null"`` and ``"nan"`` (any case), an empty list. The string
  ``"none"`` is kept: it is a real label in many annotation schemes.
- a list holding exactly one distinct label is that label (``["pos"]``, ``["pos", "pos"]``).
- a list with several distinct labels is a multi-label row: single-label classifiers
  cannot learn it, so the row is left out of that category only and counted in
  ``skipped_multi``. Guessing (first label, majority) would invent ground truth.
- numbers and booleans become their text (``1`` → ``"1"``, ``1.0`` → ``"1"``, ``True`` →
  ``"true"``); a nested object is left out and counted in ``skipped_invalid``.

Rows whose text is empty or missing are left out of every category (``skipped_no_text``).
Languages are stripped and lower-cased; a missing language is ``None`` (such rows are left
out of by-language training, and counted there). Row numbers in messages are 1-based data
rows (the CSV header is not counted).
"""

from __future__ import annotations

import ast
import csv
import gzip
import io
import json
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_bench.core.errors import UserError

LANGUAGE_COLUMN_GUESSES = ("language", "lang")
NULL_STRINGS = frozenset({"", "null", "nan"})

_TEXT_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass
class CategoryData:
    """The usable rows of one category, in file order."""

    name: str
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    languages: list[str | None] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # 1-based data row of each sample
    skipped_null: int = 0
    skipped_multi: int = 0
    skipped_invalid: int = 0

    @property
    def n(self) -> int:
        return len(self.labels)

    def subset(self, language: str | None) -> CategoryData:
        """The rows of one language (``None``: all rows)."""
        if language is None:
            return self
        keep = [i for i, lang in enumerate(self.languages) if lang == language]
        return CategoryData(
            name=self.name,
            texts=[self.texts[i] for i in keep],
            labels=[self.labels[i] for i in keep],
            languages=[self.languages[i] for i in keep],
            rows=[self.rows[i] for i in keep],
        )

    def skipped_summary(self) -> dict[str, int]:
        return {
            "null_label": self.skipped_null,
            "multi_label": self.skipped_multi,
            "invalid_label": self.skipped_invalid,
        }


@dataclass
class Dataset:
    path: str
    format: str
    columns: list[str]
    text_column: str
    label_column: str | None
    annotation_column: str | None
    language_column: str | None
    n_rows: int
    skipped_no_text: int
    categories: dict[str, CategoryData]

    @property
    def languages(self) -> list[str]:
        seen: set[str] = set()
        for cat in self.categories.values():
            seen.update(lang for lang in cat.languages if lang is not None)
        return sorted(seen)

    def summary(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "columns": self.columns,
            "text_column": self.text_column,
            "label_column": self.label_column,
            "annotation_column": self.annotation_column,
            "language_column": self.language_column,
            "n_rows": self.n_rows,
            "skipped_no_text": self.skipped_no_text,
            "languages": self.languages,
            "categories": {
                name: {"n_samples": cat.n, "skipped": cat.skipped_summary()}
                for name, cat in self.categories.items()
            },
        }


# --------------------------------------------------------------------------- readers


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in _TEXT_SUFFIXES:
        return _TEXT_SUFFIXES[last]
    if last == ".json":
        return "json"
    if last in (".parquet", ".pq"):
        return "parquet"
    raise UserError(
        f"{path}: unknown data format {last or '(no suffix)'!r} "
        "(use .csv, .tsv, .jsonl, .ndjson, .json or .parquet, optionally .gz)"
    )


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix.lower() == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _read_delimited(path: Path, delimiter: str) -> tuple[list[str], list[dict[str, Any]]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader, None)
            if header is None:
                raise UserError(f"{path}: the file is empty (no header row)")
            header = [h.strip() for h in header]
            rows = []
            for values in reader:
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue  # blank line
                rows.append(dict(zip(header, values, strict=False)))  # ragged rows: missing = null
        except csv.Error as exc:
            raise UserError(f"{path}: unreadable CSV near line {reader.line_num}: {exc}") from None
    return header, rows


def _read_jsonl(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    with _open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}: line {line_no}: malformed JSON ({exc.msg})") from None
            except RecursionError:
                raise UserError(f"{path}: line {line_no}: JSON nested too deeply") from None
            if not isinstance(obj, dict):
                raise UserError(
                    f"{path}: line {line_no}: expected a JSON object per line, "
                    f"got {type(obj).__name__}"
                )
            rows.append(obj)
    return _columns_of(rows), rows


def _read_json(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    with _open_text(path) as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: line {exc.lineno}: malformed JSON ({exc.msg})") from None
        except RecursionError:
            raise UserError(f"{path}: JSON nested too deeply") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise UserError(f"{path}: expected a JSON array of objects (one per row)")
    return _columns_of(data), data


def _read_parquet(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(
            f"{path}: reading Parquet needs pyarrow (pip install pyarrow), "
            "or convert the file to CSV or JSONL"
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types
        raise UserError(f"{path}: unreadable Parquet file ({exc})") from None
    return list(table.column_names), table.to_pylist()


def _columns_of(rows: Iterable[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(str(key), None)
    return list(seen)


def read_table(path: Path) -> tuple[str, list[str], list[dict[str, Any]]]:
    """(format, columns, rows) of a data file; every failure is a one-line UserError."""
    fmt = detect_format(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a data file")
    try:
        if fmt == "csv":
            columns, rows = _read_delimited(path, ",")
        elif fmt == "tsv":
            columns, rows = _read_delimited(path, "\t")
        elif fmt == "jsonl":
            columns, rows = _read_jsonl(path)
        elif fmt == "json":
            columns, rows = _read_json(path)
        else:
            columns, rows = _read_parquet(path)
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: unreadable file: not UTF-8 text ({exc.reason})") from None
    except (OSError, EOFError) as exc:
        raise UserError(f"{path}: unreadable file ({exc.__class__.__name__}: {exc})") from None
    return fmt, columns, rows


# --------------------------------------------------------------------------- values


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in NULL_STRINGS


def _scalar_label(value: Any) -> str | None:
    """Text of a scalar label, ``None`` when it is not a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value.strip()
    return None


def normalise_label(value: Any) -> tuple[str, str | None]:
    """Classify one raw label: ("ok", label) | ("null", None) | ("multi", None) | ("invalid", None)."""
    if _is_null(value):
        return "null", None
    if isinstance(value, list | tuple):
        labels = []
        for item in value:
            if _is_null(item):
                continue
            text = _scalar_label(item)
            if text is None:
                return "invalid", None
            if text not in labels:
                labels.append(text)
        if not labels:
            return "null", None
        if len(labels) > 1:
            return "multi", None
        return "ok", labels[0]
    text = _scalar_label(value)
    if text is None:
        return "invalid", None
    return "ok", text


def _text_of(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _language_of(value: Any) -> str | None:
    if _is_null(value):
        return None
    return str(value).strip().lower() or None


def parse_annotation(cell: Any, *, path: Path, column: str, row: int) -> dict[str, Any] | None:
    """The category → label mapping of one annotation cell (``None`` for an empty cell)."""
    if _is_null(cell):
        return None
    if isinstance(cell, dict):
        return {str(k): v for k, v in cell.items()}
    if not isinstance(cell, str):
        raise UserError(
            f"{path}: column {column!r}, row {row}: expected a JSON object, "
            f"got {type(cell).__name__}"
        )
    try:
        obj = json.loads(cell)
    except RecursionError:
        raise UserError(f"{path}: column {column!r}, row {row}: JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        obj = _python_literal(cell)
        if obj is None:
            raise UserError(
                f"{path}: column {column!r}, row {row}: malformed JSON ({exc.msg} at char {exc.pos})"
            ) from None
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise UserError(
            f"{path}: column {column!r}, row {row}: expected a JSON object "
            f"{{category: label}}, got {type(obj).__name__}"
        )
    return {str(k): v for k, v in obj.items()}


def _python_literal(cell: str) -> dict[str, Any] | None:
    text = cell.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        obj = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


# --------------------------------------------------------------------------- loading


def _require_column(path: Path, columns: list[str], name: str, role: str) -> str:
    if name in columns:
        return name
    listed = ", ".join(columns) if columns else "none"
    raise UserError(f"{path}: {role} column {name!r} not found (columns: {listed})")


def _guess_language_column(columns: list[str]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for guess in LANGUAGE_COLUMN_GUESSES:
        if guess in lowered:
            return lowered[guess]
    return None


def _label_items(
    row: dict[str, Any],
    *,
    path: Path,
    label_column: str | None,
    annotation_column: str | None,
    row_no: int,
) -> Iterator[tuple[str, Any]]:
    if label_column is not None:
        yield label_column, row.get(label_column)
        return
    assert annotation_column is not None
    mapping = parse_annotation(
        row.get(annotation_column), path=path, column=annotation_column, row=row_no
    )
    if mapping:
        yield from mapping.items()


def load_dataset(
    path: str | Path,
    *,
    text_column: str,
    label_column: str | None = None,
    annotation_column: str | None = None,
    language_column: str | None = None,
) -> Dataset:
    """Read a data file into per-category texts and labels (see the module docstring)."""
    path = Path(path)
    if (label_column is None) == (annotation_column is None):
        raise UserError("give exactly one of a label column or an annotation column")
    fmt, columns, rows = read_table(path)
    _require_column(path, columns, text_column, "text")
    if label_column is not None:
        _require_column(path, columns, label_column, "label")
    if annotation_column is not None:
        _require_column(path, columns, annotation_column, "annotation")
    if language_column is not None:
        _require_column(path, columns, language_column, "language")
    else:
        language_column = _guess_language_column(columns)
    if not rows:
        raise UserError(f"{path}: no data rows")

    categories: dict[str, CategoryData] = {}
    skipped_no_text = 0
    for row_no, row in enumerate(rows, start=1):
        items = list(
            _label_items(
                row,
                path=path,
                label_column=label_column,
                annotation_column=annotation_column,
                row_no=row_no,
            )
        )
        text = _text_of(row.get(text_column))
        if text is None:
            skipped_no_text += 1
            continue
        language = _language_of(row.get(language_column)) if language_column else None
        for name, raw in items:
            cat = categories.get(name)
            if cat is None:
                cat = categories[name] = CategoryData(name=name)
            status, label = normalise_label(raw)
            if status == "null":
                cat.skipped_null += 1
            elif status == "multi":
                cat.skipped_multi += 1
            elif status == "invalid":
                cat.skipped_invalid += 1
            else:
                assert label is not None
                cat.texts.append(text)
                cat.labels.append(label)
                cat.languages.append(language)
                cat.rows.append(row_no)
    # With an annotation column, "skipped" counts only the rows whose object names the
    # category: a key that is absent is no label, not a null one.
    if not any(cat.n for cat in categories.values()):
        source = label_column or annotation_column
        raise UserError(f"{path}: column {source!r} holds no usable label")
    return Dataset(
        path=str(path),
        format=fmt,
        columns=columns,
        text_column=text_column,
        label_column=label_column,
        annotation_column=annotation_column,
        language_column=language_column,
        n_rows=len(rows),
        skipped_no_text=skipped_no_text,
        categories=dict(sorted(categories.items())),
    )
