"""The NVML calls the probe makes, each with the fallback older drivers need, and the
reasons NVML gives turned into short text.

Every function takes the ``pynvml`` module (nvidia-ml-py) as ``nv``: the probe imports
it, the tests hand in a stand-in with the same names and the same error classes.
"""

from __future__ import annotations

from typing import Any

from tui_bench.core.gpu.device import MB, GpuDevice

# Clock-event reasons that slow the GPU, by NVML's bit masks (nvmlClocksEventReason*,
# the same bits as the older nvmlClocksThrottleReason*). Left out: idle (nothing runs),
# applications clocks and display clocks (settings, not a slowdown under load).
THROTTLE_BITS: tuple[tuple[int, str], ...] = (
    (0x0000000000000004, "power"),  # SwPowerCap: kept under the power limit
    (0x0000000000000008, "hw_slowdown"),  # HwSlowdown: clocks halved or worse
    (0x0000000000000010, "sync_boost"),  # SyncBoost: held to a group's slowest GPU
    (0x0000000000000020, "thermal"),  # SwThermalSlowdown
    (0x0000000000000040, "hw_thermal"),  # HwThermalSlowdown
    (0x0000000000000080, "hw_power_brake"),  # HwPowerBrakeSlowdown (external brake)
    (0x0000000000000200, "board_limit"),
    (0x0000000000000400, "reliability"),
)

# NVML_ERROR_NOT_FOUND: a MIG slot with no MIG device in it
_NOT_FOUND = 6


def throttle_names(mask: int) -> tuple[str, ...]:
    return tuple(name for bit, name in THROTTLE_BITS if mask & bit)


def text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def reason(exc: BaseException) -> str:
    """NVML's own words for an error: ``NVML: GPU is lost``."""
    return f"NVML: {str(exc) or type(exc).__name__}"


def errors(nv: Any) -> tuple[type[BaseException], ...]:
    """What an NVML call raises: NVMLError and its subclasses, and the wrapper's
    NVMLLibraryMismatchError (an unversioned call on a driver without that version)."""
    found = [getattr(nv, n, None) for n in ("NVMLError", "NVMLLibraryMismatchError")]
    classes = tuple(c for c in found if isinstance(c, type) and issubclass(c, BaseException))
    return classes or (Exception,)


def is_missing(nv: Any, exc: BaseException) -> bool:
    """The driver lacks the function (an older driver than this nvidia-ml-py)."""
    kinds = [
        getattr(nv, n, None) for n in ("NVMLError_FunctionNotFound", "NVMLLibraryMismatchError")
    ]
    return any(isinstance(k, type) and isinstance(exc, k) for k in kinds)


def cuda_driver_version(nv: Any) -> str | None:
    """``nvmlSystemGetCudaDriverVersion``: 12060 -> ``12.6``, the newest CUDA the driver runs."""
    try:
        v = int(nv.nvmlSystemGetCudaDriverVersion())
    except (*errors(nv), AttributeError, TypeError, ValueError):
        return None
    return f"{v // 1000}.{(v % 1000) // 10}"


def memory(nv: Any, handle: Any, v2: bool) -> tuple[int, int]:
    """(used, total) bytes. Version 2's ``used`` leaves out the memory the driver and
    firmware reserve; version 1's includes it (about 0.5-1 GB on a data-centre GPU)."""
    if v2:
        mem = nv.nvmlDeviceGetMemoryInfo(handle, version=nv.nvmlMemory_v2)
    else:
        mem = nv.nvmlDeviceGetMemoryInfo(handle)
    return int(mem.used), int(mem.total)


def memory_first(nv: Any, handle: Any) -> tuple[bool, tuple[int, int] | None, str | None]:
    """Which memory call this device answers (v2 first), its first answer, or why none."""
    if hasattr(nv, "nvmlMemory_v2"):
        try:
            return True, memory(nv, handle, True), None
        except errors(nv):
            pass  # an older driver (no _v2, or a version mismatch): version 1 below
    try:
        return False, memory(nv, handle, False), None
    except errors(nv) as exc:
        return False, None, reason(exc)


def processes(nv: Any, handle: Any, state: dict[str, bool]) -> list[Any]:
    """The compute processes on a device (``pid``, ``usedGpuMemory`` in bytes or None).

    nvidia-ml-py's unversioned call is ``_v3``; drivers before 510 (and 535.98, which
    removed it again) have only ``_v2``: after the first miss ``state["v2"]`` is set and
    ``_v2`` is called directly."""
    if not state.get("v2"):
        try:
            return list(nv.nvmlDeviceGetComputeRunningProcesses(handle))
        except errors(nv) as exc:
            if not is_missing(nv, exc) or not hasattr(
                nv, "nvmlDeviceGetComputeRunningProcesses_v2"
            ):
                raise
            state["v2"] = True
    return list(nv.nvmlDeviceGetComputeRunningProcesses_v2(handle))


