"""Reports and history are made to be shared: no host name, no absolute home paths.

The end-to-end tests run the CLI with HOME pointed at a temporary folder that holds the
plan, the data, the output folders and the history, so every path the run writes is a
path under the home folder.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest
from bench_helpers import PLANS, cli_env, tui_bench_cmd

from tui_bench.core import hostinfo
from tui_bench.core.report import RunData, to_json, write_reports
from tui_bench.core.store import Store

LABEL = "lab-box-3"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home" / "ann"
    folder.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv(hostinfo.HOST_LABEL_ENV, raising=False)
    return folder


# -- the writers ----------------------------------------------------------------------------


def test_host_records_the_label_never_the_name(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hostinfo.sys, "executable", f"{home}/.venv/bin/python")
    h = hostinfo.host()
    assert "hostname" not in h and h["label"] is None
    assert h["python_executable"] == "~/.venv/bin/python"
    assert h["cores_logical"] and h["cpu"]
    monkeypatch.setenv(hostinfo.HOST_LABEL_ENV, "  bench   rig  ")
    assert hostinfo.host()["label"] == "bench rig"


def test_model_info_path_is_home_relative_in_reports_and_store(home: Path, tmp_path: Path) -> None:
    info = {"path": f"{home}/models/m.gguf", "desc": "llama 135M"}
    run = {"id": 1, "plan": "p", "plan_path": f"{home}/plans/p.toml", "status": "completed"}
    run["host"] = {"hostname": "ann-laptop", "label": LABEL, "cpu": "CPU X"}
    models = [{"id": "m", "backend": "llama_cpp", "source": f"{home}/models/m.gguf", "info": info}]
    data = RunData(run=run, plan={"name": "p"}, models=models, records=[])
    js = to_json(data)
    assert js["models"][0]["info"]["path"] == "~/models/m.gguf"
    assert js["models"][0]["source"] == "~/models/m.gguf"
    assert js["run"]["plan_path"] == "~/plans/p.toml"
    assert js["run"]["host"] == {"label": LABEL, "cpu": "CPU X"}
    write_reports(data, tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    assert f"- **Host**: {LABEL} — CPU X" in md and "ann-laptop" not in md
    assert "source `~/models/m.gguf`" in md

    store = Store(tmp_path / "h.sqlite3")
    rid = store.create_run(
        plan="p", plan_path=run["plan_path"], plan_raw={"name": "p"}, started_at="t",
        host=run["host"], threshold=None, n_planned=0,
    )  # fmt: skip
    store.add_model(rid, "m", 10.0, f"cannot read {home}/models/m.gguf", info)
    store.set_output_dir(rid, str(home / "runs" / "r1"))
    row = store.conn.execute("SELECT plan_path, host_json, output_dir FROM runs").fetchone()
    assert row["plan_path"] == "~/plans/p.toml" and row["output_dir"] == "~/runs/r1"
    assert json.loads(row["host_json"]) == {"label": LABEL, "cpu": "CPU X"}
    m = store.conn.execute("SELECT error, info_json FROM models").fetchone()
    assert m["error"] == "cannot read ~/models/m.gguf"
    assert json.loads(m["info_json"])["path"] == "~/models/m.gguf"
    # read back as a path this user can open
    back = store.get_run(rid)
    assert back.output_dir == str(home / "runs" / "r1")
    assert back.plan_path == str(home / "plans" / "p.toml")
    store.close()


# -- end to end ------------------------------------------------------------------------------


def _leaks(text: str, home: Path) -> list[str]:
    """The host name (as a whole word) and the absolute home path where they occur in text."""
    found = []
    name = socket.gethostname()
    if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", text):
        found.append(f"hostname {name!r}")
    for h in {str(home), str(home.resolve())}:
        if h in text:
            found.append(f"home path {h}")
    return found


def _db_text(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        cells = [str(v) for t in tables for row in conn.execute(f"SELECT * FROM {t}") for v in row]
    finally:
        conn.close()
    return "\n".join(cells)


def _cli(home: Path, bench: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(bench)
    env["HOME"] = str(home)
    env.pop(hostinfo.HOST_LABEL_ENV, None)
    return subprocess.run(
        tui_bench_cmd(*args), capture_output=True, text=True, env=env, timeout=300, cwd=home
    )


def _classify_csv(path: Path) -> Path:
    rng = random.Random(0)
    lines = ["text,label"]
    for i in range(80):
        label = ("billing", "shipping")[i % 2]
        words = [f"{label}cue{rng.randrange(3)}" for _ in range(3)]
        words += [f"w{rng.randrange(40)}" for _ in range(6)]
        rng.shuffle(words)
        lines.append(f"{' '.join(words)},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_mock_and_classifier_runs_reveal_no_host_name_nor_home(home: Path) -> None:
    bench = home / ".local" / "share" / "tui-bench"
    plan = home / "plans" / "mock.toml"
    plan.parent.mkdir()
    shutil.copy(PLANS / "mock.toml", plan)
    (home / "data").mkdir()
    data = _classify_csv(home / "data" / "tickets.csv")

    llm_out = home / "reports" / "mock"
    proc = _cli(
        home, bench, "run", str(plan), "--headless", "--no-telemetry", "--repeats", "1",
        "--output", str(llm_out), "--host-label", LABEL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    cls_out = home / "reports" / "tickets"
    proc = _cli(
        home, bench, "classify", str(data), "--label-column", "label", "--models",
        "complement-nb,tfidf-logreg", "--choose", "top", "--headless", "--output", str(cls_out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr

    files = [d / n for d in (llm_out, cls_out) for n in ("data.json", "report.md", "results.csv")]
    for f in files:
        assert _leaks(f.read_text(encoding="utf-8"), home) == [], f
    db = bench / "history.sqlite3"
    assert _leaks(_db_text(db), home) == []
    assert _leaks((bench / "benchmark_history.jsonl").read_text(), home) == []

    # what is kept instead: the label, and the paths written from the home folder
    js = json.loads((llm_out / "data.json").read_text())
    assert js["run"]["host"]["label"] == LABEL and "hostname" not in js["run"]["host"]
    assert js["run"]["plan_path"] == "~/plans/mock.toml"
    assert js["run"]["host"]["cpu"] and js["run"]["host"]["cores_logical"]
    assert js["run"]["versions"]["tui_bench"]
    assert f"- **Host**: {LABEL} — " in (llm_out / "report.md").read_text()
    cls = json.loads((cls_out / "data.json").read_text())
    assert cls["config"]["data"] == "~/data/tickets.csv"
    assert cls["output_dir"] == "~/reports/tickets"
    assert "- data: `~/data/tickets.csv`" in (cls_out / "report.md").read_text()
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT kind, plan_path, output_dir, host_json FROM runs ORDER BY id")
    (k1, p1, o1, h1), (k2, p2, o2, h2) = rows.fetchall()
    conn.close()
    assert (k1, p1, o1) == ("llm", "~/plans/mock.toml", "~/reports/mock")
    assert (k2, p2, o2) == ("classify", "~/data/tickets.csv", "~/reports/tickets")
    assert json.loads(h1)["label"] == LABEL and json.loads(h2)["label"] is None

    # tui-bench report rebuilds both from history, just as shareable
    for rid, rebuilt in ((1, home / "rebuilt-llm"), (2, home / "rebuilt-cls")):
        proc = _cli(home, bench, "report", str(rid), "--output", str(rebuilt))
        assert proc.returncode == 0, proc.stderr
        for n in ("data.json", "report.md", "results.csv"):
            assert _leaks((rebuilt / n).read_text(encoding="utf-8"), home) == [], n
    assert (home / "rebuilt-llm" / "results.csv").read_text() == (
        llm_out / "results.csv"
    ).read_text()
    assert f"- **Host**: {LABEL} — " in (home / "rebuilt-llm" / "report.md").read_text()
    assert json.loads((home / "rebuilt-cls" / "data.json").read_text()) == cls


def test_classify_host_label_is_stored(home: Path) -> None:
    bench = home / "bench"
    (home / "d").mkdir()
    data = _classify_csv(home / "d" / "t.csv")
    proc = _cli(
        home, bench, "classify", str(data), "--label-column", "label", "--models",
        "complement-nb,tfidf-logreg", "--headless", "--output", str(home / "o"), "--host-label", LABEL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(bench / "history.sqlite3")
    (host_json,) = conn.execute("SELECT host_json FROM runs").fetchone()
    conn.close()
    assert json.loads(host_json)["label"] == LABEL


def test_compare_tells_hosts_by_label_else_by_cpu() -> None:
    from types import SimpleNamespace

    from tui_bench.core.compare import caveats

    def row(**host: object) -> SimpleNamespace:
        return SimpleNamespace(plan="p", plan_raw={}, host=host)

    assert caveats(row(label="a", cpu="X"), row(label="b", cpu="X")) == ["different hosts (a vs b)"]
    assert caveats(row(label=None, cpu="X"), row(label=None, cpu="Y")) == [
        "different CPUs (X vs Y)"
    ]
    # an entry of an older version still holds its host name
    assert caveats(row(hostname="old", cpu="X"), row(label="new", cpu="X")) == [
        "different hosts (old vs new)"
    ]
    assert caveats(row(label=None, cpu="X"), row(label=None, cpu="X")) == []
