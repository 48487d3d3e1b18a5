"""The classifier report's SVG charts, parsed with xml.etree and checked against the
ranking and the confusion matrices they are drawn from (a result built by hand, with the
intervals given, so every verdict is known beforehand)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tui_bench.core.classify import charts
from tui_bench.core.classify import imbalance as imb
from tui_bench.core.classify import rank as rk
from tui_bench.core.classify.report import render_markdown, write_reports
from tui_bench.core.classify.result import ClassifyResult
from tui_bench.core.classify.runner import ClassifyConfig
from tui_bench.core.classify.train import CandidateResult

SVG = "{http://www.w3.org/2000/svg}"
TOPIC = ["a", "b", "c"]
CONF_A = [[8, 1, 1], [2, 5, 0], [0, 1, 3]]
CONF_B = [[9, 1, 0], [3, 4, 0], [1, 1, 2]]


def _res(
    name: str,
    category: str,
    classes: list[str],
    f1: float | None,
    confusion: list[list[int]] | None = None,
    error: str | None = None,
) -> CandidateResult:
    return CandidateResult(
        candidate=name,
        category=category,
        language=None,
        baseline=name in ("majority", "stratified"),
        n_classes=len(classes),
        classes=classes,
        n_train=84,
        n_test=21,
        folds=1,
        f1_macro=f1,
        accuracy=None if f1 is None else f1,
        train_time_s=None if f1 is None else 1.0,
        confusion=confusion or [],
        error=error,
    )


def build(choice: dict[str, object] | None = None) -> ClassifyResult:
    """sentiment: A and B better than chance (B tied with A), C not; topic: A better,
    B not, D failed. The baselines: stratified in both cells."""
    two = ["neg", "pos"]
    results = [
        _res("A", "sentiment", two, 0.9, [[9, 1], [1, 10]]),
        _res("B", "sentiment", two, 0.85, [[8, 2], [1, 10]]),
        _res("C", "sentiment", two, 0.55, [[5, 5], [4, 7]]),
        _res("majority", "sentiment", two, 0.333333),
        _res("stratified", "sentiment", two, 0.5),
        _res("A", "topic", TOPIC, 0.7, CONF_A),
        _res("B", "topic", TOPIC, 0.6, CONF_B),
        _res("D", "topic", TOPIC, None, error="boom"),
        _res("majority", "topic", TOPIC, 0.25),
        _res("stratified", "topic", TOPIC, 0.333333),
    ]
    tests = {
        ("sentiment", None): rk.CellTest(
            "bootstrap",
            "stratified",
            "A",
            vs_baseline={"A": (0.3, 0.5), "B": (0.2, 0.45), "C": (-0.05, 0.15)},
            vs_top={"B": (-0.12, 0.02), "C": (-0.5, -0.2)},
        ),
        ("topic", None): rk.CellTest(
            "bootstrap",
            "stratified",
            "A",
            vs_baseline={"A": (0.2, 0.5), "B": (-0.02, 0.5)},
            vs_top={"B": (-0.25, -0.01)},
        ),
    }
    rows = rk.rank_cells(results, tests)
    analysis = [
        imb.analyse_counts({"neg": 50, "pos": 55}, category="sentiment"),
        imb.analyse_counts({"a": 50, "b": 35, "c": 20}, category="topic"),
    ]
    cfg = ClassifyConfig(data="d.csv", annotation_column="annotation", models=["A", "B"])
    return ClassifyResult(
        status="completed",
        config=cfg.to_dict(),
        dataset={"path": "d.csv", "format": "csv", "n_rows": 105, "text_column": "text"},
        thresholds=imb.thresholds(),
        imbalance=analysis,
        cell_imbalance=[],
        excluded=[],
        suggested=imb.suggest(analysis),
        categories=["sentiment", "topic"],
        languages=[None],
        models={"*": ["A", "B", "C", "D"]},
        results=results,
        rows=rows,
        aggregates=rk.aggregate(rows),
        language_balance=[],
        choice=choice or {"mode": "none", "reason": "stopped after the benchmark"},
        final=[],
        started_at="2025-03-01T10:00:00+00:00",
        duration_s=1.0,
        significance={"method": "bootstrap", "resamples": 1000, "seed": 0},
    )


def parse(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return root


def groups(root: ET.Element, cls: str, category: str) -> list[ET.Element]:
    return [g for g in root.iter() if g.get("class") == cls and g.get("data-category") == category]


def _dot(g: ET.Element) -> ET.Element:
    return next(e for e in g.iter(f"{SVG}circle") if e.get("class") == "f1")


def _circle_x(g: ET.Element) -> float:
    return float(_dot(g).get("cx", ""))


def _interval_x(g: ET.Element) -> tuple[float, float]:
    line = next(e for e in g.iter(f"{SVG}line") if e.get("class") == "interval")
    return float(line.get("x1", "")), float(line.get("x2", ""))


def test_ranking_chart_marks_match_the_ranking(tmp_path: Path) -> None:
    result = build()
    paths = write_reports(result, tmp_path)
    root = parse(paths[charts.RANKING])
    sentiment = groups(root, "candidate", "sentiment")
    assert [g.get("data-model") for g in sentiment] == ["A", "B", "C"]  # rank order
    assert [g.get("data-medal") for g in sentiment] == ["🥇", "🥈", ""]
    assert [g.get("data-verdict") for g in sentiment] == [
        rk.BETTER,
        rk.BETTER,
        rk.NOT_BETTER,
    ]
    assert [g.get("data-tied-with") for g in sentiment] == ["", "A", ""]
    verdicts = [
        next(t for t in g.iter(f"{SVG}text") if t.get("class") == "verdict").text for g in sentiment
    ]
    assert verdicts == [
        "better than chance",
        "better than chance; tied with A",
        "not better than chance",
    ]
    # the whisker is the interval vs the baseline placed on the baseline's macro-F1 (0.5)
    b = sentiment[1]
    assert float(b.get("data-f1", "")) == 0.85
    assert float(b.get("data-ci-low", "")) == 0.2 and float(b.get("data-ci-high", "")) == 0.45
    assert float(b.get("data-low", "")) == pytest.approx(0.7)
    assert float(b.get("data-high", "")) == pytest.approx(0.95)
    (base,) = groups(root, "baseline", "sentiment")
    assert base.get("data-model") == "stratified" and float(base.get("data-f1", "")) == 0.5
    xb = float(base.get("x1", ""))
    # on the axis: 0 at x0, 1 at x1; 0.5 halfway, 0.7 and 0.95 where they belong
    x0, x1 = charts.X0, charts.X1
    assert xb == pytest.approx(x0 + 0.5 * (x1 - x0), abs=0.05)
    lo, hi = _interval_x(b)
    assert lo == pytest.approx(x0 + 0.7 * (x1 - x0), abs=0.05)
    assert hi == pytest.approx(x0 + 0.95 * (x1 - x0), abs=0.05)
    # better than chance: the whole whisker right of the baseline line; C's crosses it
    for g in sentiment[:2]:
        assert xb < min(_interval_x(g)) < _circle_x(g) < max(_interval_x(g))
    c_lo, c_hi = _interval_x(sentiment[2])
    assert c_lo < xb < c_hi
    assert _circle_x(sentiment[0]) > _circle_x(sentiment[1]) > _circle_x(sentiment[2])
    # hollow where not better than chance, filled where better
    fills = [_dot(g).get("fill") for g in sentiment]
    assert fills[2] == "white" and fills[0] == fills[1] != "white"
    # a medal is drawn as a disc (gold, silver) behind the rank, none for the third
    medals = [
        [c.get("fill") for c in g.iter(f"{SVG}circle") if c.get("class") == "medal"]
        for g in sentiment
    ]
    assert medals == [[charts.MEDAL_COLOURS["🥇"]], [charts.MEDAL_COLOURS["🥈"]], []]
    assert set(charts.MEDAL_COLOURS) == set(rk.MEDALS)
    # topic: two ranked, one failed (no dot), the baseline line at 1/3
    topic = groups(root, "candidate", "topic")
    assert [(g.get("data-model"), g.get("data-medal")) for g in topic] == [("A", "🥇"), ("B", "")]
    assert [g.get("data-model") for g in groups(root, "failed", "topic")] == ["D"]
    (tbase,) = groups(root, "baseline", "topic")
    assert float(tbase.get("data-f1", "")) == 0.333333
    assert sum(1 for g in root.iter(f"{SVG}g") if g.get("class") == "candidate") == 5


def test_confusion_chart_cells_and_labels(tmp_path: Path) -> None:
    result = build()  # nothing chosen: the top candidate of each cell
    paths = write_reports(result, tmp_path)
    root = parse(paths[charts.CONFUSION])
    panels = {g.get("data-category"): g for g in root.iter(f"{SVG}g") if g.get("class") == "matrix"}
    assert {k: (g.get("data-model"), g.get("data-why")) for k, g in panels.items()} == {
        "sentiment": ("A", "top of the ranking"),
        "topic": ("A", "top of the ranking"),
    }
    topic = panels["topic"]
    cells = [g for g in topic.iter(f"{SVG}g") if g.get("class") == "cell"]
    assert len(cells) == 9
    counts = {
        (g.get("data-true"), g.get("data-predicted")): int(g.get("data-count", "")) for g in cells
    }
    assert counts == {
        (t, p): CONF_A[i][j] for i, t in enumerate(TOPIC) for j, p in enumerate(TOPIC)
    }
    shown = [next(g.iter(f"{SVG}text")).text for g in cells]
    assert shown == [str(n) for row in CONF_A for n in row]
    labels = {
        cls: [t.text for t in topic.iter(f"{SVG}text") if t.get("class") == cls]
        for cls in ("true-label", "predicted-label")
    }
    assert labels == {"true-label": TOPIC, "predicted-label": TOPIC}
    # rows top to bottom in class order, columns left to right
    rect = {(g.get("data-true"), g.get("data-predicted")): g.find(f"{SVG}rect") for g in cells}
    assert float(rect[("b", "a")].get("y", "")) > float(rect[("a", "a")].get("y", ""))  # type: ignore[union-attr]
    assert float(rect[("a", "c")].get("x", "")) > float(rect[("a", "b")].get("x", ""))  # type: ignore[union-attr]
    # shaded by the share of the true class's rows, white (0) to #4e79a7 (1):
    # a→a 8/10: 255 + (78 - 255) · 0.8 = 113.4 → 0x71, 121 → 147.8 → 0x94, 167 → 184.6 → 0xb9
    # b→b 5/7: 128.6 → 0x81, 159.3 → 0x9f, 192.1 → 0xc0; c→a 0/4: white
    fills = {k: r.get("fill") for k, r in rect.items() if r is not None}
    assert fills[("a", "a")] == "#7194b9" and fills[("b", "b")] == "#819fc0"
    assert fills[("c", "a")] == "#ffffff"
    # the chosen model is drawn where it has a matrix
    chosen = build({"mode": "top", "model": "B", "reason": "test"})
    write_reports(chosen, tmp_path / "chosen")
    root = parse(tmp_path / "chosen" / charts.CONFUSION)
    panel = next(
        g
        for g in root.iter(f"{SVG}g")
        if g.get("data-category") == "topic" and g.get("class") == "matrix"
    )
    assert (panel.get("data-model"), panel.get("data-why")) == ("B", "chosen")
    cells = [g for g in panel.iter(f"{SVG}g") if g.get("class") == "cell"]
    assert [int(g.get("data-count", "")) for g in cells] == [n for row in CONF_B for n in row]


def test_report_links_the_charts_and_a_rebuild_draws_the_same_bytes(tmp_path: Path) -> None:
    result = build()
    paths = write_reports(result, tmp_path / "run")
    md = paths["md"].read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", md)
    assert links == [charts.RANKING, charts.CONFUSION]
    assert all((tmp_path / "run" / name).is_file() for name in links)
    assert "## Charts" in md and "No confusion matrix" not in md
    # rebuilt from the stored form (data.json, the history): the same bytes
    stored = json.loads(paths["json"].read_text(encoding="utf-8"))
    rebuilt = write_reports(ClassifyResult.from_dict(stored), tmp_path / "rebuilt")
    for name in ("report.md", *links):
        assert (tmp_path / "rebuilt" / name).read_bytes() == (tmp_path / "run" / name).read_bytes()
    assert set(rebuilt) == {"md", "json", "csv", *links}


def test_a_result_stored_without_matrices_says_so(tmp_path: Path) -> None:
    stored = build().to_dict()
    for row in stored["results"]:
        row.pop("confusion", None)
    (tmp_path / charts.CONFUSION).write_text("stale", encoding="utf-8")
    back = ClassifyResult.from_dict(stored)
    paths = write_reports(back, tmp_path)
    assert charts.CONFUSION not in paths and not (tmp_path / charts.CONFUSION).exists()
    md = render_markdown(back)
    assert re.findall(r"!\[[^\]]+\]\(([^)]+)\)", md) == [charts.RANKING]
    assert "No confusion matrix stored for sentiment, topic: no heatmap drawn." in md
    # one cell without: drawn for the other, and said
    stored["results"][0]["confusion"] = [[9, 1], [1, 10]]  # sentiment's top, A
    md = render_markdown(ClassifyResult.from_dict(stored))
    assert "No confusion matrix stored for topic: left out of the heatmap." in md


def test_nothing_ranked_draws_nothing(tmp_path: Path) -> None:
    result = build()
    result.rows = [r for r in result.rows if r.baseline]
    assert charts.names(result) == [] and charts.markdown(result) == []
    assert set(write_reports(result, tmp_path)) == {"md", "json", "csv"}


def test_long_names_are_cut_in_the_middle() -> None:
    from tui_bench.core.svg import clip

    # 10 characters, the cut, the last 11: names that differ only at the end stay apart
    assert clip("class-with-a-long-name-12", 22) == "class-with…ong-name-12"
    assert clip("short", 22) == "short"
