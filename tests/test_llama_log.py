"""llama.cpp's log as the worker captures it, and what its load messages say.

The CUDA lines are recorded samples: the message formats of the llama.cpp that
llama-cpp-python 0.3.36 vendors (``using device %s (%s) (%s) - %zu MiB free``,
``%12s model buffer size = %8.2f MiB``, ``%10s KV buffer size``, ``%10s compute buffer
size``) and load logs of older CUDA builds as users posted them in issue trackers. The
CPU lines of a real load are parsed in tests/test_llama_offload.py.
"""

from __future__ import annotations

import re

from tui_bench.core.backends.llama_log import (
    CONT,
    DEBUG,
    ERROR,
    INFO,
    WARN,
    LogCapture,
    last_native_error,
    parse_load_log,
)

# llama.cpp as vendored by llama-cpp-python 0.3.36, one H200, all layers offloaded
H200_LOAD = """\
llama_model_load_from_file_impl: using device CUDA0 (NVIDIA H200) (0000:19:00.0) - 142468 MiB free
llama_model_loader: loaded meta data with 33 key-value pairs and 272 tensors from smol.gguf (version GGUF V3 (latest))
load_tensors: loading model tensors, this can take a while... (load_mode = mmap)
load_tensors: offloading output layer to GPU
load_tensors: offloading 29 repeating layers to GPU
load_tensors: offloaded 31/31 layers to GPU
load_tensors:        CUDA0 model buffer size =    92.10 MiB
load_tensors:   CPU_Mapped model buffer size =    24.12 MiB
llama_context: constructing llama_context
llama_context: flash_attn            = auto
llama_context:  CUDA_Host  output buffer size =     0.19 MiB
llama_kv_cache:      CUDA0 KV buffer size =    11.25 MiB
llama_kv_cache: size =   11.25 MiB (   512 cells,  30 layers,  1/1 seqs), K (f16):    5.62 MiB, V (f16):    5.62 MiB
resolve_fused_ops: Flash Attention enabled
sched_reserve:      CUDA0 compute buffer size =    98.25 MiB
sched_reserve:  CUDA_Host compute buffer size =     2.26 MiB
""".splitlines()

# an older CUDA build (llama.cpp b4701, as posted in an issue): no PCI bus id yet
OLD_LOAD = """\
llama_model_load_from_file_impl: using device CUDA0 (NVIDIA GeForce RTX 4080 SUPER) - 15035 MiB free
llm_load_tensors: offloaded 31/31 layers to GPU
llm_load_tensors:        CPU buffer size =   297.00 MiB
llm_load_tensors:      CUDA0 buffer size =  7317.71 MiB
llama_kv_cache_init:      CUDA0 KV buffer size =   144.00 MiB
llama_init_from_model:  CUDA_Host  output buffer size =     0.58 MiB
llama_init_from_model:      CUDA0 compute buffer size =   300.75 MiB
llama_init_from_model:  CUDA_Host compute buffer size =    12.01 MiB
llama_context: Flash Attention was auto, set to disabled
""".splitlines()

# a layer split across two GPUs, partial offload
SPLIT_LOAD = """\
llama_model_load_from_file_impl: using device CUDA0 (NVIDIA H100 80GB HBM3) (0000:1b:00.0) - 80216 MiB free
llama_model_load_from_file_impl: using device CUDA1 (NVIDIA H100 80GB HBM3) (unknown id) - 61022 MiB free
load_tensors: offloaded 60/81 layers to GPU
load_tensors:        CUDA0 model buffer size = 24277.75 MiB
load_tensors:        CUDA1 model buffer size = 22151.91 MiB
load_tensors:   CPU_Mapped model buffer size = 20000.50 MiB
load_tensors:   CPU_Mapped model buffer size =  1064.62 MiB
resolve_fused_ops: Flash Attention not supported, set to disabled
""".splitlines()


def test_one_gpu_load_newer_format() -> None:
    parsed = parse_load_log(H200_LOAD)
    assert parsed["gpu_layers"] == {"offloaded": 31, "total": 31}
    assert parsed["devices"] == [
        {
            "name": "CUDA0",
            "description": "NVIDIA H200",
            "pci_bus_id": "0000:19:00.0",
            "free_mib": 142468.0,
        }
    ]
    assert parsed["buffers_mib"] == {
        "model": {"CUDA0": 92.1, "CPU_Mapped": 24.12},
        "output": {"CUDA_Host": 0.19},
        "kv": {"CUDA0": 11.25},
        "compute": {"CUDA0": 98.25, "CUDA_Host": 2.26},
    }
    assert parsed["flash_attn"] == "enabled"


