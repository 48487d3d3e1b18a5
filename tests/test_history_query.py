"""The run list at scale: list queries read no run documents, pages follow each other in
order under every filter (the shown 'interrupted' status too), and the command's JSON and
CSV come out a row at a time, as they did whole."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tui_bench.cli.history import json_list_parts, write_csv
from tui_bench.core.history_query import DOCUMENT_COLUMNS, RunFilter
from tui_bench.core.store import Store

DEAD_PID = 999_999_999  # beyond any pid_max: no such process


def _seed(store: Store, n: int) -> dict[int, dict[str, Any]]:
    """``n`` finished runs of two plans and two kinds; every seventh one left 'running'
    by a process that is gone. Returns what each was given, by id."""
    given: dict[int, dict[str, Any]] = {}
    for i in range(n):
        kind = "classify" if i % 5 == 4 else "llm"
        plan = "nightly" if i % 3 else "weekly"
        summary = [{"model": f"m{i}", "ttft_ms": {"median": float(i)}, "pad": "x" * 2000}]
        rid = store.create_run(
            plan=plan,
            plan_path=None,
            plan_raw={"name": plan, "models": [{"id": f"m{i}"}]},
            started_at=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}",
            host={"cpu": f"cpu {i}"},
            threshold=0.9,
            n_planned=4,
            kind=kind,
        )
        store.finish_run(
            rid,
            status="cancelled" if i % 11 == 10 else "completed",
            finished_at="2026-01-02T00:00:00",
            n_measured=4,
            n_ok=4,
            n_failed=0,
            success_rate=1.0,
            mean_e2e_ms=10.0 + i,
            mean_ttft_ms=1.0 + i,
            summary=summary,
            output_dir=None,
        )
        if i % 7 == 6:
            store.conn.execute(
                "UPDATE runs SET status='running', pid=? WHERE id=?", (DEAD_PID, rid)
            )
            store.conn.commit()
        given[rid] = {"kind": kind, "plan": plan, "summary": summary, "i": i}
    return given


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(tmp_path / "h.sqlite3")
    yield s
    s.close()


def _traced(store: Store) -> list[str]:
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    return statements


def test_a_list_reads_no_run_documents_until_one_is_used(store: Store) -> None:
    given = _seed(store, 12)
    statements = _traced(store)
    rows = store.list_runs(limit=5)
    store.conn.set_trace_callback(None)
    assert [r.id for r in rows] == sorted(given, reverse=True)[:5]
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert reads and not [s for s in reads if "*" in s or any(c in s for c in DOCUMENT_COLUMNS)]
    assert all(r.loaded is None for r in rows)  # nothing parsed either
    # opening one reads its documents, and only its own
    statements = _traced(store)
    first = rows[0]
    assert first.summary == given[first.id]["summary"]
    assert first.plan_raw["models"] == [{"id": f"m{given[first.id]['i']}"}]
    assert first.host == {"cpu": f"cpu {given[first.id]['i']}"}
    store.conn.set_trace_callback(None)
    assert len(statements) == 1 and "summary_json" in statements[0]
    assert statements[0].rstrip().endswith(f"WHERE id={first.id}")
    assert all(r.loaded is None for r in rows[1:])


def test_get_run_reads_the_documents_with_the_row(store: Store) -> None:
    given = _seed(store, 3)
    rid = min(given)
    row = store.get_run(rid)
    assert row.loaded is not None and row.summary == given[rid]["summary"]


def test_a_listed_run_still_opens_after_its_store_is_closed(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.sqlite3")
    given = _seed(store, 2)
    [row, _] = store.list_runs()
    store.close()
    assert row.summary == given[row.id]["summary"]


@pytest.mark.parametrize(
    "flt",
    [
        RunFilter(),
        RunFilter(kind="llm"),
        RunFilter(kind="classify", plan="nightly"),
        RunFilter(status="cancelled"),
        RunFilter(status="interrupted"),
        RunFilter(kind="llm", status="completed"),
    ],
    ids=["all", "llm", "classify-nightly", "cancelled", "interrupted", "llm-completed"],
)
def test_pages_follow_each_other_in_order(store: Store, flt: RunFilter) -> None:
    given = _seed(store, 230)
    statuses = {r.id: r.status for r in store.runs.iter()}
    assert statuses[7] == "interrupted" and statuses[11] == "cancelled"
    expected = [
        rid
        for rid in sorted(given, reverse=True)
        if (flt.kind is None or given[rid]["kind"] == flt.kind)
        and (flt.plan is None or given[rid]["plan"] == flt.plan)
        and (flt.status is None or statuses[rid] == flt.status)
    ]
    assert len(expected) >= 12  # several pages of 5 below
    for size in (5, 100):
        pages: list[list[int]] = []
        before: int | None = None
        while True:
            page = store.list_runs(
                plan=flt.plan, kind=flt.kind, status=flt.status, limit=size, before_id=before
            )
            if not page:
                break
            pages.append([r.id for r in page])
            before = page[-1].id
        assert [rid for p in pages for rid in p] == expected
        assert all(len(p) == size for p in pages[:-1]) and 0 < len(pages[-1]) <= size
    assert store.runs.count(flt) == len(expected)
    assert [r.id for r in store.iter_runs(plan=flt.plan, kind=flt.kind, status=flt.status)] == (
        expected
    )


def test_an_interrupted_run_is_counted_from_its_requests(store: Store) -> None:
    """A run that died before finishing has no totals: a list counts what it committed."""
    given = _seed(store, 7)
    rid = max(given)
    store.conn.execute(
        "UPDATE runs SET n_measured=NULL, n_ok=NULL, n_failed=NULL, success_rate=NULL WHERE id=?",
        (rid,),
    )
    for seq, ok in enumerate([1, 1, 0]):
        store.conn.execute(
            "INSERT INTO requests (run_id, seq, model, prompt, warmup, ok) VALUES (?,?,?,?,?,?)",
            (rid, seq, "m", "p", 0, ok),
        )
    store.conn.commit()
    [row] = store.list_runs(status="interrupted")
    assert (row.id, row.n_measured, row.n_ok, row.n_failed) == (rid, 3, 2, 1)
    assert row.success_rate == pytest.approx(2 / 3)


def test_plans_marks_and_presence_of_a_kind(store: Store) -> None:
    given = _seed(store, 20)
    llm = sorted((r for r in given if given[r]["kind"] == "llm"), reverse=True)
    store.set_label(llm[3], "baseline")
    store.set_label(llm[0], "candidate")
    assert store.runs.plans("llm") == ["nightly", "weekly"]
    assert store.runs.marked("llm") == [(llm[0], "candidate"), (llm[3], "baseline")]
    assert store.runs.marked("classify") == []
    classify_id = next(r for r in given if given[r]["kind"] == "classify")
    assert store.runs.present([llm[3], classify_id, 10**6], "llm") == {llm[3]}


def test_json_and_csv_come_out_a_row_at_a_time_as_they_did_whole(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.sqlite3")
    _seed(store, 9)
    rows = [r.as_dict() for r in store.list_runs(limit=None)]
    store.close()
    for items in ([], rows[:1], rows):
        assert "".join(json_list_parts(iter(items))) == json.dumps(items, indent=2)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        write_csv(iter(rows))
    back = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [int(r["id"]) for r in back] == [r["id"] for r in rows]
    assert list(back[0]) == list(rows[0])


def test_a_list_of_a_database_with_no_runs(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.sqlite3")
    try:
        assert store.list_runs() == [] and store.runs.count() == 0
        assert store.runs.plans() == [] and store.runs.marked() == []
    finally:
        store.close()
