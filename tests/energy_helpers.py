"""Stand-ins for the energy tests: a clock the test drives and GPU probes with (or
without) an energy counter that runs at a set power on that clock."""

from __future__ import annotations

from tui_bench.core.telemetry import GpuReading

MS = 1_000_000


class Clock:
    """A perf_counter_ns stand-in: ``step_ms`` later at every reading."""

    def __init__(self, step_ms: int = 5) -> None:
        self.now = 1_000 * MS
        self.step = step_ms * MS

    def __call__(self) -> int:
        self.now += self.step
        return self.now


class CounterGpu:
    """A GPU probe whose energy counter runs at ``watts`` on the test's clock."""

    available = True
    reason = ""

    def __init__(self, clock: Clock, watts: float) -> None:
        self.clock, self.watts = clock, watts
        self.throttle: tuple[str, ...] = ()

    def sample(self, pid: int | None) -> GpuReading:
        # mJ = W x ms; read at the clock's current reading (the same offset every sample)
        return GpuReading(energy_mj=self.watts * self.clock.now / MS, throttle=self.throttle)

    def describe(self) -> dict[str, object]:
        return {"available": True, "devices": []}

    def use_model_devices(self, devices: object) -> None:
        pass

    def close(self) -> None:
        pass


class NoGpu:
    available = False
    reason = "no NVIDIA GPU (NVML: Driver Not Loaded)"

    def sample(self, pid: int | None) -> GpuReading:
        return GpuReading()

    def describe(self) -> dict[str, object]:
        return {"available": False, "reason": self.reason}

    def use_model_devices(self, devices: object) -> None:
        pass

    def close(self) -> None:
        pass
