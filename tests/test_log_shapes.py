"""The headless log lines share core/fmt's shapes: the missing-value mark, numbers with
thousands separators, percentages, scores and classifier cell names."""

from __future__ import annotations

import io
from types import SimpleNamespace

from tui_bench.core.classify import events as ce
from tui_bench.core.events import RequestFinished, RunFinished
from tui_bench.headless import LogSink
from tui_bench.headless.log import ClassifyLogSink


def _record(**kw: object) -> SimpleNamespace:
    base = dict(
        ok=True, warmup=False, repeat=0, model="m", prompt="p", n_out=16,
        finish_reason="length", flags=[], decode_tps=None, ttft_ms=None, e2e_ms=None,
        level=None,  # not a load test's request
    )  # fmt: skip
    return SimpleNamespace(**{**base, **kw})


def test_run_log_lines_use_the_shared_shapes() -> None:
    out = io.StringIO()
    log = LogSink(out)
    log.total = 2
    log.handle(RequestFinished(record=_record(ttft_ms=1234.56, decode_tps=98.76, e2e_ms=2345.0)))
    log.handle(RequestFinished(record=_record()))  # nothing timed: the missing mark, aligned
    log.handle(
        RunFinished(
            run_id=3,
            status="completed",
            n_ok=2,
            n_failed=0,
            n_measured=2,
            success_rate=None,
            threshold=0.9,
            passed=False,
            duration_s=1234.5,
        )
    )
    assert out.getvalue().splitlines() == [
        "[1/2] m / p / rep 1: TTFT 1,234.6 ms     98.8 tok/s  16 tok  2.35 s  (length)",
        "[2/2] m / p / rep 1: TTFT       – ms        – tok/s  16 tok  –  (length)",
        "[run 3] completed in 1,234.5 s: 2/2 ok (success –, threshold 90%): FAIL",
    ]


def test_classify_log_lines_use_the_shared_shapes() -> None:
    out = io.StringIO()
    log = ClassifyLogSink(out)
    log.total = 1
    log.handle(
        ce.ImbalanceAnalysed(
            imbalance=[
                {
                    "category": "topic",
                    "n_classes": 1,
                    "n_samples": 9,
                    "imbalance_ratio": None,
                    "normalized_entropy": 0.0,
                    "profile": None,
                },
            ],
            excluded=[],
            suggested={"weights": None, "split": "stratified"},
            thresholds={},
        )
    )
    result = SimpleNamespace(
        category="topic", language="en", candidate="logreg", error=None,
        f1_macro=0.81234, accuracy=0.9, balanced_accuracy=0.8, train_time_s=1.234,
    )  # fmt: skip
    log.handle(ce.CandidateFinished(result=result))
    assert out.getvalue().splitlines() == [
        "[imbalance] topic: 1 classes, 9 rows, ratio –, entropy 0.000: excluded",
        "[imbalance] suggested: weights=–, split=stratified",
        "[1/1] logreg on topic / en: macro-F1 0.812  accuracy 0.900  balanced 0.800  train 1.23 s",
    ]
