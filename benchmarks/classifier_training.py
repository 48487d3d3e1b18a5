"""tui-bench's classifier training against a plain scikit-learn script doing the same work.

Both sides read the same CSV, make the same stratified split (seed 0, 20 % test), train
the same three pipelines (word TF-IDF + logistic regression, char TF-IDF + linear SVM,
hashed char TF-IDF + SGD by epochs with early stopping on a validation split) and score
them on the test rows. tui-bench does it with ``run_classify`` (which also analyses the
imbalance, trains the majority baseline and ranks); the plain script is a straight
sequential loop.

Every measurement runs in a fresh Python process, as one ``tui-bench classify`` call
would, and times the work from reading the file to the last score (interpreter start and
library imports, the same for both, are left out; starting worker processes for
``--jobs`` is counted). Runs alternate plain / tui-bench jobs=1 / tui-bench jobs=all, and
the ratios are of medians. Goal: about 1.0 with jobs=1 (no slower), below 1.0 with every
core.

    python benchmarks/classifier_training.py [--rows 8000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = ["tfidf-logreg", "char-svm", "sgd"]
EPOCHS = 3
PATIENCE = 2
SEED = 0
TEST_SIZE = 0.2


# --------------------------------------------------------------------------- data


def make_data(path: Path, rows: int, seed: int = 0) -> None:
    """Texts over a shared Zipf vocabulary, each class leaning on its own words."""
    rng = random.Random(seed)
    classes = {"billing": 0.4, "bug": 0.3, "feature": 0.2, "praise": 0.1}
    vocab = [f"w{i}" for i in range(4000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    cues = {c: rng.sample(vocab[200:], 60) for c in classes}
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for _ in range(rows):
            label = rng.choices(list(classes), weights=list(classes.values()))[0]
            words = rng.choices(vocab, weights=weights, k=rng.randint(20, 60))
            words += rng.choices(cues[label], k=rng.randint(1, 4))
            rng.shuffle(words)
            writer.writerow([" ".join(words), label])


# --------------------------------------------------------------------------- plain side


def plain(data: Path) -> dict[str, float]:
    """The same work in plain scikit-learn, sequentially."""
    import math

    import numpy as np
    from sklearn.feature_extraction.text import (
        HashingVectorizer,
        TfidfTransformer,
        TfidfVectorizer,
    )
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    t0 = time.perf_counter()
    with open(data, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [r["text"] for r in rows]
    labels = [r["label"] for r in rows]
    n, k = len(labels), len(set(labels))
    n_test = min(n - k, max(k, math.ceil(TEST_SIZE * n)))
    train, test = train_test_split(
        np.arange(n), test_size=n_test, stratify=np.asarray(labels), random_state=SEED
    )
    train, test = sorted(train.tolist()), sorted(test.tolist())
    x_train = [texts[i] for i in train]
    y_train = [labels[i] for i in train]
    x_test = [texts[i] for i in test]
    y_test = [labels[i] for i in test]
    classes = sorted(set(labels))
    scores: dict[str, float] = {}

    def score(name: str, pred: list[str]) -> None:
        scores[name] = float(f1_score(y_test, pred, average="macro", labels=classes))
        accuracy_score(y_test, pred)
        balanced_accuracy_score(y_test, pred)
        f1_score(y_test, pred, average=None, labels=classes)

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=200_000)
    clf = LogisticRegression(C=10.0, max_iter=1000, class_weight="balanced", random_state=SEED)
    clf.fit(vec.fit_transform(x_train), y_train)
    score("tfidf-logreg", clf.predict(vec.transform(x_test)))

    vec = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1, max_features=300_000
    )
    clf = LinearSVC(C=0.5, class_weight="balanced", random_state=SEED)
    clf.fit(vec.fit_transform(x_train), y_train)
    score("char-svm", clf.predict(vec.transform(x_test)))

    # SGD by epochs: validation carved from training, best epoch kept, patience 2
    n_val = max(k, round(0.1 * len(y_train)))
    fit, val = train_test_split(
        np.arange(len(y_train)), test_size=n_val, stratify=np.asarray(y_train), random_state=SEED
    )
    fit, val = sorted(fit.tolist()), sorted(val.tolist())
    y_fit = np.asarray([y_train[i] for i in fit])
    y_val = [y_train[i] for i in val]
    counts = {c: int((y_fit == c).sum()) for c in classes}
    weights = {c: len(y_fit) / (k * counts[c]) for c in classes}
    vec = make_pipeline(
        HashingVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), n_features=2**20, alternate_sign=False
        ),
        TfidfTransformer(sublinear_tf=True),
    )
    clf = SGDClassifier(
        loss="modified_huber", alpha=1e-5, shuffle=False, class_weight=weights, random_state=SEED
    )
    x_fit = vec.fit_transform([x_train[i] for i in fit])
    x_val = vec.transform([x_train[i] for i in val])
    rng = np.random.default_rng(SEED)
    best, best_f1, stale = None, -1.0, 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(fit))
        clf.partial_fit(x_fit[order], y_fit[order], classes=np.asarray(classes))
        f1 = f1_score(y_val, clf.predict(x_val), average="macro", labels=classes)
        if f1 > best_f1:
            best, best_f1, stale = copy.deepcopy(clf), f1, 0
        else:
            stale += 1
            if stale >= PATIENCE:
                break
    score("sgd", best.predict(vec.transform(x_test)))
    return {"wall_s": time.perf_counter() - t0, **scores}


# --------------------------------------------------------------------------- tui-bench side


def tui(data: Path, jobs: int) -> dict[str, float]:
    from tui_bench.core.classify.runner import ClassifyConfig, run_classify

    t0 = time.perf_counter()
    result = run_classify(
        ClassifyConfig(
            data=data,
            label_column="label",
            models=MODELS,
            epochs=EPOCHS,
            patience=PATIENCE,
            jobs=jobs,
            seed=SEED,
            test_size=TEST_SIZE,
        )
    )
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        **{r.candidate: r.f1_macro for r in result.results if not r.baseline},
    }


def _preload() -> None:
    # Both sides import the same libraries; their import time is left out of the timing.
    import sklearn.feature_extraction.text
    import sklearn.linear_model
    import sklearn.metrics
    import sklearn.model_selection
    import sklearn.svm  # noqa: F401


# --------------------------------------------------------------------------- driver


def _measure(side: str, data: Path, jobs: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", side, "--data", str(data), "--jobs", str(jobs)]
    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", choices=["plain", "tui"])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()

    if args.child:
        _preload()
        if args.child == "tui":
            import tui_bench.core.classify.runner  # noqa: F401
        res = plain(args.data) if args.child == "plain" else tui(args.data, args.jobs)
        print(json.dumps(res))
        return

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "bench.csv"
        make_data(data, args.rows)
        print(f"{args.rows} texts, 4 classes; candidates {', '.join(MODELS)}; {cores} cores")
        runs: dict[str, list[dict[str, float]]] = {"plain": [], "tui-1": [], "tui-all": []}
        sides = [("plain", "plain", 1), ("tui-1", "tui", 1), ("tui-all", "tui", cores)]
        for rep in range(args.repeats):
            order = sides[rep % 3 :] + sides[: rep % 3]  # rotate who goes first
            for key, side, jobs in order:
                runs[key].append(_measure(side, data, jobs))
            print(
                f"  rep {rep + 1}: "
                + ", ".join(f"{k} {runs[k][-1]['wall_s']:.2f} s" for k in runs),
                flush=True,
            )
    med = {k: statistics.median(r["wall_s"] for r in v) for k, v in runs.items()}
    print()
    print(f"median wall time  plain sklearn: {med['plain']:.2f} s")
    print(f"                  tui-bench jobs=1: {med['tui-1']:.2f} s")
    print(f"                  tui-bench jobs={cores}: {med['tui-all']:.2f} s")
    print(f"ratio tui-bench / plain, jobs=1: {med['tui-1'] / med['plain']:.2f}")
    print(f"ratio tui-bench / plain, jobs={cores}: {med['tui-all'] / med['plain']:.2f}")
    same = all(
        abs(runs["plain"][0][m] - runs[k][0][m]) < 1e-9
        for m in MODELS
        for k in ("tui-1", "tui-all")
    )
    print("macro-F1 per candidate, plain vs tui-bench: " + ("identical" if same else "DIFFERENT"))
    for m in MODELS:
        print(f"  {m}: plain {runs['plain'][0][m]:.4f}, tui-bench {runs['tui-1'][0][m]:.4f}")


if __name__ == "__main__":
    main()
