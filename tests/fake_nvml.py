"""A stand-in for ``pynvml`` (nvidia-ml-py) shaped like real NVIDIA boxes.

It has the functions the GPU probe calls, with nvidia-ml-py's names, signatures and
return shapes, and raises nvidia-ml-py's own error classes (``NVMLError_NotSupported``,
``NVMLError_NoPermission``, ``NVMLError_GpuIsLost``, ``NVMLError_FunctionNotFound`` ...),
so the probe is tested against what it will meet:

- memory: ``nvmlDeviceGetMemoryInfo(h)`` (v1: ``used`` includes the reserved memory) and
  ``nvmlDeviceGetMemoryInfo(h, version=nvmlMemory_v2)`` (``used`` without it), the latter
  missing on an old driver (``FunctionNotFound``);
- processes: the unversioned call is ``_v3`` and, on a driver without it, raises
  ``NVMLLibraryMismatchError`` as nvidia-ml-py's wrapper does; ``_v2`` always works;
- MIG: ``nvmlDeviceGetMigMode``, ``nvmlDeviceGetMaxMigDeviceCount`` and
  ``nvmlDeviceGetMigDeviceHandleByIndex`` (``NotFound`` for an empty slot); slices have
  their own memory and processes, and no energy counter (``NotSupported``);
- the energy counter (mJ, advancing by a step at every read), clock-event reasons (with
  the older ``...ThrottleReasons`` name), compute capability, power limit (mW), PCI bus id.

A device's ``fail`` maps a function name (or ``"*"`` for every call on it) to the error it
raises; tests change it between samples to make a GPU fail mid-run.

:func:`install_shim` writes a ``pynvml.py`` that builds this stand-in from a JSON file, for
a ``tui-bench`` started as a child process.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pynvml as real

MB = 1024 * 1024


def nvml_error(code: int) -> Exception:
    """nvidia-ml-py's own error for an NVML return code (NVMLError maps it to its subclass)."""
    return real.NVMLError(code)


NOT_SUPPORTED = real.NVML_ERROR_NOT_SUPPORTED
NO_PERMISSION = real.NVML_ERROR_NO_PERMISSION
GPU_IS_LOST = real.NVML_ERROR_GPU_IS_LOST
NOT_FOUND = real.NVML_ERROR_NOT_FOUND
FUNCTION_NOT_FOUND = real.NVML_ERROR_FUNCTION_NOT_FOUND
LIBRARY_NOT_FOUND = real.NVML_ERROR_LIBRARY_NOT_FOUND  # no driver on this machine


@dataclass
class Proc:
    pid: int
    usedGpuMemory: int | None
    gpuInstanceId: int = 0xFFFFFFFF
    computeInstanceId: int = 0xFFFFFFFF


@dataclass
class Dev:
    """A GPU, or a MIG slice of one (``gi``/``ci`` set)."""

    name: str
    uuid: str
    total_mb: float
    used_mb: float = 0.0
    reserved_mb: float = 0.0  # v1's "used" adds this
    bus: str = "00000000:01:00.0"
    cc: tuple[int, int] = (9, 0)
    power_limit_mw: int = 700_000
    energy_mj: int | None = None  # None: no counter (NotSupported)
    energy_step_mj: int = 0
    clocks: int = 0  # clock-event reason bits
    procs: list[tuple[int, int | None]] = field(default_factory=list)
    mig: bool | None = None  # None: no MIG on this GPU; False: disabled; True: enabled
    slices: list[Dev | None] = field(default_factory=list)  # None: an empty MIG slot
    gi: int | None = None
    ci: int | None = None
    fail: dict[str, int] = field(default_factory=dict)  # function name or "*" -> code

    def check(self, fn: str) -> None:
        code = self.fail.get(fn, self.fail.get("*"))
        if code is not None:
            raise nvml_error(code)


def _mem(total: int, free: int, used: int, reserved: int, v2: bool) -> Any:
    if v2:
        m = real.c_nvmlMemory_v2_t()
        m.version, m.reserved = real.nvmlMemory_v2, reserved
    else:
        m = real.c_nvmlMemory_t()
    m.total, m.free, m.used = total, free, used
    return m


