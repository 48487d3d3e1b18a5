"""The classifier setup's transformers beyond the command line's: a model folder or a
cached model id typed in step 3 (checked offline, selected in the "for" scope, or one
line saying why not), the encoders of the Hugging Face cache offered, and the max
length set in step 4 reaching the configuration the run gets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen
from textual.widgets import Input, Select, SelectionList
from tui_helpers import SIZE, make_app, text_of, wait_for, wait_loaded

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))
from classify_helpers import annotated_rows, write_csv
from test_cached_models import hub_model, model_dir

from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.tui.app import TuiBenchApp
from tui_bench.tui.screens.classify import ClassifySetupScreen

DEFAULT = ["tfidf-logreg", "char-svm", "complement-nb", "sgd"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    rows = annotated_rows({"topic": {"a": 30, "b": 30}}, n_rows=60)
    for i, row in enumerate(rows):
        row["lang"] = "fr" if i % 2 else "en"
    return write_csv(tmp_path / "data.csv", rows)


@pytest.fixture
def quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache (never the machine's), and no probe fit of the fake
    models (the duration estimate is not the subject here)."""
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    from tui_bench.tui.screens.classify import options

    class NoEstimate:
        def text(self) -> str:
            return "not estimated in this test"

    monkeypatch.setattr(options, "estimate_for", lambda config, dataset: NoEstimate())
    return cache


async def open_setup(pilot: Any, app: TuiBenchApp, step: str) -> ClassifySetupScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, ClassifySetupScreen))
    setup = app.screen
    assert isinstance(setup, ClassifySetupScreen)
    await wait_loaded(pilot, setup)
    setup.goto(step)
    await pilot.pause()
    return setup


def notes(app: TuiBenchApp) -> list[tuple[str, str]]:
    return [(n.severity, n.message) for n in app._notifications]


async def add(pilot: Any, setup: ClassifySetupScreen, typed: str) -> None:
    field = setup.query_one("#cl-model-add", Input)
    field.focus()
    field.value = typed
    await pilot.press("enter")
    await pilot.pause()


async def test_a_model_folder_typed_in_step_3_is_offered_and_selected(
    data: Path, quiet: Path, tmp_path: Path
) -> None:
    folder = model_dir(tmp_path / "my-models" / "camembert-like")
    config = ClassifyConfig(data=data, annotation_column="annotation")
    app = make_app(classify_config=config)
    async with app.run_test(size=SIZE) as pilot:
        setup = await open_setup(pilot, app, "cl-step-models")
        sl = setup.query_one("#cl-models", SelectionList)
        offered = setup._offered()
        assert setup.selected_models == DEFAULT

        # not a model on this machine: one line, and nothing changes
        for typed, message in (
            (str(tmp_path / "no" / "such"), f"model '{tmp_path / 'no' / 'such'}': no such folder"),
            ("org/not-cached", "model 'org/not-cached' is not on this machine (not in the "),
            (str(tmp_path / "my-models"), "no config.json in "),
        ):
            await add(pilot, setup, typed)
            severity, text = notes(app)[-1]
            assert severity == "error" and message in text and "\n" not in text
            assert setup._offered() == offered and setup.selected_models == DEFAULT
            assert setup.query_one("#cl-model-add", Input).value == typed  # to correct
        assert not list(quiet.glob("*"))  # nothing downloaded into the cache

        # a model folder: offered, selected, named by its absolute path, in the config
        await add(pilot, setup, str(folder))
        name = str(folder.resolve())
        assert setup._offered() == [*offered, name]
        assert setup.selected_models == [*DEFAULT, name]
        assert name in sl.selected
        assert sl.get_option_at_index(sl.highlighted or 0).value == name
        assert setup.query_one("#cl-model-add", Input).value == ""
        assert notes(app)[-1] == ("information", f"{name} added and selected")
        row = str(sl.get_option_at_index(len(offered)).prompt)
        assert row.startswith("…camembert-like") and "transformer" in row
        assert setup.config is not None and setup.config.models == [*DEFAULT, name]

        # unselected, it stays offered; for French rows only, it is that list's
        sl.focus()
        await pilot.press("space")
        await wait_for(pilot, lambda: setup.selected_models == DEFAULT)
        assert setup._offered() == [*offered, name]
        setup.query_one("#cl-model-scope", Select).value = "fr"
        await wait_for(pilot, lambda: setup.model_scope == "fr")
        await add(pilot, setup, str(folder))
        assert setup.models_by_language == {"fr": [*DEFAULT, name]}
        assert setup.selected_models == DEFAULT
        assert ("information", f"{name} added and selected for fr rows") in notes(app)
        assert "(own list)" in str(setup.query_one("#cl-model-scope", Select)._options)


