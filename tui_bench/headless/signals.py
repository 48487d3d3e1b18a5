"""How a headless run is stopped: SIGINT, SIGTERM and SIGHUP ask it to stop cleanly.

The first of them calls the run's cancel callback (finished results are kept), a second
one aborts at once (KeyboardInterrupt: exit 130). SIGHUP is there because an SSH session
that goes away should stop a run cleanly rather than kill it mid-request.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def cancel_on_signals(
    cancel: Callable[[], None], say: Callable[[str], None], *, step: str
) -> Iterator[None]:
    """For the block: the first stop signal says so (``say``) and calls ``cancel``, which
    must be safe to call from a signal handler; a second raises KeyboardInterrupt. The
    handlers in place before come back after. ``step``: what the run finishes before it
    stops ("token", "epoch")."""
    hits = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal hits
        hits += 1
        if hits > 1:
            raise KeyboardInterrupt
        # RuntimeError: the signal came while the stream was mid-write (a full pipe), and
        # it cannot be written again from here; the stop matters more than its line
        with suppress(RuntimeError):
            say(
                f"{signal.Signals(signum).name}: stopping after the current {step}; "
                "finished results are kept (again to abort now)"
            )
        cancel()

    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in STOP_SIGNALS:
            previous[sig] = signal.signal(sig, on_signal)
    except ValueError:  # not the main thread: the signals stay as they were
        pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            # None: a handler not installed from Python; the default is the best guess
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
