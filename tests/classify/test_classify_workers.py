"""Worker processes start inside the app too, where stderr is Textual's capture and has no
file descriptor (its fileno() is -1): every candidate trained by a worker (``--jobs N``, a
transformer) failed there with "bad value(s) in fds_to_keep" before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from typing import Any

from classify_helpers import labelled_rows

from tui_bench.core.classify import candidates as cand
from tui_bench.core.classify.events import CandidateFinished
from tui_bench.core.classify.parallel import train_all
from tui_bench.core.classify.splits import make_folds
from tui_bench.core.classify.train import TrainJob

CODE = """
import io, json, sys
sys.path.insert(0, {helpers!r})
from classify_helpers import labelled_rows

class Capture(io.StringIO):  # what the app's stderr looks like to a worker's start
    def fileno(self):
        return -1

real, sys.stderr = sys.stderr, Capture()
from tui_bench.core.classify.parallel import train_all
from tui_bench.core.classify.splits import make_folds
from tui_bench.core.classify.train import TrainJob

rows = labelled_rows({{"a": 30, "b": 30}})
texts, labels = [r["text"] for r in rows], [r["label"] for r in rows]
folds = make_folds(labels, test_size=0.2, cv=None, seed=0)
jobs = [
    TrainJob(i, 2, name, "label", None, texts, labels, folds, epochs=1, seed=0)
    for i, name in enumerate(["char-svm", "complement-nb"])
]
results = train_all(jobs, n_jobs=2)
print(json.dumps([[r.candidate, r.error, r.f1_macro] for r in results]), file=real)
"""


def test_workers_start_when_stderr_has_no_file_descriptor() -> None:
    helpers = str(__import__("pathlib").Path(__file__).resolve().parent)
    out = subprocess.run(
        [sys.executable, "-c", CODE.format(helpers=helpers)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stderr.strip().splitlines()[-1])
    assert [(name, error) for name, error, _f1 in results] == [
        ("char-svm", None),
        ("complement-nb", None),
    ]
    assert all(f1 > 0.9 for _n, _e, f1 in results)  # the cue words separate the classes


def _die(seed: int, weights: dict[str, float]) -> Any:
    import os

    os._exit(3)  # a native crash or an out-of-memory kill, as the parent sees it


def test_a_transformer_whose_worker_dies_fails_alone_even_with_one_job() -> None:
    """A transformer trains in a worker process even with one job: its death (a native
    crash, an out-of-memory kill) fails that candidate, and the next candidate, in this
    process or in a new worker, trains."""
    rows = labelled_rows({"a": 30, "b": 30})
    texts, labels = [r["text"] for r in rows], [r["label"] for r in rows]
    folds = make_folds(labels, test_size=0.2, cv=None, seed=0)
    names = ["dies", "char-svm", "also-isolated"]
    jobs = [
        TrainJob(i, 3, n, "label", None, texts, labels, folds, 1, 0) for i, n in enumerate(names)
    ]
    svm = cand.CATALOG["char-svm"]
    # scikit-learn learners marked as transformers' kind: run in the worker, no torch needed
    jobs[0].spec = replace(svm, name="dies", make_classifier=_die, kind=cand.FROZEN)
    jobs[2].spec = replace(svm, name="also-isolated", kind=cand.FROZEN)
    events: list[Any] = []
    parent = os.getpid()
    dead, alive, isolated = train_all(jobs, n_jobs=1, publish=events.append)
    assert dead.error is not None and dead.error.startswith("worker failed: ")
    assert "\n" not in dead.error
    assert alive.ok and isolated.ok and alive.f1_macro == isolated.f1_macro
    finished = [e.result.candidate for e in events if isinstance(e, CandidateFinished)]
    assert finished == names
    assert os.getpid() == parent  # the run's process lived on
