"""One model kept loaded across requests: what the engine, the pipeline's generate stage
and the embedder share.

A :class:`ModelSession` holds the backend, the spec it was loaded from (resolved files;
after a fallback, the safer one), the load time and the load's ``info``.
:meth:`~ModelSession.ensure_loaded` loads the model, and again after its worker died
(at most ``max_reloads`` times, ``"<id>: reloading the model after a crash"`` logged
each time); it raises :class:`SessionFailed` with the one-line reason a request then
fails with. After a failed request, :meth:`~ModelSession.after_failure` asks the backend
whether the death calls for a safer configuration (llama.cpp's weight repacking,
``Backend.fallback``): the first time it does, the session switches to it, logs
``"<id>: <reason>; reloading"`` and says to retry the same request; from then on every
load's info carries ``fallback`` (the reason) and :meth:`~ModelSession.flag` marks every
request served with the backend's ``fallback_flag``.

What a caller does on each load (the engine publishes ``ModelLoaded``) is its ``on_load``
hook; how it loads (the engine races its cancel button) may be its ``load``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tui_bench.core.backends.base import Backend, LoadInfo, OnLog
from tui_bench.core.errors import BackendError

MAX_RELOADS = 2

#: (spec, path) -> a backend, not loaded yet
MakeBackend = Callable[[Any, Path | None], Backend]
#: (spec, path) -> the loaded backend and its load info; raises BackendError
LoadBackend = Callable[[Any, Path | None], Awaitable[tuple[Backend, LoadInfo]]]


class SessionFailed(Exception):
    """The model cannot serve the next request: ``reason`` is that request's one-line
    error (``skipped: the worker died N times`` or ``load failed: ...``); ``error`` the
    load's own ``BackendError`` when loading failed."""

    def __init__(self, reason: str, error: BackendError | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


def load_info(info: LoadInfo) -> dict[str, Any]:
    """What a load's info is kept as by default: the backend's info and the pid."""
    return info.info | {"pid": info.pid}


class ModelSession:
    """One model (``name`` in messages) loaded from ``local`` at ``path``."""

    def __init__(
        self,
        name: str,
        local: Any,
        path: Path | None = None,
        *,
        make: MakeBackend | None = None,
        load: LoadBackend | None = None,
        describe: Callable[[LoadInfo], dict[str, Any]] = load_info,
        on_load: Callable[[ModelSession], None] | None = None,
        log: OnLog | None = None,
        max_reloads: int = MAX_RELOADS,
    ) -> None:
        self.name = name
        self.local = local  # the spec the backend is made from (the safer one after a fallback)
        self.path = path
        self.make = make
        self._load_backend = load or self._start
        self.describe = describe
        self.on_load = on_load
        self.log = log  # (level, text): "<name>: " is put before the text
        self.max_reloads = max_reloads
        self.backend: Backend | None = None
        self.load_ms: float | None = None
        self.info: dict[str, Any] = {}
        self.fallback: str | None = None  # why the model runs in another configuration
        self.reloads = 0
        #: a model was loaded and not given up for the safer configuration since (the
        #: engine reports it unloaded at the end, even after its worker died)
        self.held = False

    def say(self, level: str, text: str) -> None:
        if self.log is not None:
            self.log(level, f"{self.name}: {text}")

    async def _start(self, local: Any, path: Path | None) -> tuple[Backend, LoadInfo]:
        from tui_bench.core.backends import create_backend

        backend = (self.make or create_backend)(local, path)
        if self.log is not None:
            backend.log = self.say
        try:
            info = await backend.load()
        except BaseException:
            await backend.close()
            raise
        return backend, info

    async def load(self) -> Backend:
        """Load the model from ``local``; ``BackendError`` (one line) on failure."""
        backend, info = await self._load_backend(self.local, self.path)
        self.backend, self.load_ms, self.held = backend, info.load_ms, True
        self.info = self.describe(info)
        if self.fallback:
            self.info["fallback"] = self.fallback
        if self.on_load is not None:
            self.on_load(self)
        return backend

    async def ensure_loaded(self) -> Backend:
        """The loaded backend: loaded now if there is none, loaded again if its worker
        died (at most ``max_reloads`` times). :class:`SessionFailed` when it cannot be."""
        if self.backend is not None and self.backend.alive:
            return self.backend
        if self.backend is not None:
            await self.backend.close()
            self.backend = None
            self.reloads += 1
            if self.reloads > self.max_reloads:
                raise SessionFailed(f"skipped: the worker died {self.reloads} times")
            self.say("warning", "reloading the model after a crash")
        try:
            return await self.load()
        except BackendError as exc:
            raise SessionFailed(f"load failed: {exc}", exc) from exc

    async def after_failure(self, ok: bool) -> bool:
        """After a request (``ok`` its outcome): True when the configuration crashed, not
        the request, and a safer one is in place (once): the backend is closed, load
        again and retry that request. False: keep the request's result."""
        backend = self.backend
        safer = None if ok or self.fallback or backend is None else backend.fallback()
        if safer is None:
            return False
        assert backend is not None
        self.local, self.fallback = safer  # the backend's spec (resolved files) made safer
        self.say("warning", f"{self.fallback}; reloading")
        await backend.close()
        self.backend, self.held = None, False
        return True

    def flag(self, flags: list[str]) -> None:
        """Mark a request served after the fallback with the backend's flag."""
        if self.fallback and self.backend is not None and self.backend.fallback_flag:
            flags.append(self.backend.fallback_flag)

    def cancel(self) -> None:
        if self.backend is not None:
            self.backend.cancel()

    async def close(self) -> None:
        self.held = False
        if self.backend is not None:
            await self.backend.close()
            self.backend = None