def clock_reasons(nv: Any, handle: Any) -> int:
    """The active clock-event reasons as a bit mask (the call was named ...Throttle...
    before driver 535)."""
    fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
    if fn is not None:
        try:
            return int(fn(handle))
        except errors(nv) as exc:
            if not is_missing(nv, exc):
                raise
    return int(nv.nvmlDeviceGetCurrentClocksThrottleReasons(handle))


def energy(nv: Any, handle: Any) -> int:
    """Millijoules since the driver was loaded (Volta and newer; whole GPUs only)."""
    return int(nv.nvmlDeviceGetTotalEnergyConsumption(handle))


def _optional(nv: Any, call: Any, *args: Any) -> Any:
    """A fact some GPUs or drivers do not give: None then."""
    if call is None:
        return None
    try:
        return call(*args)
    except (*errors(nv), AttributeError):
        return None


Memories = dict[str, tuple[int, int]]


def read_gpu(nv: Any, index: int, driver: str | None) -> tuple[GpuDevice, dict[str, Any], Memories]:
    """One GPU by NVML index, its facts and MIG slices; the handles and first memory
    readings (used, total bytes) of it and its slices, by label.

    A failure that leaves the device unusable is kept in ``error``, never raised."""
    handles: dict[str, Any] = {}
    mems: Memories = {}
    try:
        h = nv.nvmlDeviceGetHandleByIndex(index)
        name = text(nv.nvmlDeviceGetName(h))
        uuid = text(nv.nvmlDeviceGetUUID(h))
    except errors(nv) as exc:
        return GpuDevice(index, f"GPU {index}", None, driver, error=reason(exc)), handles, mems
    dev = GpuDevice(index, name, None, driver, uuid)
    handles[dev.label] = h
    pci = _optional(nv, nv.nvmlDeviceGetPciInfo, h)
    dev.pci_bus_id = text(pci.busId) if pci is not None else None
    cc = _optional(nv, nv.nvmlDeviceGetCudaComputeCapability, h)
    dev.compute_capability = f"{cc[0]}.{cc[1]}" if cc else None
    limit = _optional(nv, nv.nvmlDeviceGetPowerManagementLimit, h)
    dev.power_limit_w = limit / 1000 if limit is not None else None  # NVML: milliwatts
    dev.memory_v2, mem, dev.memory_note = memory_first(nv, h)
    dev.total_mb = mem[1] / MB if mem else None
    if mem:
        mems[dev.label] = mem
    try:
        dev.energy = energy(nv, h) >= 0
    except errors(nv) as exc:
        dev.energy_note = f"no energy counter ({reason(exc)}; Volta or newer has one)"
    mode = _optional(nv, getattr(nv, "nvmlDeviceGetMigMode", None), h)
    if mode is not None:
        enabled = getattr(nv, "NVML_DEVICE_MIG_ENABLE", 1)
        dev.mig_mode = "enabled" if mode[0] == enabled else "disabled"
    if dev.mig_mode == "enabled":
        _read_slices(nv, dev, h, handles, mems)
    return dev, handles, mems


def _read_slices(
    nv: Any, parent: GpuDevice, h: Any, handles: dict[str, Any], mems: Memories
) -> None:
    """A MIG-enabled GPU's slices, each through its own handle: memory and processes are
    per slice; the parent's figures cover all of them (and other users' slices)."""
    try:
        count = int(nv.nvmlDeviceGetMaxMigDeviceCount(h))
    except errors(nv) as exc:
        parent.error = f"MIG devices cannot be listed ({reason(exc)})"
        return
    for j in range(count):
        try:
            mh = nv.nvmlDeviceGetMigDeviceHandleByIndex(h, j)
        except errors(nv) as exc:
            if getattr(exc, "value", None) == _NOT_FOUND:
                continue  # an empty slot
            s = GpuDevice(parent.index, f"MIG {j}", None, parent.driver, mig_index=j)
            s.error = reason(exc)
            parent.slices.append(s)
            continue
        s = GpuDevice(parent.index, parent.name, None, parent.driver, mig_index=j)
        s.pci_bus_id, s.compute_capability = parent.pci_bus_id, parent.compute_capability
        try:
            s.name = text(nv.nvmlDeviceGetName(mh))
            s.uuid = text(nv.nvmlDeviceGetUUID(mh))
        except errors(nv) as exc:
            s.error = reason(exc)
            parent.slices.append(s)
            continue
        s.gpu_instance = _optional(nv, getattr(nv, "nvmlDeviceGetGpuInstanceId", None), mh)
        s.compute_instance = _optional(nv, getattr(nv, "nvmlDeviceGetComputeInstanceId", None), mh)
        s.memory_v2, mem, s.memory_note = memory_first(nv, mh)
        s.total_mb = mem[1] / MB if mem else None
        if mem:
            mems[s.label] = mem
        s.energy_note = "no energy counter on a MIG slice (NVML counts the whole GPU)"
        handles[s.label] = mh
        parent.slices.append(s)
