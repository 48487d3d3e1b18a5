"""Task checks, the fluency calibration, the composite, the judge's strict grade and the
plan's [quality] table: every expected value is worked out in the comment beside it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tui_bench.core.errors import PlanError
from tui_bench.core.plan import Expect, load_plan, parse_plan
from tui_bench.core.quality import (
    SCORERS,
    code_parses,
    combine,
    detect_language,
    fluency_from_logprobs,
    judge_prompt,
    language_check,
    no_refusal,
    not_truncated,
    parse_grade,
    repetition,
    score,
)
from tui_bench.core.quality.fluency import CENTER, SCALE
from tui_bench.core.quality.lang import asked_language, language_hits
from tui_bench.core.quality.settings import fluency_on, judge_on, judge_source
from tui_bench.core.quality.task_checks import expected_language

# --- language -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The capital of Australia is Canberra.", "en"),
        ("La capitale de l'Australie est Canberra.", "fr"),
        ("Hace buen tiempo hoy, vamos a dar un paseo.", "es"),
        ("Heute ist das Wetter schön, lass uns spazieren gehen.", "de"),
        ("Oggi è una bella giornata, andiamo a fare una passeggiata.", "it"),
        ("Hoje o tempo está bom, vamos dar um passeio.", "pt"),
        ("Het is mooi weer vandaag, laten we gaan wandelen.", "nl"),
        ("def f(x): return x", None),  # no function word at all
        ("Canberra", None),
    ],
)
def test_detect_language(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


def test_shared_words_count_for_each_language_that_has_them() -> None:
    # "la" is in the French, Spanish and Italian profiles (1/3 each), "de" in French,
    # Spanish, Portuguese and Dutch (1/4), "l" in French and Italian (1/2), "est" French only
    hits = language_hits("la de l est")
    assert hits["fr"] == pytest.approx(1 / 3 + 1 / 4 + 1 / 2 + 1, abs=1e-6)
    assert hits["es"] == pytest.approx(1 / 3 + 1 / 4, abs=1e-6)
    assert hits["it"] == pytest.approx(1 / 3 + 1 / 2, abs=1e-6)


def test_expected_language() -> None:
    assert asked_language("Translate into French: hello") == "fr"
    assert asked_language("Please translate this to german") == "de"
    assert expected_language("Translate into French: the weather is nice", "translation") == "fr"
    # a translation prompt that names no known language: no expectation
    assert expected_language("Translate hello", "translation") is None
    # other tasks: the prompt's own language; the plan's expect.lang wins over both
    assert expected_language("What is the capital of the country?", "qa") == "en"
    assert expected_language("What is the capital of the country?", "qa", "fr") == "fr"


def test_language_check() -> None:
    assert language_check("Il fait beau aujourd'hui, allons nous promener.", "fr") == (1.0, "")
    assert language_check("Hace buen tiempo hoy, vamos a dar un paseo.", "fr") == (
        0.0,
        "answer in Spanish, French expected",
    )
    assert language_check("Canberra.", "fr") == (1.0, "")  # too short to tell: passes


# --- code, truncation, refusal, repetition --------------------------------------------------


def test_code_parses() -> None:
    assert code_parses("Here:\n```python\ndef f(x):\n    return x\n```\nDone.") == (1.0, "")
    # an indented block without a fence, prose around it
    assert code_parses("Try this:\n\n    def f(x):\n        return x\n\nIt works.")[0] == 1.0
    assert code_parses("```js\nfunction f(x) { return x; }\n```")[0] == 0.0
    assert code_parses("```python\ndef f(x):\n    return x[") == (
        0.0,
        "SyntaxError: '[' was never closed (line 2)",
    )
    assert code_parses("") == (0.0, "no code found")


@pytest.mark.parametrize(
    ("text", "finish", "value"),
    [
        ("The capital of Australia is", "stop", 1.0),  # the model chose to stop there
        ("The capital of Australia is", None, 1.0),  # nothing known
        ("The capital of Australia is", "length", 0.0),
        ("The capital of Australia is Canberra.", "length", 1.0),  # the cut fell on a stop
        ("She said \u201cyes.\u201d", "length", 1.0),
        ("```python\nx = 1\n```", "length", 1.0),
        ("Code:\n```python\nx = (1,\n", "length", 0.0),  # inside an open fence
        ("", "length", 0.0),
    ],
)
def test_not_truncated(text: str, finish: str | None, value: float) -> None:
    assert not_truncated(text, finish)[0] == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("I'm sorry, but I can't help with that request.", 0.0),
        ("I\u2019m sorry, but I cannot do that.", 0.0),  # curly apostrophe
        ("As an AI language model, I cannot translate this sentence.", 0.0),
        ("I must decline to answer this question.", 0.0),
        ("I'm afraid I am unable to translate that for you.", 0.0),
        ("I cannot write code for you.", 0.0),
        ("I'm sorry to hear that. The capital is Canberra.", 1.0),  # an apology, no refusal
        ("The function cannot help being slow on large inputs.", 1.0),
        ("x " * 200 + "I cannot help with that.", 1.0),  # beyond the first 300 characters
    ],
)
def test_no_refusal(text: str, value: float) -> None:
    assert no_refusal(text)[0] == value


def test_repetition_by_hand() -> None:
    assert repetition("one two three") == (1.0, "")  # fewer than 4 words
    assert repetition("a b c d e f g h") == (1.0, "")  # 5 distinct 4-grams of 5
    # "a b c d" x 4 = 16 words, 13 4-grams, 4 distinct: r = 4/13 < 0.5 -> 0
    assert repetition("a b c d " * 4)[0] == 0.0
    # 10 distinct words then "a b c d" again: 14 words, 11 4-grams, 10 distinct (the last
    # "a b c d" repeats the first): r = 10/11 >= 0.9 -> 1
    assert repetition("a b c d e f g h i j a b c d")[0] == 1.0
    # 8 distinct words then the first 4 again twice: 16 words, 13 4-grams; distinct: the 5 of
    # the first 8 words, "e f g h"->"f g h a", "g h a b", "h a b c", then "b c d a", "c d a b",
    # "d a b c" -> 5 + 3 + 3 = 11; r = 11/13; value = (11/13 - 0.5) / 0.4
    value, note = repetition("a b c d e f g h a b c d a b c d")
    assert value == pytest.approx((11 / 13 - 0.5) / 0.4)
    assert note == "0.85 of its word 4-grams distinct"


# --- fluency calibration and the composite ----------------------------------------------------


def test_fluency_calibration() -> None:
    assert fluency_from_logprobs([CENTER]) == pytest.approx(0.5)
    # logistic: 1 / (1 + exp(-(m - CENTER) / SCALE))
    assert fluency_from_logprobs([-1.0, -3.0]) == pytest.approx(
        1 / (1 + math.exp(-(-2.0 - CENTER) / SCALE))
    )
    assert fluency_from_logprobs([-2.88]) >= 0.9
    assert fluency_from_logprobs([-4.22]) <= 0.1
    assert fluency_from_logprobs([-500.0]) == 0.0
    assert fluency_from_logprobs([]) == 0.0
    # punctuation alone says nothing, however predictable
    assert fluency_from_logprobs([-0.1, -0.1], "!!!") == 0.0


def test_combine_by_hand() -> None:
    assert combine({"repetition": 1.0}) is None  # no fluency, no composite
    base = {"fluency": 0.8, "repetition": 1.0, "no_refusal": 1.0, "not_truncated": 1.0}
    assert combine(base) == pytest.approx(0.8)
    assert combine({**base, "repetition": 0.5}) == pytest.approx(0.4)
    assert combine({**base, "not_truncated": 0.0}) == pytest.approx(0.8 * 0.25)
    assert combine({**base, "lang": 0.0}) == 0.0
    assert combine({**base, "no_refusal": 0.0}) == 0.0
    assert combine({**base, "code_parses": 0.0}) == 0.0
    # the plan's checks multiply in; reference scores, heuristic and judge do not
    assert combine({**base, "contains": 0.5, "code_pass": 1.0}) == pytest.approx(0.4)
    assert combine({**base, "chrf": 0.1, "rouge_l": 0.0, "heuristic": 0.2, "judge": 0.0}) == (
        pytest.approx(0.8)
    )


def test_score_carries_the_finish_reason_and_the_code_check() -> None:
    code = "```python\ndef f(x):\n    return x\n```"
    scores = score(None, code, prompt="Write f.", task="code_generation", finish_reason="stop")
    assert scores["code_parses"] == 1.0 and scores["not_truncated"] == 1.0
    assert "lang" not in scores  # not for code
    cut = score(None, "The answer is", prompt="Say it.", task="qa", finish_reason="length")
    assert cut["not_truncated"] == 0.0
    fr = score(Expect(lang="fr"), "The cat is on the sofa.", prompt="Say it.", task="chat")
    assert fr["lang"] == 0.0
    assert set(scores) | set(cut) | set(fr) <= set(SCORERS)


# --- judge --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "grade"),
    [
        ("4", 4),
        (" 5\n", 5),
        ("1", 1),
        ("4.", None),
        ("Grade: 4", None),
        ("4/5", None),
        ("6", None),
        ("0", None),
        ("45", None),
        ("4 because it is right", None),
        ("", None),
        ("<<<\nThe", None),
    ],
)
def test_parse_grade_is_strict(reply: str, grade: int | None) -> None:
    assert parse_grade(reply) == grade


def test_judge_prompt_has_the_task_rubric_and_the_answer() -> None:
    text = judge_prompt("translation", "Translate into French: hi", "Salut")
    assert "faithful to the meaning of the source text" in text
    assert "Translate into French: hi" in text and "Salut" in text
    assert text.endswith("Reply with the grade only: a single digit from 1 to 5.")
    assert "accurate, relevant to the request" in judge_prompt("other", "p", "a")


# --- the plan's [quality] table ------------------------------------------------------------


def _plan(**extra: object) -> dict[str, object]:
    return {
        "name": "q",
        "models": [
            {"id": "mock", "backend": "mock"},
            {"id": "smol", "source": "builtin:smollm2-135m"},
        ],
        "prompts": [{"id": "p", "text": "hi"}],
        **extra,
    }


def test_quality_defaults() -> None:
    mock_only = parse_plan({**_plan(), "models": [{"id": "mock", "backend": "mock"}]})
    assert not fluency_on(mock_only) and not judge_on(mock_only)
    real = parse_plan(_plan())
    assert fluency_on(real) and not judge_on(real)
    asked = parse_plan({**_plan(), "quality": {"fluency": True}, "models": [{"id": "m", "backend": "mock"}]})  # fmt: skip
    assert fluency_on(asked)
    judged = parse_plan(_plan(quality={"judge_model": "smol"}))
    assert judge_on(judged) and judge_source(judged) == "builtin:smollm2-135m"
    assert judge_source(parse_plan(_plan(quality={"judge": True}))) == "builtin:smollm2-135m"
    assert not judge_on(parse_plan(_plan(quality={"judge_model": "smol", "judge": False})))
    assert judged.model_dump()["quality"]["rubric"] == 1  # stored with the run's plan


@pytest.mark.parametrize(
    ("quality", "message"),
    [
        (
            {"judge_model": "mock"},
            "<plan>: quality.judge_model: model 'mock' runs on backend 'mock'; the scorers run"
            " on llama.cpp: name a llama.cpp model of the plan or a GGUF source",
        ),
        ({"judges": True}, "<plan>: quality.judges: unknown field"),
        ({"rubric": 2}, "<plan>: quality.rubric: "),
        ({"threads": 0}, "<plan>: quality.threads: "),
    ],
)
def test_quality_table_errors_are_one_line(quality: dict[str, object], message: str) -> None:
    with pytest.raises(PlanError) as err:
        parse_plan(_plan(quality=quality))
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_a_named_scoring_model_must_exist(tmp_path: Path) -> None:
    plan = tmp_path / "p.toml"
    plan.write_text(
        'name = "p"\n[quality]\nfluency_model = "missing.gguf"\n'
        '[[models]]\nid = "m"\nbackend = "mock"\n[[prompts]]\nid = "a"\ntext = "hi"\n'
    )
    with pytest.raises(PlanError) as err:
        load_plan(plan)
    assert str(err.value).startswith(f"{plan}: quality.fluency_model: ")
    assert "missing.gguf" in str(err.value)