async def test_the_encoders_of_the_hf_cache_are_offered_unselected(data: Path, quiet: Path) -> None:
    hub_model(quiet, "org/tiny-bert")
    hub_model(quiet, "org/chat-llm", model_type="llama")
    config = ClassifyConfig(data=data, annotation_column="annotation")
    app = make_app(classify_config=config)
    async with app.run_test(size=SIZE) as pilot:
        setup = await open_setup(pilot, app, "cl-step-models")
        await wait_for(pilot, lambda: "org/tiny-bert" in setup._offered())
        sl = setup.query_one("#cl-models", SelectionList)
        assert setup._offered()[-1] == "org/tiny-bert"
        assert "org/chat-llm" not in setup._offered()
        assert "org/tiny-bert" not in sl.selected and setup.selected_models == DEFAULT
        row = str(sl.get_option_at_index(sl.option_count - 1).prompt)
        assert row.startswith("org/tiny-bert ") and "transformer" in row
        # a cached id typed in "add" is the same entry, selected
        await add(pilot, setup, "org/tiny-bert")
        assert setup._offered().count("org/tiny-bert") == 1
        assert setup.selected_models == [*DEFAULT, "org/tiny-bert"]


async def test_the_max_length_typed_in_step_4_reaches_the_run(
    data: Path, quiet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_bench.tui.screens import classify_live

    class Captured(Screen[None]):  # the run screen, its configuration kept, nothing trained
        def __init__(self, config: ClassifyConfig, **kw: Any) -> None:
            super().__init__()
            self.config = config

    monkeypatch.setattr(classify_live, "ClassifyRunScreen", Captured)
    config = ClassifyConfig(data=data, annotation_column="annotation", models=["sgd", "char-svm"])
    app = make_app(classify_config=config)
    async with app.run_test(size=SIZE) as pilot:
        setup = await open_setup(pilot, app, "cl-step-run")
        field = setup.query_one("#cl-set-max_length", Input)
        assert field.value == "256" and setup.config is not None
        assert setup.config.max_length == 256
        field.focus()
        await pilot.press("ctrl+u", "5")  # the Input refuses letters: integers only
        await wait_for(pilot, lambda: setup.config is None)
        assert setup.error == "max length: 5 is not a whole number from 8 to 512"
        assert "max length: 5 is not a whole number from 8 to 512" in text_of(app, "#cl-status")
        await pilot.press("1", "2")  # 512
        await wait_for(pilot, lambda: setup.config is not None)
        await pilot.press("backspace", "backspace", "backspace", "1", "2", "8")
        await wait_for(pilot, lambda: setup.config is not None and setup.config.max_length == 128)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, Captured))
        run = app.screen.config  # type: ignore[attr-defined]
        assert run.max_length == 128 and run.models == ["char-svm", "sgd"]  # the list's order


async def test_the_command_lines_max_length_is_the_field_preset(data: Path, quiet: Path) -> None:
    config = ClassifyConfig(
        data=data, annotation_column="annotation", models=["sgd", "char-svm"], max_length=64
    )
    app = make_app(classify_config=config)
    async with app.run_test(size=SIZE) as pilot:
        setup = await open_setup(pilot, app, "cl-step-run")
        assert setup.query_one("#cl-set-max_length", Input).value == "64"
        assert setup.config is not None and setup.config.max_length == 64
        assert "tokens" not in text_of(app, "#cl-review")  # no transformer: not said


async def test_step_3_with_its_scope_and_the_add_field_fits_80x24(data: Path, quiet: Path) -> None:
    hub_model(quiet, "org/tiny-bert")
    config = ClassifyConfig(data=data, annotation_column="annotation", language_column="lang")
    app = make_app(classify_config=config)
    async with app.run_test(size=(80, 24)) as pilot:
        setup = await open_setup(pilot, app, "cl-step-models")
        await wait_for(pilot, lambda: "org/tiny-bert" in setup._offered())
        await pilot.pause()
        status = setup.query_one("#cl-status").region
        scope = setup.query_one("#cl-model-scope").region
        models = setup.query_one("#cl-models").region
        field = setup.query_one("#cl-model-add").region
        detail = setup.query_one("#cl-model-detail").region
        assert scope.height == 1 and models.height >= 5
        assert scope.bottom <= models.y < models.bottom <= field.y
        assert field.height == 1 and field.right <= 80
        assert field.bottom <= detail.y and detail.height >= 3 and detail.bottom <= status.y
        setup.query_one("#cl-models", SelectionList).highlighted = len(setup._offered()) - 1
        await pilot.pause()
        assert "org/tiny-bert: org/tiny-bert fine-tuned" in text_of(app, "#cl-model-detail")
        assert "(in the Hugging Face cache)" in text_of(app, "#cl-model-detail")


async def test_a_folder_the_command_line_named_relative_is_not_added_twice(
    data: Path, quiet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--models ./models/m`` and the same folder typed by its absolute path are one
    model: the typed one selects the command line's entry, listed once."""
    model_dir(tmp_path / "models" / "m")
    monkeypatch.chdir(tmp_path)
    config = ClassifyConfig(
        data=data, annotation_column="annotation", models=["char-svm", "sgd", "./models/m"]
    )
    app = make_app(classify_config=config)
    async with app.run_test(size=SIZE) as pilot:
        setup = await open_setup(pilot, app, "cl-step-models")
        offered = setup._offered()
        assert offered.count("./models/m") == 1
        sl = setup.query_one("#cl-models", SelectionList)
        sl.focus()
        sl.deselect("./models/m")
        await wait_for(pilot, lambda: "./models/m" not in setup.selected_models)
        await add(pilot, setup, str(tmp_path / "models" / "m"))
        assert setup._offered() == offered
        assert setup.selected_models == ["char-svm", "sgd", "./models/m"]
        assert notes(app)[-1] == ("information", "./models/m added and selected")
