"""The default llama.cpp thread count: affinity, cgroup quota (v1 and v2) and physical
cores, read from files laid out as Linux lays them out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui_bench.core.cpus import (
    CpuQuota,
    affinity_cpus,
    cgroup_quota,
    default_threads,
    physical_cores,
)

V2_MOUNT = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTS = (
    "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def test_v2_quota_is_the_smallest_along_the_hierarchy(tmp_path: Path) -> None:
    root = tmp_path / "sys/fs/cgroup"
    write(root / "cpu.max", "max 100000")
    write(root / "job.slice/cpu.max", "250000 100000")  # 2.5 CPUs for the job
    write(root / "job.slice/step/cpu.max", "max 100000")
    cgroup = "0::/job.slice/step\n"
    quota = cgroup_quota(cgroup, V2_MOUNT, fs_root=tmp_path)
    assert quota == CpuQuota(2.5, "cgroup v2 cpu.max")
    # a tighter limit deeper down wins
    write(root / "job.slice/step/cpu.max", "50000 100000")
    assert cgroup_quota(cgroup, V2_MOUNT, fs_root=tmp_path) == CpuQuota(0.5, "cgroup v2 cpu.max")


def test_v2_without_a_limit_and_a_container_namespace(tmp_path: Path) -> None:
    root = tmp_path / "sys/fs/cgroup"
    write(root / "cpu.max", "max 100000")
    assert cgroup_quota("0::/\n", V2_MOUNT, fs_root=tmp_path) is None
    # inside a container (cgroup namespace): its own cgroup is the mount's root, and
    # /proc/self/cgroup names a path that does not exist under the mount
    write(root / "cpu.max", "400000 100000")
    quota = cgroup_quota("0::/../kubepods/pod1/ctr\n", V2_MOUNT, fs_root=tmp_path)
    assert quota is not None and quota.cpus == 4.0


def test_v1_quota_under_a_mount_that_shows_part_of_the_hierarchy(tmp_path: Path) -> None:
    # the container's cgroup /docker/abc is the mount's root (mountinfo field 4)
    mounts = "32 31 0:29 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\n"
    cpu = tmp_path / "sys/fs/cgroup/cpu"
    write(cpu / "cpu.cfs_quota_us", "150000")
    write(cpu / "cpu.cfs_period_us", "100000")
    cgroup = "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n"
    quota = cgroup_quota(cgroup, mounts, fs_root=tmp_path)
    assert quota == CpuQuota(1.5, "cgroup v1 cpu.cfs_quota_us")


def test_v1_unlimited_and_unreadable(tmp_path: Path) -> None:
    cpu = tmp_path / "sys/fs/cgroup/cpu,cpuacct"
    write(cpu / "cpu.cfs_quota_us", "-1")
    write(cpu / "cpu.cfs_period_us", "100000")
    assert cgroup_quota("3:cpu,cpuacct:/\n", V1_MOUNTS, fs_root=tmp_path) is None
    assert cgroup_quota("3:cpu,cpuacct:/\n", "", fs_root=tmp_path) is None
    assert cgroup_quota("", V1_MOUNTS, fs_root=tmp_path) is None


def _topology(tmp_path: Path, siblings: dict[int, str]) -> Path:
    for cpu, text in siblings.items():
        write(tmp_path / f"cpu{cpu}/topology/thread_siblings_list", text)
    return tmp_path


def test_smt_siblings_count_once_and_vcpus_count_as_the_vm_says(tmp_path: Path) -> None:
    smt = _topology(tmp_path / "smt", {0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"})
    assert physical_cores({0, 1, 2, 3}, smt) == 2
    assert physical_cores({0, 2}, smt) == 1  # two hyperthreads of one core
    vm = _topology(tmp_path / "vm", {0: "0", 1: "1"})  # each vCPU its own core
    assert physical_cores({0, 1}, vm) == 2


def test_default_is_the_smallest_limit_and_says_which() -> None:
    four = {0, 1, 2, 3}
    count = default_threads(affinity=four, quota=None, physical=2, probe=False)
    assert (count.n, count.reason) == (2, "2 physical cores")
    assert count.text() == "2 threads: 2 physical cores"
    quota = CpuQuota(1.5, "cgroup v2 cpu.max")
    count = default_threads(affinity=four, quota=quota, physical=4, probe=False)
    assert (count.n, count.reason) == (2, "CPU quota 1.5 (cgroup v2 cpu.max)")
    assert count.limits == {"quota": 2, "physical_cores": 4, "affinity": 4}
    count = default_threads(affinity={0}, quota=None, physical=8, probe=False)
    assert (count.n, count.reason) == (1, "1 CPUs in the affinity mask")
    assert default_threads(affinity=four, quota=CpuQuota(0.2, "q"), probe=False).n == 1


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only")
def test_this_host(tmp_path: Path) -> None:
    """What this machine gets: never more than it may run on, nor more than its cores."""
    count = default_threads()
    allowed = affinity_cpus()
    assert allowed is not None
    assert 1 <= count.n <= len(allowed)
    cores = physical_cores(allowed)
    if cores:
        assert count.n <= cores
    assert count.limits["affinity"] == len(allowed)
