"""The wizard's review of a plan with load levels: the levels, their bound and the SLOs
in words, and a matrix line that counts the levels' requests (not prompts x repeats)."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import SIZE, make_app, wait_for

from tui_bench.tui.screens.wizard import WizardScreen

PLAN = """
name = "sweep"
warmup = 0
[defaults]
max_tokens = 16
[[models]]
id = "srv"
backend = "mock"
mock = { slots = 2, load_ms = 1 }
[[prompts]]
id = "a"
task = "qa"
text = "hello"
[load]
concurrency = [1, 2, 4]
requests = 8
warmup_requests = 1
[slo]
ttft_ms = 100
decode_tps = 300
"""


async def test_the_review_says_the_levels_and_the_slos(tmp_path: Path) -> None:
    (tmp_path / "sweep.toml").write_text(PLAN)
    app = make_app(plans_dirs=[tmp_path])
    async with app.run_test(size=SIZE) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        await wait_for(pilot, lambda: bool(wiz.options))
        await pilot.press("home", "enter")  # the sweep: its review
        await wait_for(pilot, lambda: wiz.step == "step-review" and wiz.current is not None)
        review = str(wiz.query_one("#review").render())
    lines = {ln.split(" ", 1)[0]: ln for ln in review.splitlines() if ln.strip()}
    assert lines["matrix"] == (
        "matrix   1 model(s) × their load levels = 24 measured requests + 3 warm-up"
    )
    assert lines["load"] == (
        "load     closed loop at 1, 2, 4 users · 8 requests per level after 1 warm-up(s)"
    )
    assert lines["SLO"] == (
        "SLO      first token < 100 ms and ≥ 300 tok/s each for 90% of requests"
    )
