"""`tui-bench classify` keeps a finished benchmark whatever happens to its files: an output
folder that cannot be written stops it before training (exit 2); a chosen model that
cannot be trained or saved is one error line and exit code 3, the report and the history
entry written all the same."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from bench_helpers import cli_env, tui_bench_cmd
from classify_helpers import labelled_rows, read_only_folder, write_csv

from tui_bench.core.store import Store

LONG = "c" * 300


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tui_bench_cmd(*args), capture_output=True, text=True, env=cli_env(home), timeout=600
    )


def _classify(home: Path, data: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _cli(
        home, "classify", str(data), "--headless", "--output", str(out),
        "--models", "char-svm,tfidf-logreg", *args,
    )  # fmt: skip


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _runs(home: Path) -> list[Any]:
    store = Store()  # the database of TUI_BENCH_HOME, set by the bench_home fixture
    try:
        return store.list_runs(kind="classify", limit=10)
    finally:
        store.close()


@pytest.mark.parametrize("case", ["file", "name too long", "read-only"])
def test_an_unwritable_output_is_refused_before_training(
    bench_home: Path, tmp_path: Path, case: str
) -> None:
    data = write_csv(tmp_path / "d.csv", labelled_rows({"pos": 30, "neg": 30}))
    (tmp_path / "taken").write_text("a file\n")
    out, expected = {
        "file": (tmp_path / "taken", "is a file, not a folder"),
        "name too long": (tmp_path / LONG, "is longer than the 255 bytes"),
        "read-only": (tmp_path / "ro" / "out", "cannot write"),
    }[case]
    ro = read_only_folder(tmp_path / "ro") if case == "read-only" else contextlib.nullcontext()
    with ro:
        proc = _classify(bench_home, data, out, "--label-column", "label", "--choose", "top")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == _error_lines(proc.stderr)  # that line alone
    [line] = _error_lines(proc.stderr)
    assert line.startswith(f"error: output folder {out}: ") and expected in line
    assert _runs(bench_home) == []  # nothing ran


def test_a_chosen_model_that_failed_keeps_report_and_history(
    bench_home: Path, tmp_path: Path
) -> None:
    # one-letter tokens: word TF-IDF (tfidf-logreg) finds no vocabulary, char-svm learns them
    rows = [{"text": ["a b c a", "x y z x"][i % 2], "label": "pq"[i % 2]} for i in range(40)]
    data = write_csv(tmp_path / "no-words.csv", rows)
    out = tmp_path / "out"
    proc = _classify(bench_home, data, out, "--label-column", "label", "--choose", "tfidf-logreg")

    assert proc.returncode == 3, proc.stderr
    [line] = _error_lines(proc.stderr)
    assert line.startswith("error: final model tfidf-logreg for 'label' not trained: ")
    assert "it failed in the benchmark (ValueError: empty vocabulary" in line
    stored = json.loads((out / "data.json").read_text(encoding="utf-8"))
    assert [r["model"] for r in stored["results"] if r["rank"] == 1] == ["char-svm"]
    assert stored["choice"]["errors"] == [line.removeprefix("error: ")]
    assert "Not saved:" in (out / "report.md").read_text(encoding="utf-8")
    assert (out / "results.csv").exists() and not list(out.glob("model-*"))
    [run] = _runs(bench_home)
    assert run.status == "completed"
    assert run.summary["choice"]["errors"] == stored["choice"]["errors"]
    assert f"report: {out / 'data.json'}" in proc.stderr


def test_a_category_name_too_long_for_a_file_name_is_saved(
    bench_home: Path, tmp_path: Path
) -> None:
    data = write_csv(tmp_path / "long.csv", labelled_rows({"pos": 30, "neg": 30}, column=LONG))
    out = tmp_path / "out"
    proc = _classify(bench_home, data, out, "--label-column", LONG, "--choose", "char-svm")
    assert proc.returncode == 0, proc.stderr
    [model] = out.glob("model-*.joblib")
    assert model.name.startswith("model-ccc") and len(model.name.encode()) <= 255
    card = json.loads(model.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["category"] == LONG and card["model_file"] == model.name
    [run] = _runs(bench_home)
    assert [f["model_path"] for f in run.summary["final"]] == [str(model)]
