"""The verdicts and what was measured, in the written reports: places per metric, the
quality/speed front, the prompts appendix and the chart links of report.md and data.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

from report_helpers import failed, from_rates, front_run, rec, run_data, scored_run, seeded_rates

from tui_bench.core import charts
from tui_bench.core.report import write_reports
from tui_bench.core.report_appendix import prompts


def test_data_json_and_report_md_carry_the_places(tmp_path: Path) -> None:
    recs = from_rates(seeded_rates())
    write_reports(run_data(recs, ["a", "b", "c"]), tmp_path)
    data = json.loads((tmp_path / "data.json").read_text())
    decode = data["medals"]["decode_tps"]
    assert [(p["model"], p["place"], p["medal"], p["tied_with"]) for p in decode] == [
        ("c", 1, "gold", []),
        ("a", 2, "silver", ["b"]),
        ("b", 2, "silver", ["a"]),
    ]
    assert decode[1]["against"] == "c" and decode[1]["ci95"][1] < 0
    assert set(data["medals"]) == {
        "decode_tps", "ttft_ms", "e2e_ms", "tpot_ms", "prefill_tps", "peak_rss_kb",
    }  # fmt: skip
    (winner,) = [w for w in data["task_winners"] if w["metric"] == "decode_tps"]
    assert winner["text"].startswith("c (") and "(tied)" in winner["text"]
    md = (tmp_path / "report.md").read_text()
    assert "## Places per metric (medals only where the difference beats chance)" in md
    row_c = next(line for line in md.splitlines() if line.startswith("| decode (tok/s) | 🥇 | c |"))
    assert row_c.endswith("| 12 | – |")
    row_b = next(line for line in md.splitlines() if "| 🥈 tied | b |" in line)
    a_b = decode[2]
    lo, hi = (100 * x for x in a_b["ci95"])
    assert f"vs a (95% CI {lo:+.1f}% to {hi:+.1f}%" in row_b
    assert "- **analysis**: c (" in md and "(tied)" in md


def test_data_json_and_report_md_carry_the_front(tmp_path: Path) -> None:
    data = front_run()
    write_reports(data, tmp_path)
    js = json.loads((tmp_path / "data.json").read_text())
    first = js["recommendations"][0]
    assert first["task"] == "analysis" and first["quality"] == "composite"
    assert [p["model"] for p in first["front"]] == ["big", "small"]
    assert first["front"][0]["quality"] == 0.81 and first["front"][1]["decode_tps"] == 100.0
    expected = (
        "- analysis: big, quality 0.81 at 50.0 tok/s; small is 2.0x faster at quality 0.40; "
        "dominated: worse (quality 0.20 at 90.0 tok/s)"
    )
    md = (tmp_path / "report.md").read_text()
    assert expected in md.splitlines()
    assert "- code: speed only (quality not scored): small 100.0 > big 50.0 tok/s" in md


def test_report_md_links_exactly_the_charts_written(tmp_path: Path) -> None:
    written = {p.name for p in write_reports(scored_run(), tmp_path) if p.suffix == ".svg"}
    md = (tmp_path / "report.md").read_text()
    linked = set(re.findall(r"!\[[^\]]+\]\(([^)]+)\)", md))
    assert linked == written == {charts.DECODE, charts.TTFT, charts.QUALITY, charts.FRONT}
    # without any quality score: the speed charts only
    plain = run_data([rec(i, "m", rate=100 + i) for i in range(3)], ["m"])
    other = tmp_path / "plain"
    assert sorted(p.name for p in write_reports(plain, other) if p.suffix == ".svg") == [
        charts.DECODE,
        charts.TTFT,
    ]
    assert charts.QUALITY not in (other / "report.md").read_text()


def test_data_json_and_report_md_carry_the_prompts(tmp_path: Path) -> None:
    plan = {"prompts": [{"id": "p", "task": "analysis", "text": "Explain it.", "expect": None}]}
    recs = [failed(0, "m"), rec(1, "m", rate=100, text="It is so."), rec(2, "m", rate=100)]
    data = run_data(recs, ["m"], plan)
    write_reports(data, tmp_path)
    js = json.loads((tmp_path / "data.json").read_text())
    assert js["prompts"] == prompts(plan, ["m"], data.records)
    assert js["prompts"][0]["samples"][0]["text"] == "It is so."
    md = (tmp_path / "report.md").read_text()
    # the appendix comes last, after the reading guide
    assert md.index("## How to read these numbers") < md.index("## Appendix: prompts and sample")
    assert md.endswith("```text\nIt is so.\n```\n\n")
