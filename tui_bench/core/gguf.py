"""Read a GGUF file's header: metadata, tensor shapes and whether the file is complete.

Only the header is read (memory-mapped), never the weights: listing a folder of
multi-gigabyte models stays instant. Large arrays (tokenizer vocabularies) are skipped
without being decoded.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GGUF_MAGIC = b"GGUF"

# value types
_UINT8, _INT8, _UINT16, _INT16, _UINT32, _INT32, _FLOAT32, _BOOL, _STRING, _ARRAY = range(10)
_UINT64, _INT64, _FLOAT64 = 10, 11, 12
_SCALAR = {
    _UINT8: "<B",
    _INT8: "<b",
    _UINT16: "<H",
    _INT16: "<h",
    _UINT32: "<I",
    _INT32: "<i",
    _FLOAT32: "<f",
    _BOOL: "<?",
    _UINT64: "<Q",
    _INT64: "<q",
    _FLOAT64: "<d",
}

# llama_ftype (general.file_type) -> name, as llama.cpp prints it.
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}

# ggml_type -> (name, elements per block, bytes per block)
TENSOR_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}


class GGUFError(ValueError):
    """The file is not a readable GGUF (bad magic, truncated header, unknown layout)."""


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    type_id: int
    offset: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def n_bytes(self) -> int | None:
        spec = TENSOR_TYPES.get(self.type_id)
        if spec is None:
            return None
        _, block, size = spec
        return self.n_elements // block * size


@dataclass
class GGUFInfo:
    path: Path
    version: int
    file_size: int
    metadata: dict[str, Any]
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0
    skipped_arrays: dict[str, int] = field(default_factory=dict)

    @property
    def architecture(self) -> str | None:
        return self.metadata.get("general.architecture")

    @property
    def name(self) -> str | None:
        return self.metadata.get("general.name")

    @property
    def n_params(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def context_length(self) -> int | None:
        arch = self.architecture
        return self.metadata.get(f"{arch}.context_length") if arch else None

    @property
    def n_layers(self) -> int | None:
        arch = self.architecture
        return self.metadata.get(f"{arch}.block_count") if arch else None

    @property
    def has_chat_template(self) -> bool:
        return "tokenizer.chat_template" in self.metadata

    @property
    def vocab_size(self) -> int | None:
        return self.skipped_arrays.get("tokenizer.ggml.tokens")

    @property
    def quantization(self) -> str:
        ftype = self.metadata.get("general.file_type")
        if isinstance(ftype, int) and ftype in FILE_TYPES:
            return FILE_TYPES[ftype]
        # Fall back to the type holding most weights.
        weight: dict[str, int] = {}
        for t in self.tensors:
            spec = TENSOR_TYPES.get(t.type_id)
            name = spec[0] if spec else f"type{t.type_id}"
            weight[name] = weight.get(name, 0) + t.n_elements
        return max(weight, key=weight.__getitem__) if weight else "unknown"

    @property
    def expected_size(self) -> int | None:
        """Bytes the file needs to hold every tensor, or None for unknown tensor types."""
        end = self.data_offset
        for t in self.tensors:
            nbytes = t.n_bytes
            if nbytes is None:
                return None
            end = max(end, self.data_offset + t.offset + nbytes)
        return end

    @property
    def truncated(self) -> bool:
        expected = self.expected_size
        return expected is not None and self.file_size < expected


class _Reader:
    def __init__(self, buf: mmap.mmap | bytes, path: Path) -> None:
        self.buf = buf
        self.pos = 0
        self.path = path
        self.size = len(buf)

    def _need(self, n: int) -> None:
        if self.pos + n > self.size:
            raise GGUFError(f"{self.path}: header is truncated at byte {self.pos}")

    def scalar(self, fmt: str) -> Any:
        n = struct.calcsize(fmt)
        self._need(n)
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return value

    def string(self) -> str:
        n = self.scalar("<Q")
        if n > 1 << 32:
            raise GGUFError(f"{self.path}: implausible string length {n} at byte {self.pos}")
        self._need(n)
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        buf, pos, size = self.buf, self.pos, self.size
        unpack = struct.unpack_from
        for _ in range(count):
            if pos + 8 > size:
                raise GGUFError(f"{self.path}: header is truncated at byte {pos}")
            (n,) = unpack("<Q", buf, pos)
            pos += 8 + n
        if pos > size:
            raise GGUFError(f"{self.path}: header is truncated at byte {size}")
        self.pos = pos

    def value(self, vtype: int, key: str, skipped: dict[str, int]) -> Any:
        if vtype in _SCALAR:
            return self.scalar(_SCALAR[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype = self.scalar("<I")
            count = self.scalar("<Q")
            if count > 64:
                skipped[key] = count
                if etype == _STRING:
                    self.skip_strings(count)
                elif etype in _SCALAR:
                    n = struct.calcsize(_SCALAR[etype]) * count
                    self._need(n)
                    self.pos += n
                else:
                    for _ in range(count):
                        self.value(etype, key, {})
                return None
            return [self.value(etype, key, skipped) for _ in range(count)]
        raise GGUFError(f"{self.path}: unknown value type {vtype} for key {key!r}")


def magic_problem(path: str | Path) -> str | None:
    """Why ``path`` is not a GGUF file, judged by its first four bytes; None if it may be one.

    Cheap enough for validating a plan (four bytes, no mapping). A path that is not a
    regular file (a device, a pipe) is never read: reading one could block or never end.
    Raises OSError when the file cannot be opened.
    """
    p = Path(path)
    if not p.is_file():
        return "it is not a regular file"
    with open(p, "rb") as fh:
        head = fh.read(len(GGUF_MAGIC))
    if head == GGUF_MAGIC:
        return None
    if not head:
        return "the file is empty"
    if len(head) < len(GGUF_MAGIC):
        return f"the file is only {len(head)} byte{'s' if len(head) > 1 else ''} long"
    return f"it begins with {head!r}, not {GGUF_MAGIC!r}"


def read_gguf(path: str | Path, *, tensors: bool = True) -> GGUFInfo:
    """Parse the header of a GGUF file. Raises :class:`GGUFError` if it is not one."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            if size < 24:
                raise GGUFError(f"{p}: too small to be a GGUF file ({size} bytes)")
            if fh.read(4) != GGUF_MAGIC:
                raise GGUFError(f"{p}: not a GGUF file (bad magic bytes)")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return _parse(mm, p, size, tensors)
    except OSError as exc:
        raise GGUFError(f"{p}: cannot read: {exc.strerror or exc}") from None


