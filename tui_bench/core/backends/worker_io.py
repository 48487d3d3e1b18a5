"""The worker process's plumbing: its protocol channel, dying with its parent, peak RSS.

Shared by the model workers (:mod:`.llama_worker`); nothing here knows about models.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
from typing import Any


def die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Channel:
    """The protocol stream: a private dup of the original stdout."""

    def __init__(self) -> None:
        fd = os.dup(1)
        os.dup2(2, 1)  # anything printed to stdout from now on goes to stderr
        sys.stdout = sys.stderr
        self.out = os.fdopen(fd, "wb", buffering=0)
        self._lock = threading.Lock()  # llama.cpp may log (and so send) from its threads

    def send(self, msg: dict[str, Any]) -> None:
        data = json.dumps(msg, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            self.out.write(data)


def peak_rss_reset() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_kb() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except Exception:
        return None
