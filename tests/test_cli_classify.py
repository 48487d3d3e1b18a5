"""`tui-bench classify` headless, end to end on the real corpus, with history and errors."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bench_helpers import cli_env, tui_bench_cmd

from tui_bench.core.classify.corpora import export_corpus

sys.path.insert(0, str(Path(__file__).resolve().parent / "classify"))
from classify_helpers import annotated_rows, labelled_rows, write_csv

SVG = "{http://www.w3.org/2000/svg}"
REPORTS = ("report.md", "data.json", "results.csv", "chart_ranking.svg", "chart_confusion.svg")


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tui_bench_cmd(*args), capture_output=True, text=True, env=cli_env(home), timeout=600
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "chatterbot-en.csv"
    export_corpus("chatterbot", path, languages=["en"])
    return path


def test_corpus_command(bench_home: Path, tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "en.csv"
    proc = _cli(bench_home, "corpus", "chatterbot", str(out), "--languages", "en")
    assert proc.returncode == 0 and "2026 rows" in proc.stdout
    assert out.read_text(encoding="utf-8") == corpus.read_text(encoding="utf-8")
    bad = _cli(bench_home, "corpus", "nope", str(out))
    assert bad.returncode == 2 and "unknown corpus 'nope'" in bad.stderr


def test_classify_corpus_headless(corpus: Path, bench_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _cli(
        bench_home, "classify", str(corpus), "--text-column", "text", "--label-column", "topic",
        "--models", "char-svm,complement-nb", "--choose", "top", "--headless", "--output", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "[imbalance] topic:" in proc.stderr and "best: topic: " in proc.stderr
    # the top candidate keeps its medal, its interval shown on the command line
    top = next(x for x in proc.stderr.splitlines() if x.startswith("[ranking]   🥇 1 "))
    assert "vs baseline +0." in top and top.endswith("better than chance")
    assert "better than chance" in top and " [+0." in top
    data = json.loads((out / "data.json").read_text())
    imb = data["imbalance"][0]
    assert set(imb) >= {
        "category",
        "n_classes",
        "n_samples",
        "imbalance_ratio",
        "normalized_entropy",
        "minority_share",
        "profile",
    }
    assert set(data["suggested"]) == {"balanced", "moderate", "imbalanced"}
    rows = data["results"]
    assert set(rows[0]) >= {
        "rank",
        "model",
        "category",
        "language",
        "f1_macro",
        "accuracy",
        "balanced_accuracy",
        "train_time_s",
    }
    best = next(r for r in rows if r["rank"] == 1)
    baseline = next(r for r in rows if r["model"] == "majority")
    assert best["f1_macro"] - baseline["f1_macro"] > 0.5  # a wide margin over doing nothing
    assert (out / "report.md").exists() and (out / "results.csv").exists()
    assert list(out.glob("model-topic.joblib")) and list(out.glob("model-topic*.json"))

    runs = json.loads(_cli(bench_home, "history", "--kind", "classify", "--format", "json").stdout)
    assert len(runs) == 1 and runs[0]["kind"] == "classify" and runs[0]["status"] == "completed"
    rebuilt = tmp_path / "rebuilt"
    assert _cli(bench_home, "report", str(runs[0]["id"]), "--output", str(rebuilt)).returncode == 0
    assert json.loads((rebuilt / "data.json").read_text()) == data
    for name in REPORTS:  # byte for byte: no value rounded twice, the final model kept
        assert (rebuilt / name).read_bytes() == (out / name).read_bytes(), name
    shutil.rmtree(out)  # the run's own folder is gone: history alone rebuilds the report
    rebuilt = tmp_path / "rebuilt-again"
    assert _cli(bench_home, "report", "latest", "--output", str(rebuilt)).returncode == 0
    md = (rebuilt / "report.md").read_text(encoding="utf-8")
    assert f"| {best['model']} | {best['f1_macro']:.3f} |" in md.replace("**", "")
    assert "model-topic.joblib" in md
    cmp = _cli(bench_home, "compare", str(runs[0]["id"]), str(runs[0]["id"]))
    assert cmp.returncode == 2 and "classifier benchmark" in cmp.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label-column", "nope"], "nope"),
        (
            ["--label-column", "topic", "--annotation-column", "annotation"],
            "exactly one of --label-column or --annotation-column",
        ),
        (["--label-column", "topic", "--models", "char-svm,bogus"], "bogus"),
        (["--label-column", "topic", "--epochs", "0"], "epochs"),
    ],
)
def test_classify_bad_input_is_one_line(
    corpus: Path, bench_home: Path, args: list[str], message: str
) -> None:
    proc = _cli(bench_home, "classify", str(corpus), "--headless", *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in proc.stderr


def test_classify_missing_file(bench_home: Path, tmp_path: Path) -> None:
    proc = _cli(
        bench_home, "classify", str(tmp_path / "none.csv"), "--label-column", "x", "--headless"
    )
    assert (
        proc.returncode == 2
        and "none.csv" in proc.stderr
        and len(proc.stderr.strip().splitlines()) == 1
    )


def _shuffled(path: Path, counts: dict[str, int]) -> Path:
    rows = labelled_rows(counts, seed=1)
    labels = [r["label"] for r in rows]
    random.Random(7).shuffle(labels)
    return write_csv(path, [{**r, "label": lab} for r, lab in zip(rows, labels, strict=True)])


def test_a_shuffled_label_column_is_not_better_than_chance(
    bench_home: Path, tmp_path: Path
) -> None:
    data = _shuffled(tmp_path / "noise.csv", {"a": 150, "b": 100, "c": 50})
    out = tmp_path / "out"
    proc = _cli(
        bench_home, "classify", str(data), "--label-column", "label", "--headless",
        "--output", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    # the estimate is said before the first training, and is positive
    estimate = next(i for i, x in enumerate(lines) if x.startswith("[estimate] about "))
    first = next(i for i, x in enumerate(lines) if x.startswith("[1/"))
    assert estimate < first and "an estimate" in lines[estimate]
    data_json = json.loads((out / "data.json").read_text(encoding="utf-8"))
    est = data_json["estimate"]
    assert est["seconds"] > 0 and est["probe_rows"] == 200
    # its parts: one per candidate of the cell, adding up to the whole over the workers
    ranked_models = {r["model"] for r in data_json["results"] if not r["baseline"]}
    assert sorted(p[0] for p in est["per_training"]) == sorted(ranked_models)
    parts = sum(p[3] for p in est["per_training"])
    assert parts / est["workers"] == pytest.approx(est["seconds"])
    # every candidate: not better than chance; no medal anywhere, no "best"
    ranked = [x for x in lines if x.startswith("[ranking]   ")]
    assert len(ranked) == 4
    assert all("not better than chance" in x for x in ranked)
    assert not any(m in proc.stderr for m in ("🥇", "🥈", "🥉")) and "best:" not in proc.stderr
    assert "baseline stratified 0.3" in proc.stderr  # guessing: about 1/3 for 3 classes
    md = (out / "report.md").read_text(encoding="utf-8")
    rows = [x for x in md.splitlines() if x.startswith("| ") and x.split("|")[1].strip().isdigit()]
    candidates = [x for x in rows if x.count("|") > 12]  # the per-category table
    assert len(candidates) == 4
    assert all("| not better than chance" in x for x in candidates)
    # the ranking chart says the same: four hollow dots, no medal; report.md links it
    svg = ET.parse(out / "chart_ranking.svg").getroot()
    marks = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "candidate"]
    assert len(marks) == 4 and {g.get("data-verdict") for g in marks} == {"not better than chance"}
    assert not [c for c in svg.iter(f"{SVG}circle") if c.get("class") == "medal"]
    assert "](chart_ranking.svg)" in md and "](chart_confusion.svg)" in md
    # rebuilt from history: the same bytes
    runs = json.loads(_cli(bench_home, "history", "--kind", "classify", "--format", "json").stdout)
    rebuilt = tmp_path / "rebuilt"
    assert _cli(bench_home, "report", str(runs[0]["id"]), "-o", str(rebuilt)).returncode == 0
    for name in REPORTS:
        assert (rebuilt / name).read_bytes() == (out / name).read_bytes(), name


def _two_languages(path: Path) -> Path:
    rows = []
    for lang, seed in (("en", 0), ("fr", 1000)):
        for row in annotated_rows({"c": {"a": 25, "b": 25}}, n_rows=50, seed=seed):
            rows.append({**row, "lang": lang})
    return write_csv(path, rows)


def test_models_for_a_language(bench_home: Path, tmp_path: Path) -> None:
    data = _two_languages(tmp_path / "langs.csv")
    out = tmp_path / "out"
    proc = _cli(
        bench_home, "classify", str(data), "--annotation-column", "annotation",
        "--language-column", "lang", "--by-language", "--models", "char-svm,sgd",
        "--models-for", "fr=complement-nb,tfidf-logreg", "--headless", "--output", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data_json = json.loads((out / "data.json").read_text(encoding="utf-8"))
    assert data_json["models"] == {
        "en": ["char-svm", "sgd"],
        "fr": ["complement-nb", "tfidf-logreg"],
    }
    trained = {
        lang: sorted(r["model"] for r in data_json["results"] if r["language"] == lang)
        for lang in ("en", "fr")
    }
    assert trained == {
        "en": ["char-svm", "majority", "sgd", "stratified"],
        "fr": ["complement-nb", "majority", "stratified", "tfidf-logreg"],
    }
    assert data_json["config"]["models_by_language"] == {"fr": ["complement-nb", "tfidf-logreg"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by-language", "--models-for", "fr"], "--models-for 'fr': expected LANG=A,B"),
        (
            ["--by-language", "--models-for", "fr=sgd,char-svm", "--models-for", "fr=sgd,mlp"],
            "--models-for: language 'fr' given twice",
        ),
        (["--models-for", "fr=sgd,char-svm"], "models by language need training by language"),
        (["--by-language", "--models-for", "fr=sgd,bogus"], "unknown model 'bogus'"),
        (["--by-language", "--models-for", "de=sgd,char-svm"], "no rows in language 'de'"),
        (["--cv-repeats", "3"], "cv repeats: 3 repeats need cross-validation"),
        (["--cv", "3", "--cv-repeats", "0"], "cv repeats: 0 is not a whole number from 1 to 10"),
    ],
)
def test_bad_per_language_lists_and_repeats_are_one_line(
    bench_home: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    data = _two_languages(tmp_path / "langs.csv")
    proc = _cli(
        bench_home, "classify", str(data), "--annotation-column", "annotation",
        "--language-column", "lang", "--headless", "--output", str(tmp_path / "out"), *args,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
