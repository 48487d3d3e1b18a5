"""How many CPU threads a llama.cpp model gets by default, and why.

``os.cpu_count()`` counts every logical CPU of the machine. On a GPU node that is 100-200,
while a container may get a quota of a few CPUs and a job an affinity mask of a few
cores; llama.cpp's threads spin while they wait for each other, so one thread too many
for the CPUs really available stalls them all (slowdowns of several times). The default
is the smallest of three limits:

- the CPU affinity mask (``os.sched_getaffinity``): the CPUs this process may run on;
- the cgroup CPU quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``),
  rounded up, the smallest along the process's cgroup and its parents;
- physical cores among the allowed CPUs: SMT siblings (``thread_siblings_list`` in
  sysfs) count once, as llama.cpp's own tools count them. A VM's vCPUs count as the
  cores its topology says they are: siblings only where the hypervisor says so.

One function, :func:`default_threads`, for the worker (the threads it runs with) and the
run header (what it says about them).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_FILE = Path("/proc/self/cgroup")
MOUNTINFO_FILE = Path("/proc/self/mountinfo")
SYS_CPU = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class CpuQuota:
    cpus: float  # CPUs' worth of time per period, e.g. 1.5
    source: str  # where it was read, e.g. "cgroup v2 cpu.max"


@dataclass(frozen=True)
class ThreadCount:
    """The default thread count and the limits it was chosen from."""

    n: int
    reason: str  # the limit(s) that set it, e.g. "2 physical cores"
    limits: dict[str, float] = field(default_factory=dict)

    def text(self) -> str:
        return f"{self.n} thread{'s' if self.n != 1 else ''}: {self.reason}"

    def to_json(self) -> dict[str, object]:
        return {"n": self.n, "reason": self.reason, "limits": dict(self.limits)}


def affinity_cpus() -> set[int] | None:
    """The CPUs this process may run on, or None where the platform cannot say."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _mounts(mountinfo: str) -> list[tuple[str, str, str, str]]:
    """(root, mount point, filesystem type, super options) of every cgroup mount."""
    out = []
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if not sep or len(fields) < 5 or len(rest) < 3:
            continue
        if rest[0] in ("cgroup", "cgroup2"):
            out.append((fields[3], fields[4], rest[0], rest[2]))
    return out


def _cgroup_dirs(mount_point: Path, mount_root: str, path: str) -> list[Path]:
    """The process's cgroup folder under a mount and its parents up to the mount point.

    /proc/self/cgroup names the path from the hierarchy's root; the mount may show only a
    part of it (a container sees its own cgroup as the mount's root)."""
    rel = path
    root = mount_root.rstrip("/")
    if root and (rel == root or rel.startswith(root + "/")):
        rel = rel[len(root) :]
    parts = [p for p in rel.split("/") if p and p != ".."]
    dirs = [mount_point.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]
    # a path that does not exist under this mount (another namespace): the mount's own
    return [d for d in dirs if d.is_dir()] or [mount_point]


def cgroup_quota(
    cgroup: str | None = None, mountinfo: str | None = None, fs_root: Path = Path("/")
) -> CpuQuota | None:
    """The cgroup CPU quota in CPUs (the smallest along the hierarchy), None if unlimited.

    ``cgroup`` and ``mountinfo`` are the texts of /proc/self/cgroup and
    /proc/self/mountinfo (read when not given); ``fs_root`` prefixes mount points (tests).
    """
    cgroup = _read(CGROUP_FILE) if cgroup is None else cgroup
    mountinfo = _read(MOUNTINFO_FILE) if mountinfo is None else mountinfo
    if not cgroup or not mountinfo:
        return None
    v2_path = v1_path = None
    for line in cgroup.splitlines():
        hier, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hier == "0" and controllers == "":
            v2_path = path
        elif "cpu" in controllers.split(","):
            v1_path = path
    best: CpuQuota | None = None
    for root, point, fstype, options in _mounts(mountinfo):
        mount = fs_root / point.lstrip("/")
        if fstype == "cgroup2" and v2_path is not None:
            for d in _cgroup_dirs(mount, root, v2_path):
                best = _smaller(best, _v2_quota(d))
        elif fstype == "cgroup" and v1_path is not None and "cpu" in options.split(","):
            for d in _cgroup_dirs(mount, root, v1_path):
                best = _smaller(best, _v1_quota(d))
    return best


def _smaller(a: CpuQuota | None, b: CpuQuota | None) -> CpuQuota | None:
    if a is None:
        return b
    if b is None:
        return a
    return b if b.cpus < a.cpus else a


def _v2_quota(folder: Path) -> CpuQuota | None:
    text = _read(folder / "cpu.max")
    if not text:
        return None
    quota, _, period = text.partition(" ")
    try:
        q, p = int(quota), int(period or "100000")
    except ValueError:  # "max": no limit
        return None
    return CpuQuota(q / p, "cgroup v2 cpu.max") if q > 0 and p > 0 else None


def _v1_quota(folder: Path) -> CpuQuota | None:
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    try:
        q, p = int(quota or "-1"), int(period or "0")
    except ValueError:
        return None
    return CpuQuota(q / p, "cgroup v1 cpu.cfs_quota_us") if q > 0 and p > 0 else None


def physical_cores(cpus: set[int] | None, sys_cpu: Path = SYS_CPU) -> int | None:
    """Cores among ``cpus`` (all CPUs when None): SMT siblings count once.

    Read from sysfs (``core_cpus_list``, formerly ``thread_siblings_list``); where that
    cannot be read, psutil's count of the machine's physical cores."""
    if cpus:
        groups = set()
        for cpu in cpus:
            topo = sys_cpu / f"cpu{cpu}" / "topology"
            siblings = _read(topo / "core_cpus_list") or _read(topo / "thread_siblings_list")
            if not siblings:
                groups = set()
                break
            groups.add(siblings)
        if groups:
            return len(groups)
    try:
        import psutil

        return psutil.cpu_count(logical=False) or None
    except Exception:  # psutil cannot read the topology here
        return None


def default_threads(
    *,
    affinity: set[int] | None = None,
    quota: CpuQuota | None = None,
    physical: int | None = None,
    probe: bool = True,
) -> ThreadCount:
    """The smallest of affinity, quota (rounded up) and physical cores; at least 1.

    With ``probe`` (the default) what is not given is read from this process and host."""
    if probe:
        affinity = affinity if affinity is not None else affinity_cpus()
        quota = quota if quota is not None else cgroup_quota()
        physical = physical if physical is not None else physical_cores(affinity)
    # the order names the cause when several limits agree: a quota or the cores set by
    # the hardware, before the mask they happen to equal
    limits: list[tuple[str, int, str]] = []
    if quota is not None:
        n = max(1, math.ceil(quota.cpus - 1e-9))
        limits.append(("quota", n, f"CPU quota {quota.cpus:g} ({quota.source})"))
    if physical:
        limits.append(("physical_cores", physical, f"{physical} physical cores"))
    if affinity:
        limits.append(("affinity", len(affinity), f"{len(affinity)} CPUs in the affinity mask"))
    if not limits:
        n = os.cpu_count() or 1
        return ThreadCount(n, f"{n} logical CPUs (no other limit known)", {})
    n = min(value for _, value, _ in limits)
    reason = next(text for _, value, text in limits if value == n)
    return ThreadCount(n, reason, {key: value for key, value, _ in limits})
