"""The plan's ``devices`` option of a llama.cpp model (``models[i].devices``), checked
when the plan loads: its shape beside ``main_gpu`` and ``tensor_split``, and whether the
installed llama-cpp-python can set it at all.

``devices`` lists the GPUs the model may use, as llama.cpp names them (``"CUDA0"``) or by
their index in llama.cpp's GPU list; it becomes ``llama_model_params.devices`` (a
NULL-terminated list of ggml device handles, :mod:`.backends.llama_params`). ``main_gpu``
and ``tensor_split`` then refer to the list's order, as in llama.cpp.

Apart from :mod:`tui_bench.core.plan` so that the plan schema stays one screenful per concern.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path
from typing import Annotated, Any

from pydantic import PlainValidator

MAX_DEVICES = 16  # llama.cpp's LLAMA_MAX_DEVICES


def _device_ref(value: Any) -> str | int:
    bad_int = isinstance(value, bool) or (isinstance(value, int) and value < 0)
    if bad_int or not isinstance(value, str | int) or (isinstance(value, str) and not value):
        raise ValueError('a device is a llama.cpp device name ("CUDA0") or an index from 0')
    return value


# one entry of ``devices``: a name or an index, said in one message when it is neither
DeviceRef = Annotated[str | int, PlainValidator(_device_ref)]


@functools.cache
def binding_fields(struct: str) -> frozenset[str] | None:
    """The fields the installed llama-cpp-python declares on a parameter struct, read from
    its source (``llama_cpp/llama_cpp.py``) without loading libllama; None when it is not
    installed or its source does not declare the struct as expected."""
    try:
        spec = importlib.util.find_spec("llama_cpp")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    try:
        tree = ast.parse((Path(spec.origin).parent / "llama_cpp.py").read_text("utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if not (isinstance(node, ast.ClassDef) and node.name == struct):
            continue
        for item in node.body:
            targets = getattr(item, "targets", None) or [getattr(item, "target", None)]
            if any(isinstance(t, ast.Name) and t.id == "_fields_" for t in targets):
                value = getattr(item, "value", None)
                if isinstance(value, ast.List):
                    return frozenset(
                        e.elts[0].value
                        for e in value.elts
                        if isinstance(e, ast.Tuple) and isinstance(e.elts[0], ast.Constant)
                    )
    return None


def devices_problem(plan: Any) -> tuple[str, str] | None:
    """(field, message) for the first model whose ``devices`` cannot be used, else None."""
    for i, m in enumerate(plan.models):
        devices = getattr(m, "devices", None)
        if devices is None:
            continue
        where = f"models[{i}]"
        if not devices or len(devices) > MAX_DEVICES:
            return f"{where}.devices", f"give 1 to {MAX_DEVICES} devices"
        seen: set[str | int] = set()
        for d in devices:
            key = d.lower() if isinstance(d, str) else d
            if key in seen:
                return f"{where}.devices", f"{d!r} is named twice"
            seen.add(key)
        if m.main_gpu is not None and m.main_gpu >= len(devices):
            return (
                f"{where}.main_gpu",
                f"{m.main_gpu} is past the {len(devices)} device(s) of devices (counted from 0)",
            )
        if m.tensor_split is not None and len(m.tensor_split) > len(devices):
            return f"{where}.tensor_split", f"one share per device of devices ({len(devices)})"
        fields = binding_fields("llama_model_params")
        if m.backend == "llama_cpp" and fields is not None and "devices" not in fields:
            return (
                f"{where}.devices",
                "this llama-cpp-python has no llama_model_params.devices field: upgrade it, "
                "or drop devices",
            )
    return None
