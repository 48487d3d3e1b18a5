"""House rules: binding ids, state-aware command palette, help, key remapping, 80×24,
theme colours only, and no benchmark logic in the TUI."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import Footer
from tui_helpers import (
    SIZE,
    fill_history,
    make_app,
    mock_loaded,
    screen_name,
    wait_for,
    wait_results,
)

from tui_bench.tui.app import TuiBenchApp
from tui_bench.tui.screens.help import HelpScreen
from tui_bench.tui.screens.history import CompareScreen, HistoryScreen

TUI = Path(__file__).resolve().parents[2] / "tui_bench" / "tui"


def _interface_classes() -> list[type[DOMNode]]:
    """Every app, screen and widget class the interface defines, found by walking the
    package (a new screen or widget is covered without being listed)."""
    import tui_bench.tui as pkg

    found: list[type[DOMNode]] = []
    for info in pkgutil.walk_packages(pkg.__path__, prefix="tui_bench.tui."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, DOMNode)
                and obj.__module__ == module.__name__
            ):
                found.append(obj)
    return found


CLASSES = _interface_classes()


def test_the_walk_finds_every_screen_and_widget() -> None:
    names = {cls.__name__ for cls in CLASSES}
    assert TuiBenchApp in CLASSES
    # both modes' screens, the dialogs and the widgets
    assert {"WizardScreen", "LiveScreen", "ResultsScreen", "HistoryScreen", "HelpScreen"} <= names
    assert {"ClassifySetupScreen", "ConfirmScreen", "RankingTable", "ModelsView"} <= names


def test_every_binding_has_an_id_and_a_description() -> None:
    seen: set[str] = set()
    for cls in CLASSES:
        for b in cls.__dict__.get("BINDINGS", []):
            assert isinstance(b, Binding), (cls.__name__, b)
            assert b.id and b.description, (cls.__name__, b.key)
            assert b.id not in seen, b.id
            seen.add(b.id)


def test_colours_come_from_the_theme() -> None:
    """No literal colour in styles or code: theme variables ($primary, $error ...) only."""
    named = r"(red|green|blue|yellow|magenta|cyan|white|black|grey|gray|orange|purple)"
    literal = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bansi_\w+")
    tcss_named = re.compile(rf":\s*[^;$]*\b{named}\b")
    py_style = re.compile(rf"[\"'](?:bold |italic |underline )*{named}(?: on \w+)?[\"']")
    for path in [*TUI.rglob("*.tcss"), *TUI.rglob("*.py")]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if path.suffix == ".tcss":
                bad = literal.search(line) or tcss_named.search(line)
            else:
                code = line if '"' in line or "'" in line else line.split("#", 1)[0]
                bad = literal.search(code.split("  #", 1)[0]) or py_style.search(code)
            assert not bad, f"{path.name}:{n}: {line.strip()}"


def test_the_tui_contains_no_benchmark_logic() -> None:
    """Numbers come from tui_bench.core: no statistics or metric code here."""
    for path in TUI.rglob("*.py"):
        text = path.read_text()
        for forbidden in (
            "import numpy",
            "import scipy",
            "perf_counter_ns()",
            "mannwhitney",
            "percentile(",
        ):
            if path.name == "app.py" and forbidden.startswith("import "):
                continue  # _warm_imports only imports them early, for the core
            assert forbidden not in text, f"{path.name}: {forbidden}"


async def test_footer_shows_the_screen_bindings() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.query(Footer)
        shown = {a.binding.id for a in app.screen.active_bindings.values() if a.binding.show}
        assert {"wizard.next", "wizard.start", "wizard.save", "app.help", "app.history"} <= shown


async def test_command_palette_fits_the_state() -> None:
    ids = fill_history()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Start run", "Save plan", "History", "New run", "Help"} <= titles
        assert "Cancel run" not in titles and "Export reports" not in titles
        # run a catalog plan from the palette
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: screen_name(app) == "CommandPalette")
        await pilot.press(*"Run plan: demo")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.active is not None)
        run = app.active
        assert run is not None and run.loaded.plan.name == "demo"
        if run.running:
            titles = {c.title for c in app.get_system_commands(app.screen)}
            assert "Cancel run" in titles and "Start run" not in titles
        results = await wait_results(pilot, app)
        titles = {c.title for c in app.get_system_commands(results)}
        assert "Export reports" in titles and "Sort by TTFT ms" in titles
        app.action_history()
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Compare baseline vs candidate" in titles  # marks come from the stored labels
        assert ids["baseline"] == app.screen.baseline_id  # type: ignore[attr-defined]


async def test_f1_lists_the_keys_with_their_ids() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        ids = {row[2] for row in app.screen.rows}  # type: ignore[attr-defined]
        assert {"wizard.next", "wizard.back", "wizard.start", "app.quit", "app.help"} <= ids
        await pilot.press("escape")
        assert screen_name(app) == "WizardScreen"


async def test_keys_can_be_remapped_by_binding_id() -> None:
    app = make_app(keymap={"app.history": "f9"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert screen_name(app) == "WizardScreen"
        await pilot.press("f9")
        await wait_for(pilot, lambda: screen_name(app) == "HistoryScreen")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_main_screen_fits(size: tuple[int, int]) -> None:
    ids = fill_history()
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for step in ("step-models", "step-prompts", "step-settings", "step-review", "step-plan"):
            app.screen.goto(step)  # type: ignore[attr-defined]
            await pilot.pause()
        run = app.start_run(mock_loaded())
        assert run is not None
        await wait_results(pilot, app)
        app.action_history()
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        await pilot.press("d")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.result is not None
        )
        for widget in app.screen.query("DataTable"):
            assert widget.region.width <= size[0] and widget.region.height >= 3
        assert ids
