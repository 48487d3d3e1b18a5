"""The pipeline mode without a model: spans, shares and the bottleneck from hand-made
timings; retrieval metrics against core/ranking and scikit-learn computed apart; the
classify stage with a model the classifier mode trained and saved; bad input."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tui_bench.core.errors import EXIT_BAD_INPUT, UserError
from tui_bench.core.pipeline.result import PipelineResult, QuestionResult
from tui_bench.core.pipeline.retrieve import TfidfRetriever, retrieval_metrics
from tui_bench.core.pipeline.spans import StageSpan, bottleneck, median_shares, shares
from tui_bench.core.ranking import RankedItem, temporal_ndcg
from tui_bench.core.scenarios import SCENARIOS_ENV, RankingParams, find_scenario, load_rag_data

ORDER = ["retrieve", "classify", "generate"]


@pytest.fixture(autouse=True)
def _no_user_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCENARIOS_ENV, raising=False)


def _q(qid: str, r: float, c: float, g: float) -> QuestionResult:
    spans = [StageSpan("retrieve", r), StageSpan("classify", c), StageSpan("generate", g)]
    return QuestionResult(id=qid, label=None, spans=spans)


# --- spans, shares, bottleneck ------------------------------------------------------


def test_shares_of_a_question_sum_to_one() -> None:
    q = _q("a", 10.0, 30.0, 60.0)
    assert q.e2e_ms == 100.0
    assert q.shares == {"retrieve": 0.1, "classify": 0.3, "generate": 0.6}
    assert shares([StageSpan("retrieve", 0.0)]) == {"retrieve": 0.0}


def test_bottleneck_is_the_largest_median_share_not_the_largest_mean() -> None:
    qs = [_q("a", 10, 30, 60), _q("b", 50, 25, 25), _q("c", 40, 40, 20)]
    per_q = [q.shares for q in qs]
    # shares: retrieve .1 .5 .4 (median .4, mean .333); classify .3 .25 .4 (.3, .317);
    # generate .6 .25 .2 (.25, .35): by the mean generate would be named
    assert median_shares(per_q, ORDER) == pytest.approx(
        {"retrieve": 0.4, "classify": 0.3, "generate": 0.25}
    )
    assert bottleneck(per_q, ORDER) == "retrieve"
    result = PipelineResult(
        scenario={"id": "x", "thresholds": {}}, config={}, started_at="", stages=ORDER, questions=qs
    )
    assert result.bottleneck() == "retrieve"
    assert result.bottleneck_sentence().startswith("The bottleneck is the retrieve stage: 40.0%")
    table = result.stage_table()
    assert table["generate"]["wall_ms"]["median"] == 25.0
    assert table["retrieve"]["share"]["median"] == pytest.approx(0.4)


def test_bottleneck_tie_goes_to_the_earlier_stage_and_none_without_questions() -> None:
    assert bottleneck([_q("a", 50, 0, 50).shares], ORDER) == "retrieve"
    assert bottleneck([], ORDER) is None


def test_thresholds_and_verdict() -> None:
    ok, bad = _q("a", 1, 1, 8), _q("b", 1, 1, 8)
    ok.generate = {"ok": True, "quality": {"contains": 1.0}}
    bad.generate = {"ok": False, "quality": {"contains": 0.0}}
    bad.error = "generate: boom"
    result = PipelineResult(
        scenario={"id": "x", "thresholds": {"success_rate": 0.5, "quality": 0.6, "accuracy": 0.9}},
        config={},
        started_at="",
        stages=ORDER,
        questions=[ok, bad],
        status="completed",
        setup={"classify": {"setup_ms": None, "skipped": "no classifier"}},
    )
    got = {t["metric"]: (t["value"], t["passed"]) for t in result.thresholds()}
    assert got == {"success_rate": (0.5, True), "quality": (0.5, False), "accuracy": (None, None)}
    assert result.ran == ["retrieve", "generate"] and not result.passed()


# --- retrieval ---------------------------------------------------------------------


def test_retrieval_metrics_by_hand_and_against_scikit_learn() -> None:
    from sklearn.metrics import ndcg_score

    now = datetime(2025, 4, 1, tzinfo=timezone.utc)
    ts = {
        "a": now - timedelta(days=10),
        "b": now - timedelta(days=40),
        "c": now,
        "d": now - timedelta(days=5),
    }
    ranking = ["a", "b", "c", "d"]
    relevant = {"b": 3, "d": 1}
    params = RankingParams(now=now, T_days=30.0, lam=0.3)
    got = retrieval_metrics(ranking, relevant, ts, params, k=10)
    g_b, g_d = 7 * math.exp(-0.3 * 40 / 30), 1 * math.exp(-0.3 * 5 / 30)
    dcg = g_b / math.log2(3) + g_d / math.log2(5)
    assert got["ndcg_time@10"] == pytest.approx(dcg / (g_b + g_d / math.log2(3)), rel=1e-12)
    gains = [[0, 7, 0, 1]]  # 2^rel - 1, in the collection's order a b c d
    scores = [[4, 3, 2, 1]]  # the ranking above
    assert got["ndcg@10"] == pytest.approx(ndcg_score(gains, scores, k=10), rel=1e-12)
    assert got["mrr"] == 0.5
    assert got["recall@10"] == 1.0
    two = retrieval_metrics(ranking, relevant, ts, params, k=2)
    assert two["recall@2"] == 0.5
    items = [RankedItem(relevant.get(d, 0), ts[d]) for d in ranking]
    assert two["ndcg_time@2"] == temporal_ndcg(items, k=2, now=now, T_days=30.0, lam=0.3).value


def test_tfidf_retriever_ranks_as_the_scenario_baseline_does() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    s = find_scenario("support-rag")
    data = load_rag_data(s)
    docs = data.documents
    vec = TfidfVectorizer(sublinear_tf=True, stop_words="english")
    matrix = vec.fit_transform([f"{d.title} {d.text}" for d in docs])
    retriever = TfidfRetriever(docs, top_k=5)
    for q in data.questions[:6]:
        sims = cosine_similarity(vec.transform([q.text]), matrix)[0]
        order = sorted(range(len(docs)), key=lambda i: (-sims[i], i))
        found = retriever.search(q.text)
        assert [d for d, _ in found.ranking] == [docs[i].id for i in order]
        assert len(found.top) == 5 and found.top[0][1] == pytest.approx(sims[order[0]])


def test_chunking_scores_a_document_by_its_best_window() -> None:
    from tui_bench.core.scenarios import Document

    docs = [Document("x", "alpha beta gamma delta"), Document("y", "delta")]
    r = TfidfRetriever(docs, chunk_words=2, overlap=1)
    assert r.n_chunks == 3 + 1  # "alpha beta", "beta gamma", "gamma delta"; "delta"
    assert [d for d, _ in r.search("delta").ranking] == ["y", "x"]
    with pytest.raises(UserError, match="overlap"):
        TfidfRetriever(docs, chunk_words=2, overlap=2)


# --- classify ----------------------------------------------------------------------


def _train(folder: Path) -> Path:
    from tui_bench.core.classify.data import load_dataset
    from tui_bench.core.classify.final import train_final

    s = find_scenario("support-rag")
    cat = load_dataset(s.data["train"], text_column="text", label_column="label").categories[
        "label"
    ]
    final = train_final(
        "complement-nb",
        cat.texts,
        cat.labels,
        category="label",
        language=None,
        output_dir=folder,
        quick_epochs=1,
        seed=0,
    )
    return Path(final.card_path)


def test_classifier_saved_by_the_classifier_mode(tmp_path: Path) -> None:
    import joblib

    from tui_bench.core.pipeline.classifier import classification_metrics, load_classifier

    card = _train(tmp_path / "clf")
    s = find_scenario("support-rag")
    qs = load_rag_data(s).questions
    clf = load_classifier(tmp_path / "clf", s.labels, s.id)  # the folder finds its card
    assert clf.card_path == card and clf.has_proba
    model = joblib.load(card.with_suffix(".joblib"))
    preds = [clf.predict(q.text) for q in qs]
    assert [p.label for p in preds] == list(model.predict([q.text for q in qs]))
    assert all(0.25 <= p.confidence <= 1 for p in preds)  # 4 classes: the top one ≥ 1/4
    m = classification_metrics([q.label for q in qs], [p.label for p in preds])
    right = sum(1 for q, p in zip(qs, preds, strict=True) if q.label == p.label)
    assert m["accuracy"] == right / len(qs) and m["n"] == 24


def test_classifier_labels_must_be_the_scenario_s(tmp_path: Path) -> None:
    from tui_bench.core.pipeline.classifier import load_classifier

    card = _train(tmp_path / "clf")
    with pytest.raises(UserError) as err:
        load_classifier(card, ("account", "billing"), "support-rag")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{card}: labels: account, billing, installation")
    with pytest.raises(UserError, match="no such card"):
        load_classifier(tmp_path / "missing", ("a",), "x")


# --- the command: bad input ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such"], "no-such: no such scenario"),
        (["support-rag", "--max-tokens", "0"], "--max-tokens: must be at least 1"),
        (["support-rag", "--classifier", "/nonexistent/dir"], "no such card"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tui_bench.cli.pipeline import pipeline

    r = CliRunner().invoke(pipeline, [*args, "-o", str(tmp_path / "out")], standalone_mode=False)
    assert isinstance(r.exception, UserError) and r.exception.exit_code == EXIT_BAD_INPUT
    assert message in str(r.exception) and "\n" not in str(r.exception)
