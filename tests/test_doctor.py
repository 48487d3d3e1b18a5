"""``tui-bench doctor``: the facts it reports on this machine, its exit codes, the history
database left untouched, and the repacking self-test (its crash path through the test-only
fault switch)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from bench_helpers import cli_env, tui_bench_cmd

from tui_bench import __version__
from tui_bench.core import doctor
from tui_bench.core import models as registry
from tui_bench.core.doctor import SelfTest, parse_system_info, recommend, summary_line, system
from tui_bench.core.telemetry import GpuProbe


def _doctor(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    run_env = cli_env(home) | (env or {})
    proc = subprocess.run(
        tui_bench_cmd("doctor", "--json", *args),
        capture_output=True,
        text=True,
        env=run_env,
        timeout=300,
    )
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _cpu_flags() -> set[str]:
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def _gpu_now() -> dict[str, Any]:
    probe = GpuProbe()
    try:
        return probe.describe()
    finally:
        probe.close()


# --------------------------------------------------------------------------- pure functions


def test_system_info_is_parsed_by_backend() -> None:
    text = (
        "CUDA : ARCHS = 890 | USE_GRAPHS = 1 | PEER_MAX_BATCH_SIZE = 128 | "
        "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 0 | AMX_INT8 = 1 | OPENMP = 1 | REPACK = 1 | "
    )
    backends, sections = parse_system_info(text)
    assert backends == ["CUDA", "CPU"]
    assert sections["CUDA"] == {"ARCHS": "890", "USE_GRAPHS": "1", "PEER_MAX_BATCH_SIZE": "128"}
    assert sections["CPU"]["AVX512"] == "0" and sections["CPU"]["AMX_INT8"] == "1"
    facts = doctor.LlamaFacts(installed=True, importable=True)
    system.apply_system_info(facts, text)
    assert facts.cpu_features == ["SSE3", "AVX2", "AMX_INT8"]  # build keys and 0s left out
    assert (facts.openmp, facts.repack) == (True, True)
    # builds older than the backend sections: everything is the CPU's
    backends, sections = parse_system_info("AVX = 1 | AVX2 = 0 | ")
    assert backends == ["CPU"] and sections == {"CPU": {"AVX": "1", "AVX2": "0"}}


def _test(
    repack: bool, tps: float | None, sig: str | None = None, gaps: list[float] | None = None
) -> SelfTest:
    """A self-test decoding at ``tps``: 15 gaps between its 16 tokens around 1000/tps ms
    (a spread of ±0.7%), or ``gaps`` as given."""
    if tps is not None:
        itl = gaps if gaps is not None else [1000 / tps * (1 + (i - 7) / 1000) for i in range(15)]
        return SelfTest(repack=repack, ok=True, n_out=16, decode_tps=tps, itl_ms=itl)
    return SelfTest(repack=repack, ok=False, crashed=sig is not None, signal=sig, stage="decode")


def test_recommendation_follows_the_two_self_tests() -> None:
    crash = recommend(_test(True, None, "SIGSEGV"), _test(False, 40.0))
    assert crash == (
        "repacking crashes on this host (the worker was killed by SIGSEGV): keep repack = "
        '"auto" (it falls back to repacking off) or set repack = false'
    )
    # gaps of 20 ms (on) against 25 ms (off), no overlap: -20% with its interval
    faster = recommend(_test(True, 50.0), _test(False, 40.0))
    assert faster.startswith(
        "both work: repacking on decodes faster than off (50 vs 40 tok/s; median gap between "
        "tokens -20.0%, 95% CI -20."
    )
    assert "over 15 + 15 gaps" in faster and faster.endswith('keep repack = "auto"')
    slower = recommend(_test(True, 30.0), _test(False, 40.0))
    assert "decodes slower than off (30 vs 40 tok/s; median gap between tokens +33.3%" in slower
    assert slower.endswith("consider repack = false on this host")
    assert recommend(_test(True, 30.0), _test(False, None, "SIGBUS")).startswith(
        "repacking off fails"
    )


def test_two_rates_the_gaps_cannot_tell_apart_keep_the_default() -> None:
    """The same 15 gaps in another order: 41 vs 40 tok/s is what the rates say, but the
    test sees no difference, so no "faster" and no advice to change the setting."""
    gaps = [
        24.0,
        26.0,
        25.0,
        23.0,
        27.0,
        25.5,
        24.5,
        22.0,
        28.0,
        25.0,
        24.0,
        26.0,
        23.5,
        26.5,
        25.0,
    ]
    tied = recommend(_test(True, 41.0, gaps=gaps[::-1]), _test(False, 40.0, gaps=gaps))
    assert tied.startswith("both work, too close to tell apart (41 vs 40 tok/s; median gap")
    assert "+0.0%" in tied and tied.endswith('keep repack = "auto"')
    # a report stored before the gaps were kept: the rates, no verdict
    old = recommend(_test(True, 50.0, gaps=[]), _test(False, 40.0, gaps=[]))
    assert (
        old
        == 'both work (50 vs 40 tok/s, one short decode each: not compared): keep repack = "auto"'
    )


# --------------------------------------------------------------------------- this machine


def test_doctor_reports_this_machine(bench_home: Path) -> None:
    code, d = _doctor(bench_home, "--no-selftest", "--no-stores")
    assert code == 0 and d["exit_code"] == 0 and d["problems"] == []
    assert d["tui_bench"] == __version__
    ll = d["llama"]
    assert ll["installed"] and ll["importable"] and ll["error"] is None
    assert ll["llama_cpp_python"] == metadata.version("llama-cpp-python")
    # the features listed are exactly those llama.cpp's system info marks "= 1" for the CPU
    backends, sections = parse_system_info(ll["system_info"])
    assert ll["backends"] == backends and "CPU" in backends
    on = [k for k, v in sections["CPU"].items() if v == "1" and k not in system.BUILD_KEYS]
    assert ll["cpu_features"] == on and on
    assert ll["repack"] == (sections["CPU"].get("REPACK") == "1")
    flags = _cpu_flags()
    assert d["cpu"]["amx"] == ("amx_tile" in flags)
    assert d["cpu"]["flags"] == [f for f in system.CPU_FLAGS if f in flags]
    gpu = _gpu_now()
    assert d["gpu"]["available"] == gpu["available"]
    if not gpu["available"]:  # this machine: no NVIDIA GPU, and NVML's reason why
        assert d["gpu"]["reason"] == gpu["reason"]
        assert d["gpu"]["reason"].startswith("no NVIDIA GPU (")
        assert d["gpu"]["can_offload"] is False
    else:
        assert d["gpu"]["devices"] == gpu["devices"]
        assert d["gpu"]["can_offload"] == bool(ll["gpu_offload"])
    found = [e for e in registry.discover(registry.models_dirs(), stores=False)]
    assert d["models"]["found"] == len(found) and d["models"]["stores"] == {}
    assert d["models"]["by_origin"]["builtin"] == sum(e.origin == "builtin" for e in found)
    db = bench_home / "history.sqlite3"
    assert d["history"] == {
        "path": str(db),
        "state": "absent",
        "size_bytes": None,
        "check": None,
        "error": None,
        "ok": True,
    }
    assert not db.exists()  # looked for, never created
    assert d["selftest"] is None and d["selftest_note"] == "skipped (--no-selftest)"
    assert not (bench_home / doctor.CACHE_FILE).exists()  # only a self-test is kept


def test_doctor_text_fits_one_screen(bench_home: Path) -> None:
    proc = subprocess.run(
        tui_bench_cmd("doctor", "--no-selftest", "--no-stores"),
        capture_output=True,
        text=True,
        env=cli_env(bench_home),
        timeout=120,
    )
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and len(lines) <= 24
    assert lines[0] == "tui-bench doctor"
    assert lines[-1] == "result: ready for CPU runs (exit code 0)"
    history = next(ln for ln in lines if ln.lstrip().startswith("database"))
    assert history.endswith(
        f"{bench_home / 'history.sqlite3'} · not created yet (the first run creates it)"
    )


def test_core_doctor_loads_no_front_end() -> None:
    code = (
        "import sys\nfrom tui_bench.core import doctor\n"
        "doctor.gather(selftest=False, stores=False)\n"
        "print(sorted(m for m in ('textual', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_llama_cpp_that_dies_on_import_is_reported(bench_home: Path, tmp_path: Path) -> None:
    """A wheel built for another CPU dies by SIGILL when imported: a finding, exit 1."""
    fake = tmp_path / "llama_cpp"
    fake.mkdir()
    (fake / "__init__.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    code, d = _doctor(bench_home, "--no-stores", env={"PYTHONPATH": str(tmp_path)})
    assert code == doctor.EXIT_CANNOT_RUN == d["exit_code"] == 1
    assert d["llama"]["installed"] is True and d["llama"]["importable"] is False
    assert d["llama"]["error"] == "importing llama-cpp-python failed (killed by SIGILL)"
    assert d["problems"] == [d["llama"]["error"]]
    assert d["selftest"] is None
    assert d["selftest_note"] == "skipped: llama-cpp-python does not import"


# --------------------------------------------------------------------------- the history database


def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_file_that_is_no_database_is_reported_and_left_as_it_is(bench_home: Path) -> None:
    db = bench_home / "history.sqlite3"
    db.write_bytes(b"these are not the runs you are looking for\n" * 50)
    before = _listing(bench_home)
    code, d = _doctor(bench_home, "--no-selftest", "--no-stores")
    assert code == doctor.EXIT_HISTORY == 2 and d["exit_code"] == 2
    assert d["history"]["state"] == "damaged" and d["history"]["ok"] is False
    assert d["history"]["error"] == "file is not a database"
    assert d["history"]["size_bytes"] == 43 * 50
    assert d["problems"] == [
        f"{db}: the history database is damaged (file is not a database); it was left as it is"
    ]
    assert _listing(bench_home) == before  # same bytes, no -wal or -shm beside it


def test_a_damaged_database_is_reported_and_left_as_it_is(bench_home: Path) -> None:
    db = bench_home / "history.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, plan TEXT)")
    conn.executemany("INSERT INTO runs (plan) VALUES (?)", [("p",)] * 20)
    conn.commit()
    conn.close()
    facts = doctor.history_facts(db)
    assert (facts.state, facts.check) == ("ok", "ok")  # a sound WAL database, read as such
    data = bytearray(db.read_bytes())
    page = 4096
    data[page : page + 8] = b"\x07" * 8  # the header of the table's page: no b-tree page type
    db.write_bytes(bytes(data))
    before = _listing(bench_home)
    code, d = _doctor(bench_home, "--no-selftest", "--no-stores")
    assert code == 2 and d["history"]["state"] == "damaged"
    assert d["history"]["error"] == "database disk image is malformed"
    assert _listing(bench_home) == before


def test_summary_line_names_every_fact() -> None:
    report = doctor.gather(selftest=False, stores=False)
    report.selftest = [_test(True, None, "SIGSEGV"), _test(False, 40.0)]
    line = summary_line(report)
    parts = line.split(" · ")
    assert parts[0] == f"llama.cpp {metadata.version('llama-cpp-python')}"
    assert parts[1] == doctor.cpu_label(report) and parts[1].startswith("CPU ")
    assert parts[2] == "repack crashes"
    assert parts[3] == doctor.gpu_label(report)
    assert parts[4] == f"{report.models.found} models"
    report.history.state = "damaged"
    assert summary_line(report).endswith(" · history DAMAGED")


# --------------------------------------------------------------------------- the self-test


@pytest.mark.real
def test_selftest_crash_with_repacking_is_reported(bench_home: Path) -> None:
    """The fault switch makes a worker loaded with repacking on die by SIGSEGV on its first
    decode (as llama.cpp's AMX repacking does on some hosts): the doctor says so, decodes
    with repacking off, and recommends the setting that works."""
    code, d = _doctor(bench_home, "--no-stores", env={"TUI_BENCH_FAULT_REPACK_CRASH": "1"})
    on, off = d["selftest"]
    assert on["repack"] is True and on["repack_applied"] is True
    assert (on["ok"], on["crashed"], on["signal"], on["stage"]) == (
        False,
        True,
        "SIGSEGV",
        "decode",
    )
    assert on["decode_tps"] is None and on["n_out"] == 0
    assert off["repack"] is False and off["repack_applied"] is False
    assert off["ok"] is True and off["n_out"] == doctor.SELFTEST_TOKENS == 16
    assert off["decode_tps"] > 0 and off["error"] is None
    assert off["threadpool"]["n_threads"] >= 1
    assert d["recommendation"] == (
        "repacking crashes on this host (the worker was killed by SIGSEGV): keep repack = "
        '"auto" (it falls back to repacking off) or set repack = false'
    )
    assert code == 0 and d["exit_code"] == 0  # one setting decodes: a CPU run works
    cached = json.loads((bench_home / doctor.CACHE_FILE).read_text())
    assert cached["report"]["selftest"] == d["selftest"]


# --------------------------------------------------------------------------- GPUs (stand-in NVML)

A100_UUID = "GPU-a100a100-1111-2222-3333-444455556666"
H100_UUID = "GPU-4b4b4b4b-1111-2222-3333-444455556666"
SLICE_UUID = "MIG-5c5c5c5c-1111-2222-3333-444455556666"


def _gpu_box() -> dict[str, Any]:
    """An A100 in MIG mode (two slices), an H100 with a job of another container on it,
    and a GPU lost before the doctor ran (a stand-in NVML: tests/fake_nvml.py)."""
    slice_ = {
        "name": "NVIDIA A100-SXM4-80GB MIG 3g.40gb",
        "uuid": SLICE_UUID,
        "total_mb": 40960.0,
        "bus": "00000000:01:00.0",
        "cc": [8, 0],
        "gi": 1,
        "ci": 0,
    }
    other = dict(slice_, uuid="MIG-6d6d6d6d-1111-2222-3333-444455556666", gi=2)
    return {
        "driver": "570.86.15",
        "cuda": 12080,
        "gpus": [
            {"name": "NVIDIA A100-SXM4-80GB", "uuid": A100_UUID, "total_mb": 81920.0,
             "bus": "00000000:01:00.0", "cc": [8, 0], "mig": True, "energy_mj": 1,
             "slices": [slice_, None, other]},
            {"name": "NVIDIA H100 80GB HBM3", "uuid": H100_UUID, "total_mb": 81559.0,
             "bus": "00000000:41:00.0", "mig": False, "energy_mj": 1,
             "procs": [[5_000_001, 4_000_000_000]]},
            {"name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-dead0000-1111-2222-3333-444455556666",
             "total_mb": 81559.0, "bus": "00000000:81:00.0",
             "fail": {"nvmlDeviceGetHandleByIndex": 15}},
        ],
    }  # fmt: skip


def test_doctor_json_names_the_worker_s_gpus_and_what_can_be_measured(
    bench_home: Path, tmp_path: Path
) -> None:
    from fake_nvml import install_shim

    shim = install_shim(tmp_path / "nvml", _gpu_box())
    env = {"PYTHONPATH": str(shim), "CUDA_VISIBLE_DEVICES": "GPU-4b4b,MIG-5c5c5c5c"}
    env.pop("CUDA_DEVICE_ORDER", None)
    code, d = _doctor(bench_home, "--no-selftest", "--no-stores", env=env)
    assert code == 0
    gpu = d["gpu"]
    assert gpu["available"] is True and gpu["reason"] is None
    assert (gpu["driver"], gpu["cuda_driver"]) == ("570.86.15", "12.8")
    assert gpu["cuda_visible_devices"] == "GPU-4b4b,MIG-5c5c5c5c"
    assert gpu["visible"] == "CUDA_VISIBLE_DEVICES=GPU-4b4b,MIG-5c5c5c5c"
    # the worker's devices, in its numbering: the H100, then the A100's first slice
    assert [(x["cuda_index"], x["name"], x["total_mb"]) for x in gpu["devices"]] == [
        (0, "NVIDIA H100 80GB HBM3", 81559),
        (1, "NVIDIA A100-SXM4-80GB MIG 3g.40gb", 40960),
    ]
    assert [(g["index"], g.get("mig_mode"), g["error"]) for g in gpu["gpus"]] == [
        (0, "enabled", None),
        (1, "disabled", None),
        (2, None, "NVML: GPU is lost"),
    ]
    assert [(s["mig_index"], s["cuda_index"]) for s in gpu["gpus"][0]["slices"]] == [
        (0, 1),
        (2, None),
    ]
    assert gpu["errors"] == ["GPU 2: NVML: GPU is lost"]
    assert gpu["proc_memory"] == {
        "readable": False,
        "state": "n/a (container PIDs)",
        "reason": "NVML lists PIDs that do not exist here (5000001): it reports host PIDs, "
        "and this program runs in its own PID namespace (a container)",
    }
    assert gpu["energy"] == {
        "supported": True,
        "reason": "summed over GPU 1; not on GPU 0 MIG 0: no energy counter on a MIG slice "
        "(NVML counts the whole GPU)",
    }
    assert gpu["can_offload"] is bool(d["llama"]["gpu_offload"])


def test_doctor_text_shows_each_gpu_and_the_worker_s_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fake_nvml import FakeNvml

    from tui_bench.cli.doctor import render

    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml.from_json(_gpu_box()).module())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-4b4b,MIG-5c5c5c5c")
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    llama = doctor.LlamaFacts(installed=True, importable=True, gpu_offload=True)
    report = doctor.DoctorReport(
        tui_bench=__version__,
        python="3.11",
        llama=llama,
        cpu=doctor.CpuFacts("x86", 2, False),
        gpu=system.gpu_facts(llama),
        models=doctor.ModelsFacts([], {}, 0, {}),
        history=doctor.HistoryFacts("h.sqlite3", "absent"),
    )
    lines = render(report).splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("  GPU 0"))
    assert lines[start : start + 8] == [
        "  GPU 0            NVIDIA A100-SXM4-80GB · 80.0 GiB · MIG enabled · cc 8.0 · 700 W limit"
        " · not the worker's",
        "    MIG 0          NVIDIA A100-SXM4-80GB MIG 3g.40gb · 40.0 GiB · worker's CUDA 1",
        "    MIG 2          NVIDIA A100-SXM4-80GB MIG 3g.40gb · 40.0 GiB · not the worker's",
        "  GPU 1            NVIDIA H100 80GB HBM3 · 79.6 GiB · MIG disabled · cc 9.0 · 700 W limit"
        " · worker's CUDA 0",
        "  GPU 2            FAILED (NVML: GPU is lost)",
        "  worker's GPUs    CUDA_VISIBLE_DEVICES=GPU-4b4b,MIG-5c5c5c5c",
        "  NVIDIA driver    570.86.15 (CUDA 12.8) · this build can offload: yes",
        "  process memory   n/a (container PIDs): NVML lists PIDs that do not exist here "
        "(5000001): it reports host PIDs, and this program runs in its own PID namespace "
        "(a container)",
    ]
    assert doctor.gpu_label(report) == "H100 80GB HBM3 80 GiB +1"
