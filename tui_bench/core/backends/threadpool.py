"""llama.cpp's CPU threadpool through ctypes, for the worker process.

llama-bench creates its own ggml threadpool (thread count, polling level, priority, CPU
mask) and attaches it to the context; llama-cpp-python binds none of these functions,
but ``libggml-cpu`` and ``libllama`` export them. The worker does the same as llama-bench
so that both run llama.cpp the same way.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any


class _ThreadpoolParams(ctypes.Structure):
    # ggml.h: struct ggml_threadpool_params (GGML_MAX_N_THREADS = 512)
    _fields_ = [
        ("cpumask", ctypes.c_bool * 512),
        ("n_threads", ctypes.c_int),
        ("prio", ctypes.c_int),
        ("poll", ctypes.c_uint32),
        ("strict_cpu", ctypes.c_bool),
        ("paused", ctypes.c_bool),
    ]


class ThreadPool:
    """A ggml CPU threadpool attached to a context, as llama-bench makes one.

    llama-cpp-python does not bind these functions; libggml-cpu and libllama export them.
    Where they cannot be found, llama.cpp's default (a threadpool per graph, default
    polling) stays, and :meth:`describe` says so.
    """

    def __init__(self, ll: Any, n_threads: int, poll: int, prio: int) -> None:
        self.n_threads, self.poll, self.prio = n_threads, poll, prio
        self.handle: int | None = None
        self.error: str | None = None
        try:
            cpu = _ggml_cpu_lib(ll)
            new = cpu.ggml_threadpool_new
            new.restype = ctypes.c_void_p
            new.argtypes = [ctypes.POINTER(_ThreadpoolParams)]
            init = cpu.ggml_threadpool_params_init
            init.restype = None
            init.argtypes = [ctypes.POINTER(_ThreadpoolParams), ctypes.c_int]
            self._free = cpu.ggml_threadpool_free
            self._free.restype = None
            self._free.argtypes = [ctypes.c_void_p]
            self._attach = ll._lib.llama_attach_threadpool
            self._attach.restype = None
            self._attach.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        except (AttributeError, OSError) as exc:
            self.error = f"llama.cpp's threadpool API not found ({exc})"
            return
        params = _ThreadpoolParams()
        init(ctypes.byref(params), n_threads)
        params.poll = poll
        params.prio = prio
        self.handle = new(ctypes.byref(params))
        if not self.handle:
            self.error = "ggml_threadpool_new failed"

    def attach(self, ctx: Any) -> None:
        if self.handle:
            self._attach(ctx, self.handle, None)

    def free(self) -> None:
        if self.handle:
            self._free(self.handle)
            self.handle = None

    def describe(self) -> dict[str, Any]:
        if self.error:
            return {"attached": False, "n_threads": self.n_threads, "reason": self.error}
        return {"attached": True, "n_threads": self.n_threads, "poll": self.poll, "prio": self.prio}


def _ggml_cpu_lib(ll: Any) -> ctypes.CDLL:
    """The libggml-cpu libllama loaded (not another copy of it: see loaded_libraries)."""
    from tui_bench.core.backends.llama_devices import loaded_libraries

    libs = loaded_libraries(ll, ("libggml-cpu", "ggml-cpu")) or loaded_libraries(
        ll, ("libggml", "ggml")
    )
    for lib in libs:
        if hasattr(lib, "ggml_threadpool_new"):
            return lib
    lib_dir = os.path.dirname(ll._lib._name)
    raise OSError(f"no loaded library with ggml_threadpool_new in {lib_dir}")
