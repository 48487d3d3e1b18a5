"""The model process's own GPU memory, and whether it can be read at all.

NVML lists the processes on a device with their PIDs as the host kernel numbers them.
Inside a container with its own PID namespace those are not the PIDs this program sees:
the worker is then never found in the list, and "the model's own memory" would silently
read as nothing. This module notices that (a listed PID that does not exist here, or the
worker missing from lists that do name processes while it uses the GPU) and says so
instead: "n/a (container PIDs)", with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tui_bench.core.gpu.device import MB

# Samples in a row where the worker, known to use the GPU, is missing from NVML's lists
# while other processes are listed, before its PIDs are taken to be another namespace's.
MISSES_FOR_CONTAINER = 3


def pid_exists(pid: int) -> bool:
    import psutil

    return bool(psutil.pid_exists(pid))


@dataclass
class ProcMemory:
    """Tracks, over samples, whether NVML's PIDs are this namespace's ones."""

    state: str = "unknown"  # "unknown", "ok" (the worker was found), "container", "off"
    reason: str = "no GPU process seen yet: checked while a model runs"
    model_on_gpu: bool = False  # the worker reported devices it uses
    exists: Callable[[int], bool] = pid_exists
    _misses: int = 0

    @property
    def readable(self) -> bool | None:
        return {"ok": True, "container": False, "off": False}.get(self.state)

    @property
    def label(self) -> str:
        if self.state == "container":
            return "n/a (container PIDs)"
        return {"ok": "yes", "off": "no"}.get(self.state, "unknown")

    def unsupported(self, why: str) -> None:
        self.state, self.reason = "off", why

    def check_listing(self, listed: Iterable[Any]) -> None:
        """Before any worker: PIDs that do not exist here already tell a container."""
        pids = [int(p.pid) for p in listed]
        self._foreign(pids)
        if self.state == "unknown" and pids:
            self.reason = f"NVML lists {len(pids)} process(es), all with PIDs that exist here"

    def _foreign(self, pids: list[int]) -> bool:
        foreign = [p for p in pids if not self.exists(p)]
        if foreign and self.state != "ok":
            shown = ", ".join(str(p) for p in foreign[:3])
            self.state = "container"
            self.reason = (
                f"NVML lists PIDs that do not exist here ({shown}): it reports host PIDs, "
                "and this program runs in its own PID namespace (a container)"
            )
        return bool(foreign)

    def observe(self, pid: int, listed: list[Any]) -> float | None:
        """MB the worker ``pid`` holds on the devices whose process lists are ``listed``,
        or None (not listed, not reported, or PIDs that cannot be matched)."""
        if self.state in ("container", "off"):
            return None
        mine = [p for p in listed if int(p.pid) == pid]
        if mine:
            self.state, self._misses = "ok", 0
            known = [p.usedGpuMemory for p in mine if p.usedGpuMemory is not None]
            if not known:
                self.reason = "NVML lists the worker but not its memory (usedGpuMemory n/a)"
                return None
            self.reason = "NVML lists the worker's PID"
            return sum(known) / MB
        if self.state == "ok" or not listed:
            return None
        if self._foreign([int(p.pid) for p in listed]):
            return None
        if self.model_on_gpu:
            self._misses += 1
            if self._misses >= MISSES_FOR_CONTAINER:
                self.state = "container"
                self.reason = (
                    f"the worker (PID {pid}) uses the GPU but NVML never lists it while it "
                    "lists other processes: NVML reports host PIDs (a container)"
                )
        return None
