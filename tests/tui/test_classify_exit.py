"""``tui-bench classify`` on a terminal exits as the headless command does: a final model
that could not be trained or saved is exit code 3, after the benchmark's own code."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList
from tui_helpers import SIZE, make_app, start_preset_benchmark, text_of, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))
from classify_helpers import labelled_rows, read_only_folder, write_csv

from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.core.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SAVE_FAILED
from tui_bench.tui.app import TuiBenchApp
from tui_bench.tui.runs import RunController, command_exit_code
from tui_bench.tui.screens.classify_results import ClassifyResultsScreen, PickModelScreen


@contextlib.asynccontextmanager
async def ranking_of(
    config: ClassifyConfig,
) -> AsyncIterator[tuple[Pilot[Any], TuiBenchApp, ClassifyResultsScreen]]:
    """The app opened as ``tui-bench classify`` with ``config``, on the ranking of its
    completed benchmark."""
    app = make_app(classify_config=config)
    async with app.run_test(size=SIZE) as pilot:
        await start_preset_benchmark(pilot, app)
        await wait_for(pilot, lambda: isinstance(app.screen, ClassifyResultsScreen), 120)
        ranking = app.screen
        assert isinstance(ranking, ClassifyResultsScreen)
        assert ranking.result.status == "completed" and app.exit_code == EXIT_OK
        yield pilot, app, ranking


async def test_a_chosen_model_that_cannot_be_trained_exits_3(tmp_path: Path) -> None:
    # one-letter tokens: word TF-IDF (tfidf-logreg) finds no vocabulary, char-svm learns them
    rows = [{"text": ["a b c a", "x y z x"][i % 2], "label": "pq"[i % 2]} for i in range(40)]
    config = ClassifyConfig(
        data=write_csv(tmp_path / "no-words.csv", rows),
        label_column="label",
        models=["tfidf-logreg", "char-svm"],
        choose="tfidf-logreg",
        output_dir=tmp_path / "out",
    )
    async with ranking_of(config) as (pilot, app, ranking):
        assert [r.model for r in ranking.result.rows if r.rank == 1] == ["char-svm"]
        await pilot.press("p")  # the dialog highlights the model the command named
        await wait_for(pilot, lambda: isinstance(app.screen, PickModelScreen))
        ol = app.screen.query_one(OptionList)
        assert ol.get_option_at_index(ol.highlighted or 0).id == "tfidf-logreg"
        await pilot.press("enter")
        await wait_for(pilot, lambda: ranking.final_error is not None, 60)
        assert ranking.final_error.startswith(
            "final model tfidf-logreg for 'label' not trained: it failed in the benchmark "
            "(ValueError: empty vocabulary"
        )
        assert "not trained: it failed in the benchmark" in text_of(app, "#clres-final")
        assert app.exit_code == EXIT_SAVE_FAILED
        await pilot.press("ctrl+q")
    assert app.return_value == EXIT_SAVE_FAILED == 3
    assert not list((tmp_path / "out").glob("model-*"))


async def test_an_output_folder_that_became_unwritable_exits_3(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = ClassifyConfig(
        data=write_csv(tmp_path / "d.csv", labelled_rows({"pos": 30, "neg": 30})),
        label_column="label",
        models=["complement-nb", "sgd"],
        output_dir=out,
    )
    async with ranking_of(config) as (pilot, app, ranking):
        assert (out / "report.md").is_file()
        with read_only_folder(out):
            await pilot.press("t")  # the top model: trained, but not saved
            await wait_for(pilot, lambda: ranking.final_error is not None, 60)
        assert ranking.final_error.startswith(f"output folder {out}: ")
        assert app.exit_code == EXIT_SAVE_FAILED
        await pilot.press("ctrl+q")
    assert app.return_value == EXIT_SAVE_FAILED
    assert not list(out.glob("model-*"))


class _Ended(RunController):
    """A run that has ended with ``code`` (None: one that sets no code)."""

    kind = "test"
    cancelling = False
    cancel_prompt = quit_prompt = ("", "", "", "")

    def __init__(self, code: int | None, *, from_cli: bool) -> None:
        super().__init__(None, from_cli=from_cli)
        self.code, self.ended = code, True

    @property
    def exit_code(self) -> int | None:
        return self.code

    def cancel(self) -> None: ...
    def work(self) -> None: ...
    def present(self, app: object) -> None: ...


def test_the_command_exits_with_its_last_run_that_set_a_code() -> None:
    cli = [_Ended(EXIT_OK, from_cli=True), _Ended(EXIT_SAVE_FAILED, from_cli=True)]
    assert command_exit_code([], before=EXIT_INTERRUPTED) == EXIT_INTERRUPTED
    assert command_exit_code(cli, before=EXIT_INTERRUPTED) == EXIT_SAVE_FAILED
    # a run started from the interface, or one that sets no code, leaves it as it is
    later = [_Ended(EXIT_OK, from_cli=False), _Ended(None, from_cli=True)]
    assert command_exit_code([*cli, *later], before=EXIT_INTERRUPTED) == EXIT_SAVE_FAILED
    assert command_exit_code(cli[:1], before=EXIT_INTERRUPTED) == EXIT_OK
    running = _Ended(EXIT_SAVE_FAILED, from_cli=True)
    running.ended = False
    assert command_exit_code([*cli[:1], running], before=EXIT_INTERRUPTED) == EXIT_OK
