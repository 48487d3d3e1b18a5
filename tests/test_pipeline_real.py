"""The pipeline end to end with SmolLM2: support-rag's first 4 questions through
retrieve, a classifier the classifier mode trained, and generate (16 tokens), driven by
the headless driver; every figure checked against a computation made apart."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

import pytest
from bench_helpers import cli_env, tui_bench_cmd

from tui_bench.core.scenarios import SCENARIOS_ENV, find_scenario, load_rag_data

pytestmark = pytest.mark.real


def test_support_rag_end_to_end(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    bench_home: Path,
) -> None:
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    from tui_bench.core.classify.data import load_dataset
    from tui_bench.core.classify.final import train_final
    from tui_bench.core.pipeline.runner import PipelineConfig
    from tui_bench.core.ranking import RankedItem, temporal_ndcg
    from tui_bench.core.store import Store
    from tui_bench.headless.drivers import run_pipeline

    monkeypatch.delenv(SCENARIOS_ENV, raising=False)
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
        output_dir=tmp_path / "clf",
        quick_epochs=1,
        seed=0,
    )
    out = tmp_path / "out"
    config = PipelineConfig(
        scenario="support-rag", output_dir=out, classifier=tmp_path / "clf", max_tokens=16, limit=4
    )
    code = run_pipeline(config)
    err = capsys.readouterr().err
    data = json.loads((out / "data.json").read_text())
    assert (out / "report.md").is_file()
    assert code == (0 if data["passed"] else 1)
    qs = data["questions"]
    assert [q["id"] for q in qs] == ["q01", "q02", "q03", "q04"]
    assert sum(1 for line in err.splitlines() if line.startswith("[") and "/4] q0" in line) == 4

    # spans: three per question, shares summing to 1, the bottleneck the largest median share
    for q in qs:
        assert list(q["spans"]) == ["retrieve", "classify", "generate"]
        assert sum(sp["share"] for sp in q["spans"].values()) == pytest.approx(1.0, abs=1e-12)
        assert q["e2e_ms"] == pytest.approx(sum(sp["wall_ms"] for sp in q["spans"].values()))
        assert q["spans"]["generate"]["rss_kb"] and q["generate"]["ttft_ms"] > 0
    medians = {st: statistics.median(q["spans"][st]["share"] for q in qs) for st in data["ran"]}
    assert data["bottleneck"]["stage"] == max(medians, key=lambda st: medians[st])
    assert data["bottleneck"]["stage"] in data["bottleneck"]["sentence"]

    # retrieval: core/ranking's temporal and plain nDCG@10 over an independent TF-IDF ranking
    rag = load_rag_data(s)
    docs = rag.documents
    vec = TfidfVectorizer(sublinear_tf=True, stop_words="english")
    matrix = vec.fit_transform([f"{d.title} {d.text}" for d in docs])
    r = s.ranking
    for q, got in zip(rag.questions[:4], qs, strict=True):
        sims = cosine_similarity(vec.transform([q.text]), matrix)[0]
        order = sorted(range(len(docs)), key=lambda i: (-sims[i], i))
        items = [RankedItem(q.relevant.get(docs[i].id, 0), docs[i].ts) for i in order]
        m = got["retrieve"]["metrics"]
        assert (
            m["ndcg_time@10"]
            == temporal_ndcg(items, k=10, now=r.now, T_days=r.T_days, lam=r.lam).value
        )
        assert m["ndcg@10"] == temporal_ndcg(items, k=10, now=r.now, T_days=r.T_days, lam=0.0).value
        assert [d for d, _ in got["retrieve"]["top"]] == [docs[i].id for i in order[:10]]

    # classification: the saved model's own answers, counted by hand
    model = joblib.load(final.model_path)
    predicted = list(model.predict([q.text for q in rag.questions[:4]]))
    assert [q["classify"]["label"] for q in qs] == predicted
    right = sum(p == q.label for p, q in zip(predicted, rag.questions[:4], strict=True))
    assert data["quality"]["classify"]["accuracy"] == right / 4

    # history: a run of kind pipeline named by the scenario, its 4 answers as requests
    store = Store()
    try:
        (row,) = store.iter_runs(kind="pipeline", limit=5)
        assert (row.plan, row.status, row.n_measured) == ("support-rag", "completed", 4)
        assert row.summary["bottleneck"] == data["bottleneck"]
        assert len(store.get_requests(row.id)) == 4
    finally:
        store.close()

    # listed per scenario with its averages, and its reports rebuilt from history as written
    env = cli_env(bench_home)
    listed = subprocess.run(
        tui_bench_cmd("history", "--scenario", "support-rag"),
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    rate = data["success_rate"]
    assert f"support-rag: 1 run; success rate {100 * rate:.0f}%" in listed.stdout
    again = tmp_path / "again"
    rebuilt = subprocess.run(
        tui_bench_cmd("report", "latest", "-o", str(again)),
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr
    for name in ("report.md", "data.json"):
        assert (again / name).read_bytes() == (out / name).read_bytes()
