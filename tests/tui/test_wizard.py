"""The wizard driven from the keyboard: compose a plan, start it, see the ranking."""

from __future__ import annotations

import statistics
from pathlib import Path

from textual import events
from textual.widgets import Input, OptionList, SelectionList, Static
from tui_helpers import REPO_PLANS, SIZE, make_app, screen_name, wait_for, wait_results

from tui_bench.core.plan import load_plan
from tui_bench.core.summary import counts_for_timing
from tui_bench.tui.screens.wizard import WizardScreen
from tui_bench.tui.widgets.ranking import MEDALS, RankingTable


async def test_compose_start_and_rank_end_to_end() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        assert wiz.current is not None and wiz.current.plan.name == "demo"  # preselected
        # step 1: "compose a new plan" is the last option
        assert isinstance(app.focused, OptionList)
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: wiz.step == "step-models")
        assert wiz.selected_models == [] and wiz.plan_error is not None
        # step 2: models of the catalog come first (fast, slow); space toggles
        models = wiz.query_one("#model-list", SelectionList)
        await wait_for(pilot, lambda: app.focused is models)
        await pilot.press("home", "space", "down", "space")
        assert [wiz.models[k].id for k in wiz.selected_models] == ["fast", "slow"]
        # step 3: prompts
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: wiz.step == "step-prompts")
        await pilot.press("home", "space", "down", "space")
        assert [wiz.prompts[k].id for k in wiz.selected_prompts] == ["explain", "story"]
        # step 4: settings (enter moves on; focusing a field selects its text)
        await pilot.press("ctrl+n")
        await wait_for(
            pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "set-name"
        )
        await pilot.press(*"e2e-plan", "enter")  # name
        await pilot.press("2", "enter")  # repeats
        await pilot.press("1", "enter")  # warm-ups
        await pilot.press("8", "enter")  # max tokens
        await pilot.press("enter", "enter", "enter")  # threads, GPU layers, threshold
        await wait_for(pilot, lambda: wiz.step == "step-review")
        assert wiz.plan_error is None, wiz.plan_error
        plan = wiz.current.plan  # type: ignore[union-attr]
        assert (plan.name, plan.repeats, plan.warmup, plan.defaults.max_tokens) == (
            "e2e-plan",
            2,
            1,
            8,
        )
        assert plan.n_measured == 8 and wiz.current.path is None  # type: ignore[union-attr]
        review = str(wiz.query_one("#review", Static).render())
        assert "8 measured requests" in review
        # step 5: the Start button has the focus
        await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "start")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) in ("LiveScreen", "ResultsScreen"))
        results = await wait_results(pilot, app)
        table = results.query_one(RankingTable)
        assert table.row_count == 2
        # medal order follows the median decode rates of the stored records
        run_id = results.run_id
        recs = app.store.get_requests(run_id)
        medians = {
            m: statistics.median(
                r.decode_tps for r in recs if r.model == m and counts_for_timing(r)
            )
            for m in ("fast", "slow")
        }
        expected = sorted(medians, key=medians.get, reverse=True)
        assert table.medal_order() == expected
        assert [str(table.get_cell(m, "rank")) for m in expected] == list(MEDALS[:2])
        assert app.store.get_run(run_id).status == "completed"


async def test_invalid_input_shows_the_core_error_and_never_starts() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        await pilot.pause()  # the step tabs are set up
        wiz.goto("step-settings")
        await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "set-name")
        await pilot.press("enter", "0")  # repeats = 0
        await wait_for(pilot, lambda: wiz.plan_error is not None)
        assert wiz.plan_error == (
            "<composed plan>: repeats: Input should be greater than or equal to 1 (got 0)"
        )
        status = str(wiz.query_one("#wizard-status", Static).render())
        assert "repeats" in status and "greater than or equal to 1" in status
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert screen_name(app) == "WizardScreen" and app.active is None
        assert wiz.step == "step-review"


async def test_save_a_composed_plan_as_toml(tmp_path: Path) -> None:
    app = make_app(plans_dirs=[tmp_path, *make_app().plans_dirs])  # type: ignore[misc]
    async with app.run_test(size=SIZE) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        await pilot.pause()  # the step tabs are set up
        wiz.goto("step-settings")
        await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "set-name")
        await pilot.press(*"saved-demo", "enter", "4")
        await wait_for(pilot, lambda: wiz.current is not None and wiz.current.plan.repeats == 4)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen_name(app) == "PathPrompt")
        path_input = app.screen.query_one("#path", Input)
        assert path_input.value == str(tmp_path / "saved-demo.toml")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "saved-demo.toml").exists())
        saved = load_plan(tmp_path / "saved-demo.toml")
        assert saved.plan == wiz.current.plan  # type: ignore[union-attr]
        assert saved.plan.repeats == 4 and [m.id for m in saved.plan.models] == ["fast", "slow"]
        await wait_for(pilot, lambda: wiz.current is not None and wiz.current.path is not None)
        # saving again under the same name is refused inside the dialog
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen_name(app) == "PathPrompt")
        await pilot.press("enter")
        await pilot.pause()
        error = str(app.screen.query_one("#prompt-error", Static).render())
        assert "already exists" in error
        await pilot.press("escape")


