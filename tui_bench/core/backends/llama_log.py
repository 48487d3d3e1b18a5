"""llama.cpp's log: captured in the worker, and what its load messages say.

The worker installs :class:`LogCapture` as llama.cpp's (and ggml's) log callback. It
assembles the pieces llama.cpp sends into lines, keeps a tail for error messages, records
the lines of a model load for :func:`parse_load_log`, and hands every warning and error
to ``send`` at once: the worker sends them to the parent, which puts them in the run log
and names the last error as the cause when the worker dies (``CUDA error: out of memory``
rather than only ``killed by SIGABRT``). Nothing here runs per generated token: llama.cpp
does not log while it decodes.

:func:`parse_load_log` reads the load messages of llama.cpp builds old and new (CPU and
CUDA): layers offloaded, the devices used and their free memory, and the model / KV cache
/ compute buffer sizes per buffer (``CUDA0``, ``CUDA_Host``, ``CPU_Mapped`` ...).
"""

from __future__ import annotations

import ctypes
import re
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

# ggml_log_level
DEBUG, INFO, WARN, ERROR, CONT = 1, 2, 3, 4, 5
LEVEL_NAMES = {WARN: "warning", ERROR: "error"}
MAX_LINE = 1000  # a log message sent to the parent is one line of at most this many chars

OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
# "using device CUDA0 (NVIDIA H200) (0000:01:00.0) - 140487 MiB free" (newer: with the
# PCI bus id or "unknown id"); "using device CUDA0 (NVIDIA GeForce RTX 4080) - 15035 MiB free"
DEVICE_WITH_ID = re.compile(
    r"using device (\S+) \((.*)\) \(([^()]*)\) - (\d+) MiB free"  # newer builds
)
DEVICE = re.compile(r"using device (\S+) \((.*)\) - (\d+) MiB free")
# "load_tensors:        CUDA0 model buffer size = 24277.75 MiB", "llama_kv_cache: CPU KV
# buffer size", "sched_reserve: CUDA0 compute buffer size", "CUDA_Host  output buffer size";
# old builds: "llm_load_tensors:        CPU buffer size =   297.00 MiB" (the model's)
BUFFER = re.compile(
    r"^(?P<fn>\w+):\s+(?P<buf>\S+)\s+(?:(?P<kind>model|KV|compute|output)\s+)?"
    r"buffer size\s*=\s*(?P<mib>[\d.]+) MiB"
)
KINDS = {"model": "model", "KV": "kv", "compute": "compute", "output": "output"}
FLASH_RESOLVED = re.compile(
    r"Flash Attention (?:was auto, set to )?(enabled|disabled)|Flash Attention not supported"
)


class LogCapture:
    """llama.cpp's log callback: lines, a tail, load recording, warnings and errors out.

    ``send(level, text)`` gets every warning and error line (``level`` "warning" or
    "error"), except those matching ``quiet`` (messages a setting of ours causes on
    purpose). With ``echo`` every piece also goes to stderr as llama.cpp wrote it.
    """

    def __init__(
        self,
        send: Callable[[str, str], None] | None = None,
        *,
        echo: bool = False,
        quiet: list[re.Pattern[str]] | None = None,
    ) -> None:
        self.send = send
        self.echo = echo
        self.quiet = quiet or []
        self.tail: deque[str] = deque(maxlen=40)
        self.recorded: list[str] | None = None
        self._partial = ""
        self._level = INFO
        self._lock = threading.Lock()  # llama.cpp may log from its own threads
        self._cb: Any = None

    def install(self, ll: Any) -> None:
        """Make this llama.cpp's log callback (and ggml's: llama_log_set sets both)."""

        @ll.llama_log_callback
        def _cb(level: int, text: bytes, user_data: Any) -> None:
            self.feed(int(level), text.decode("utf-8", errors="replace"))

        ll.llama_log_set(_cb, ctypes.c_void_p(0))
        self._cb = _cb  # ctypes callbacks must outlive their use

    def feed(self, level: int, text: str) -> None:
        with self._lock:
            if self.echo:
                sys.stderr.write(text)
            if level == CONT:
                level = self._level
            elif self._partial:  # a new message: the last one ended without a newline
                self._line(self._level, self._partial)
                self._partial = ""
            self._level = level
            if level < INFO:  # debug messages: hundreds per load, never needed
                return
            self._partial += text
            while "\n" in self._partial:
                line, _, self._partial = self._partial.partition("\n")
                self._line(level, line)

    def _line(self, level: int, line: str) -> None:
        line = line.rstrip()
        if not line.strip(". "):  # empty, or a progress line of dots
            return
        self.tail.append(line)
        if self.recorded is not None:
            self.recorded.append(line)
        name = LEVEL_NAMES.get(level)
        if name and self.send is not None and not any(q.search(line) for q in self.quiet):
            self.send(name, line[:MAX_LINE])

    def record(self) -> None:
        """Keep every line from now on, for :meth:`recording`."""
        with self._lock:
            self.recorded = []

    def recording(self) -> list[str]:
        """The lines kept since :meth:`record`; recording stops."""
        with self._lock:
            lines, self.recorded = self.recorded or [], None
        return lines

    def last_error(self) -> str:
        """The latest line that reads like a failure, else the latest line."""
        for line in reversed(self.tail):
            low = line.lower()
            if "error" in low or "failed" in low or "invalid" in low:
                return line.strip()
        return self.tail[-1].strip() if self.tail else ""


