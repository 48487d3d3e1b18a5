"""The CUDA runtime a llama.cpp build loaded, recorded beside the driver's CUDA version:
read from the process's own libcudart (a stand-in compiled here, as a CUDA build's would
be mapped), "CPU build" on this one, said why where a CUDA build shows none."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from tui_bench.core.backends.llama_devices import cuda_runtime
from tui_bench.core.gpu.facts import host_line

ll = pytest.importorskip("llama_cpp.llama_cpp")

CUDART = "int cudaRuntimeGetVersion(int *v) { *v = 12040; return 0; }\n"


def fake_ll(lib_dir: Path) -> SimpleNamespace:
    return SimpleNamespace(_lib=SimpleNamespace(_name=str(lib_dir / "libllama.so")))


def test_this_cpu_build_has_no_cuda_runtime(tmp_path: Path) -> None:
    ll.llama_backend_init()
    assert cuda_runtime(ll) == {"version": None, "note": "CPU build"}
    (tmp_path / "libggml-vulkan.so").touch()
    assert cuda_runtime(fake_ll(tmp_path)) == {
        "version": None,
        "note": "not a CUDA build (vulkan)",
    }


def test_a_cuda_build_reports_the_libcudart_it_loaded(tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build a stand-in libcudart")
    (tmp_path / "cudart.c").write_text(CUDART)
    lib = tmp_path / "libcudart.so.12"
    subprocess.run([cc, "-shared", "-fPIC", "-o", lib, tmp_path / "cudart.c"], check=True)
    ctypes.CDLL(str(lib))  # loaded, as libggml-cuda loads it
    (tmp_path / "libggml-cuda.so").touch()
    maps = tmp_path / "maps"
    maps.write_text(f"7f00-7f01 r-xp 00000000 08:01 42 {lib}\n")
    found = cuda_runtime(fake_ll(tmp_path), maps=str(maps))
    assert found == {"version": "12.4", "note": "libcudart.so.12"}  # 12040 -> 12.4
    # a CUDA backend built into libggml: no library of its own, named by the registry
    assert cuda_runtime(SimpleNamespace(), ["CUDA", "CPU"], maps=str(maps))["version"] == "12.4"
    maps.write_text("")
    assert cuda_runtime(fake_ll(tmp_path), maps=str(maps)) == {
        "version": None,
        "note": "CUDA build; no libcudart loaded (linked statically?)",
    }
    gpu = {"devices": [{"name": "NVIDIA H200"}], "driver": "570.86.15", "cuda_driver": "12.8"}
    assert host_line(gpu, found) == "NVIDIA H200, driver 570.86.15 (CUDA 12.8); llama.cpp CUDA 12.4"
    assert host_line(gpu, {"version": None, "note": "CPU build"}) == (
        "NVIDIA H200, driver 570.86.15 (CUDA 12.8); llama.cpp CPU build"
    )
