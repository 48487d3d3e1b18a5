"""What a run ran on: host, CPU, memory, GPU, and the versions of what measured it.

The host name is never recorded: reports are shared, and a name often identifies a
person's machine. A label the user chooses (``--host-label``, or ``TUI_BENCH_HOST_LABEL``)
names the host instead.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime
from importlib import metadata
from typing import Any

from tui_bench import __version__
from tui_bench.core.redact import home_relative

# An environment variable rather than an argument: it reaches the TUI, the headless
# drivers and the worker processes alike, and a user can set it once.
HOST_LABEL_ENV = "TUI_BENCH_HOST_LABEL"


def host_label() -> str | None:
    """The name the user gave this host for reports, or None."""
    label = " ".join(os.environ.get(HOST_LABEL_ENV, "").split())
    return label or None


def set_host_label(label: str | None) -> None:
    """Name this host in the reports and history of every run this process starts."""
    if label and label.strip():
        os.environ[HOST_LABEL_ENV] = label.strip()


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    return {
        "tui_bench": __version__,
        "python": platform.python_version(),
        "llama_cpp_python": package_version("llama-cpp-python"),
        "nvidia_ml_py": package_version("nvidia-ml-py"),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_description() -> dict[str, Any]:
    """The GPU facts an LLM run records (:func:`tui_bench.core.gpu.facts.describe`), for
    a run that keeps no probe of its own (pipelines, classifiers): NVML opened, read, closed."""
    from tui_bench.core.gpu import GpuProbe

    probe = GpuProbe()
    try:
        return probe.describe()
    finally:
        probe.close()


def host(gpu: dict[str, Any] | None = None) -> dict[str, Any]:
    import psutil

    from tui_bench.core.cpus import default_threads

    return {
        "label": host_label(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        # what a llama.cpp model runs with when its plan sets no n_threads, and why
        "threads": default_threads().to_json(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python_executable": home_relative(sys.executable),
        "gpu": gpu or {"available": False, "reason": "not probed"},
    }
