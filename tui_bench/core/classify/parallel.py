"""Training many jobs: in this process (every event live), or in worker processes with
their events brought back over a local socket and published from the caller's thread as
they arrive. A worker process that dies fails its jobs; the run goes on.

A transformer candidate (``CandidateSpec.isolated``) trains in a worker process even with
one job, alone (joblib's loky executor: one worker, kept between jobs so torch loads
once): a native crash or an out-of-memory kill fails that candidate only, and the memory
it held is the worker's, not the caller's. ``run_isolated`` runs any call there (a probe
fit, a final model).
"""

from __future__ import annotations

import contextlib
import os
import queue as queue_mod
import secrets
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from tui_bench.core.classify.events import CandidateFinished
from tui_bench.core.classify.train import (
    CANCELLED,
    CandidateResult,
    Publish,
    TrainJob,
    empty_result,
    run_job,
)
from tui_bench.core.events import Event


def effective_jobs(jobs: int, n_tasks: int) -> int:
    """``jobs`` ≤ 0 means every core (-1 as in joblib); never more workers than tasks."""
    cores = os.cpu_count() or 1
    n = cores if jobs <= 0 else jobs
    return max(1, min(n, n_tasks))


def train_all(
    jobs: Sequence[TrainJob],
    *,
    n_jobs: int = 1,
    publish: Publish = lambda e: None,
    cancel: threading.Event | None = None,
) -> list[CandidateResult]:
    """Run every job; results come back in job order, events reach ``publish`` live."""
    workers = effective_jobs(n_jobs, len(jobs))
    for job in jobs:
        if job.threads is None and job.candidate_spec().isolated:
            job.threads = _threads_per_worker(workers)
    if workers == 1:
        results = []
        is_cancelled = cancel.is_set if cancel is not None else (lambda: False)
        for job in jobs:
            if job.candidate_spec().isolated:
                results.append(_train_parallel([job], 1, publish, cancel)[0])
                continue
            result = run_job(job, publish, is_cancelled)
            if result.error != CANCELLED:
                publish(CandidateFinished(result))
            results.append(result)
        return results
    return _train_parallel(jobs, workers, publish, cancel)


