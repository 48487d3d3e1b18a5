"""SVG charts beside report.md: parsed with xml.etree, their marks checked against the run."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from report_helpers import failed, rec, run_data, scored_run

from tui_bench.core import charts
from tui_bench.core.medals import values
from tui_bench.core.report import RunData

SVG = "{http://www.w3.org/2000/svg}"


def write(data: RunData, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return [p.name for p in charts.write(data.summary, data.records, folder)]


def parse(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return root


def marks(root: ET.Element, cls: str) -> dict[str, ET.Element]:
    found = [g for g in root.iter(f"{SVG}g") if g.get("class") == cls]
    return {(g.get("data-task", "") + "/" + g.get("data-model", "")).lstrip("/"): g for g in found}


def test_decode_and_ttft_charts_carry_p50_and_p99(tmp_path: Path) -> None:
    data = scored_run()
    write(data, tmp_path)
    s = data.summary
    decode = marks(parse(tmp_path / charts.DECODE), "model")
    ttft = marks(parse(tmp_path / charts.TTFT), "model")
    assert list(decode) == list(ttft) == ["big", "small", "worse"]
    for g in s.per_model:
        m = g.key["model"]
        d = decode[m]
        assert float(d.get("data-p50", "")) == pytest.approx(
            g.metrics["decode_tps"].median, abs=1e-4
        )
        slow = float(np.percentile(values(data.records, "decode_tps", m), 1))
        assert float(d.get("data-p99", "")) == pytest.approx(slow, abs=1e-4)
        t = ttft[m]
        assert float(t.get("data-p50", "")) == pytest.approx(g.metrics["ttft_ms"].median, abs=1e-4)
        assert float(t.get("data-p99", "")) == pytest.approx(g.metrics["ttft_ms"].p99, abs=1e-4)
        title = t.find(f"{SVG}title")
        assert title is not None and title.text == (
            f"{m}: median {g.metrics['ttft_ms'].median:,.1f} ms, p99 {g.metrics['ttft_ms'].p99:,.1f} ms"
        )
    # the dots stand where their medians are: small decodes fastest, right of the others
    cx = {m: float(g.find(f"{SVG}circle").get("cx")) for m, g in decode.items()}  # type: ignore[union-attr]
    assert cx["small"] > cx["worse"] > cx["big"]


def test_quality_and_front_charts(tmp_path: Path) -> None:
    data = scored_run()
    write(data, tmp_path)
    bars = marks(parse(tmp_path / charts.QUALITY), "bar")
    assert {k: float(v.get("data-quality", "")) for k, v in bars.items()} == {
        "analysis/big": 0.8,
        "analysis/small": 0.4,
        "analysis/worse": 0.2,
        "code/small": 0.6,
    }
    assert bars["analysis/big"].get("data-n") == "6"
    widths = {k: float(v.find(f"{SVG}rect").get("width")) for k, v in bars.items()}  # type: ignore[union-attr]
    assert widths["analysis/big"] == pytest.approx(2 * widths["analysis/small"], abs=0.1)
    points = marks(parse(tmp_path / charts.FRONT), "point")
    assert {k: v.get("data-front") for k, v in points.items()} == {
        "analysis/big": "true",
        "analysis/small": "true",
        "analysis/worse": "false",  # small is better and faster
        "code/small": "true",
    }
    small = points["analysis/small"]
    assert float(small.get("data-quality", "")) == 0.4
    median = data.summary.per_task_model[1].metrics["decode_tps"].median
    assert float(small.get("data-speed", "")) == pytest.approx(median, abs=1e-4)


def test_what_is_drawn_follows_what_was_measured(tmp_path: Path) -> None:
    assert write(scored_run(), tmp_path / "scored") == [
        charts.DECODE, charts.TTFT, charts.QUALITY, charts.FRONT,
    ]  # fmt: skip
    plain = run_data([rec(i, "m", rate=100 + i) for i in range(3)], ["m"])
    assert write(plain, tmp_path / "plain") == [charts.DECODE, charts.TTFT]  # nothing scored
    md = "\n".join(charts.markdown(plain.summary))
    assert re.findall(r"!\[[^\]]+\]\(([^)]+)\)", md) == [charts.DECODE, charts.TTFT]
    failed_only = run_data([failed(0, "m")], ["m"])
    assert (
        write(failed_only, tmp_path / "none") == [] and charts.markdown(failed_only.summary) == []
    )


def test_names_are_escaped_and_the_same_run_gives_the_same_bytes(tmp_path: Path) -> None:
    recs = [rec(i, 'a<b>&"c"', rate=100 + i) for i in range(3)]
    write(run_data(recs, ['a<b>&"c"']), tmp_path / "one")
    write(run_data(recs, ['a<b>&"c"']), tmp_path / "two")
    (model,) = marks(parse(tmp_path / "one" / charts.DECODE), "model")
    assert model == 'a<b>&"c"'
    for name in (charts.DECODE, charts.TTFT):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
