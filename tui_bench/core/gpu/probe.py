"""The GPU probe: NVML opened once, the devices the model's worker uses, and one reading
of them per sample, with a clear "no GPU" state and per-device failures kept apart.

At start-up every GPU NVML lists is read on its own: one that fails (no permission on a
MIG slice, memory not reported on a unified-memory system, a lost GPU) is kept with its
reason and the others work. The worker's devices follow ``CUDA_VISIBLE_DEVICES`` (see
:mod:`.visible`); :meth:`GpuProbe.select` and :meth:`GpuProbe.use_model_devices` narrow
them to the ones a model uses. During sampling a device that stops answering keeps its
last figures in the sums (they do not drop) and the reading is marked partial; a figure
that no device gave is None, never zero.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

from tui_bench.core.gpu import nvml
from tui_bench.core.gpu.device import MB, GpuDevice, GpuReading
from tui_bench.core.gpu.procs import ProcMemory
from tui_bench.core.gpu.visible import ORDER_ENV, VISIBLE_ENV, match_reported, resolve, units


class GpuProbe:
    """NVML access with a clear "not available" state."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.available = False
        self.reason = ""
        self.driver: str | None = None
        self.cuda_driver: str | None = None
        self.cuda_visible = env.get(VISIBLE_ENV)
        self.cuda_order = env.get(ORDER_ENV)
        self.gpus: list[GpuDevice] = []  # every GPU NVML lists, in its (PCI) order
        self.visible: list[GpuDevice] = []  # what the worker sees, in its numbering
        self.order_exact = True
        self.visible_note = ""
        self.selection_note = "every visible device"
        self.procs = ProcMemory()
        self._selected: list[int] | None = None
        self._handles: dict[str, Any] = {}
        self._last_mem: dict[str, tuple[int, int]] = {}
        self._last_energy: dict[str, int] = {}
        self._proc_calls: dict[str, bool] = {}
        self._nvml: Any = None
        try:
            import pynvml
        except ImportError:
            self.reason = "no NVIDIA GPU (nvidia-ml-py is not installed)"
            return
        try:
            pynvml.nvmlInit()
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded ...
            self.reason = f"no NVIDIA GPU ({nvml.reason(exc)})"
            return
        self._nvml = nv = pynvml
        try:
            self.driver = nvml.text(nv.nvmlSystemGetDriverVersion())
            count = int(nv.nvmlDeviceGetCount())
        except nvml.errors(nv) as exc:
            self.reason = f"NVML error: {nvml.reason(exc)}"
            return
        self.cuda_driver = nvml.cuda_driver_version(nv)
        for i in range(count):
            gpu, handles, mems = nvml.read_gpu(nv, i, self.driver)
            self.gpus.append(gpu)
            self._handles.update(handles)
            self._last_mem.update(mems)  # a device failing at the first sample still counts
        if not self.gpus:
            self.reason = "no NVIDIA GPU (NVML found no device)"
            return
        seen = resolve(self.gpus, self.cuda_visible, self.cuda_order)
        self.visible, self.order_exact, self.visible_note = seen.devices, seen.exact, seen.note
        working = [d for d in self.visible if d.error is None]
        if not self.visible:
            self.reason = f"no GPU visible to the worker ({seen.note})"
            return
        if not working:
            self.reason = "NVML error on every device: " + "; ".join(
                f"{d.label}: {d.error}" for d in self.visible
            )
            return
        self.available = True
        # every GPU NVML lists, not only the worker's: any of them may show foreign PIDs
        self._check_processes([u for g in self.gpus for u in units(g) if u.error is None])

    # ------------------------------------------------------------------ the devices

    @property
    def devices(self) -> list[GpuDevice]:
        """The devices measured: the visible ones, or those :meth:`select` chose."""
        if self._selected is None:
            return list(self.visible)
        return [d for d in self.visible if d.cuda_index in self._selected]

    @property
    def energy_labels(self) -> list[str]:
        """The measured devices whose energy counter a reading sums."""
        return [d.label for d in self.devices if d.error is None and d.energy]

    def name_of(self, label: str) -> str | None:
        """The name NVML gives the device labelled ``label`` (``GPU 1``, ``GPU 0 MIG 2``)."""
        found = [d.name for g in self.gpus for d in (g, *g.slices) if d.label == label]
        return found[0] if found else None

    @property
    def total_mb(self) -> float | None:
        known = [d.total_mb for d in self.devices if d.error is None and d.total_mb is not None]
        return sum(known) if self.available and known else None

    def select(self, cuda_indices: list[int] | None) -> None:
        """Measure only these devices (the worker's CUDA numbers); None: every visible one."""
        self._selected = None if cuda_indices is None else [int(i) for i in cuda_indices]
        if cuda_indices is None:
            self.selection_note = "every visible device"
        elif not self._selected:
            self.selection_note = "none: the model uses no GPU"
        else:
            self.selection_note = "CUDA " + ", ".join(str(i) for i in self._selected)

    def use_model_devices(self, reported: list[dict[str, Any]] | None) -> None:
        """Narrow to the devices llama.cpp reports for the loaded model (the worker's
        ``info["gpu_devices"]``); None (not reported): every visible device."""
        if reported is None:
            self.select(None)
            self.procs.model_on_gpu = False
            return
        found, unmatched = match_reported(self.visible, reported)
        self.select(found)
        self.procs.model_on_gpu = bool(found)
        if found:
            self.selection_note += " (the devices llama.cpp reports for the model)"
        if unmatched:
            self.selection_note += f"; not matched to an NVML device: {', '.join(unmatched)}"

    def _check_processes(self, devices: list[GpuDevice]) -> None:
        """Can per-process memory be read here? Asked once, before any worker runs."""
        nv = self._nvml
        listed: list[Any] = []
        failures: list[str] = []
        for d in devices:
            try:
                listed += nvml.processes(nv, self._handles[d.label], self._proc_calls)
            except nvml.errors(nv) as exc:
                failures.append(f"{d.label}: {nvml.reason(exc)}")
        if failures and len(failures) == len(devices):
            self.procs.unsupported("NVML does not list processes (" + "; ".join(failures) + ")")
        else:
            self.procs.check_listing(listed)

    # ------------------------------------------------------------------ sampling

    def sample(self, pid: int | None) -> GpuReading:
        """The selected devices' memory, energy and throttle reasons, and ``pid``'s memory."""
        if not self.available:
            return GpuReading()
        nv = self._nvml
        devices = [d for d in self.devices if d.error is None]
        errors: list[str] = []
        mem: dict[str, tuple[int, int]] = {}
        answered = 0
        for d in devices:
            if d.total_mb is None:
                continue  # memory never readable here (noted at start-up)
            try:
                mem[d.label] = nvml.memory(nv, self._handles[d.label], d.memory_v2)
                answered += 1
            except nvml.errors(nv) as exc:
                errors.append(f"{d.label}: {nvml.reason(exc)}")
                if d.label in self._last_mem:
                    mem[d.label] = self._last_mem[d.label]  # stands in: the sum must not drop
        self._last_mem.update({k: v for k, v in mem.items() if answered})
        used = total = None
        if answered:
            used = sum(u for u, _ in mem.values()) / MB
            total = sum(t for _, t in mem.values()) / MB
        per_device: dict[str, float] = {}
        energy = self._energy(devices, errors, per_device)
        throttle = self._throttle(devices)
        proc = self._proc(pid, devices, errors) if pid is not None else None
        unreadable = pid is not None and proc is None and self.procs.readable is False
        why = (self.procs.label, self.procs.reason) if unreadable else None
        return GpuReading(
            used,
            total,
            proc,
            energy,
            throttle,
            partial=bool(errors),
            errors=tuple(errors),
            energy_by_device=per_device,
            proc_state=why[0] if why else None,
            proc_reason=why[1] if why else None,
        )

    def _energy(
        self, devices: list[GpuDevice], errors: list[str], per_device: dict[str, float]
    ) -> float | None:
        """The summed counter of ``devices``; each one's reading goes into ``per_device``."""
        nv = self._nvml
        values: dict[str, int] = {}
        answered = 0
        for d in devices:
            if not d.energy:
                continue
            try:
                values[d.label] = nvml.energy(nv, self._handles[d.label])
                answered += 1
            except nvml.errors(nv) as exc:
                if not any(e.startswith(f"{d.label}: ") for e in errors):
                    errors.append(f"{d.label}: {nvml.reason(exc)}")
                if d.label in self._last_energy:
                    values[d.label] = self._last_energy[d.label]
        if not answered:
            return None
        self._last_energy.update(values)
        per_device.update({k: float(v) for k, v in values.items()})
        return float(sum(values.values()))

    def _throttle(self, devices: list[GpuDevice]) -> tuple[str, ...]:
        """Clock-event reasons of the GPUs (a MIG slice's are its parent's: clocks are
        the whole GPU's)."""
        nv = self._nvml
        mask = 0
        for label in dict.fromkeys(f"GPU {d.index}" for d in devices):
            handle = self._handles.get(label)
            if handle is None:
                continue
            with contextlib.suppress(*nvml.errors(nv)):
                mask |= nvml.clock_reasons(nv, handle)
        return nvml.throttle_names(mask)

    def _proc(self, pid: int, devices: list[GpuDevice], errors: list[str]) -> float | None:
        if self.procs.state in ("container", "off"):
            return None
        nv = self._nvml
        listed: list[Any] = []
        for d in devices:
            try:
                listed += nvml.processes(nv, self._handles[d.label], self._proc_calls)
            except nvml.errors(nv) as exc:
                if not any(e.startswith(f"{d.label}: ") for e in errors):
                    errors.append(f"{d.label}: {nvml.reason(exc)}")
        return self.procs.observe(pid, listed)

    # ------------------------------------------------------------------ facts

    def describe(self) -> dict[str, Any]:
        """Host facts for the run's record: see :func:`tui_bench.core.gpu.facts.describe`."""
        from tui_bench.core.gpu.facts import describe

        return describe(self)

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()
            self._nvml = None
