"""The default composite tells good answers from bad ones, with the real scoring model.

``quality_fixtures/answers.toml`` holds, per prompt (explain, translate en->fr and fr->en,
code, summarise, a question), one good answer and bad ones: word salad, empty, a
repetition loop, the wrong language, cut off at the token limit, a refusal. Each answer
is scored as a run scores it: the text checks, then fluency under the builtin SmolLM2
through the llama.cpp worker's ``score`` op, then the composite.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from tui_bench.core.backends.base import GenRequest
from tui_bench.core.backends.llama_scorer import LlamaScorer, scorer_spec
from tui_bench.core.backends.mock import MockBackend
from tui_bench.core.plan import Generation, ModelSpec, PromptSpec, load_plan
from tui_bench.core.quality import SCORERS, combine, fluency_from_logprobs, score_detail
from tui_bench.core.quality.fluency import DEFAULT_FLUENCY_MODEL

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.real

HERE = Path(__file__).parent
FIXTURES = tomllib.loads((HERE / "quality_fixtures" / "answers.toml").read_text("utf-8"))
PROMPTS = FIXTURES["prompts"]
BAD_KINDS = ("salad", "empty", "loop", "wrong_language", "cut_off", "refusal")
CASES = [(p["id"], a["kind"]) for p in PROMPTS for a in p["answers"]]
MOCK_PLAN = HERE.parent / "plans" / "mock.toml"


def _mock_answers() -> list[tuple[dict[str, Any], str, str]]:
    """The mock backend's own output (its seeded word salad, 48 tokens, finish reason
    ``length``) for every fixture prompt and every prompt of plans/mock.toml, from both
    of that plan's models."""
    mock_plan = load_plan(MOCK_PLAN).plan
    prompts = [{"id": p["id"], "task": p["task"], "text": p["text"]} for p in PROMPTS]
    prompts += [{"id": p.id, "task": p.task, "text": p.text} for p in mock_plan.prompts]
    gen = Generation(max_tokens=48)

    async def generate() -> list[tuple[dict[str, Any], str, str]]:
        out = []
        for model in mock_plan.models:
            # the same text at any speed: the timings draw nothing the words depend on
            fast = {"ttft_ms": 0, "tokens_per_s": 1e6, "prompt_tokens_per_s": 1e6}
            spec = model.model_copy(update={"mock": model.mock.model_copy(update=fast)})
            backend = MockBackend(spec)
            for p in prompts:
                prompt = PromptSpec(id=p["id"], task=p["task"], text=p["text"])
                outcome = await backend.generate(GenRequest(prompt, gen), lambda batch: None)
                out.append((p, outcome.text, outcome.finish_reason or "stop"))
        # answers to one prompt together: the scoring model reads the prompt once for them
        return sorted(out, key=lambda item: item[0]["id"])

    return asyncio.run(generate())


def _score_all(smollm2_path: Path) -> dict[str, Any]:
    answers = [(p, a["kind"], a["text"], a.get("finish_reason", "stop")) for p in PROMPTS for a in p["answers"]]  # fmt: skip
    mock = [(p, "mock", text, finish) for p, text, finish in _mock_answers()]

    async def run() -> list[dict[str, float]]:
        scorer = LlamaScorer(scorer_spec("fixture-scorer", DEFAULT_FLUENCY_MODEL), smollm2_path)
        await scorer.load()
        results = []
        try:
            for p, _kind, text, finish in answers + mock:
                result = score_detail(
                    None, text, prompt=p["text"], task=p["task"], finish_reason=finish
                )
                logprobs, _ = await scorer.logprobs(p["text"], text)
                scores = dict(result.scores, fluency=fluency_from_logprobs(logprobs, text))
                composite = combine(scores)
                assert composite is not None
                scores["composite"] = composite
                results.append(scores)
        finally:
            await scorer.close()
        return results

    scored = asyncio.run(run())
    table = {(p["id"], kind): s for (p, kind, _, _), s in zip(answers, scored, strict=False)}
    return {"fixtures": table, "mock": scored[len(answers) :]}


