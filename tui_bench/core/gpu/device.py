"""What the GPU probe knows and reads: one device (a GPU, or a MIG slice of one) with its
fixed facts, and one reading summed over the devices the model uses."""

from __future__ import annotations

from dataclasses import dataclass, field

MB = 1024 * 1024


@dataclass
class GpuReading:
    """One sample of the model's GPUs: memory summed over them, the model process's own
    share, the cumulative energy counter and the active throttle reasons. Every figure
    is None when no device answered, never zero.

    ``partial``: some device did not answer this time; its last figures stand in for it
    (so a sum does not drop), and ``errors`` says which device failed and why
    (``"GPU 1: NVML: GPU is lost"``). ``energy_by_device``: each counter's reading (mJ) by
    device label, what ``energy_mj`` sums. ``proc_state``/``proc_reason``: why the model
    process's own memory cannot be read (``n/a (container PIDs)``), for a sample that
    asked for a process; None while it can be."""

    used_mb: float | None = None
    total_mb: float | None = None
    proc_mb: float | None = None
    energy_mj: float | None = None
    throttle: tuple[str, ...] = ()
    partial: bool = False
    errors: tuple[str, ...] = ()
    energy_by_device: dict[str, float] = field(default_factory=dict)
    proc_state: str | None = None
    proc_reason: str | None = None


@dataclass
class GpuDevice:
    """A GPU as NVML numbers it (``index``: NVML's order, which is PCI bus order), or one
    MIG slice of it (``mig_index`` set; ``index`` is then its parent's).

    ``error``: why the device could not be used at start-up (it is kept, and shown).
    ``cuda_index``: its number for the model's worker (CUDA's numbering of the devices
    ``CUDA_VISIBLE_DEVICES`` leaves visible), None when the worker cannot see it."""

    index: int
    name: str
    total_mb: float | None
    driver: str | None = None
    uuid: str | None = None
    pci_bus_id: str | None = None
    compute_capability: str | None = None
    power_limit_w: float | None = None
    mig_mode: str | None = None  # "enabled", "disabled"; None: the GPU has no MIG
    mig_index: int | None = None
    gpu_instance: int | None = None
    compute_instance: int | None = None
    memory_v2: bool = False  # nvmlDeviceGetMemoryInfo_v2 answers: "used" without reserved
    memory_note: str | None = None  # why memory cannot be read, when it cannot
    energy: bool = False
    energy_note: str | None = None  # why there is no energy counter
    error: str | None = None
    slices: list[GpuDevice] = field(default_factory=list)
    cuda_index: int | None = None

    @property
    def label(self) -> str:
        """``GPU 1`` or ``GPU 1 MIG 2``: how messages name the device."""
        base = f"GPU {self.index}"
        return base if self.mig_index is None else f"{base} MIG {self.mig_index}"

    @property
    def is_slice(self) -> bool:
        return self.mig_index is not None