def test_older_build_format() -> None:
    parsed = parse_load_log(OLD_LOAD)
    assert parsed["gpu_layers"] == {"offloaded": 31, "total": 31}
    assert parsed["devices"] == [
        {
            "name": "CUDA0",
            "description": "NVIDIA GeForce RTX 4080 SUPER",
            "pci_bus_id": None,
            "free_mib": 15035.0,
        }
    ]
    assert parsed["buffers_mib"]["model"] == {"CPU": 297.0, "CUDA0": 7317.71}
    assert parsed["buffers_mib"]["kv"] == {"CUDA0": 144.0}
    assert parsed["buffers_mib"]["compute"] == {"CUDA0": 300.75, "CUDA_Host": 12.01}
    assert parsed["flash_attn"] == "disabled"


def test_split_across_two_gpus_and_partial_offload() -> None:
    parsed = parse_load_log(SPLIT_LOAD)
    assert parsed["gpu_layers"] == {"offloaded": 60, "total": 81}
    assert [(d["name"], d["pci_bus_id"], d["free_mib"]) for d in parsed["devices"]] == [
        ("CUDA0", "0000:1b:00.0", 80216.0),
        ("CUDA1", None, 61022.0),
    ]
    # two buffers of one name (a model in two files) add up
    assert parsed["buffers_mib"]["model"] == {
        "CUDA0": 24277.75,
        "CUDA1": 22151.91,
        "CPU_Mapped": 21065.12,
    }
    assert parsed["flash_attn"] == "disabled"


def test_a_cpu_only_build_says_nothing_about_offload() -> None:
    parsed = parse_load_log(["load_tensors:   CPU_Mapped model buffer size =    92.10 MiB"])
    assert parsed["gpu_layers"] is None and parsed["devices"] == []
    assert parsed["buffers_mib"] == {"model": {"CPU_Mapped": 92.1}}


def test_capture_assembles_pieces_and_sends_warnings_and_errors() -> None:
    sent: list[tuple[str, str]] = []
    log = LogCapture(lambda level, text: sent.append((level, text)))
    log.record()
    log.feed(INFO, "load_tensors:   CPU_Mapped model buffer")
    log.feed(CONT, " size =    92.10 MiB\n")
    for _ in range(5):
        log.feed(CONT, ".")  # the load's progress dots
    log.feed(CONT, "\n")
    log.feed(DEBUG, "create_tensor: loading tensor token_embd.weight\n")
    log.feed(WARN, "llama_context: n_ctx_seq (16384) > n_ctx_train (8192)\n")
    # a message without its newline, then the next one
    log.feed(ERROR, "CUDA error: out of memory")
    log.feed(ERROR, "  current device: 0, in function alloc at ggml-cuda.cu:88\n")
    assert log.recording() == [
        "load_tensors:   CPU_Mapped model buffer size =    92.10 MiB",
        "llama_context: n_ctx_seq (16384) > n_ctx_train (8192)",
        "CUDA error: out of memory",
        "  current device: 0, in function alloc at ggml-cuda.cu:88",
    ]
    assert sent == [
        ("warning", "llama_context: n_ctx_seq (16384) > n_ctx_train (8192)"),
        ("error", "CUDA error: out of memory"),
        ("error", "  current device: 0, in function alloc at ggml-cuda.cu:88"),
    ]
    assert log.recorded is None  # recording stopped
    assert log.last_error() == "CUDA error: out of memory"  # the latest failure


def test_capture_keeps_quiet_what_a_setting_causes_on_purpose() -> None:
    sent: list[tuple[str, str]] = []
    quiet = [re.compile(r"failed to initialize \w+: .*no \w+-capable device")]
    log = LogCapture(lambda level, text: sent.append((level, text)), quiet=quiet)
    log.feed(
        ERROR, "ggml_cuda_init: failed to initialize CUDA: no CUDA-capable device is detected\n"
    )
    log.feed(ERROR, "ggml_cuda_init: failed to initialize CUDA: unknown error\n")
    assert sent == [("error", "ggml_cuda_init: failed to initialize CUDA: unknown error")]


def test_the_cause_of_a_native_crash_is_the_head_of_its_error_group() -> None:
    errors = [
        "CUDA error: out of memory",
        "  current device: 0, in function ggml_backend_cuda_synchronize at ggml-cuda.cu:2317",
        "  cudaStreamSynchronize(cuda_ctx->stream())",
    ]
    assert last_native_error(errors) == "CUDA error: out of memory"
    assert last_native_error(["  only details"]) == "only details"
    assert last_native_error([]) is None