def parse_load_log(lines: list[str]) -> dict[str, Any]:
    """What llama.cpp's load and context messages say about where the model went.

    ``gpu_layers``: ``{"offloaded": n, "total": N}`` (None when the build printed no such
    line: it cannot offload); ``devices``: the devices llama.cpp chose, with the PCI bus id
    (newer builds) and the free memory it saw before loading; ``buffers_mib``: per kind
    (model, kv, compute, output), MiB per buffer name; ``flash_attn``: what an automatic
    setting resolved to (enabled / disabled), None when not said.
    """
    gpu_layers: dict[str, int] | None = None
    devices: list[dict[str, Any]] = []
    buffers: dict[str, dict[str, float]] = {}
    flash: str | None = None
    for line in lines:
        if m := OFFLOADED.search(line):
            gpu_layers = {"offloaded": int(m.group(1)), "total": int(m.group(2))}
        elif m := DEVICE_WITH_ID.search(line):
            pci = m.group(3).strip()
            devices.append(_device(m.group(1), m.group(2), pci, m.group(4)))
        elif m := DEVICE.search(line):
            devices.append(_device(m.group(1), m.group(2), None, m.group(3)))
        elif m := BUFFER.search(line.strip()):
            kind = KINDS.get(m.group("kind") or "")
            if kind is None and "load_tensors" in m.group("fn"):
                kind = "model"  # old builds: "CPU buffer size" is the model's
            if kind is not None:
                per = buffers.setdefault(kind, {})
                per[m.group("buf")] = round(per.get(m.group("buf"), 0.0) + float(m.group("mib")), 2)
        elif m := FLASH_RESOLVED.search(line):
            flash = m.group(1) or "disabled"
    return {
        "gpu_layers": gpu_layers,
        "devices": devices,
        "buffers_mib": buffers,
        "flash_attn": flash,
    }


def _device(name: str, description: str, pci: str | None, free: str) -> dict[str, Any]:
    if pci is not None and (not pci or pci == "unknown id"):
        pci = None
    return {"name": name, "description": description, "pci_bus_id": pci, "free_mib": float(free)}


def last_native_error(lines: list[str]) -> str | None:
    """The cause among a group of error lines: the latest that is not a detail line.

    ggml's CUDA errors come as ``CUDA error: out of memory`` then indented details
    (``  current device: 0, in function ...``, the failing call); a crash's cause is the
    first, not the call."""
    for line in reversed(lines):
        if line and not line[0].isspace():
            return line.strip()
    return lines[-1].strip() if lines else None


def native_abort(ll: Any, message: str) -> None:
    """Test-only: log ``message`` as ggml's CUDA errors are logged (the cause, then an
    indented detail) through ggml's own logger, then abort in ggml. Never returns."""
    from tui_bench.core.backends.llama_devices import loaded_libraries

    lib = loaded_libraries(ll, ("libggml-base.", "ggml-base."))[0]
    for text in (message, "  current device: 0, in function native_abort (fault switch)"):
        lib.ggml_log_internal(ctypes.c_int(ERROR), b"%s\n", text.encode())
    lib.ggml_abort(b"fault", ctypes.c_int(1), b"%s", message.split(":")[0].encode())
