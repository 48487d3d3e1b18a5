"""The devices the model's worker sees: ``CUDA_VISIBLE_DEVICES`` by number (in CUDA's
order, not NVML's), by UUID (whole, abbreviated, MIG), empty or cut short, and the
devices llama.cpp reports matched back to NVML's."""

from __future__ import annotations

import sys

import pytest
from fake_nvml import Dev, FakeNvml, mig_slice

from tui_bench.core.gpu import GpuProbe
from tui_bench.core.gpu.visible import match_reported

T4 = "Tesla T4"
H100 = "NVIDIA H100 80GB HBM3"


def box() -> list[Dev]:
    """NVML (PCI) order: a T4 first, then an H100, then a second T4. CUDA's default
    order puts the H100 (compute capability 9.0) first."""
    return [
        Dev(T4, "GPU-7a7a7a7a-0000-0000-0000-000000000001", 15360.0, used_mb=100.0,
            bus="00000000:01:00.0", cc=(7, 5)),
        Dev(H100, "GPU-4b4b4b4b-0000-0000-0000-000000000002", 81559.0, used_mb=2000.0,
            bus="00000000:41:00.0", cc=(9, 0)),
        Dev(T4, "GPU-7a7b0000-0000-0000-0000-000000000003", 15360.0, used_mb=300.0,
            bus="00000000:81:00.0", cc=(7, 5)),
    ]  # fmt: skip


def probe(monkeypatch: pytest.MonkeyPatch, gpus: list[Dev], **env: str) -> GpuProbe:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(gpus).module())
    return GpuProbe(env=env)


def used(p: GpuProbe) -> list[tuple[int, int | None, str]]:
    """(NVML index, worker's CUDA number, name) of the devices measured."""
    return [(d.index, d.cuda_index, d.name) for d in p.devices]


def test_unset_means_every_gpu_fastest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    p = probe(monkeypatch, box())
    assert used(p) == [(1, 0, H100), (0, 1, T4), (2, 2, T4)]
    assert not p.order_exact
    assert p.describe()["visible"] == (
        "CUDA_VISIBLE_DEVICES unset: every GPU, fastest first "
        "(estimated: NVML cannot tell CUDA's order of different GPU models)"
    )


def test_a_number_follows_cuda_order_not_nvml_order(monkeypatch: pytest.MonkeyPatch) -> None:
    p = probe(monkeypatch, box(), CUDA_VISIBLE_DEVICES="0")
    assert used(p) == [(1, 0, H100)]  # CUDA's 0 is the H100, NVML's 0 is a T4
    g = p.sample(None)
    assert (g.used_mb, g.total_mb) == (pytest.approx(2000), pytest.approx(81559))
    pci = probe(monkeypatch, box(), CUDA_VISIBLE_DEVICES="2,0", CUDA_DEVICE_ORDER="PCI_BUS_ID")
    assert used(pci) == [(2, 0, T4), (0, 1, T4)]  # in the order given
    assert pci.order_exact
    assert pci.sample(None).used_mb == pytest.approx(400)


def test_uuids_whole_and_abbreviated(monkeypatch: pytest.MonkeyPatch) -> None:
    p = probe(
        monkeypatch, box(), CUDA_VISIBLE_DEVICES="GPU-7a7b,GPU-4b4b4b4b-0000-0000-0000-000000000002"
    )
    assert used(p) == [(2, 0, T4), (1, 1, H100)]
    assert p.order_exact  # UUIDs name devices whatever CUDA's order


@pytest.mark.parametrize(
    ("value", "expected", "note"),
    [
        ("", [], "CUDA_VISIBLE_DEVICES is empty: no GPU is visible to the worker"),
        ("-1", [], "CUDA_VISIBLE_DEVICES=-1; '-1' names no device, so only the devices before it count"),
        # "GPU-7a7" starts two UUIDs: CUDA takes it as naming no device, and stops there
        ("0,GPU-7a7,1", [(1, 0, H100)], "CUDA_VISIBLE_DEVICES=0,GPU-7a7,1, numbers counted fastest "
         "first (estimated: NVML cannot tell CUDA's order of different GPU models); "
         "'GPU-7a7' names no device, so only the devices before it count"),
        ("0,2,-1,1", [(1, 0, H100), (2, 1, T4)], None),
        ("0,7", [(1, 0, H100)], None),
    ],
)  # fmt: skip
def test_empty_minus_one_and_invalid_entries_cut_the_list(
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    expected: list[tuple[int, int, str]],
    note: str | None,
) -> None:
    p = probe(monkeypatch, box(), CUDA_VISIBLE_DEVICES=value)
    assert used(p) == expected
    d = p.describe()
    if note is not None:
        assert d["visible"] == note
    assert d["available"] is bool(expected)
    if not expected:
        assert d["reason"] == f"no GPU visible to the worker ({d['visible']})"
        assert p.sample(None).used_mb is None
        assert len(d["gpus"]) == 3  # the host's GPUs are still described


