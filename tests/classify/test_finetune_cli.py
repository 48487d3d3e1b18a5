"""`tui-bench classify --models builtin:minilm-l6,minilm-frozen,char-svm` headless: the
three ranked together, the fine-tune's epochs in data.json and the log, the chosen
transformer saved with save_pretrained and its card, loaded back and predicting, and the
report rebuilt from history byte for byte."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bench_helpers import cli_env, tui_bench_cmd
from finetune_helpers import EN_TOPICS, chatterbot_csv, expected_device, read_rows

from tui_bench.core.classify.final import data_sha256

MINILM = "builtin:minilm-l6"
REPORTS = ("report.md", "data.json", "results.csv")


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tui_bench_cmd(*args), capture_output=True, text=True, env=cli_env(home), timeout=600
    )


def test_three_candidates_ranked_together_and_the_saved_model_predicts(
    bench_home: Path, tmp_path: Path
) -> None:
    data = chatterbot_csv(tmp_path / "en.csv", {"en": EN_TOPICS})
    out = tmp_path / "out"
    proc = _cli(
        bench_home, "classify", str(data), "--label-column", "topic",
        "--models", f"{MINILM},minilm-frozen,char-svm", "--epochs", "1", "--max-length", "32",
        "--choose", MINILM, "--headless", "--output", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    log = proc.stderr.splitlines()
    device = expected_device()
    if device == "cpu":
        assert any("training on CPU (" in x and "is slow" in x for x in log)
    else:
        assert any("training on CUDA (" in x for x in log)
    [epoch] = [x for x in log if x.startswith(f"  {MINILM} / topic: epoch 1/1 val F1 0.")]
    assert " examples/s " in epoch and epoch.endswith(" left")  # said without -v
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr

    data_json = json.loads((out / "data.json").read_text(encoding="utf-8"))
    rows = {r["model"]: r for r in data_json["results"]}
    ranked = sorted((r["rank"], m) for m, r in rows.items() if r["rank"])
    assert [r for r, _m in ranked] == [1, 2, 3]  # one ranking, the three together
    assert {m for _r, m in ranked} == {MINILM, "minilm-frozen", "char-svm"}
    f1s = [rows[m]["f1_macro"] for _r, m in ranked]
    assert f1s == sorted(f1s, reverse=True)
    tuned = rows[MINILM]
    assert len(tuned["val_f1_by_epoch"]) == 1 and 0.0 < tuned["val_f1_by_epoch"][0] <= 1.0
    t = tuned["training"]
    assert t["device"] == device and t["max_length"] == 32
    assert tuned["training"]["examples_per_s"] > 0 and tuned["epochs_run"] == 1
    # every candidate held to the same baselines: each beats guessing here by far (the
    # small-data batch gives MiniLM the same steps on a GPU as on the CPU)
    assert all(rows[m]["f1_vs_baseline"] > 0.2 for m in (MINILM, "minilm-frozen", "char-svm"))
    assert rows["minilm-frozen"]["training"] == {}  # a scikit-learn head: fitted once
    kinds = {c["name"]: c["kind"] for c in data_json["candidates"]}
    assert (kinds[MINILM], kinds["minilm-frozen"], kinds["char-svm"]) == (
        "finetune",
        "frozen",
        "sklearn",
    )
    md = (out / "report.md").read_text(encoding="utf-8")
    where = f"{t['device_name'] or 'cpu'}, {t['precision']}"  # "cpu, fp32" on the CPU
    assert "## Transformer training" in md and f"| topic | {MINILM} | {where}" in md

    # the final model: a save_pretrained folder and its card
    folder, card_path = out / "model-topic", out / "model-topic.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    csv_rows = read_rows(data)
    texts, labels = [r["text"] for r in csv_rows], [r["topic"] for r in csv_rows]
    assert card["labels"] == sorted(EN_TOPICS) and card["kind"] == "finetune"
    assert card["data_sha256"] == data_sha256(texts, labels) and card["n_samples"] == 240
    assert card["max_length"] == 32 and card["epochs"] == tuned["best_epoch"] == 1
    assert {"torch", "transformers", "scikit-learn"} <= set(card["versions"])
    assert card["benchmark_metrics"]["f1_macro"] == tuned["f1_macro"]

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(str(folder), local_files_only=True)
    assert [model.config.id2label[i] for i in range(4)] == card["labels"]
    enc = tokenizer(texts, truncation=True, max_length=32, padding=True, return_tensors="pt")
    with torch.inference_mode():
        predicted = [model.config.id2label[int(i)] for i in model(**enc).logits.argmax(-1)]
    right = sum(p == y for p, y in zip(predicted, labels, strict=True)) / len(labels)
    assert right > 0.6, right  # its own training rows; guessing gets about 0.25

    # the same history as every benchmark: the report rebuilt from it, byte for byte
    runs = json.loads(_cli(bench_home, "history", "--kind", "classify", "--format", "json").stdout)
    rebuilt = tmp_path / "rebuilt"
    assert _cli(bench_home, "report", str(runs[0]["id"]), "--output", str(rebuilt)).returncode == 0
    for name in REPORTS:
        assert (rebuilt / name).read_bytes() == (out / name).read_bytes(), name


def test_per_language_lists_one_with_a_transformer(bench_home: Path, tmp_path: Path) -> None:
    data = chatterbot_csv(
        tmp_path / "en_it.csv",
        {
            "en": {"trivia": 30, "coding": 30, "AI": 30},
            "it": {"AI": 30, "psicologia": 30, "umorismo": 30},
        },
    )
    out = tmp_path / "out"
    proc = _cli(
        bench_home, "classify", str(data), "--label-column", "topic", "--by-language",
        "--models", "char-svm,tfidf-logreg", "--models-for", f"en={MINILM},char-svm",
        "--epochs", "1", "--max-length", "16", "--headless", "--output", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr

    data_json = json.loads((out / "data.json").read_text(encoding="utf-8"))
    assert data_json["models"] == {"en": [MINILM, "char-svm"], "it": ["char-svm", "tfidf-logreg"]}
    ranked = {
        (r["language"], r["model"]): r["rank"] for r in data_json["results"] if not r["baseline"]
    }
    assert ranked.keys() == {("en", MINILM), ("en", "char-svm"), ("it", "char-svm"),
                             ("it", "tfidf-logreg")}  # fmt: skip
    for lang in ("en", "it"):  # each language ranked on its own
        assert sorted(rank for (la, _m), rank in ranked.items() if la == lang) == [1, 2]
    [tuned] = [r for r in data_json["results"] if r["model"] == MINILM]
    assert tuned["language"] == "en" and tuned["error"] is None
    assert len(tuned["val_f1_by_epoch"]) == tuned["epochs_run"] == 1  # trained for real
    assert tuned["training"]["max_length"] <= 16 and tuned["training"]["examples_per_s"] > 0
    assert not [r for r in data_json["results"] if r["language"] == "it" and r["training"]]


@pytest.mark.parametrize("models", ["org/absent-model,char-svm", "char-svm,./nowhere"])
def test_a_model_not_on_the_machine_exits_2_in_one_line(
    bench_home: Path, tmp_path: Path, models: str
) -> None:
    data = tmp_path / "d.csv"
    data.write_text("text,topic\na,b\n", encoding="utf-8")
    env_home = tmp_path / "hub"
    proc = subprocess.run(
        tui_bench_cmd(
            "classify", str(data), "--label-column", "topic", "--models", models, "--headless"
        ),
        capture_output=True,
        text=True,
        env={**cli_env(bench_home), "HF_HUB_CACHE": str(env_home)},
        timeout=120,
    )
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    name = models.split(",")[0] if "absent" in models else "./nowhere"
    assert f"model {name!r}" in line and "Traceback" not in proc.stderr