def _parse(mm: mmap.mmap, p: Path, size: int, want_tensors: bool) -> GGUFInfo:
    r = _Reader(mm, p)
    r.pos = 4
    version = r.scalar("<I")
    if version not in (2, 3):
        raise GGUFError(
            f"{p}: unsupported GGUF version {version} (llama.cpp reads versions 2 and 3)"
        )
    n_tensors = r.scalar("<Q")
    n_kv = r.scalar("<Q")
    if n_kv > 1_000_000 or n_tensors > 10_000_000:
        raise GGUFError(f"{p}: implausible header counts (corrupt file?)")
    metadata: dict[str, Any] = {}
    skipped: dict[str, int] = {}
    for _ in range(n_kv):
        key = r.string()
        vtype = r.scalar("<I")
        metadata[key] = r.value(vtype, key, skipped)
    for key in list(skipped):
        metadata.pop(key, None)
    info = GGUFInfo(
        path=p, version=version, file_size=size, metadata=metadata, skipped_arrays=skipped
    )
    if not want_tensors:
        return info
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.scalar("<I")
        if n_dims > 8:
            raise GGUFError(f"{p}: tensor {name!r} has {n_dims} dimensions (corrupt file?)")
        shape = tuple(r.scalar("<Q") for _ in range(n_dims))
        type_id = r.scalar("<I")
        offset = r.scalar("<Q")
        info.tensors.append(TensorInfo(name, shape, type_id, offset))
    alignment = metadata.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0:
        alignment = 32
    info.data_offset = (r.pos + alignment - 1) // alignment * alignment
    return info


def human_params(n: int) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.1f}B"
    if n >= 1e6:
        return f"{n / 1e6:.0f}M"
    if n >= 1e3:
        return f"{n / 1e3:.0f}K"
    return str(n)


def human_bytes(n: int | float) -> str:
    """Binary units, labelled as such (llama.cpp and nvidia-smi count in MiB too)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
