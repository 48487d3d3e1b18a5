"""NVIDIA GPUs through NVML: the devices the model's worker uses and their readings.

Modules: :mod:`.device` (a device and a reading), :mod:`.nvml` (the NVML calls with
their fallbacks), :mod:`.visible` (``CUDA_VISIBLE_DEVICES`` and CUDA's numbering),
:mod:`.procs` (the model process's own memory, and containers), :mod:`.probe` (the probe),
:mod:`.facts` (what is recorded and shown).
"""

from __future__ import annotations

from tui_bench.core.gpu.device import MB, GpuDevice, GpuReading
from tui_bench.core.gpu.probe import GpuProbe

__all__ = ["MB", "GpuDevice", "GpuProbe", "GpuReading"]