@pytest.fixture(scope="module")
def scored(smollm2_path: Path) -> dict[str, Any]:
    return _score_all(smollm2_path)


def test_fixture_set_has_every_kind_for_every_prompt() -> None:
    assert {p["task"] for p in PROMPTS} >= {
        "analysis", "translation", "code_generation", "summarization", "qa"
    }  # fmt: skip
    for p in PROMPTS:
        assert sorted(a["kind"] for a in p["answers"]) == sorted(("good", *BAD_KINDS))


@pytest.mark.parametrize("prompt_id", [p["id"] for p in PROMPTS])
def test_good_answer_scores_at_least_0_7(scored: dict[str, Any], prompt_id: str) -> None:
    s = scored["fixtures"][(prompt_id, "good")]
    assert s["composite"] >= 0.7, s
    # a good answer passes every check: its composite is its fluency
    assert s["composite"] == pytest.approx(s["fluency"])


@pytest.mark.parametrize(("prompt_id", "kind"), [c for c in CASES if c[1] != "good"])
def test_bad_answer_scores_at_most_0_3_and_below_the_good_one(
    scored: dict[str, Any], prompt_id: str, kind: str
) -> None:
    s = scored["fixtures"][(prompt_id, kind)]
    good = scored["fixtures"][(prompt_id, "good")]
    assert s["composite"] <= 0.3, s
    assert s["composite"] < good["composite"]


@pytest.mark.parametrize(
    ("kind", "scorer"),
    [
        ("salad", "fluency"),
        ("empty", "fluency"),
        ("loop", "repetition"),
        ("cut_off", "not_truncated"),
        ("refusal", "no_refusal"),
    ],
)
def test_each_kind_of_bad_answer_is_caught_by_its_scorer(
    scored: dict[str, Any], kind: str, scorer: str
) -> None:
    # the scorer meant for a failure puts it below 0.3 on every prompt (the code prompt's
    # cut-off answer is also caught by code_parses)
    for p in PROMPTS:
        assert scored["fixtures"][(p["id"], kind)][scorer] <= 0.3, (p["id"], kind)


def test_wrong_language_is_caught_by_lang_or_code_parses(scored: dict[str, Any]) -> None:
    for p in PROMPTS:
        s = scored["fixtures"][(p["id"], "wrong_language")]
        key = "code_parses" if p["task"] == "code_generation" else "lang"
        assert s[key] == 0.0, (p["id"], s)


def test_mock_backend_output_scores_at_most_0_3(scored: dict[str, Any]) -> None:
    mock = scored["mock"]
    assert len(mock) == 2 * (len(PROMPTS) + 4)
    assert max(s["composite"] for s in mock) <= 0.3
    assert max(s["fluency"] for s in mock) <= 0.3  # word salad, whatever its length


def test_heuristic_cannot_tell_word_salad_from_answers(scored: dict[str, Any]) -> None:
    """Why the heuristic is no part of the composite: it rates the mock's salad and the
    shuffled answers about as high as the good answers (it is still reported, labelled)."""
    fixtures = scored["fixtures"]
    good = [fixtures[(p["id"], "good")]["heuristic"] for p in PROMPTS]
    salad = [fixtures[(p["id"], "salad")]["heuristic"] for p in PROMPTS]
    mock = [s["heuristic"] for s in scored["mock"]]
    assert sum(salad) / len(salad) >= sum(good) / len(good) - 0.05
    assert sum(mock) / len(mock) >= 0.8


def test_every_score_names_a_documented_scorer(scored: dict[str, Any]) -> None:
    for s in [*scored["fixtures"].values(), *scored["mock"]]:
        assert set(s) <= set(SCORERS)
        assert all(0.0 <= v <= 1.0 for v in s.values())


def test_scorer_spec_loads_without_repacking() -> None:
    spec = scorer_spec("x", DEFAULT_FLUENCY_MODEL)
    assert isinstance(spec, ModelSpec) and spec.repack is False and spec.n_gpu_layers == 0
