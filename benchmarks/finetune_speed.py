"""Fine-tuning the packaged MiniLM (builtin:minilm-l6) against scikit-learn's char-svm on
the same rows: examples per second and seconds per epoch of the fine-tune, what the
frozen encoder (minilm-frozen) costs, and the scikit-learn fit beside them.

The rows are ChatterBot English conversations (the ``corpus`` extra), their topic the
label; a stratified 80/20 split (seed 0), the fine-tune's validation tenth carved from the
training part as in a run. Each measurement runs in a fresh Python process (torch's
OpenMP settings are read when it loads), with the recipe of a run
(``core/classify/finetune.py``): batch 32 on the CPU, max length the 95th percentile of
the token counts capped by ``--max-length``. Two thread wait policies are measured on the
CPU: ``PASSIVE`` (what tui-bench's workers set) and ``ACTIVE`` (OpenMP's spinning
default), since spinning threads collapse when another process shares the cores.

On a machine with an NVIDIA GPU the fine-tune runs there (bf16 or fp16 autocast), and
its memory peak is printed.

    python benchmarks/finetune_speed.py [--rows 1000] [--epochs 1] [--max-length 64]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from typing import Any

SEED = 0


def _rows(n: int) -> tuple[list[str], list[str]]:
    from tui_bench.core.classify.corpora import chatterbot_rows

    rows = [r for r in chatterbot_rows(["en"]) if r["topic"] != "health"]  # 1 conversation
    random.Random(SEED).shuffle(rows)
    rows = rows[:n]
    return [r["text"] for r in rows], [r["topic"] for r in rows]


def _split(labels: list[str]) -> tuple[list[int], list[int]]:
    from tui_bench.core.classify.splits import holdout_split

    [(train, test)] = holdout_split(labels, test_size=0.2, seed=SEED)
    return train, test


def _macro_f1(truth: list[str], pred: Any) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, list(pred), average="macro", zero_division=0))


def child_minilm(rows: int, epochs: int, max_length: int) -> dict[str, Any]:
    from tui_bench.core.classify.finetune import fit_transformer, use_threads
    from tui_bench.core.classify.trainrows import balanced_class_weight, carve_validation

    threads = use_threads(None)
    texts, labels = _rows(rows)
    train, test = _split(labels)
    tr_texts, tr_labels = [texts[i] for i in train], [labels[i] for i in train]
    carve = carve_validation(tr_labels, SEED)
    assert carve is not None
    t0 = time.perf_counter()
    model, info = fit_transformer(
        "builtin:minilm-l6",
        tr_texts,
        tr_labels,
        classes=sorted(set(labels)),
        epochs=epochs,
        seed=SEED,
        patience=epochs,
        carve=carve,
        class_weight=balanced_class_weight([tr_labels[i] for i in carve[0]]),
        max_length=max_length,
        threads=threads,
    )
    total = time.perf_counter() - t0
    assert model is not None
    t1 = time.perf_counter()
    pred = model.predict([texts[i] for i in test])
    t = info["training"]
    return {
        "fit_rows": len(carve[0]),
        "examples_per_s": t["examples_per_s"],
        "epoch_s": t["epoch_s"],
        "load_s": t["load_s"],
        "total_s": total,
        "predict_per_1k_s": (time.perf_counter() - t1) / len(test) * 1000,
        "test_f1": _macro_f1([labels[i] for i in test], pred),
        "device": t.get("device_name") or f"cpu, {threads} threads",
        "max_length": t["max_length"],
        "batch": t["batch_size"],
        "gpu_peak_mib": t.get("gpu_memory_peak_mib"),
    }


def child_sklearn(rows: int, name: str) -> dict[str, Any]:
    from tui_bench.core.classify import candidates as cand
    from tui_bench.core.classify.finetune import use_threads
    from tui_bench.core.classify.train import fit_once, predict

    if name == "minilm-frozen":
        use_threads(None)
    texts, labels = _rows(rows)
    train, test = _split(labels)
    tr_texts, tr_labels = [texts[i] for i in train], [labels[i] for i in train]
    t0 = time.perf_counter()
    vec, clf = fit_once(cand.get(name), tr_texts, tr_labels, seed=SEED)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    pred = predict(vec, clf, [texts[i] for i in test])
    return {
        "fit_rows": len(train),
        "examples_per_s": len(train) / fit_s,
        "epoch_s": fit_s,
        "predict_per_1k_s": (time.perf_counter() - t1) / len(test) * 1000,
        "test_f1": _macro_f1([labels[i] for i in test], pred),
    }


def _run(args: argparse.Namespace, mode: str, policy: str | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    cmd = [sys.executable, __file__, "--child", mode, "--rows", str(args.rows)]
    cmd += ["--epochs", str(args.epochs), "--max-length", str(args.max_length)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "minilm":
        print(json.dumps(child_minilm(args.rows, args.epochs, args.max_length)))
        return
    if args.child:
        print(json.dumps(child_sklearn(args.rows, args.child)))
        return

    import torch

    gpu = torch.cuda.is_available()
    runs = {
        "char-svm": _run(args, "char-svm"),
        "minilm-frozen": _run(args, "minilm-frozen", "PASSIVE"),  # as in a worker
    }
    if gpu:
        runs["builtin:minilm-l6 (cuda)"] = _run(args, "minilm")
    else:
        runs["builtin:minilm-l6 (passive)"] = _run(args, "minilm", "PASSIVE")
        runs["builtin:minilm-l6 (active)"] = _run(args, "minilm", "ACTIVE")
    print(
        f"ChatterBot en, {args.rows} rows, {args.epochs} epoch(s), max length cap "
        f"{args.max_length}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"{'candidate':<30} {'examples/s':>10} {'s/epoch':>8} {'test F1':>8}  where")
    for name, r in runs.items():
        where = r.get("device", "")
        if "max_length" in r:
            where += f", batch {r['batch']}, max length {r['max_length']}"
            where += f", model load {r['load_s']:.1f} s"
        if r.get("gpu_peak_mib"):
            where += f", GPU memory peak {r['gpu_peak_mib']:.0f} MiB"
        print(
            f"{name:<30} {r['examples_per_s']:>10.1f} {r['epoch_s']:>8.2f} "
            f"{r['test_f1']:>8.3f}  {where}"
        )
    tuned = next(r for n, r in runs.items() if n.startswith("builtin:"))
    ratio = tuned["epoch_s"] / runs["char-svm"]["epoch_s"]
    print(f"one MiniLM epoch takes {ratio:.0f}x char-svm's whole fit on the same rows")


if __name__ == "__main__":
    main()
