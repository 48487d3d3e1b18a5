"""Runs started over HTTP: ``tui-bench`` subprocesses, followed line by line.

A job is one ``python -m tui_bench ...`` process (``run PLAN --headless`` or ``pipeline
SCENARIO``). Its output (stdout and stderr together) is read by a thread into a ring of
the last lines; the run id is taken from the first ``[run N] ...`` line the headless log
prints (a pipeline prints ``history: PATH (run N)`` once its run is stored). The process writes to the same history as everything else (``$TUI_BENCH_HOME`` is
inherited), so its run is listed by the app and by ``tui-bench history`` as it goes.

One job runs at a time: two benchmarks on one machine would measure each other. The API
token never reaches a job (its variable is removed from the child's environment), so it
cannot show up in a job's lines. On shutdown, running jobs get SIGINT (the run is stored
as interrupted, as with Ctrl+C), then SIGKILL if they do not stop.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# a plan's run says its id first ("[run 7] ..."); a pipeline's once it is stored
# ("history: PATH (run 7)")
RUN_LINE = re.compile(r"^\[run (\d+)\]|^history: .* \(run (\d+)\)$")
KEEP_LINES = 200  # per job
SHOW_LINES = 20  # in a job's view
KEEP_JOBS = 100  # finished jobs forgotten beyond this, oldest first
MAX_LINE = 2000  # characters kept of one output line
STOP_WAIT_S = 20.0


class JobBusy(Exception):
    """A job is still running."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} ({job.kind} {job.target}) is still running")
        self.job = job


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Job:
    """One background run and what it printed."""

    id: str
    kind: str  # "plan" or "scenario"
    target: str  # the plan or scenario it runs
    command: list[str]  # as a user would type it: tui-bench ...
    metadata: dict[str, Any]
    proc: subprocess.Popen[str]
    started_at: str = field(default_factory=_now)
    finished_at: str | None = None
    exit_code: int | None = None
    run_id: int | None = None
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=KEEP_LINES))
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def running(self) -> bool:
        return not self.done.is_set()

    def follow(self) -> None:
        """Read the process's output to its end, then its exit code (a thread's body)."""
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.rstrip("\r\n")[:MAX_LINE]
            with self.lock:
                self.lines.append(line)
                if self.run_id is None and (m := RUN_LINE.match(line)):
                    self.run_id = int(m.group(1) or m.group(2))
        code = self.proc.wait()
        with self.lock:
            self.exit_code = code
            self.finished_at = _now()
        self.done.set()

    def view(self, show: int = SHOW_LINES) -> dict[str, Any]:
        with self.lock:
            return {
                "job": self.id,
                "status": "running" if self.running else "finished",
                "kind": self.kind,
                "target": self.target,
                "command": list(self.command),
                "started_at": self.started_at,
                "finished_at": self.finished_at,
                "exit_code": self.exit_code,
                "run_id": self.run_id,
                "metadata": self.metadata,
                "last_lines": list(self.lines)[-show:] if show > 0 else [],
            }


class Jobs:
    """The jobs of one server: start, look up, stop them all."""

    def __init__(
        self,
        *,
        hide_env: Sequence[str] = (),
        python: str = sys.executable,
        cwd: str | None = None,
    ) -> None:
        self._hide = tuple(hide_env)
        self._python = python
        self._cwd = cwd
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in self._hide}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def running(self) -> Job | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.running), None)

    def start(
        self, args: Sequence[str], *, kind: str, target: str, metadata: dict[str, Any]
    ) -> Job:
        """``tui-bench ARGS`` in the background; :class:`JobBusy` while another runs."""
        with self._lock:
            busy = next((j for j in self._jobs.values() if j.running), None)
            if busy is not None:
                raise JobBusy(busy)
            proc = subprocess.Popen(
                [self._python, "-m", "tui_bench", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
                env=self._env(),
                cwd=self._cwd,
                start_new_session=True,  # a Ctrl+C on the server is the server's to pass on
            )
            job = Job(
                id=secrets.token_hex(6),
                kind=kind,
                target=target,
                command=["tui-bench", *args],
                metadata=metadata,
                proc=proc,
            )
            self._jobs[job.id] = job
            self._forget_old()
        threading.Thread(target=job.follow, name=f"job-{job.id}", daemon=True).start()
        return job

    def _forget_old(self) -> None:
        finished = [k for k, j in self._jobs.items() if not j.running]
        for key in finished[: max(0, len(self._jobs) - KEEP_JOBS)]:
            del self._jobs[key]

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def stop_all(self, wait_s: float = STOP_WAIT_S) -> None:
        """SIGINT to every running job, SIGKILL to those still running after ``wait_s``."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.running]
        for job in running:
            with contextlib.suppress(ProcessLookupError):
                job.proc.send_signal(signal.SIGINT)
        for job in running:
            if not job.done.wait(wait_s):
                job.proc.kill()
                job.done.wait(5.0)
