"""`tui-bench classify` headless, end to end on the real corpus, with history and errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from bench_helpers import cli_env, tui_bench_cmd

from tui_bench.core.classify.corpora import export_corpus


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
