"""What a run ran on: host, CPU, memory, GPU, and the versions of what measured it."""

from __future__ import annotations

import os
import platform
import socket
import sys
from datetime import datetime
from importlib import metadata
from typing import Any

from tui_bench import __version__


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


def host(gpu: dict[str, Any] | None = None) -> dict[str, Any]:
    import psutil

    return {
        "hostname": socket.gethostname(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python_executable": sys.executable,
        "gpu": gpu or {"available": False, "reason": "not probed"},
    }
