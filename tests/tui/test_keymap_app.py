"""The app reports keymap.toml entries that change nothing, and applies the rest."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import SIZE, make_app, screen_name, wait_for


async def test_the_app_warns_about_a_keymap_typo_and_applies_the_rest(bench_home: Path) -> None:
    path = bench_home / "keymap.toml"
    path.write_text('"app.history" = "f9"\n"live.cancle" = "x"\n')
    app = make_app(keymap=None)  # read from $TUI_BENCH_HOME, as the CLI does
    async with app.run_test(size=SIZE) as pilot:

        def warnings() -> list[str]:
            return [n.message for n in app._notifications if n.severity == "warning"]

        await wait_for(pilot, lambda: bool(warnings()))
        assert warnings() == [
            f"{path}: unknown binding id 'live.cancle', ignored (did you mean 'live.cancel'?)"
        ]
        await pilot.press("f9")
        await wait_for(pilot, lambda: screen_name(app) == "HistoryScreen")