@dataclass
class FakeNvml:
    gpus: list[Dev]
    driver: str = "560.35.03"
    cuda: int = 12060
    memory_v2: bool = True  # the driver has nvmlDeviceGetMemoryInfo_v2
    procs_v3: bool = True  # ... nvmlDeviceGetComputeRunningProcesses_v3
    events_api: bool = True  # ... nvmlDeviceGetCurrentClocksEventReasons (535+)
    init_error: int | None = None
    calls: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FakeNvml:
        def dev(d: dict[str, Any] | None) -> Dev | None:
            if d is None:
                return None
            d = dict(d)
            d["slices"] = [dev(s) for s in d.get("slices", [])]
            d["procs"] = [tuple(p) for p in d.get("procs", [])]
            d["cc"] = tuple(d.get("cc", (9, 0)))
            return Dev(**d)

        opts = {k: v for k, v in data.items() if k != "gpus"}
        return cls([g for g in (dev(x) for x in data["gpus"]) if g is not None], **opts)

    def module(self) -> types.ModuleType:
        """A ``pynvml`` module over these devices."""
        m = types.ModuleType("pynvml")
        for name in dir(real):  # constants and error classes, as nvidia-ml-py has them
            if name.startswith(("NVML", "nvmlMemory_v", "nvmlClocks", "c_nvml")):
                setattr(m, name, getattr(real, name))
        for name in dir(self):
            if name.startswith("nvml"):
                setattr(m, name, getattr(self, name))
        if not self.events_api:
            delattr(m, "nvmlDeviceGetCurrentClocksEventReasons")
        return m

    def _log(self, fn: str, h: Dev | None = None) -> None:
        self.calls.append(fn)
        if h is not None:
            h.check(fn)

    # -- system

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise nvml_error(self.init_error)

    def nvmlShutdown(self) -> None:
        pass

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.driver

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return self.cuda

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> Dev:
        if not 0 <= i < len(self.gpus):
            raise nvml_error(real.NVML_ERROR_INVALID_ARGUMENT)
        h = self.gpus[i]
        self._log("nvmlDeviceGetHandleByIndex", h)
        return h

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> Dev:
        for g in self.gpus:
            for d in (g, *g.slices):
                if d is not None and d.uuid == uuid:
                    return d
        raise nvml_error(NOT_FOUND)

    # -- facts

    def nvmlDeviceGetName(self, h: Dev) -> str:
        self._log("nvmlDeviceGetName", h)
        return h.name

    def nvmlDeviceGetUUID(self, h: Dev) -> str:
        self._log("nvmlDeviceGetUUID", h)
        return h.uuid

    def nvmlDeviceGetPciInfo(self, h: Dev) -> Any:
        self._log("nvmlDeviceGetPciInfo", h)
        info = real.nvmlPciInfo_t()
        info.busId = h.bus.encode()
        return info

    def nvmlDeviceGetCudaComputeCapability(self, h: Dev) -> tuple[int, int]:
        self._log("nvmlDeviceGetCudaComputeCapability", h)
        return h.cc

    def nvmlDeviceGetPowerManagementLimit(self, h: Dev) -> int:
        self._log("nvmlDeviceGetPowerManagementLimit", h)
        if h.gi is not None:
            raise nvml_error(NOT_SUPPORTED)
        return h.power_limit_mw

    # -- memory

    def nvmlDeviceGetMemoryInfo(self, h: Dev, version: int | None = None) -> Any:
        v2 = bool(version)
        self._log("nvmlDeviceGetMemoryInfo_v2" if v2 else "nvmlDeviceGetMemoryInfo", h)
        if v2 and not self.memory_v2:
            raise nvml_error(FUNCTION_NOT_FOUND)
        total, used, reserved = (int(x * MB) for x in (h.total_mb, h.used_mb, h.reserved_mb))
        shown = used if v2 else used + reserved
        return _mem(total, total - used - reserved, shown, reserved, v2)

    # -- processes

    def _procs(self, h: Dev) -> list[Any]:
        return [Proc(pid, used) for pid, used in h.procs]

    def nvmlDeviceGetComputeRunningProcesses_v2(self, h: Dev) -> list[Any]:
        self._log("nvmlDeviceGetComputeRunningProcesses_v2", h)
        return self._procs(h)

    def nvmlDeviceGetComputeRunningProcesses_v3(self, h: Dev) -> list[Any]:
        self._log("nvmlDeviceGetComputeRunningProcesses_v3", h)
        if not self.procs_v3:
            raise nvml_error(FUNCTION_NOT_FOUND)
        return self._procs(h)

    def nvmlDeviceGetComputeRunningProcesses(self, h: Dev) -> list[Any]:
        # nvidia-ml-py: @throwOnVersionMismatch around _v3
        try:
            return self.nvmlDeviceGetComputeRunningProcesses_v3(h)
        except real.NVMLError_FunctionNotFound:
            raise real.NVMLLibraryMismatchError(
                "Unversioned function called and the pyNVML version does not match the "
                "NVML lib version."
            ) from None

    # -- energy and clocks

    def nvmlDeviceGetTotalEnergyConsumption(self, h: Dev) -> int:
        self._log("nvmlDeviceGetTotalEnergyConsumption", h)
        if h.energy_mj is None:
            raise nvml_error(NOT_SUPPORTED)
        h.energy_mj += h.energy_step_mj
        return h.energy_mj

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: Dev) -> int:
        self._log("nvmlDeviceGetCurrentClocksEventReasons", h)
        return h.clocks

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h: Dev) -> int:
        self._log("nvmlDeviceGetCurrentClocksThrottleReasons", h)
        return h.clocks

    # -- MIG

    def nvmlDeviceGetMigMode(self, h: Dev) -> list[int]:
        self._log("nvmlDeviceGetMigMode", h)
        if h.mig is None:
            raise nvml_error(NOT_SUPPORTED)
        mode = real.NVML_DEVICE_MIG_ENABLE if h.mig else real.NVML_DEVICE_MIG_DISABLE
        return [mode, mode]

    def nvmlDeviceGetMaxMigDeviceCount(self, h: Dev) -> int:
        self._log("nvmlDeviceGetMaxMigDeviceCount", h)
        return len(h.slices) if h.mig else 0

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h: Dev, index: int) -> Dev:
        self._log("nvmlDeviceGetMigDeviceHandleByIndex", h)
        s = h.slices[index]
        if s is None:
            raise nvml_error(NOT_FOUND)
        return s

    def nvmlDeviceGetGpuInstanceId(self, h: Dev) -> int:
        if h.gi is None:
            raise nvml_error(real.NVML_ERROR_INVALID_ARGUMENT)
        return h.gi

    def nvmlDeviceGetComputeInstanceId(self, h: Dev) -> int:
        if h.ci is None:
            raise nvml_error(real.NVML_ERROR_INVALID_ARGUMENT)
        return h.ci