async def test_bare_app_preselects_quickstart_from_the_catalog() -> None:
    app = make_app(plans_dirs=[REPO_PLANS])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        assert wiz.current is not None and wiz.current.plan.name == "quickstart"
        assert wiz.current.path is not None and wiz.current.path.name == "quickstart.toml"
        # the catalog's models are offered with the simulated ones
        ids = {c.id for c in wiz.models.values()}
        assert {"smollm2-135m", "mock-fast", "mock-slow"} <= ids


async def test_toggles_survive_the_model_scan_finishing() -> None:
    """A toggle whose message is still queued when the registry scan rebuilds the list."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        await pilot.press("end", "enter")  # compose: nothing selected
        await wait_for(pilot, lambda: wiz.step == "step-models")
        models = wiz.query_one("#model-list", SelectionList)
        first = next(iter(wiz.models))
        models.select(first)  # SelectedChanged is queued, not handled yet
        wiz._sync_from_widgets()  # what the scan's completion does before rebuilding
        wiz._refresh_lists()
        await pilot.pause()
        assert wiz.selected_models == [first]
        assert models.selected == [first]


async def test_fast_typing_toggles_each_option_it_was_typed_on() -> None:
    """Keys arrive in a burst in a real terminal: each space toggles its own option."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: wiz.step == "step-models")
        await wait_for(pilot, lambda: app.focused is wiz.query_one("#model-list"))
        for key in ("home", "down", "space", "down", "down", "space"):
            app.post_message(events.Key(key, " " if key == "space" else None))
        keys = list(wiz.models)
        await wait_for(pilot, lambda: len(wiz.selected_models) == 2)
        await pilot.pause()
        assert wiz.selected_models == [keys[1], keys[3]]


async def test_space_toggles_the_first_option_without_moving_first() -> None:
    """A list reached with ctrl+n or enter shows its first option highlighted: space alone
    toggles it (a new user's first key)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: app.focused is wiz.query_one("#model-list"))
        await pilot.press("space")
        await wait_for(pilot, lambda: len(wiz.selected_models) == 1)
        assert wiz.selected_models == [next(iter(wiz.models))]
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.focused is wiz.query_one("#prompt-list"))
        await pilot.press("space")
        await wait_for(pilot, lambda: len(wiz.selected_prompts) == 1)
        assert wiz.selected_prompts == [next(iter(wiz.prompts))]


def two_plans(folder: Path) -> Path:
    """A plans folder with the test plan "demo" and a copy of it named "other"."""
    demo = (REPO_PLANS.parent / "tests" / "tui" / "plans" / "demo.toml").read_text()
    (folder / "demo.toml").write_text(demo)
    (folder / "other.toml").write_text(demo.replace('name = "demo"', 'name = "other"', 1))
    return folder


async def test_ctrl_r_on_the_plan_list_starts_the_highlighted_plan(tmp_path: Path) -> None:
    app = make_app(plans_dirs=[two_plans(tmp_path)])
    async with app.run_test(size=SIZE) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        assert wiz.current is not None and wiz.current.plan.name == "demo"  # preselected
        plans = wiz.query_one("#plan-list", OptionList)
        await wait_for(pilot, lambda: app.focused is plans)
        await pilot.press("home", "down")  # "other", highlighted but not chosen with enter
        await wait_for(pilot, lambda: plans.highlighted == 1)
        await pilot.press("ctrl+r")
        results = await wait_results(pilot, app)
        assert results.loaded.row.plan == "other"


async def test_browsing_the_plans_never_replaces_a_composition(tmp_path: Path) -> None:
    app = make_app(plans_dirs=[two_plans(tmp_path)])
    async with app.run_test(size=SIZE) as pilot:
        wiz = app.screen
        assert isinstance(wiz, WizardScreen)
        await pilot.press("end", "enter")  # compose
        await wait_for(pilot, lambda: app.focused is wiz.query_one("#model-list"))
        await pilot.press("space")
        await wait_for(pilot, lambda: len(wiz.selected_models) == 1)
        chosen = list(wiz.selected_models)
        await pilot.press("escape")
        plans = wiz.query_one("#plan-list", OptionList)
        await wait_for(pilot, lambda: app.focused is plans)
        await pilot.press("home", "down")
        await wait_for(pilot, lambda: plans.highlighted == 1)
        await pilot.pause()
        assert wiz.base is None and wiz.selected_models == chosen
