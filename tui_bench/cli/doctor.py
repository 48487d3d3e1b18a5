"""``tui-bench doctor``: what this machine offers, on one screen (or as JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from tui_bench.cli.common import models_dir_option

if TYPE_CHECKING:
    from tui_bench.core.doctor import DoctorReport, SelfTest


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
@click.option(
    "--no-selftest", is_flag=True, help="Skip the two short model runs (repacking on and off)."
)
@models_dir_option
@click.option(
    "--no-stores", is_flag=True, help="Skip the Hugging Face, LM Studio and Ollama stores."
)
def doctor(as_json: bool, no_selftest: bool, models_dir: tuple[Path, ...], no_stores: bool) -> int:
    """Check this machine before benchmarking: versions, llama.cpp build, CPU, GPU,
    a 16-token self-test with weight repacking on and off, models, history.

    Exit code 0 when a CPU run can work, 1 when it cannot (llama-cpp-python does not
    import, or neither self-test decodes), 2 when the history database is damaged.
    """
    import json

    from tui_bench.core import doctor as core

    report = core.gather(
        selftest=not no_selftest, models_dirs=list(models_dir), stores=not no_stores
    )
    core.save_cache(report)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(render(report))
    return report.exit_code


def _row(label: str, text: str) -> str:
    return f"  {label:<17}{text}"


def _selftest_text(t: SelfTest) -> str:
    if t.ok:
        pool = t.threadpool or {}
        threads = (
            f"threadpool {pool.get('n_threads')} threads, poll {pool.get('poll')}"
            if pool.get("attached")
            else "llama.cpp's default threads"
        )
        load = f"load {t.load_ms:.0f} ms; " if t.load_ms is not None else ""
        return f"ok: {t.n_out} tokens, {t.decode_tps:.1f} tok/s ({load}{threads})"
    if t.crashed:
        return f"CRASHED: worker killed by {t.signal} during {t.stage}"
    return f"FAILED during {t.stage}: {t.error}"


def render(r: DoctorReport) -> str:
    """The report as one screen of text."""
    from tui_bench.core.doctor import SELFTEST_SOURCE, SELFTEST_TOKENS

    ll = r.llama
    lines = ["tui-bench doctor", _row("tui-bench", f"{r.tui_bench} (Python {r.python})")]
    if ll.importable:
        lines.append(_row("llama-cpp-python", f"{ll.llama_cpp_python} · {ll.build_note}"))
        from tui_bench.core.backends.llama_devices import offload_status

        status = offload_status(bool(ll.gpu_offload), ll.backends)
        offload = status.label + (f": {status.advice}" if status.advice else "")
        lines.append(_row("backends", f"{', '.join(ll.backends)} ({offload})"))
        build = [
            " ".join(ll.cpu_features) or "no CPU features reported",
            f"OpenMP {_yes(ll.openmp)}",
            f"repack {_yes(ll.repack)}",
        ]
        lines.append(_row("llama.cpp CPU", " · ".join(build)))
    else:
        lines.append(_row("llama-cpp-python", f"PROBLEM: {ll.error}"))
    amx = {True: "AMX yes (llama.cpp's weight repacking has crashed on such hosts)",
           False: "no AMX", None: "AMX unknown"}[r.cpu.amx]  # fmt: skip
    lines.append(_row("CPU", f"{r.cpu.model} · {r.cpu.cores_logical} logical cores · {amx}"))
    from tui_bench.core.doctor import gpu_rows

    lines += [_row(label, text) for label, text in gpu_rows(r)]
    lines.append(f"self-test ({SELFTEST_SOURCE}, {SELFTEST_TOKENS} tokens, own worker each)")
    if r.selftest is None:
        lines.append(_row("", str(r.selftest_note)))
    else:
        for t in r.selftest:
            lines.append(_row(f"repack {'on' if t.repack else 'off'}", _selftest_text(t)))
        lines.append(_row("→", str(r.recommendation)))
    m = r.models
    lines.append("models")
    lines.append(_row("folders", ", ".join(m.dirs) or "none (--models-dir, TUI_BENCH_MODELS_DIR)"))
    names = {"hf_cache": "HF cache", "lmstudio": "LM Studio", "ollama": "Ollama"}
    for key, dirs in m.stores.items():
        lines.append(_row(names.get(key, key), ", ".join(dirs)))
    by = ", ".join(f"{k} {v}" for k, v in m.by_origin.items())
    lines.append(_row("found", f"{m.found}" + (f" ({by})" if by else "")))
    h = r.history
    if h.state == "absent":
        state = "not created yet (the first run creates it)"
    elif h.state == "ok":
        state = f"{_size(h.size_bytes)} · integrity ok"
    else:
        state = f"{h.state.upper()}: {h.error or h.check} (left as it is)"
    lines.append("history")
    lines.append(_row("database", f"{h.path} · {state}"))
    if r.problems:
        lines += [f"problem: {p}" for p in r.problems]
    verdict = "ready for CPU runs" if r.exit_code == 0 else "NOT ready"
    lines.append(f"result: {verdict} (exit code {r.exit_code})")
    return "\n".join(lines)


def _yes(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "?"}[value]


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    from tui_bench.core.gguf import human_bytes

    return human_bytes(n)
