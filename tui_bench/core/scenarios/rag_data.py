"""A scenario's retrieval and question data: documents, questions, relevance judgements.

Two JSON Lines files, one object a line (blank lines skipped):

- ``documents``: ``id`` (unique), ``text``, and optionally ``title``, ``label`` (one of
  the scenario's labels) and ``ts`` (ISO 8601 with a zone; when one document has it,
  every document must, since temporal nDCG needs an age for every ranked item).
- ``questions``: ``id`` (unique), ``question``, ``label`` (needed by a classify stage),
  ``relevant`` (document id -> graded relevance 0 to 3, needed by a retrieve stage, with
  at least one grade above 0; documents not listed are judged 0), and ``expect`` (what a
  good answer holds, the plan prompts' ``expect`` table: reference, contains, regex ...).

The question count must equal the scenario's ``tasks_total``. Every problem is one line
``FILE: line N: FIELD: what is wrong`` (exit code 2).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tui_bench.core.errors import UserError
from tui_bench.core.ranking import parse_timestamp
from tui_bench.core.scenarios.index import Scenario

MAX_GRADE = 3
DOCUMENT_FIELDS = ("id", "text", "title", "label", "ts")
QUESTION_FIELDS = ("id", "question", "label", "relevant", "expect")


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    title: str = ""
    label: str | None = None
    ts: datetime | None = None


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    label: str | None = None
    relevant: dict[str, int] = field(default_factory=dict)  # doc id -> grade > 0 only
    expect: dict[str, Any] | None = None


@dataclass(frozen=True)
class RagData:
    documents: list[Document]
    questions: list[Question]


def load_rag_data(scenario: Scenario) -> RagData:
    """The scenario's documents (when it has them) and questions, checked against each
    other and against the scenario (labels, stages, tasks_total)."""
    labels = set(scenario.labels)
    documents: list[Document] = []
    if "documents" in scenario.data:
        documents = load_documents(scenario.data["documents"], labels)
    questions = load_questions(
        scenario.data["questions"],
        labels,
        doc_ids={d.id for d in documents} if documents else None,
        need_label="classify" in scenario.stages,
        need_relevant="retrieve" in scenario.stages,
    )
    if len(questions) != scenario.tasks_total:
        raise UserError(
            f"{scenario.index_path}: {scenario.id}.tasks_total: {scenario.tasks_total}, but "
            f"{scenario.data['questions']} holds {len(questions)} questions"
        )
    return RagData(documents=documents, questions=questions)


def load_documents(path: Path, labels: set[str] | None = None) -> list[Document]:
    """Documents from a JSON Lines file (see the module docstring)."""
    docs: list[Document] = []
    seen: set[str] = set()
    for line, row in _rows(path, DOCUMENT_FIELDS):
        bad = _bad(path, line)
        doc_id = _required_text(row, "id", bad)
        if doc_id in seen:
            raise bad("id", f"{doc_id!r} already used by an earlier document")
        seen.add(doc_id)
        ts = None
        if "ts" in row:
            try:
                ts = parse_timestamp(row["ts"])
            except ValueError as exc:
                raise bad("ts", str(exc)) from None
        docs.append(
            Document(
                id=doc_id,
                text=_required_text(row, "text", bad),
                title=_optional_text(row, "title", bad) or "",
                label=_label(row, labels, bad),
                ts=ts,
            )
        )
    if not docs:
        raise UserError(f"{path}: no documents")
    dated = docs[0].ts is not None
    odd = next((d for d in docs if (d.ts is not None) != dated), None)
    if odd is not None:
        has = "has no" if dated else "has a"
        raise UserError(
            f"{path}: ts: document {odd.id!r} {has} timestamp, unlike the first one "
            "(give every document a ts, or none)"
        )
    return docs


def load_questions(
    path: Path,
    labels: set[str] | None = None,
    *,
    doc_ids: set[str] | None = None,
    need_label: bool = False,
    need_relevant: bool = False,
) -> list[Question]:
    """Questions from a JSON Lines file; judged ids checked against ``doc_ids`` if given."""
    from tui_bench.core.plan import Expect
    from tui_bench.core.quality import validate_expect

    questions: list[Question] = []
    seen: set[str] = set()
    for line, row in _rows(path, QUESTION_FIELDS):
        bad = _bad(path, line)
        qid = _required_text(row, "id", bad)
        if qid in seen:
            raise bad("id", f"{qid!r} already used by an earlier question")
        seen.add(qid)
        label = _label(row, labels, bad)
        if need_label and label is None:
            raise bad("label", "missing: the classify stage needs a label per question")
        relevant = _relevant(row.get("relevant"), doc_ids, bad)
        if need_relevant and not relevant:
            raise bad("relevant", "missing: the retrieve stage needs a document graded above 0")
        expect = row.get("expect")
        if expect is not None:
            if not isinstance(expect, Mapping):
                raise bad("expect", "must be an object (reference, contains, regex ...)")
            try:
                problem = validate_expect(Expect.model_validate(expect))
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                errors = getattr(exc, "errors", lambda: [])()
                loc = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
                msg = errors[0]["msg"] if errors else str(exc)
                raise bad(f"expect.{loc}" if loc else "expect", msg) from None
            if problem:
                where, _, message = problem.partition(": ")
                raise bad(f"expect.{where}", message)
        questions.append(
            Question(
                id=qid,
                text=_required_text(row, "question", bad),
                label=label,
                relevant=relevant,
                expect=dict(expect) if expect is not None else None,
            )
        )
    if not questions:
        raise UserError(f"{path}: no questions")
    return questions


def _rows(path: Path, fields: tuple[str, ...]) -> list[tuple[int, Mapping[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UserError(f"{path}: cannot read ({reason})") from None
    out: list[tuple[int, Mapping[str, Any]]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: line {n}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, Mapping):
            raise UserError(f"{path}: line {n}: expected a JSON object")
        for key in row:
            if key not in fields:
                raise UserError(
                    f"{path}: line {n}: {key}: unknown field (expected " + ", ".join(fields) + ")"
                )
        out.append((n, row))
    return out


def _bad(path: Path, line: int) -> Any:
    def bad(name: str, message: str) -> UserError:
        return UserError(f"{path}: line {line}: {name}: {message}")

    return bad


def _required_text(row: Mapping[str, Any], key: str, bad: Any) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise bad(key, "missing" if value is None else f"must be a non-empty string, got {value!r}")
    return value.strip()


def _optional_text(row: Mapping[str, Any], key: str, bad: Any) -> str | None:
    return _required_text(row, key, bad) if row.get(key) is not None else None


def _label(row: Mapping[str, Any], labels: set[str] | None, bad: Any) -> str | None:
    label = _optional_text(row, "label", bad)
    if label is not None and labels and label not in labels:
        raise bad(
            "label", f"{label!r} is not in the scenario's labels ({', '.join(sorted(labels))})"
        )
    return label


def _relevant(raw: object, doc_ids: set[str] | None, bad: Any) -> dict[str, int]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise bad("relevant", "must be an object: document id -> grade 0 to 3")
    out: dict[str, int] = {}
    for doc_id, grade in raw.items():
        if doc_ids is not None and doc_id not in doc_ids:
            raise bad(f"relevant.{doc_id}", "no such document")
        if isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= MAX_GRADE:
            raise bad(
                f"relevant.{doc_id}", f"must be an integer grade 0 to {MAX_GRADE}, got {grade!r}"
            )
        if grade > 0:
            out[doc_id] = grade
    return out
