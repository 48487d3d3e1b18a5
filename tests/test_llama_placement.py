"""Where a model goes: placement options in plans, the default rule, the settings on
llama.cpp's structs (only fields the binding has), and the offload truth in words."""

from __future__ import annotations

import ctypes
from types import SimpleNamespace
from typing import Any

import pytest

from tui_bench.core import placement_options
from tui_bench.core.backends.llama_cpp import offload_warning
from tui_bench.core.backends.llama_devices import (
    Placement,
    choose_placement,
    device_handles,
    has_field,
    offload_status,
)
from tui_bench.core.backends.llama_params import context_params, model_params
from tui_bench.core.errors import PlanError
from tui_bench.core.fmt import model_setup
from tui_bench.core.plan import parse_plan

ll = pytest.importorskip("llama_cpp.llama_cpp")


def plan_model(**fields: Any) -> dict[str, Any]:
    raw = {
        "name": "p",
        "models": [{"id": "m", "source": "m.gguf", **fields}],
        "prompts": [{"id": "q", "text": "hi"}],
    }
    return parse_plan(raw, "plan.toml").models[0].model_dump()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"split_mode": "rows"},
            "plan.toml: models[0].split_mode: Input should be 'none', 'layer' or 'row' (got 'rows')",
        ),
        (
            {"main_gpu": -1},
            "plan.toml: models[0].main_gpu: Input should be greater than or equal to 0 (got -1)",
        ),
        (
            {"tensor_split": []},
            "plan.toml: models[0].tensor_split: give 1 to 16 shares, one per GPU",
        ),
        (
            {"tensor_split": [0, 0]},
            "plan.toml: models[0].tensor_split: at least one share must be above 0",
        ),
        (
            {"devices": []},
            "plan.toml: models[0].devices: give 1 to 16 devices",
        ),
        (
            {"devices": ["CUDA0", -1]},
            'plan.toml: models[0].devices[1]: a device is a llama.cpp device name ("CUDA0") '
            "or an index from 0 (got -1)",
        ),
        (
            {"devices": ["CUDA1", "cuda1"]},
            "plan.toml: models[0].devices: 'cuda1' is named twice",
        ),
        (
            {"devices": ["CUDA1"], "main_gpu": 1},
            "plan.toml: models[0].main_gpu: 1 is past the 1 device(s) of devices (counted from 0)",
        ),
        (
            {"devices": [2, 3], "split_mode": "layer", "tensor_split": [1, 1, 1]},
            "plan.toml: models[0].tensor_split: one share per device of devices (2)",
        ),
        (
            {"tensor_split": [3, 1], "split_mode": "none"},
            'plan.toml: models[0].tensor_split: splits across GPUs: set split_mode = "layer" '
            'or "row", or drop it',
        ),
    ],
)
def test_placement_mistakes_are_one_line_naming_the_field(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(PlanError) as err:
        plan_model(**fields)
    assert str(err.value) == message


def test_placement_defaults_and_flash_attention_left_to_llama_cpp() -> None:
    m = plan_model()
    assert (m["main_gpu"], m["split_mode"], m["tensor_split"], m["flash_attn"]) == (
        None,
        None,
        None,
        None,
    )
    m = plan_model(split_mode="row", main_gpu=1, tensor_split=[3, 1])
    assert (m["main_gpu"], m["split_mode"], m["tensor_split"]) == (1, "row", [3.0, 1.0])


def test_devices_by_name_or_index_and_refused_where_the_binding_lacks_the_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert plan_model(devices=["CUDA1", 0])["devices"] == ["CUDA1", 0]
    # read from the binding's source without loading libllama: the struct's own fields
    fields = placement_options.binding_fields("llama_model_params")
    assert fields == {f[0] for f in ll.llama_model_params._fields_} and "devices" in fields
    old = frozenset({"n_gpu_layers", "split_mode", "main_gpu", "tensor_split"})
    monkeypatch.setattr(placement_options, "binding_fields", lambda struct: old)
    with pytest.raises(PlanError) as err:
        plan_model(devices=["CUDA0"])
    assert str(err.value) == (
        "plan.toml: models[0].devices: this llama-cpp-python has no llama_model_params.devices "
        "field: upgrade it, or drop devices"
    )
    assert plan_model()["devices"] is None  # not asked: nothing to refuse


H200 = {"name": "CUDA0", "free_mib": 140_000.0}


def test_devices_narrow_and_order_the_gpus_main_gpu_counts_in_them() -> None:
    three = [
        {"name": "CUDA0", "free_mib": 1000.0},
        {"name": "CUDA1", "free_mib": 9000.0},
        {"name": "CUDA2", "free_mib": 20_000.0},
    ]
    # 4000 MiB * 1.1 + 1024 = 5424 MiB: CUDA2 is devices[0], CUDA1 devices[1]; both fit
    p = choose_placement(
        split_mode=None,
        main_gpu=1,
        tensor_split=None,
        gpus=three,
        model_mib=4000,
        devices=["cuda2", 1],
    )
    assert (p.split_mode, p.main_gpu, p.devices, p.chosen_by) == (
        "none",
        1,
        ["CUDA2", "CUDA1"],
        "auto",
    )
    assert p.reason == "fits on CUDA1 (~5424 MiB needed, 9000 free)"
    p = choose_placement(
        split_mode="layer",
        main_gpu=None,
        tensor_split=[1, 3],
        gpus=three,
        model_mib=1,
        devices=[0, "CUDA2"],
    )
    assert (p.split_mode, p.tensor_split, p.devices) == ("layer", [1, 3], ["CUDA0", "CUDA2"])
    with pytest.raises(ValueError, match=r"no GPU named 'CUDA7' \(visible: CUDA0, CUDA1, CUDA2\)"):
        choose_placement(
            split_mode=None, main_gpu=None, tensor_split=None, gpus=three, model_mib=1,
            devices=["CUDA7"],
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"GPU 3 asked, but 3 GPU\(s\) are visible"):
        choose_placement(
            split_mode=None, main_gpu=None, tensor_split=None, gpus=three, model_mib=1,
            devices=[3],
        )  # fmt: skip
    # no GPU at all (a CPU build): the model runs on the CPU, as the offload warning says
    p = choose_placement(
        split_mode=None, main_gpu=None, tensor_split=None, gpus=[], model_mib=1, devices=["CUDA0"]
    )
    assert (p.reason, p.devices) == ("no GPU", None)


def test_devices_become_a_null_terminated_list_of_ggml_handles() -> None:
    ll.llama_backend_init()
    # this CPU build's one device: "CPU", found by ggml_backend_dev_by_name as CUDA0 would be
    (cpu,) = device_handles(ll, ["cpu"])
    assert cpu
    placement = Placement("none", 0, None, "plan", "as the plan says", devices=["CPU"])
    s = model_params(ll, {"n_gpu_layers": -1}, placement, hide_gpus=False)
    listed = ctypes.cast(s.params.devices, ctypes.POINTER(ctypes.c_void_p))
    assert (listed[0], listed[1]) == (cpu, None)
    assert any(isinstance(k, ctypes.Array) and k[0] == cpu for k in s.keep)  # kept alive
    with pytest.raises(RuntimeError, match="ggml knows no device named 'CUDA9'"):
        device_handles(ll, ["CUDA9"])

    class _OldModelParams(ctypes.Structure):
        _fields_ = [(n, t) for n, t in ll.llama_model_params._fields_ if n != "devices"]

    old = SimpleNamespace(llama_model_default_params=_OldModelParams)
    with pytest.raises(RuntimeError, match="cannot set devices: upgrade it"):
        model_params(old, {"n_gpu_layers": -1}, placement, hide_gpus=False)


def test_default_is_one_gpu_when_the_model_fits() -> None:
    two = [H200, {"name": "CUDA1", "free_mib": 140_000.0}]
    p = choose_placement(
        split_mode=None, main_gpu=None, tensor_split=None, gpus=two, model_mib=4000
    )
    # 4000 MiB * 1.1 + 1024 MiB margin = 5424 MiB
    assert (p.split_mode, p.main_gpu, p.chosen_by) == ("none", 0, "auto")
    assert p.reason == "fits on CUDA0 (~5424 MiB needed, 140000 free)"
    one = choose_placement(
        split_mode=None, main_gpu=None, tensor_split=None, gpus=[H200], model_mib=None
    )
    assert (one.split_mode, one.main_gpu, one.chosen_by, one.reason) == (
        "none",
        0,
        "default",
        "one GPU",
    )


def test_default_moves_to_the_freest_gpu_then_splits_by_layer() -> None:
    busy = [{"name": "CUDA0", "free_mib": 3000.0}, {"name": "CUDA1", "free_mib": 70_000.0}]
    p = choose_placement(
        split_mode=None, main_gpu=None, tensor_split=None, gpus=busy, model_mib=40_000
    )
    assert (p.split_mode, p.main_gpu) == ("none", 1)
    # main_gpu named by the plan: kept, the model is split instead of moved
    p = choose_placement(
        split_mode=None, main_gpu=0, tensor_split=None, gpus=busy, model_mib=40_000
    )
    assert (p.split_mode, p.main_gpu, p.chosen_by) == ("layer", 0, "auto")
    p = choose_placement(
        split_mode=None, main_gpu=None, tensor_split=None, gpus=busy, model_mib=100_000
    )
    assert (p.split_mode, p.chosen_by) == ("layer", "auto")
    assert (
        p.reason
        == "~111024 MiB needed, at most 70000 MiB free on one GPU: split by layer across 2 GPUs"
    )


def test_the_plan_wins_and_is_checked_against_the_gpus() -> None:
    two = [H200, {"name": "CUDA1", "free_mib": 1.0}]
    p = choose_placement(split_mode=None, main_gpu=None, tensor_split=[3, 1], gpus=two, model_mib=1)
    assert (p.split_mode, p.tensor_split, p.chosen_by) == ("layer", [3, 1], "plan")
    with pytest.raises(
        ValueError, match=r"main_gpu = 2, but 2 GPU\(s\) are visible \(CUDA0, CUDA1\)"
    ):
        choose_placement(split_mode="none", main_gpu=2, tensor_split=None, gpus=two, model_mib=1)
    with pytest.raises(ValueError, match=r"tensor_split has 3 entries, but 2 GPU\(s\) are visible"):
        choose_placement(
            split_mode="layer", main_gpu=None, tensor_split=[1, 1, 1], gpus=two, model_mib=1
        )


def test_model_params_set_what_the_binding_has() -> None:
    placement = Placement("row", 1, [3.0, 1.0], "plan", "as the plan says")
    cmd = {"n_gpu_layers": -1, "repack": False}
    s = model_params(ll, cmd, placement, hide_gpus=False)
    p = s.params
    assert (p.n_gpu_layers, p.split_mode, p.main_gpu, p.use_extra_bufts) == (1_000_000, 2, 1, False)
    assert [p.tensor_split[i] for i in range(3)] == [3.0, 1.0, 0.0]
    assert not p.devices  # NULL: every device
    hidden = model_params(ll, {"n_gpu_layers": 0}, placement, hide_gpus=True).params
    # an empty NULL-terminated device list: no device at all
    assert (
        hidden.devices and ctypes.cast(hidden.devices, ctypes.POINTER(ctypes.c_void_p))[0] is None
    )
    assert (
        hidden.n_gpu_layers == 0 and hidden.split_mode == ll.llama_model_default_params().split_mode
    )


class _OldContextParams(ctypes.Structure):
    # a binding older than flash_attn_type
    _fields_ = [
        ("n_ctx", ctypes.c_uint32),
        ("n_batch", ctypes.c_uint32),
        ("n_ubatch", ctypes.c_uint32),
        ("n_threads", ctypes.c_int32),
        ("n_threads_batch", ctypes.c_int32),
        ("flash_attn", ctypes.c_bool),
    ]


class _OlderContextParams(ctypes.Structure):
    _fields_ = [(n, t) for n, t in _OldContextParams._fields_ if n != "flash_attn"]


def test_flash_attention_on_new_old_and_older_bindings() -> None:
    cparams, flash = context_params(ll, {"flash_attn": None}, 2)
    assert cparams.flash_attn_type == -1 and cparams.n_threads == cparams.n_threads_batch == 2
    assert flash == {"asked": "auto", "set_via": "flash_attn_type", "note": None}
    cparams, flash = context_params(ll, {"flash_attn": False}, 2)
    assert cparams.flash_attn_type == 0 and flash["asked"] == "off"

    old = SimpleNamespace(llama_context_default_params=_OldContextParams)
    cparams, flash = context_params(old, {"flash_attn": True}, 4)
    assert cparams.flash_attn is True and flash["set_via"] == "flash_attn"
    assert not has_field(cparams, "flash_attn_type")
    cparams, flash = context_params(old, {"flash_attn": None}, 4)
    assert cparams.flash_attn is False and "no automatic setting" in flash["note"]
    older = SimpleNamespace(llama_context_default_params=_OlderContextParams)
    cparams, flash = context_params(older, {"flash_attn": True}, 4)
    assert flash["set_via"] is None
    assert flash["note"] == "not applied: this binding has no flash attention setting"
    assert not hasattr(cparams, "flash_attn")  # nothing was set on the struct


def test_offload_status_tells_the_builds_apart() -> None:
    cpu = offload_status(False, ["CPU"])
    assert (cpu.kind, cpu.label) == ("cpu_build", "CPU-only build")
    assert cpu.advice is not None and cpu.advice.startswith("rebuild llama-cpp-python with CUDA")
    blind = offload_status(False, ["CUDA", "CPU"])
    assert (blind.kind, blind.label, blind.gpu_backend) == (
        "no_gpu_visible",
        "CUDA build, no GPU visible",
        "CUDA",
    )
    assert blind.advice is not None and blind.advice.startswith("no rebuild needed")
    # the registry may not list a backend whose library is there (found by its file)
    assert offload_status(False, ["CPU"], ["cuda"]).kind == "no_gpu_visible"
    hidden = offload_status(False, ["CUDA", "CPU"], hidden=True)
    assert (hidden.kind, hidden.label) == (
        "cpu_only",
        "CPU only (CUDA build, GPUs hidden: n_gpu_layers = 0)",
    )
    assert offload_status(False, ["CPU"], hidden=True).kind == "cpu_build"  # nothing to hide
    assert offload_status(True, ["CUDA", "CPU"]).label == "GPU offload available (CUDA)"


def test_warnings_name_the_right_fix() -> None:
    cpu = {"offload": offload_status(False, ["CPU"]).to_json()}
    assert offload_warning(-1, cpu) == (
        "n_gpu_layers=-1 asked, but this llama-cpp-python is a CPU-only build: everything "
        'runs on the CPU; rebuild llama-cpp-python with CUDA (README: "On an NVIDIA machine")'
    )
    blind = {"offload": offload_status(False, ["CUDA"]).to_json()}
    text = offload_warning(20, blind)
    assert text is not None and text.startswith(
        "n_gpu_layers=20 asked, but this CUDA build sees no GPU: everything runs on the CPU; "
        "no rebuild needed"
    )
    gpu = {"offload": offload_status(True, ["CUDA"]).to_json()}
    partial = {**gpu, "gpu_layers": {"offloaded": 60, "total": 81}}
    assert (
        offload_warning(-1, partial)
        == "n_gpu_layers=-1 asked, but llama.cpp offloaded 60/81 layers to the GPU"
    )
    assert offload_warning(60, partial) is None  # what was asked
    assert offload_warning(0, cpu) is None


def test_model_lines_say_where_the_model_went() -> None:
    gpu = {
        "desc": "llama 135M Q4_1",
        "offload": offload_status(True, ["CUDA", "CPU"]).to_json(),
        "n_gpu_layers": -1,
        "gpu_layers": {"offloaded": 31, "total": 31},
        "gpu_devices": [{"name": "CUDA0", "description": "NVIDIA H200"}],
        "placement": {"split_mode": "none", "main_gpu": 0, "chosen_by": "default"},
        "n_threads": 16,
        "n_threads_from": "CPU quota 16 (cgroup v2 cpu.max)",
        "flash_attn": {"asked": "auto", "resolved": "enabled"},
        "buffers_mib": {
            "model": {"CUDA0": 92.1, "CPU_Mapped": 24.12},
            "kv": {"CUDA0": 11.25},
            "compute": {"CUDA0": 98.25, "CUDA_Host": 2.26},
        },
    }
    assert model_setup(gpu) == [
        "llama 135M Q4_1",
        "GPU offload available (CUDA), n_gpu_layers=-1: 31/31 layers on CUDA0 (NVIDIA H200)",
        "split none on GPU 0",
        "16 threads (CPU quota 16 (cgroup v2 cpu.max))",
        "flash attention auto: enabled",
        "buffers model CUDA0 92.1 + CPU_Mapped 24.1 MiB, KV CUDA0 11.2 MiB, "
        "compute CUDA0 98.2 + CUDA_Host 2.3 MiB",
    ]
    two = {
        **gpu,
        "gpu_devices": [{"name": "CUDA1"}, {"name": "CUDA3"}],
        "placement": {"split_mode": "none", "main_gpu": 1, "devices": ["CUDA3", "CUDA1"]},
    }
    assert model_setup(two)[2] == "split none on CUDA1 (devices CUDA3, CUDA1)"
    two["placement"] |= {"split_mode": "layer", "main_gpu": 0}
    assert model_setup(two)[2] == "split layer (devices CUDA3, CUDA1)"
    hidden = {"offload": offload_status(False, ["CUDA"], hidden=True).to_json(), "n_threads": 2}
    assert model_setup(hidden) == [
        "CPU only (CUDA build, GPUs hidden: n_gpu_layers = 0)",
        "2 threads",
    ]
    # a model recorded before these facts reads as it did
    old = {"gpu_offload_supported": False, "n_gpu_layers": 0, "n_threads": 2}
    assert model_setup(old) == ["CPU-only build, n_gpu_layers=0", "2 threads"]
