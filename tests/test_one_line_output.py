"""Log lines and table rows stay one line each, whatever a stored name or message holds."""

from __future__ import annotations

import io

import pytest

from tui_bench.core.events import ModelFailed, ModelLoading, RunStarted
from tui_bench.headless import LogSink


def test_log_lines_show_names_and_errors_escaped() -> None:
    out = io.StringIO()
    log = LogSink(out)
    log.handle(
        RunStarted(
            run_id=1,
            plan="evil\n[run 9] completed: PASS",
            plan_path=None,
            started_at="2025-01-01T00:00:00",
            n_measured=1,
            n_warmup=0,
            models=["m"],
            prompts=["p"],
            repeats=1,
            host={"cpu": "x86", "gpu": {"available": False, "reason": "no GPU"}},
        )
    )
    log.handle(ModelLoading(model="m", source="a\x1b[2Jb.gguf", path=None))
    log.handle(ModelFailed(model="m", error="load failed:\nline two"))
    assert out.getvalue().splitlines() == [
        "[run 1] evil\\n[run 9] completed: PASS: 1 model(s) × 1 prompt(s) × 1 repeat(s) "
        "= 1 measured + 0 warm-up request(s)",
        "[run 1] host: x86; GPU: no GPU",
        "[m] loading a\\x1b[2Jb.gguf ...",
        "[m] FAILED: load failed:\\nline two",
    ]


def test_history_table_keeps_one_row_per_run(capsys: pytest.CaptureFixture[str]) -> None:
    from tui_bench.cli import main
    from tui_bench.core.store import Store

    store = Store()
    store.create_run(
        plan="two\nlines\x1b[31m",
        plan_path=None,
        plan_raw=None,
        started_at="2025-01-01T00:00:00",
        host={},
        threshold=1.0,
        n_planned=1,
    )
    store.close()
    with pytest.raises(SystemExit) as stop:
        main(["history"])
    assert stop.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # header, rule, the run
    assert lines[2].split()[:3] == ["1", "llm", "two\\nlines\\x1b[31m"]