def mig_gpu() -> tuple[Dev, Dev, Dev]:
    a100 = Dev("NVIDIA A100-SXM4-80GB", "GPU-a100a100-0000-0000-0000-00000000000a", 81920.0)
    a100.mig = True
    s1 = mig_slice(
        a100, 1, 3, 40960.0, used_mb=1000.0, uuid="MIG-11111111-aaaa-0000-0000-000000000001"
    )
    s2 = mig_slice(
        a100, 2, 2, 20480.0, used_mb=2000.0, uuid="MIG-22222222-aaaa-0000-0000-000000000002"
    )
    a100.slices = [s1, s2]
    return a100, s1, s2


@pytest.mark.parametrize(
    "value",
    [
        "MIG-22222222",  # abbreviated MIG UUID
        "MIG-22222222-aaaa-0000-0000-000000000002",
        "MIG-GPU-a100a100-0000-0000-0000-00000000000a/2/0",  # drivers before R470
    ],
)
def test_a_mig_slice_by_uuid(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    a100, _, _ = mig_gpu()
    p = probe(monkeypatch, [a100], CUDA_VISIBLE_DEVICES=value)
    assert [(d.label, d.cuda_index) for d in p.devices] == [("GPU 0 MIG 1", 0)]
    assert p.sample(None).used_mb == pytest.approx(2000)


@pytest.mark.parametrize(
    "value",
    [
        "GPU-a100",  # the whole GPU: CUDA takes one of its slices
        "0",
        None,  # unset: every GPU
        # two slices named: a CUDA process enumerates the first only
        "MIG-11111111-aaaa-0000-0000-000000000001,MIG-22222222-aaaa-0000-0000-000000000002",
    ],
)
def test_a_cuda_process_sees_one_mig_device_and_the_choice_is_marked_estimated(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    a100, _, _ = mig_gpu()
    env = {} if value is None else {"CUDA_VISIBLE_DEVICES": value}
    p = probe(monkeypatch, [a100], **env)
    assert [(d.label, d.cuda_index) for d in p.devices] == [("GPU 0 MIG 0", 0)]
    assert p.sample(None).used_mb == pytest.approx(1000)  # not both slices' 3000
    assert not p.order_exact
    assert p.visible_note.endswith(
        "; MIG: a CUDA process enumerates one MIG device, taken to be GPU 0 MIG 0 (estimated)"
    )
    assert p.describe()["order_exact"] is False


# --------------------------------------------------------------------------- llama.cpp's devices


def test_the_devices_llama_cpp_reports_narrow_the_measurement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = probe(monkeypatch, box())
    # CUDA's PCI bus id form has a 4-digit domain, NVML's an 8-digit one
    p.use_model_devices(
        [{"name": "CUDA2", "description": T4, "pci_bus_id": "0000:81:00.0", "free_mib": 15000.0}]
    )
    assert used(p) == [(2, 2, T4)]
    assert p.sample(None).used_mb == pytest.approx(300)
    d = p.describe()
    assert d["selection"] == "CUDA 2 (the devices llama.cpp reports for the model)"
    assert [x["index"] for x in d["devices"]] == [2]
    p.use_model_devices([])  # a CPU run: no GPU is the model's
    assert p.devices == [] and p.sample(None) == p.sample(None).__class__()
    assert p.describe()["selection"] == "none: the model uses no GPU"
    p.use_model_devices(None)  # the worker did not say: every visible device
    assert len(p.devices) == 3


def test_reported_devices_without_a_bus_id_match_by_cuda_number_then_name() -> None:
    gpus = box()
    monkey = pytest.MonkeyPatch()
    try:
        p = probe(monkey, gpus, CUDA_DEVICE_ORDER="PCI_BUS_ID")
    finally:
        monkey.undo()
    found, unmatched = match_reported(
        p.visible,
        [
            {"name": "CUDA1", "description": H100, "pci_bus_id": None},
            {"name": "Vulkan0", "description": H100},  # by its unique name
            {"name": "CUDA9", "description": "NVIDIA B200", "pci_bus_id": None},
        ],
    )
    assert found == [1] and unmatched == ["CUDA9"]
    p.select([0, 2])
    assert used(p) == [(0, 0, T4), (2, 2, T4)]
    assert p.total_mb == pytest.approx(2 * 15360)
