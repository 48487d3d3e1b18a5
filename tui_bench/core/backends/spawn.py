"""Starting worker processes from one dedicated thread, with asyncio pipes to them.

On Linux a CPU priority (nice value) belongs to a thread, and a child process inherits the
one of the thread that forks it. A front end that renders while models run (the TUI)
lowers the priority of its own loop with :func:`lower_this_thread_priority`; workers are
still forked from the spawner thread, created before that, so they keep the priority the
program started with, and so does a helper thread started with :func:`start_thread`. The model being measured wins every contended CPU slice; the
interface gets what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

_spawner: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def spawner() -> ThreadPoolExecutor:
    """The thread that forks workers, created (at the caller's priority) on first use."""
    global _spawner
    with _lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tui-bench-spawn")
            _spawner.submit(lambda: None).result()  # start the thread now
        return _spawner


def lower_this_thread_priority(increment: int = 19) -> bool:
    """Lower the calling thread's CPU priority (workers started later are not affected).

    The nice value goes up by ``increment`` and, on Linux, the thread moves to the
    ``SCHED_IDLE`` policy: it runs only on a CPU that nothing else wants, and a waking
    model thread takes the CPU back at once. A model whose threads fill every core
    otherwise loses a few percent of its decode rate to a nice-19 interface (llama.cpp's
    threads wait for each other at every step, so one preempted thread stalls them all).
    llama.cpp leaves enough idle moments between steps for the interface to keep up.
    """
    spawner()
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + increment))
    except (AttributeError, OSError):  # not Linux, or not allowed
        return False
    with contextlib.suppress(AttributeError, OSError):  # SCHED_IDLE: Linux only
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    return True


def start_thread(thread: threading.Thread) -> None:
    """Start ``thread`` from the spawner: it gets the priority the program started with,
    not the lowered one of a front end's thread (e.g. the telemetry sampler)."""
    spawner().submit(thread.start).result()


class WorkerProcess:
    """A child process with an asyncio reader on its stdout and stderr."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
    ) -> None:
        self.popen = popen
        self.stdout = stdout
        self.stderr = stderr
        self.transports: list[asyncio.BaseTransport] = []

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def write(self, data: bytes) -> None:
        """Commands are a few hundred bytes: a pipe write of that size never blocks."""
        assert self.popen.stdin is not None
        self.popen.stdin.write(data)
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        if self.popen.stdin is not None:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()

    async def wait(self) -> int:
        while (code := self.popen.poll()) is None:
            await asyncio.sleep(0.02)
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()

    def close(self) -> None:
        self.close_stdin()
        for t in self.transports:
            t.close()


async def start_process(args: Sequence[str], *, env: dict[str, str], limit: int) -> WorkerProcess:
    loop = asyncio.get_running_loop()

    def fork() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a terminal's Ctrl-C goes to us, not to the worker
            env=env,
            bufsize=0,
        )

    popen = await loop.run_in_executor(spawner(), fork)
    readers = []
    transports = []
    for pipe in (popen.stdout, popen.stderr):
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        transport, _ = await loop.connect_read_pipe(
            lambda r=reader: asyncio.StreamReaderProtocol(r, loop=loop), pipe
        )
        readers.append(reader)
        transports.append(transport)
    proc = WorkerProcess(popen, readers[0], readers[1])
    proc.transports = transports
    return proc
