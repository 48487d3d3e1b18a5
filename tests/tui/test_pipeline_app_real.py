"""support-rag end to end in the app with real parts: a classifier trained by
``tui-bench classify`` on the scenario's labelled rows, then the pipeline started from F5
with it and SmolLM2 generating; the results name the bottleneck and give retrieval
nDCG@10 and recall@10, the classifier's accuracy and the answers' quality, each equal to
what the run stored."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bench_helpers import cli_env, tui_bench_cmd
from textual.widgets import DataTable, Input
from tui_helpers import SIZE, make_app, text_of, wait_for

from tui_bench.core.fmt import score
from tui_bench.core.scenarios import SCENARIOS_ENV, find_scenario, load_rag_data
from tui_bench.tui.screens.pipeline.results import PipelineResultsScreen
from tui_bench.tui.screens.pipeline.setup import PipelineSetupScreen

pytestmark = pytest.mark.real

LIMIT = 2


async def test_support_rag_in_the_app_with_a_classifier_from_the_classifier_mode(
    tmp_path: Path, bench_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SCENARIOS_ENV, raising=False)
    scenario = find_scenario("support-rag")
    clf = tmp_path / "clf"
    trained = subprocess.run(
        tui_bench_cmd(
            "classify", str(scenario.data["train"]), "--label-column", "label",
            "--models", "complement-nb,tfidf-logreg", "--choose", "top", "--output", str(clf),
        ),
        env=cli_env(bench_home), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert list(clf.glob("model-*.json")), sorted(p.name for p in clf.iterdir())

    out = tmp_path / "out"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineSetupScreen))
        setup = app.screen
        assert isinstance(setup, PipelineSetupScreen) and setup.scenario == "support-rag"
        values = {
            "classifier": str(clf),
            "max_tokens": "8",
            "limit": str(LIMIT),
            "output": str(out),
        }
        for key, value in values.items():
            setup.query_one(f"#pl-set-{key}", Input).value = value
        await pilot.pause()
        assert setup.config is not None and setup.error is None, setup.error
        assert setup.config.model == "builtin:smollm2-135m"  # the default: the builtin model
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineResultsScreen), timeout=300)
        await pilot.pause()
        results = app.screen
        assert isinstance(results, PipelineResultsScreen)
        data = results.data
        sentence = text_of(app, "#pr-sentence")
        rid = results.run_id
        quality_rows = [
            [str(c) for c in row]
            for row in (
                results.query_one("#pr-quality", DataTable).get_row_at(i)
                for i in range(results.query_one("#pr-quality", DataTable).row_count)
            )
        ]

    # every stage ran, on the first questions, with a figure for each kind of quality
    assert data["status"] == "completed" and data["ran"] == ["retrieve", "classify", "generate"]
    assert [q["id"] for q in data["questions"]] == ["q01", "q02"]
    stage = data["bottleneck"]["stage"]
    assert stage in data["ran"] and sentence.startswith(f"The bottleneck is the {stage} stage:")
    medians = {s: data["stage_table"][s]["share"]["median"] for s in data["ran"]}
    assert stage == max(medians, key=lambda s: medians[s])
    quality = data["quality"]
    retrieve = quality["retrieve"]
    assert retrieve["ndcg_time@10"] is not None and retrieve["recall@10"] is not None
    # accuracy: the questions' own labels against what the trained model said, counted here
    rag = load_rag_data(scenario)
    truth = {q.id: q.label for q in rag.questions}
    right = sum(q["classify"]["label"] == truth[q["id"]] for q in data["questions"])
    assert quality["classify"]["accuracy"] == right / LIMIT
    assert quality["generate"] is not None
    # each threshold on screen with the value the run stored
    got = {t["metric"]: t["value"] for t in data["thresholds"]}
    assert got["accuracy"] == quality["classify"]["accuracy"]
    assert got["quality"] == quality["generate"]["contains"]
    for metric in ("recall@10", "accuracy", "quality"):
        (row,) = [r for r in quality_rows if any(metric in c for c in r)]
        assert score(got[metric]) in row, row
    # stored in history as the scenario's pipeline run, reports beside it
    row = app.store.get_run(rid)
    assert (row.kind, row.plan, row.status) == ("pipeline", "support-rag", "completed")
    assert sorted(p.name for p in out.iterdir()) == ["data.json", "report.md"]