def _threads_per_worker(workers: int) -> int:
    """torch's CPU threads in each worker: the default share (``cpus``), never fewer than 1."""
    from tui_bench.core.cpus import default_threads

    return max(1, default_threads().n // max(1, workers))


WORKER_IDLE_S = 300  # as joblib's workers: kept this long for the next call


def _passive_threads() -> None:
    """In a worker, before torch loads: its OpenMP threads sleep while they wait, unless
    the user set ``OMP_WAIT_POLICY``. Spinning threads collapse when another process
    shares the cores: MiniLM fine-tuned 3 to 8 times slower spinning on 2 busy cores (5
    to 13 against 33 to 37 examples/s, alternating runs); benchmarks/finetune_speed.py
    measures both policies side by side on any machine."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _worker_setup() -> None:
    """In the worker, before its first job: loky restarts a worker whose memory grew by
    300 MB after its first job (a leak, it assumes), with a warning on stderr; importing
    torch and a model's allocator pools grow it by more, legitimately, and a restart
    would import torch again for each candidate."""
    from joblib.externals.loky import process_executor

    process_executor._MAX_MEMORY_LEAK_SIZE = 1 << 62
    _passive_threads()


@contextlib.contextmanager
def _stderr_with_fd() -> Iterator[None]:
    """The process's own stderr while a worker starts: loky hands its resource tracker
    ``sys.stderr.fileno()``, and inside the app that is Textual's capture, whose -1 fails
    the start ("bad value(s) in fds_to_keep")."""
    current = sys.stderr
    try:
        swap = current.fileno() < 0 and sys.__stderr__ is not None
    except Exception:  # no file descriptor at all: loky leaves it out itself
        swap = False
    if swap:
        sys.stderr = sys.__stderr__
    try:
        yield
    finally:
        if swap:
            sys.stderr = current


def _start_tracker() -> None:
    """The resource trackers (loky's and multiprocessing's), each started once per
    process, before any worker and through ``_stderr_with_fd``: workers then start
    whatever stderr is (inside the app, every loky worker failed to start otherwise)."""
    from multiprocessing import resource_tracker as mp_tracker

    from joblib.externals.loky.backend import resource_tracker

    with _stderr_with_fd():
        resource_tracker.ensure_running()
        mp_tracker.ensure_running()


FAULT_PREFIX = "TUI_BENCH_FAULT_"  # the test-only switches (``fit_batch``)


def _faults() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(FAULT_PREFIX)}


def _with_faults(faults: dict[str, str], fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn`` in a worker with the caller's test-only switches as they are now: a worker
    is kept between calls, and its environment is the one it started with."""
    for key in [k for k in os.environ if k.startswith(FAULT_PREFIX) and k not in faults]:
        del os.environ[key]
    os.environ.update(faults)
    return fn(*args, **kwargs)


def run_isolated(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in one loky worker process, reused between calls (joblib
    would run a single job in this process); its exception is raised here, and a worker
    that dies raises ``TerminatedWorkerError`` (a one-line message)."""
    # joblib's own factory: loky keeps one executor per process, and one that joblib's
    # Parallel (--jobs N) takes over must be of joblib's kind
    from joblib.executor import get_memmapping_executor

    _start_tracker()
    executor = get_memmapping_executor(1, timeout=WORKER_IDLE_S, initializer=_worker_setup)
    return executor.submit(_with_faults, _faults(), fn, *args, **kwargs).result()


class _EventChannel:
    """Parent end of the event path from worker processes: a local socket.

    Each job connects, is told "go" (or "stop" once the run is cancelled), sends its events
    and then its result on that one connection, so they arrive in order. A socket needs no
    helper process and, unlike a spawned manager, never re-imports the caller's main module.
    """

    def __init__(self) -> None:
        from multiprocessing.connection import Listener

        self.authkey = secrets.token_bytes(32)
        self._listener = Listener(authkey=self.authkey)
        self.address = self._listener.address
        self.inbox: queue_mod.Queue[tuple[str, Any, Any]] = queue_mod.Queue()
        self._stopped = threading.Event()
        self._closing = False
        self._conns: list[Any] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="classify-accept", daemon=True).start()

    def _accept(self) -> None:
        from multiprocessing import AuthenticationError

        while True:
            try:
                conn = self._listener.accept()
            except AuthenticationError:
                continue
            except OSError:
                return
            if self._closing:
                conn.close()
                return
            with self._lock:
                self._conns.append(conn)
                stop = self._stopped.is_set()
            try:
                conn.send("stop" if stop else "go")
            except OSError:
                continue
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: Any) -> None:
        try:
            while True:
                kind, index, payload = conn.recv()
                self.inbox.put((kind, index, payload))
        except (EOFError, OSError):
            pass

    def cancel(self) -> None:
        with self._lock:
            self._stopped.set()
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.send("stop")

    def close(self) -> None:
        from multiprocessing.connection import Client

        self._closing = True
        # Wake the accept() call: closing the socket alone does not, on Linux.
        with contextlib.suppress(OSError):
            Client(self.address, authkey=self.authkey).close()
        self._listener.close()
        with self._lock:
            for conn in self._conns:
                conn.close()


def _worker(job: TrainJob, address: Any, authkey: bytes) -> CandidateResult:
    from multiprocessing.connection import Client

    with Client(address, authkey=authkey) as conn:
        stopped = conn.recv() == "stop"

        def is_cancelled() -> bool:
            nonlocal stopped
            while not stopped and conn.poll():
                stopped = conn.recv() == "stop"
            return stopped

        def emit(event: Event) -> None:
            conn.send(("event", job.index, event))

        if job.candidate_spec().isolated and job.threads:
            _passive_threads()
            from tui_bench.core.classify.finetune import use_threads

            use_threads(job.threads)  # the frozen encoder's too, before it loads
        result = run_job(job, emit, is_cancelled)
        conn.send(("done", job.index, result))
    return result


def _train_parallel(
    jobs: Sequence[TrainJob], workers: int, publish: Publish, cancel: threading.Event | None
) -> list[CandidateResult]:
    from joblib import Parallel, delayed

    _start_tracker()
    channel = _EventChannel()
    if cancel is not None and cancel.is_set():
        channel.cancel()
    returned: dict[int, CandidateResult] = {}
    failure: list[BaseException] = []

    def consume() -> None:
        try:
            if workers == 1:  # joblib would run a single worker's jobs in this process
                done: Any = (
                    run_isolated(_worker, job, channel.address, channel.authkey) for job in jobs
                )
            else:
                runner = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
                faults = _faults()
                done = runner(
                    delayed(_with_faults)(faults, _worker, job, channel.address, channel.authkey)
                    for job in jobs
                )
            for res in done:
                returned[by_key[(res.candidate, res.category, res.language)]] = res
        except BaseException as exc:  # surfaced in the caller's thread below
            failure.append(exc)
        finally:
            channel.inbox.put(("end", None, None))

    by_key = {(j.candidate, j.category, j.language): j.index for j in jobs}
    results: dict[int, CandidateResult] = {}
    thread = threading.Thread(target=consume, name="classify-train", daemon=True)
    thread.start()
    ended_at: float | None = None
    stopping = False
    try:
        while len(results) < len(jobs):
            if not stopping and cancel is not None and cancel.is_set():
                stopping = True
                channel.cancel()
            try:
                kind, index, payload = channel.inbox.get(timeout=0.2)
            except queue_mod.Empty:
                # Every job's "done" travels before its return value; a short grace period
                # covers the reader thread lagging behind joblib.
                if ended_at is not None and time.monotonic() - ended_at > 5.0:
                    break
                continue
            if kind == "event":
                publish(payload)
            elif kind == "done":
                results[index] = payload
                if payload.error != CANCELLED:
                    publish(CandidateFinished(payload))
            else:
                if failure:
                    break
                ended_at = time.monotonic()
        thread.join()
    finally:
        channel.close()
    for job in jobs:
        if job.index in results:
            continue
        if job.index in returned:  # its message was lost; the return value still counts
            results[job.index] = returned[job.index]
        else:  # a worker died under it (killed, out of memory, native crash)
            why = f"{type(failure[0]).__name__}: {failure[0]}" if failure else "no result"
            results[job.index] = empty_result(job, error=f"worker failed: {why}".splitlines()[0])
        publish(CandidateFinished(results[job.index]))
    return [results[job.index] for job in jobs]
