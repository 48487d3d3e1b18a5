"""A headless classifier benchmark stops as a plan's run does: SIGHUP (an SSH session that
went away), SIGTERM or Ctrl-C stop it after the current candidate, the finished ones kept
in history and in the report (exit 130); its reports go through one report sink."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from bench_helpers import cli_env, tui_bench_cmd
from classify_helpers import annotated_rows, labelled_rows, write_csv

from tui_bench.core.classify.runner import ClassifyConfig, ClassifyReportSink, run_classify
from tui_bench.core.store import Store
from tui_bench.headless.signals import STOP_SIGNALS, cancel_on_signals

N_CATEGORIES = 10


def test_sighup_stops_a_headless_classifier_and_keeps_finished_candidates(
    bench_home: Path, tmp_path: Path
) -> None:
    # 10 categories × (2 candidates + baseline), 5 folds each: the run goes on long after
    # its first candidate, whatever the machine's load
    cats = {f"c{i}": {"a": 150, "b": 150} for i in range(N_CATEGORIES)}
    data = write_csv(tmp_path / "d.csv", annotated_rows(cats, n_rows=300))
    out = tmp_path / "out"
    args = [
        "classify", str(data), "--annotation-column", "annotation",
        "--categories", ",".join(cats), "--models", "complement-nb,char-svm",
        "--cv", "5", "--headless", "--output", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(
        tui_bench_cmd(*args),
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(bench_home),
    )
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        for line in proc.stderr:  # the benchmark started, and one candidate finished
            lines.append(line.rstrip("\n"))
            if line.startswith("[ 1/30] "):
                break
        proc.send_signal(signal.SIGHUP)
        _, rest = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines += rest.splitlines()
    assert proc.returncode == 130, "\n".join(lines)

    assert lines[0].startswith(f"[classify] {data}: 300 rows;")
    first = next(x for x in lines if x.startswith("[ 1/30] "))
    assert first.startswith("[ 1/30] complement-nb on c0: macro-F1 ")
    f1 = float(first.split("macro-F1 ")[1].split()[0])
    assert (
        "SIGHUP: stopping after the current epoch; finished results are kept (again to abort now)"
        in lines
    )
    assert "Traceback" not in "\n".join(lines)
    # history first, then the files, then what the interruption kept
    history = next(i for i, x in enumerate(lines) if x.startswith("history: "))
    files = ("data.json", "results.csv", "report.md", "chart_ranking.svg", "chart_confusion.svg")
    report = lines.index("report: " + ", ".join(str(out / f) for f in files))
    assert history < report == len(lines) - 2
    assert lines[-1] == f"interrupted: finished results kept; partial report in {out}"

    stored = json.loads((out / "data.json").read_text(encoding="utf-8"))
    assert stored["status"] == "cancelled"
    kept = {(r["model"], r["category"]): r for r in stored["results"]}
    # the figure printed (3 decimals) is the one kept (4 decimals)
    assert kept["complement-nb", "c0"]["f1_macro"] == pytest.approx(f1, abs=6e-4)
    assert 1 <= len(kept) < 3 * N_CATEGORIES  # finished ones only, not the cancelled
    store = Store()  # TUI_BENCH_HOME's database (the bench_home fixture)
    try:
        [run] = store.list_runs(kind="classify", limit=5)
    finally:
        store.close()
    assert run.status == "cancelled"
    assert lines[history] == f"history: {bench_home / 'history.sqlite3'} (run {run.id})"
    assert run.summary["results"] == stored["results"]


def test_the_first_stop_signal_cancels_the_second_aborts_then_handlers_come_back() -> None:
    before = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    said: list[str] = []
    cancels: list[str] = []
    with cancel_on_signals(lambda: cancels.append("cancel"), said.append, step="epoch"):
        signal.raise_signal(signal.SIGHUP)
        assert said == [
            "SIGHUP: stopping after the current epoch; finished results are kept "
            "(again to abort now)"
        ]
        assert cancels == ["cancel"]
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
        assert cancels == ["cancel"] and len(said) == 1
    assert {sig: signal.getsignal(sig) for sig in STOP_SIGNALS} == before


def test_reports_go_through_the_sink_given(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", labelled_rows({"pos": 30, "neg": 30}))
    out = tmp_path / "out"
    config = ClassifyConfig(
        data=data, label_column="label", models=["char-svm", "complement-nb"], output_dir=out
    )
    sink = ClassifyReportSink()
    result = run_classify(config, report=sink)
    assert sink.error is None and result.save_error is None
    assert sink.written == [
        out / name
        for name in (
            "data.json",
            "results.csv",
            "report.md",
            "chart_ranking.svg",
            "chart_confusion.svg",
        )
    ]
    assert json.loads(sink.written[0].read_text(encoding="utf-8"))["status"] == "completed"

    (tmp_path / "blocked" / "report.md").mkdir(parents=True)  # that one file cannot be written
    sink = ClassifyReportSink()
    result = run_classify(
        ClassifyConfig(
            data=data,
            label_column="label",
            models=["char-svm", "complement-nb"],
            output_dir=tmp_path / "blocked",
        ),
        report=sink,
    )
    assert sink.written == []
    assert sink.error == f"report not written: {tmp_path / 'blocked' / 'report.md'}: Is a directory"
    assert result.save_error == sink.error
