"""A run in the app whose reports could not be written is not shown as a success."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import SIZE, make_app, wait_for, wait_results

from tui_bench.core.errors import EXIT_SAVE_FAILED


async def test_reports_not_written_are_an_error_and_exit_3(tmp_path: Path) -> None:
    plan = tmp_path / "cli.toml"
    plan.write_text(
        'name = "cli"\nsuccess_threshold = 1.0\nrepeats = 1\nwarmup = 0\n'
        "[defaults]\nmax_tokens = 6\n"
        '[[models]]\nid = "m"\nbackend = "mock"\n[models.mock]\nload_ms = 1\ntokens_per_s = 3000\n'
        '[[prompts]]\nid = "a"\ntext = "hello there"\n'
    )
    out = tmp_path / "out"
    (out / "report.md").mkdir(parents=True)  # the folder takes files, this name cannot
    app = make_app(plan_path=plan, start=True, output_dir=out)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.active is not None)
        await wait_results(pilot, app)
        finished = [n for n in app._notifications if n.title == "Run finished"]
        assert len(finished) == 1
        assert finished[0].severity == "error"
        assert f"reports NOT written: Is a directory: {out / 'report.md'}" in finished[0].message
        assert "reports: " not in finished[0].message
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == EXIT_SAVE_FAILED == 3