def mig_slice(parent: Dev, gi: int, g: int, total_mb: float, **kw: Any) -> Dev:
    """A MIG slice (GPU instance ``gi``, one compute instance, ``g`` compute slices) as
    NVML names it, with its own MIG UUID and its parent's PCI bus id."""
    kw.setdefault("uuid", f"MIG-{gi:08x}-aaaa-bbbb-cccc-{parent.uuid[-12:]}")
    name = f"{parent.name} MIG {g}g.{round(total_mb / 1024)}gb"
    return Dev(name, total_mb=total_mb, bus=parent.bus, cc=parent.cc, gi=gi, ci=0, **kw)


SHIM = """\
import importlib, json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
del sys.modules["pynvml"]
importlib.import_module("pynvml")  # nvidia-ml-py itself: its error classes and structs
sys.path.insert(0, {tests!r})
import fake_nvml
with open({spec!r}) as fh:
    sys.modules["pynvml"] = fake_nvml.FakeNvml.from_json(json.load(fh)).module()
"""


def install_shim(folder: Path, spec: dict[str, Any]) -> Path:
    """A folder to put first on PYTHONPATH: ``import pynvml`` then gives this stand-in."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").write_text(json.dumps(spec))
    tests = str(Path(__file__).resolve().parent)
    (folder / "pynvml.py").write_text(SHIM.format(tests=tests, spec=str(folder / "spec.json")))
    return folder
