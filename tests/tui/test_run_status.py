"""One run-status line for every live view, from the live-state base's progress."""

from __future__ import annotations

from dataclasses import replace

from tui_bench.tui.state.base import RunProgress
from tui_bench.tui.widgets.run_status import status_content

LLM = {"unit": "requests", "waiting": "starting…", "stops": "the current token"}
CLASSIFY = {"unit": "trainings", "waiting": "loading the data…", "stops": "the current epoch"}

RUNNING = RunProgress(
    run_id=3,
    label="demo",
    done=6,
    total=10,
    current="slow / story / rep 1",
    started=True,
    elapsed_s=6.5,
    cancelling=False,
    status=None,
    error=None,
)
TRAINING = replace(RUNNING, run_id=None, label="data.csv", done=1, total=6, current="")


def styles_of(p: RunProgress, **words: str) -> dict[str, str]:
    content = status_content(p, **words)  # type: ignore[arg-type]
    return {content.plain[s.start : s.end]: str(s.style) for s in content.spans}


def test_a_running_llm_run_names_the_request_in_flight_and_the_time_left() -> None:
    text = status_content(RUNNING, **LLM).plain
    assert text == "run 3 · demo · 6/10 · slow / story / rep 1 · 0:06 · ~0:04 left"
    assert styles_of(RUNNING, **LLM) == {
        "run 3": "bold",
        "slow / story / rep 1": "$accent",
        " · ~0:04 left": "$text-muted",
    }


def test_a_running_classifier_counts_trainings_and_its_name_is_bold() -> None:
    assert status_content(TRAINING, **CLASSIFY).plain == (
        "data.csv · 1/6 trainings · 0:06 · ~0:32 left"
    )
    assert styles_of(TRAINING, **CLASSIFY)["data.csv"] == "bold"


def test_cancelling_comes_before_the_item_and_drops_the_time_left() -> None:
    p = replace(RUNNING, cancelling=True)
    assert status_content(p, **LLM).plain == (
        "run 3 · demo · 6/10 · cancelling after the current token… · slow / story / rep 1 · 0:06"
    )
    assert status_content(replace(TRAINING, cancelling=True), **CLASSIFY).plain == (
        "data.csv · 1/6 trainings · cancelling after the current epoch… · 0:06"
    )


def test_an_ended_run_says_how_with_the_theme_colour_of_its_status() -> None:
    for status, style in (
        ("completed", "$text-success"),
        ("cancelled", "$text-warning"),
        ("failed", "$text-error"),
    ):
        p = replace(RUNNING, status=status, done=10, elapsed_s=75.0)
        assert (
            status_content(p, **LLM).plain
            == f"run 3 · demo · {status} · 10/10 requests · 1 min 15 s"
        )
        assert styles_of(p, **LLM)[status] == f"bold {style}"


def test_a_run_stopped_by_an_error_shows_it_and_before_the_start_the_waiting_word() -> None:
    p = replace(TRAINING, error="annotation: no such column")
    assert status_content(p, **CLASSIFY).plain == ("data.csv · failed: annotation: no such column")
    waiting = replace(TRAINING, started=False, done=0)
    assert status_content(waiting, **CLASSIFY).plain == "data.csv · loading the data…"
    nameless = replace(RUNNING, run_id=None, label="", started=False, done=0)
    assert status_content(nameless, **LLM).plain == "starting…"
